# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The winiscsi.ipsec.mmipsec_openmetrics filter (documentation: mmipsec_openmetrics.yml)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._openmetrics import openmetrics

FQCN = "winiscsi.ipsec.mmipsec_openmetrics"


def mmipsec_openmetrics(summary: Any, snapshots: Any = None,
                        format: Any = "openmetrics") -> str:  # noqa: A002
    """A fleet summary (and the hosts' snapshots) as OpenMetrics or Prometheus text."""
    try:
        return openmetrics(summary, snapshots, format)
    except InputError as e:
        raise AnsibleFilterError(f"{FQCN}: {e}") from e


class FilterModule:
    """Ansible filter plugin."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"mmipsec_openmetrics": mmipsec_openmetrics}
