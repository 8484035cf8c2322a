# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet: one summary of many hosts' verdicts, its reports, and safe file names per host.

Internal to the winiscsi.ipsec collection: not a public API, may change without notice.

A summary's host rows keep their verdict's checks, so every report renders from the summary
alone. The HTML report is a Jinja template of the health_check role
(roles/health_check/templates/report.html.j2): the role writes it with ansible.builtin.template,
and :func:`render_html` renders the same file for the mmipsec_report filter.
"""

from __future__ import annotations

import hashlib
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import (
    InputError,
    check_bounds,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._nagios import (
    EXIT_CODES,
    SEVERITY,
    STATUSES,
    worst,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._policy import CHECK_NAMES, CHECKS
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._verdict import check_verdict

REPORT_FORMATS: tuple[str, ...] = ("table", "html", "junit")
# The collection's root is two folders above this file (plugins/plugin_utils/).
HTML_TEMPLATE = (Path(__file__).resolve().parents[2] / "roles" / "health_check" / "templates"
                 / "report.html.j2")
# Common file systems limit a name to 255 bytes; keep room for a suffix.
MAX_FILE_NAME = 200
_SAFE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
_MISSING_SUMMARY = "UNKNOWN: no verdict for this host (unreachable, skipped or not judged)"
# Characters XML 1.0 forbids even escaped (C0 controls but tab, newline and carriage return;
# lone surrogates; U+FFFE and U+FFFF), and the terminal controls a text table must not carry.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NOT_TABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _visible(match: re.Match[str]) -> str:
    """A character as Python writes it escaped: \\x01, \\x1b, \\ud800."""
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# --- Nagios performance data -------------------------------------------------------------------

# Units of measure the Monitoring Plugins guidelines define, by a check's unit (others: none).
_PERF_UOM: Mapping[str, str] = {spec.name: "%" for spec in CHECKS if spec.unit == "percent"}


def _perf_label(name: str) -> str:
    """A perfdata label, quoted when it holds a space, ``=`` or ``'`` (a quote doubled)."""
    if any(char in name for char in " ='") or not name:
        return "'" + name.replace("'", "''") + "'"
    return name


def _perf_value(value: Any) -> str:
    """A number as perfdata writes it: ints exact, floats in plain decimals (no exponent)."""
    if isinstance(value, int):
        return str(int(value))
    text = repr(float(value))
    if "e" in text or "E" in text:
        text = f"{value:.12f}".rstrip("0").rstrip(".") or "0"
    return text


def perfdata(checks: Sequence[Mapping[str, Any]]) -> str:
    """Nagios / Icinga performance data for a verdict's checks.

    One ``'label'=value[UOM];[warn];[crit]`` entry per check with a numeric value (the
    Monitoring Plugins guidelines, "Performance data"), separated by spaces; warn and crit
    are the check's Nagios range strings, left empty when a level is off, and trailing empty
    fields are dropped. A check without a value (not judged) has no entry.

    Args:
        checks: A verdict's ``checks``.

    Returns:
        The perfdata text, ``""`` when no check has a value.
    """
    entries = []
    for check in checks:
        value = check.get("value")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if isinstance(value, float) and not math.isfinite(value):
            continue
        name = str(check["name"])
        fields = [f"{_perf_label(name)}={_perf_value(value)}{_PERF_UOM.get(name, '')}"]
        fields += ["" if check.get(level) is None else str(check[level])
                   for level in ("warning", "critical")]
        entries.append(";".join(fields).rstrip(";"))
    return " ".join(entries)


# --- the summary --------------------------------------------------------------------------------


def _host_names(verdicts: Mapping[str, Any], hosts: Any) -> list[str]:
    """The listed hosts, then any other host that has a verdict, each once."""
    if hosts is not None and (not isinstance(hosts, (list, tuple))
                              or not all(isinstance(h, str) for h in hosts)):
        raise InputError("hosts", "a list of host names", hosts)
    listed = [str(h) for h in hosts] if hosts is not None else []
    # dict.fromkeys keeps the first of repeated names, in order.
    return list(dict.fromkeys([*listed, *(str(name) for name in verdicts)]))


def summary(verdicts: Any, hosts: Any = None) -> dict[str, Any]:
    """The mmipsec_summary filter: one fleet view of many hosts' verdicts.

    Args:
        verdicts: Host name -> verdict. A null verdict counts as missing.
        hosts: Every host that should have a verdict; one without counts as unknown and
            failed (unreachable hosts never reach a rescue, so they must fail here). A host
            listed twice is counted once.

    Returns:
        status, exit_code, total, passed, failed, counts per status, hosts (worst first, each
        with its verdict's checks and their Nagios ``perfdata``), failed_hosts, missing_hosts
        and per-check counts of non-ok statuses.

    Raises:
        InputError: Not a mapping of verdicts, two keys for one host name (``1`` and
            ``'1'``), a malformed verdict, or hosts not a list of names; or anything
            :func:`check_bounds` refuses.
    """
    if not isinstance(verdicts, Mapping):
        raise InputError("input", "a mapping of host name to verdict", verdicts)
    check_bounds(verdicts, "input")
    check_bounds(hosts, "hosts")
    by_name: dict[str, Any] = {}
    for name, one in verdicts.items():
        if str(name) in by_name:
            raise InputError(f"input[{str(name)!r}]",
                             "each host once (another key is the same host name)", str(name))
        by_name[str(name)] = one
    rows: list[dict[str, Any]] = []
    missing: list[str] = []
    per_check: dict[str, dict[str, int]] = {}
    for host in _host_names(by_name, hosts):
        one = by_name.get(host)
        if one is None:
            missing.append(host)
            rows.append({"host": host, "status": "unknown", "passed": False,
                         "exit_code": EXIT_CODES["unknown"], "summary": _MISSING_SUMMARY,
                         "checks": [], "perfdata": ""})
            continue
        check_verdict(one, f"input[{host!r}]")
        for check in one["checks"]:
            counts = per_check.setdefault(str(check["name"]),
                                          {"warning": 0, "critical": 0, "unknown": 0})
            if check["status"] != "ok":
                counts[str(check["status"])] += 1
        rows.append({"host": host, "status": str(one["status"]), "passed": one["passed"],
                     "exit_code": EXIT_CODES[str(one["status"])],
                     "summary": str(one.get("summary", "")), "checks": list(one["checks"]),
                     "perfdata": perfdata(one["checks"])})
    rows.sort(key=lambda r: (-SEVERITY[r["status"]], r["passed"], r["host"]))
    status = worst(r["status"] for r in rows)
    # The policy's checks in policy order, then any other check (mmipsec_fail_verdict's) by name.
    ordered = sorted(per_check, key=lambda name: (
        CHECK_NAMES.index(name) if name in CHECK_NAMES else len(CHECK_NAMES), name))
    passed = sum(1 for r in rows if r["passed"])
    return {
        "status": status, "exit_code": EXIT_CODES[status], "total": len(rows),
        "passed": passed, "failed": len(rows) - passed,
        "counts": {s: sum(1 for r in rows if r["status"] == s) for s in STATUSES},
        "hosts": rows,
        "failed_hosts": [r["host"] for r in rows if not r["passed"]],
        "missing_hosts": missing, "checks": {name: per_check[name] for name in ordered},
    }


# --- report rows ----------------------------------------------------------------------------------


def _check_row(row: Any, field: str) -> None:
    """A summary's host row: a host name, a status, passed true or false, the status's exit code."""
    if (not isinstance(row, Mapping) or not isinstance(row.get("host"), str)
            or row.get("status") not in STATUSES):
        raise InputError(field, "a row with a 'host' name and a 'status' of "
                                + "/".join(STATUSES), row)
    if not isinstance(row.get("passed"), bool):
        raise InputError(f"{field}.passed", "true or false", row.get("passed"))
    code = EXIT_CODES[row["status"]]
    # A row without exit_code (written by hand) is fine; one that contradicts its status is not.
    if "exit_code" in row and (isinstance(row["exit_code"], bool) or row["exit_code"] != code):
        raise InputError(f"{field}.exit_code", f"{code}, the exit code of status "
                                               f"{row['status']!r}", row["exit_code"])


def report_rows(summary: Any, verdicts: Any = None) -> list[dict[str, Any]]:
    """The host rows of a summary, in its order, each with its checks.

    A summary made by :func:`summary` has every host's checks in its rows. For a row without
    ``checks`` (a summary made before rows kept them), the checks come from ``verdicts``.

    Args:
        summary: An mmipsec_summary result (only its ``hosts`` rows are read).
        verdicts: Host name -> verdict, or None: only read for rows without checks.

    Returns:
        Rows with ``host``, ``status``, ``passed``, ``summary`` and ``checks``.

    Raises:
        InputError: ``summary`` or ``verdicts`` does not have the expected shape, a row's
            ``passed`` is not a bool, its ``exit_code`` is not its status's, or a host has two
            rows.
    """
    if not isinstance(summary, Mapping) or not isinstance(summary.get("hosts"), list):
        raise InputError("input", "an mmipsec_summary result (a mapping with a 'hosts' list)",
                         summary)
    if verdicts is not None and not isinstance(verdicts, Mapping):
        raise InputError("verdicts", "a mapping of host name to verdict", verdicts)
    by_host = {str(host): one for host, one in (verdicts or {}).items() if one is not None}
    for host, one in by_host.items():
        if not isinstance(one, Mapping) or not isinstance(one.get("checks"), list):
            raise InputError(f"verdicts[{host!r}]", "a verdict (a mapping with a 'checks' list)",
                             one)
    rows = []
    seen: dict[str, int] = {}
    for index, row in enumerate(summary["hosts"]):
        field = f"input.hosts[{index}]"
        _check_row(row, field)
        if row["host"] in seen:
            raise InputError(f"{field}.host",
                             f"each host once (it is also input.hosts[{seen[row['host']]}])",
                             row["host"])
        seen[row["host"]] = index
        checks = row.get("checks")
        if checks is None:
            checks = by_host[row["host"]]["checks"] if row["host"] in by_host else []
        for number, check in enumerate(checks):
            if (not isinstance(check, Mapping) or not isinstance(check.get("name"), str)
                    or check.get("status") not in STATUSES):
                raise InputError(f"{field}.checks[{number}]", "a check with a name and a status",
                                 check)
        rows.append({"host": row["host"], "status": row["status"],
                     "passed": row["passed"], "summary": str(row.get("summary", "")),
                     "checks": list(checks)})
    return rows


def _failed_checks(row: Mapping[str, Any]) -> list[str]:
    return [str(c["name"]) for c in row["checks"] if c["status"] != "ok"]


def _count_line(rows: Sequence[Mapping[str, Any]]) -> str:
    """'N hosts: P passed, F failed', as the table ends (the HTML template says the same).

    Counts have thousands separators (1,000 hosts), as on the HTML page.
    """
    passed = sum(1 for row in rows if row["passed"])
    plural = "" if len(rows) == 1 else "s"
    return f"{len(rows):,} host{plural}: {passed:,} passed, {len(rows) - passed:,} failed"


# --- text table ---------------------------------------------------------------------------------


def _clip(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` characters, marking the cut with an ellipsis."""
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def _failed_label(row: Mapping[str, Any]) -> str:
    """The failed checks of a row, short enough for a table column."""
    failed = _failed_checks(row)
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
        rows: From :func:`report_rows`.
        title: The first line.
        pending: Hosts not reached yet (not judged, not counted), listed after the counts.
        width: Maximum line width; the summary column is cut to fit.

    Returns:
        The table, lines separated by ``\\n``, without a trailing newline.
    """
    header = ("HOST", "STATUS", "GATE", "FAILED CHECKS", "SUMMARY")
    cells = [tuple(_NOT_TABLE.sub(_visible, text) for text in (
        str(row["host"]), str(row["status"]).upper(), "passed" if row["passed"] else "FAILED",
        _failed_label(row), str(row["summary"]))) for row in rows]
    widths = [max([len(header[i]), *(len(c[i]) for c in cells)]) for i in range(4)]
    summary_width = max(20, width - sum(widths) - 2 * 4)
    lines = [title, ""]
    for line in [header, *cells]:
        lead = "  ".join(part.ljust(w) for part, w in zip(line[:4], widths, strict=True))
        lines.append(f"{lead}  {_clip(line[4], summary_width)}".rstrip())
    counts = {status: sum(1 for row in rows if row["status"] == status) for status in STATUSES}
    lines.append("")
    lines.append(f"{_count_line(rows)} ("
                 + ", ".join(f"{status} {counts[status]:,}" for status in STATUSES) + ")")
    if pending:
        lines.append(f"not reached ({len(pending):,}, unchanged): {', '.join(pending)}")
    return _NOT_TABLE.sub(_visible, "\n".join(lines))


# --- HTML ---------------------------------------------------------------------------------------


def render_html(rows: Sequence[Mapping[str, Any]], title: str = "fleet", generated_at: str = "",
                pending: Sequence[str] = ()) -> str:
    """Render rows with the health_check role's HTML template (``HTML_TEMPLATE``).

    The page: status counts, a chart of each check's statuses, then one row per host (status,
    failed checks, a one-line summary) whose checks (value, limits, message) open on demand;
    filter and sort by an inline script, every host shown without it. The template formats
    every number (percentages, rates, counts) with its ``number`` macro.

    The template gets the variables the role gives it: ``health_check_summary`` (here a
    mapping with the ``hosts`` rows), ``health_check_report_name``,
    ``health_check_report_generated_at`` and ``health_check_report_pending``. The environment
    is that of ansible.builtin.template (trim_blocks, trailing newline kept), with autoescape.

    Args:
        rows: From :func:`report_rows`.
        title: The page's title and heading.
        generated_at: When the report was made, shown under the heading.
        pending: Hosts not reached yet: one grey row each, not counted.

    Returns:
        The HTML document (no external resources, every value escaped).
    """
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HTML_TEMPLATE.parent)), autoescape=True,
        trim_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    template = environment.get_template(HTML_TEMPLATE.name)
    return template.render(
        health_check_summary={"hosts": list(rows)}, health_check_report_name=title,
        health_check_report_generated_at=generated_at,
        health_check_report_pending=list(pending))


# --- JUnit XML ----------------------------------------------------------------------------------


def render_junit(rows: Sequence[Mapping[str, Any]], title: str = "fleet") -> str:
    """Render rows as JUnit XML: one test case per host and check.

    On a host that failed its gate, a check that is not ``ok`` is a ``failure``; on a host
    that passed (a warning below ``fail_on``) it is only reported in ``system-out``. A host
    without a verdict is one ``error`` case named ``verdict``.

    Args:
        rows: From :func:`report_rows`.
        title: The test suite's name.

    Returns:
        The XML document, with an XML declaration. A character XML 1.0 forbids (most C0
        controls, lone surrogates) is written as its Python escape, for example ``\\x1b``.
    """
    suite = ET.Element("testsuite", name=title)
    tests = failures = errors = 0
    for row in rows:
        host = str(row["host"])
        if not row["checks"]:
            tests += 1
            errors += 1
            case = ET.SubElement(suite, "testcase", classname=host, name="verdict")
            ET.SubElement(case, "error", message=str(row["summary"]), type=row["status"])
        for check in row["checks"]:
            tests += 1
            case = ET.SubElement(suite, "testcase", classname=host, name=str(check["name"]))
            if check["status"] == "ok":
                continue
            message = str(check.get("message") or check.get("reason") or "")
            if row["passed"]:
                # Below the gate's limit (a warning with fail_on=critical): report, not fail.
                ET.SubElement(case, "system-out").text = f"{check['status']}: {message}"
                continue
            failures += 1
            failure = ET.SubElement(case, "failure", message=message, type=str(check["status"]))
            failure.text = f"{host}: {row['summary']}"
    # Every text and attribute: a host name with a control character must not make the whole
    # document ill-formed. Such a character is shown escaped (\\x01), so the host stays known.
    for element in suite.iter():
        if element.text is not None:
            element.text = _NOT_XML.sub(_visible, element.text)
        for key, text in element.attrib.items():
            element.set(key, _NOT_XML.sub(_visible, text))
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    root = ET.Element("testsuites", name=_NOT_XML.sub(_visible, title))
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# --- the report filter --------------------------------------------------------------------------


def report(summary: Any, format: Any = "table", verdicts: Any = None,  # noqa: A002
           title: Any = "fleet", generated_at: Any = "", pending: Any = None) -> str:
    """The mmipsec_report filter: render a summary as a text table, HTML or JUnit XML.

    Args:
        summary: An mmipsec_summary result.
        format: ``table``, ``html`` or ``junit``.
        verdicts: Host name -> verdict; only read for rows without checks.
        title: The table's first line, the page's title, the test suite's name.
        generated_at: Shown under the HTML page's heading.
        pending: Hosts not reached yet (table and HTML only).

    Returns:
        The rendered text.

    Raises:
        InputError: An argument is malformed (see :func:`report_rows` and
            :func:`check_bounds`).
    """
    for argument, value in (("input", summary), ("verdicts", verdicts), ("title", title),
                            ("generated_at", generated_at), ("pending", pending)):
        check_bounds(value, argument)
    if format not in REPORT_FORMATS:
        raise InputError("format", f"one of {', '.join(REPORT_FORMATS)}", format)
    if pending is None:
        pending = []
    if not isinstance(pending, (list, tuple)) or not all(isinstance(h, str) for h in pending):
        raise InputError("pending", "a list of host names", pending)
    rows = report_rows(summary, verdicts)
    if format == "table":
        return render_table(rows, str(title), list(pending))
    if format == "html":
        return render_html(rows, str(title), str(generated_at), list(pending))
    return render_junit(rows, str(title))


# --- file names ---------------------------------------------------------------------------------


def safe_file_name(host: Any, suffix: str = ".json") -> str:
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
        InputError: ``host`` is not a non-empty string.
    """
    if not isinstance(host, str) or not host:
        raise InputError("host", "a non-empty host name string", host)
    encoded = "".join(chr(byte) if chr(byte) in _SAFE_CHARS else f"%{byte:02X}"
                      for byte in host.encode("utf-8"))
    if encoded.startswith("."):
        encoded = "%2E" + encoded[1:]
    if len(encoded) > MAX_FILE_NAME:
        digest = hashlib.sha256(host.encode("utf-8")).hexdigest()[:16]
        encoded = f"{encoded[: MAX_FILE_NAME - 17]}~{digest}"
    return encoded + suffix
