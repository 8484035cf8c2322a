# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The winiscsi.ipsec.mmipsec_compare filter (documentation: mmipsec_compare.yml)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._verdict import compare

FQCN = "winiscsi.ipsec.mmipsec_compare"


def mmipsec_compare(pre_delta: Any, post_delta: Any, thresholds: Any = None,
                    fail_on: Any = "critical", allow_unknown: Any = False) -> dict[str, Any]:
    """The verdict of the post-change window plus what regressed since the pre-change one."""
    try:
        return compare(pre_delta, post_delta, thresholds, fail_on, allow_unknown)
    except InputError as e:
        raise AnsibleFilterError(f"{FQCN}: {e}") from e


class FilterModule:
    """Ansible filter plugin."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"mmipsec_compare": mmipsec_compare}
