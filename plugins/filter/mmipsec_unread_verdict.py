# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The winiscsi.ipsec.mmipsec_unread_verdict filter (documentation: mmipsec_unread_verdict.yml)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._verdict import unread_verdict

FQCN = "winiscsi.ipsec.mmipsec_unread_verdict"


def mmipsec_unread_verdict(message: Any, unreachable: Any = True) -> dict[str, Any]:
    """The verdict of a host whose statistics could not be read: unknown, with the reason."""
    try:
        return unread_verdict(message, unreachable)
    except InputError as e:
        raise AnsibleFilterError(f"{FQCN}: {e}") from e


class FilterModule:
    """Ansible filter plugin."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"mmipsec_unread_verdict": mmipsec_unread_verdict}
