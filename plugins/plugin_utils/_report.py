# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet report rendering (text table, HTML, JUnit XML) and safe file names.

Internal to winiscsi.ipsec: used by the filters in plugins/filter/mmipsec_report.py; not a
public API.
"""

from __future__ import annotations

import hashlib
import html
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any, Literal

STATUSES: tuple[str, ...] = ("ok", "warning", "critical", "unknown")
# Common file systems limit a name to 255 bytes; keep room for a suffix.
MAX_FILE_NAME = 200
_SAFE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
# Colours readable on white, one per status (background, text).
_COLOURS: Mapping[str, tuple[str, str]] = {
    "ok": ("#d7f0d8", "#124b16"),
    "warning": ("#fff1c2", "#5c4400"),
    "critical": ("#f8d0cf", "#7a0f0c"),
    "unknown": ("#e3e3ea", "#33334d"),
}

ReportFormat = Literal["table", "html", "junit"]


class ReportError(ValueError):
    """Input the report cannot render.

    Attributes:
        field: Where in the input the problem is (for example ``verdicts['web01']``).
        expected: What was expected there.
        got: What was found, as its repr and type.
    """

    def __init__(self, field: str, expected: str, got: object) -> None:
        self.field = field
        self.expected = expected
        self.got = f"{got!r} ({type(got).__name__})"
        super().__init__(f"{field}: expected {expected}, got {self.got}")


def safe_file_name(host: str, suffix: str = ".json") -> str:
    """Turn an inventory host name into a file name that is safe and unique.

    Every byte outside ``[A-Za-z0-9._-]`` is percent-encoded (``%`` itself included), so two
    different host names never share a file and no name can contain a path separator. A
    leading ``.`` is encoded too, so ``.`` and ``..`` stay ordinary files. A name too long
    for a file system is cut and given a hash of the whole name.

    Args:
        host: The inventory host name.
        suffix: Appended to the result, for example ``.json``.

    Returns:
        The file name.

    Raises:
        ReportError: ``host`` is not a non-empty string.
    """
    if not isinstance(host, str) or not host:
        raise ReportError("host", "a non-empty host name string", host)
    encoded = "".join(
        chr(byte) if chr(byte) in _SAFE_CHARS else f"%{byte:02X}" for byte in host.encode("utf-8")
    )
    if encoded.startswith("."):
        encoded = "%2E" + encoded[1:]
    if len(encoded) > MAX_FILE_NAME:
        digest = hashlib.sha256(host.encode("utf-8")).hexdigest()[:16]
        encoded = f"{encoded[: MAX_FILE_NAME - 17]}~{digest}"
    return encoded + suffix


def _check_verdicts(verdicts: object) -> dict[str, Mapping[str, Any]]:
    """Validate the ``verdicts`` argument (host name -> verdict, or null for none)."""
    if verdicts is None:
        return {}
    if not isinstance(verdicts, Mapping):
        raise ReportError("verdicts", "a mapping of host name to verdict", verdicts)
    checked: dict[str, Mapping[str, Any]] = {}
    for host, verdict in verdicts.items():
        if verdict is None:
            continue
        if not isinstance(verdict, Mapping) or not isinstance(verdict.get("checks"), list):
            raise ReportError(
                f"verdicts[{host!r}]", "a verdict (a mapping with a 'checks' list)", verdict
            )
        checked[str(host)] = verdict
    return checked


def host_rows(summary: object, verdicts: object = None) -> list[dict[str, Any]]:
    """One row per host of a fleet summary, in the summary's order (worst first).

    Args:
        summary: The result of the ``mmipsec_summary`` filter (its ``hosts`` rows are used).
        verdicts: Host name -> verdict, the input of that filter, for each host's checks.
            A host without one (or ``None``) gets no checks.

    Returns:
        Rows with ``host``, ``status``, ``passed``, ``summary``, ``failed_checks`` (names of the
        checks whose status is not ``ok``) and ``checks`` (the verdict's checks).

    Raises:
        ReportError: ``summary`` or ``verdicts`` does not have the expected shape.
    """
    if not isinstance(summary, Mapping) or not isinstance(summary.get("hosts"), list):
        raise ReportError("input", "an mmipsec_summary result (a mapping with a 'hosts' list)",
                          summary)
    checked = _check_verdicts(verdicts)
    rows: list[dict[str, Any]] = []
    for index, entry in enumerate(summary["hosts"]):
        if (not isinstance(entry, Mapping) or not isinstance(entry.get("host"), str)
                or entry.get("status") not in STATUSES):
            raise ReportError(f"input.hosts[{index}]",
                              "a row with a 'host' name and a 'status' of " + "/".join(STATUSES),
                              entry)
        verdict = checked.get(entry["host"])
        checks = [c for c in verdict["checks"] if isinstance(c, Mapping)] if verdict else []
        rows.append({
            "host": entry["host"],
            "status": entry["status"],
            "passed": bool(entry.get("passed")),
            "summary": str(entry.get("summary", "")),
            "failed_checks": [str(c.get("name")) for c in checks
                              if c.get("status", "unknown") != "ok"],
            "checks": checks,
        })
    return rows


def count_rows(rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Count rows per status, plus ``total``, ``passed`` and ``failed``."""
    counts = {status: 0 for status in STATUSES}
    for row in rows:
        counts[row["status"]] += 1
    passed = sum(1 for row in rows if row["passed"])
    return {**counts, "total": len(rows), "passed": passed, "failed": len(rows) - passed}


def _count_line(counts: Mapping[str, int]) -> str:
    """The "N hosts: P passed, F failed" lead that both the table and the HTML report show."""
    plural = "" if counts["total"] == 1 else "s"
    return f"{counts['total']} host{plural}: {counts['passed']} passed, {counts['failed']} failed"


def _clip(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` characters, marking the cut with an ellipsis."""
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def _failed_label(row: Mapping[str, Any]) -> str:
    """The failed checks of a row, short enough for a table column."""
    failed = row["failed_checks"]
    if not failed:
        return "-"
    if len(failed) > 2 and len(failed) == len(row["checks"]):
        return f"all {len(failed)} checks"
    if len(failed) > 2:
        return f"{failed[0]}, {failed[1]} +{len(failed) - 2} more"
    return ", ".join(failed)


def render_table(rows: Sequence[Mapping[str, Any]], title: str = "fleet",
                 pending: Sequence[str] = (), width: int = 100) -> str:
    """Render rows as a plain-text table with a one-line count at the end.

    Args:
        rows: From :func:`host_rows`.
        title: The first line.
        pending: Hosts not reached yet (not judged, not counted), listed after the counts.
        width: Maximum line width; the summary column is cut to fit.

    Returns:
        The table, lines separated by ``\\n``, without a trailing newline.
    """
    header = ("HOST", "STATUS", "GATE", "FAILED CHECKS", "SUMMARY")
    cells = [
        (
            str(row["host"]),
            str(row["status"]).upper(),
            "passed" if row["passed"] else "FAILED",
            _failed_label(row),
            str(row["summary"]),
        )
        for row in rows
    ]
    widths = [max([len(header[i]), *(len(c[i]) for c in cells)]) for i in range(4)]
    fixed = sum(widths) + 2 * 4
    summary_width = max(20, width - fixed)
    lines = [title, ""]
    for line in [header, *cells]:
        lead = "  ".join(part.ljust(w) for part, w in zip(line[:4], widths, strict=True))
        lines.append(f"{lead}  {_clip(line[4], summary_width)}".rstrip())
    counts = count_rows(rows)
    lines.append("")
    lines.append(
        f"{_count_line(counts)} "
        f"(ok {counts['ok']}, warning {counts['warning']}, critical {counts['critical']}, "
        f"unknown {counts['unknown']})"
    )
    if pending:
        lines.append(f"not reached ({len(pending)}, unchanged): {', '.join(pending)}")
    return "\n".join(lines)


def _check_names(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every check name, in the order first seen."""
    return list(dict.fromkeys(str(c.get("name")) for row in rows for c in row["checks"]))


def _cell(status: str, text: str, tip: str = "") -> str:
    """One HTML table cell coloured by status; ``text`` and ``tip`` are escaped here."""
    title = f' title="{html.escape(tip)}"' if tip else ""
    return f'<td class="s-{html.escape(status)}"{title}>{html.escape(text)}</td>'


def render_html(
    rows: Sequence[Mapping[str, Any]], title: str = "fleet", generated_at: str = "",
    pending: Sequence[str] = (),
) -> str:
    """Render rows as a self-contained HTML page: hosts by checks, coloured by status.

    Args:
        rows: From :func:`host_rows`.
        title: The page's title and heading.
        generated_at: When the report was made, shown under the heading.
        pending: Hosts not reached yet: one grey row each, not counted.

    Returns:
        The HTML document (no external resources, every value escaped).
    """
    names = _check_names(rows)
    counts = count_rows(rows)
    styles = "\n".join(
        f"td.s-{status}, span.s-{status} {{ background: {bg}; color: {fg}; }}"
        for status, (bg, fg) in _COLOURS.items()
    )
    head_cells = "".join(f"<th>{html.escape(name)}</th>" for name in names)
    body: list[str] = []
    for row in rows:
        by_name = {str(c.get("name")): c for c in row["checks"]}
        cells = [
            f'<th scope="row">{html.escape(str(row["host"]))}</th>',
            _cell(row["status"], str(row["status"]).upper()),
        ]
        for name in names:
            check = by_name.get(name)
            if check is None:
                cells.append('<td class="none">-</td>')
                continue
            value = check.get("value")
            text = f"{check.get('status', 'unknown')}"
            if value is not None:
                text += f" ({value})"
            tip = " ".join(str(check.get(k) or "") for k in ("reason", "message")).strip()
            cells.append(_cell(str(check.get("status", "unknown")), text, tip))
        reasons = [row["summary"]] + [
            f"{c.get('name')}: {c.get('message') or c.get('reason') or c.get('status')}"
            for c in row["checks"]
            if c.get("status", "unknown") != "ok"
        ]
        cells.append(
            "<td class=\"reasons\"><ul>"
            + "".join(f"<li>{html.escape(str(r))}</li>" for r in reasons if r)
            + "</ul></td>"
        )
        body.append(f'<tr data-host="{html.escape(str(row["host"]))}" '
                    f'data-status="{html.escape(row["status"])}">{"".join(cells)}</tr>')
    span = len(names) + 1
    for host in pending:
        body.append(
            f'<tr data-host="{html.escape(host)}" data-status="pending">'
            f'<th scope="row">{html.escape(host)}</th><td class="pending">NOT REACHED</td>'
            f'<td class="pending" colspan="{span}">not reached yet: unchanged</td></tr>'
        )
    badges = " ".join(
        f'<span class="s-{status}">{status} {counts[status]}</span>' for status in STATUSES
    )
    pending_note = f" Not reached yet: {len(pending)}." if pending else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #1d1d1f; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #c8c8d0; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }}
thead th {{ background: #f1f1f5; }}
span[class^="s-"] {{ padding: 0.1em 0.5em; border-radius: 0.3em; margin-right: 0.4em; }}
td.reasons ul {{ margin: 0; padding-left: 1.1em; }}
td.pending, td.none {{ color: #6b6b78; }}
{styles}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(generated_at)}</p>
<p id="counts">{html.escape(_count_line(counts))}. {badges}{pending_note}</p>
<table id="hosts">
<thead><tr><th>host</th><th>status</th>{head_cells}<th>reasons</th></tr></thead>
<tbody>
{chr(10).join(body)}
</tbody>
</table>
</body>
</html>
"""


def render_junit(rows: Sequence[Mapping[str, Any]], title: str = "fleet") -> str:
    """Render rows as JUnit XML: one test case per host and check.

    On a host that failed its gate, a check that is not ``ok`` is a ``failure``; on a host
    that passed (a warning below ``fail_on``) it is only reported in ``system-out``. A host
    without a verdict is one ``error`` case named ``verdict``.

    Args:
        rows: From :func:`host_rows`.
        title: The test suite's name.

    Returns:
        The XML document, with an XML declaration.
    """
    suite = ET.Element("testsuite", name=title)
    tests = failures = errors = 0
    for row in rows:
        checks = row["checks"] or [None]
        for check in checks:
            tests += 1
            name = "verdict" if check is None else str(check.get("name"))
            case = ET.SubElement(suite, "testcase", classname=str(row["host"]), name=name)
            if check is None:
                errors += 1
                ET.SubElement(case, "error", message=str(row["summary"]), type=row["status"])
            elif check.get("status", "unknown") != "ok":
                message = str(check.get("message") or check.get("reason") or "")
                status = str(check.get("status", "unknown"))
                if row["passed"]:
                    # Below the gate's limit (a warning with fail_on=critical): report, not fail.
                    ET.SubElement(case, "system-out").text = f"{status}: {message}"
                    continue
                failures += 1
                failure = ET.SubElement(case, "failure", message=message, type=status)
                failure.text = f"{row['host']}: {row['summary']}"
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    root = ET.Element("testsuites", name=title)
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
