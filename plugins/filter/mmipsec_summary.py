# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The winiscsi.ipsec.mmipsec_summary filter (documentation: mmipsec_summary.yml)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._fleet import summary

FQCN = "winiscsi.ipsec.mmipsec_summary"


def mmipsec_summary(verdicts: Any, hosts: Any = None) -> dict[str, Any]:
    """One fleet summary of many hosts' verdicts; hosts without one count as unknown."""
    try:
        return summary(verdicts, hosts)
    except InputError as e:
        raise AnsibleFilterError(f"{FQCN}: {e}") from e


class FilterModule:
    """Ansible filter plugin."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"mmipsec_summary": mmipsec_summary}
