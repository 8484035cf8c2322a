# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The winiscsi.ipsec.mmipsec_verdict filter (documentation: mmipsec_verdict.yml)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._verdict import verdict

FQCN = "winiscsi.ipsec.mmipsec_verdict"


def mmipsec_verdict(current: Any, baseline: Any = None, thresholds: Any = None,
                    fail_on: Any = "critical", allow_unknown: Any = False) -> dict[str, Any]:
    """The health verdict of a snapshot, over the window since a baseline if one is given."""
    try:
        return verdict(current, baseline, thresholds, fail_on, allow_unknown)
    except InputError as e:
        raise AnsibleFilterError(f"{FQCN}: {e}") from e


class FilterModule:
    """Ansible filter plugin."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"mmipsec_verdict": mmipsec_verdict}
