# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The winiscsi.ipsec.mmipsec_report and mmipsec_file_name filters.

Documentation: mmipsec_report.yml and mmipsec_file_name.yml beside this file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

FORMATS = ("table", "html", "junit")


def mmipsec_report(summary: Any, format: Any = "table", verdicts: Any = None,  # noqa: A002
                   title: Any = "fleet", generated_at: Any = "", pending: Any = None) -> str:
    """Render an mmipsec_summary result as a text table, HTML or JUnit XML."""
    # Imported on use, not with the file: see CONTRIBUTING.md, "Imports in plugin files".
    from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._report import (
        ReportError,
        host_rows,
        render_html,
        render_junit,
        render_table,
    )

    name = "winiscsi.ipsec.mmipsec_report"
    if format not in FORMATS:
        raise AnsibleFilterError(
            f"{name}: format: expected one of {', '.join(FORMATS)}, got {format!r} "
            f"({type(format).__name__})")
    if pending is None:
        pending = []
    if not isinstance(pending, (list, tuple)) or not all(isinstance(h, str) for h in pending):
        raise AnsibleFilterError(
            f"{name}: pending: expected a list of host names, got {pending!r} "
            f"({type(pending).__name__})")
    try:
        rows = host_rows(summary, verdicts)
    except ReportError as e:
        raise AnsibleFilterError(f"{name}: {e}") from e
    if format == "table":
        return render_table(rows, str(title), list(pending))
    if format == "html":
        return render_html(rows, str(title), str(generated_at), list(pending))
    return render_junit(rows, str(title))


def mmipsec_file_name(host: Any, suffix: Any = ".json") -> str:
    """Turn a host name into a safe, unique file name."""
    # Imported on use, not with the file: see CONTRIBUTING.md, "Imports in plugin files".
    from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._report import (
        ReportError,
        safe_file_name,
    )

    try:
        return safe_file_name(host, str(suffix))
    except ReportError as e:
        raise AnsibleFilterError(f"winiscsi.ipsec.mmipsec_file_name: {e}") from e


class FilterModule:
    """Ansible filter plugin."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"mmipsec_report": mmipsec_report, "mmipsec_file_name": mmipsec_file_name}
