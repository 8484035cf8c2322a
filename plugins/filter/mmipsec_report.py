# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The winiscsi.ipsec.mmipsec_report and mmipsec_file_name filters.

Documentation: mmipsec_report.yml and mmipsec_file_name.yml beside this file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._fleet import report, safe_file_name


def mmipsec_report(summary: Any, format: Any = "table", verdicts: Any = None,  # noqa: A002
                   title: Any = "fleet", generated_at: Any = "", pending: Any = None) -> str:
    """Render an mmipsec_summary result as a text table, HTML or JUnit XML."""
    try:
        return report(summary, format, verdicts, title, generated_at, pending)
    except InputError as e:
        raise AnsibleFilterError(f"winiscsi.ipsec.mmipsec_report: {e}") from e


def mmipsec_file_name(host: Any, suffix: Any = ".json") -> str:
    """Turn a host name into a safe, unique file name."""
    try:
        return safe_file_name(host, str(suffix))
    except InputError as e:
        raise AnsibleFilterError(f"winiscsi.ipsec.mmipsec_file_name: {e}") from e


class FilterModule:
    """Ansible filter plugin."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"mmipsec_report": mmipsec_report, "mmipsec_file_name": mmipsec_file_name}
