# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The winiscsi.ipsec.mmipsec_delta filter (documentation: mmipsec_delta.yml)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._window import delta

FQCN = "winiscsi.ipsec.mmipsec_delta"


def mmipsec_delta(current: Any, baseline: Any) -> dict[str, Any]:
    """Deltas, rates and gauges from a baseline snapshot to the current one."""
    try:
        return delta(current, baseline)
    except InputError as e:
        raise AnsibleFilterError(f"{FQCN}: {e}") from e


class FilterModule:
    """Ansible filter plugin."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"mmipsec_delta": mmipsec_delta}
