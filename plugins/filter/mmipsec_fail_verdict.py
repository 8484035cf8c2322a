# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The winiscsi.ipsec.mmipsec_fail_verdict filter (documentation: mmipsec_fail_verdict.yml)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._verdict import fail_verdict

FQCN = "winiscsi.ipsec.mmipsec_fail_verdict"


def mmipsec_fail_verdict(verdict: Any, reason: Any, message: Any,
                         check: Any = "rollout") -> dict[str, Any]:
    """A verdict turned critical for a failure after a change, with the reason as a check."""
    try:
        return fail_verdict(verdict, reason, message, check)
    except InputError as e:
        raise AnsibleFilterError(f"{FQCN}: {e}") from e


class FilterModule:
    """Ansible filter plugin."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"mmipsec_fail_verdict": mmipsec_fail_verdict}
