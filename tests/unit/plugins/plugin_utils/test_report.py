"""Unit tests for plugins/plugin_utils/_report.py (fleet report rendering, safe file names)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from typing import Any

import pytest

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._report import (
    MAX_FILE_NAME,
    ReportError,
    host_rows,
    render_html,
    render_junit,
    render_table,
    safe_file_name,
)


def _check(name: str, status: str, value: Any = 0, message: str = "") -> dict[str, Any]:
    return {"name": name, "status": status, "counters": [], "value": value, "warning": None,
            "critical": "0", "reason": "WithinThresholds" if status == "ok" else "Alert",
            "message": message or f"{name} is {status}"}


def _verdict(status: str, passed: bool, checks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"status": status, "passed": passed, "exit_code": 0, "window_seconds": 2.0,
            "reset_detected": False, "checks": checks, "summary": f"{status.upper()}: summary"}


VERDICTS = {
    "web01": _verdict("ok", True, [_check("cleartext_fallback", "ok"),
                                   _check("key_management_failures", "ok")]),
    "web02": _verdict("critical", False, [
        _check("cleartext_fallback", "critical", 3, "3 negotiations fell back to <cleartext>"),
        _check("key_management_failures", "ok")]),
    "web03": _verdict("warning", True, [_check("cleartext_fallback", "ok"),
                                        _check("key_management_failures", "warning", 1)]),
}
# The shape of the mmipsec_summary filter's result, rows worst first.
SUMMARY = {
    "status": "critical", "exit_code": 2, "total": 4, "passed": 2, "failed": 2,
    "counts": {"ok": 1, "warning": 1, "critical": 1, "unknown": 1},
    "hosts": [
        {"host": "web02", "status": "critical", "passed": False, "exit_code": 2,
         "summary": "CRITICAL: summary"},
        {"host": "gone", "status": "unknown", "passed": False, "exit_code": 3,
         "summary": "UNKNOWN: no verdict for this host"},
        {"host": "web03", "status": "warning", "passed": True, "exit_code": 1,
         "summary": "WARNING: summary"},
        {"host": "web01", "status": "ok", "passed": True, "exit_code": 0,
         "summary": "OK: summary"},
    ],
    "failed_hosts": ["web02", "gone"], "missing_hosts": ["gone"], "checks": {},
}


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        pytest.param("web01.example.com", "web01.example.com.json", id="dns-name-unchanged"),
        pytest.param("fe80::1", "fe80%3A%3A1.json", id="ipv6-colons-encoded"),
        pytest.param("../etc/passwd", "%2E.%2Fetc%2Fpasswd.json", id="path-traversal"),
        pytest.param(".", "%2E.json", id="dot"),
        pytest.param("a%2F", "a%252F.json", id="percent-encoded-too"),
        pytest.param("h\u00f6st", "h%C3%B6st.json", id="utf8-bytes"),
        pytest.param("a b", "a%20b.json", id="space"),
    ],
)
def test_safe_file_name(host: str, expected: str) -> None:
    assert safe_file_name(host) == expected


def test_safe_file_name_distinct_hosts_never_share_a_file() -> None:
    hosts = ["a/b", "a_b", "a%2Fb", "a:b", "a%3Ab", ".a", "%2Ea"]
    names = [safe_file_name(h) for h in hosts]
    assert len(set(names)) == len(hosts)


def test_safe_file_name_long_name_is_cut_with_a_hash() -> None:
    first = safe_file_name("x" * 300, "")
    second = safe_file_name("x" * 299 + "y", "")
    assert len(first) == MAX_FILE_NAME
    assert first != second
    assert re.fullmatch(r"x{183}~[0-9a-f]{16}", first)


@pytest.mark.parametrize("host", [pytest.param("", id="empty"), pytest.param(None, id="none"),
                                  pytest.param(7, id="int")])
def test_safe_file_name_rejects_non_names(host: Any) -> None:
    with pytest.raises(ReportError, match=re.escape(
            f"host: expected a non-empty host name string, got {host!r} ({type(host).__name__})")):
        safe_file_name(host)


def test_host_rows_follow_the_summary_and_take_checks_from_verdicts() -> None:
    rows = host_rows(SUMMARY, VERDICTS)
    assert [r["host"] for r in rows] == ["web02", "gone", "web03", "web01"]
    assert rows[0]["failed_checks"] == ["cleartext_fallback"]
    assert rows[1]["checks"] == [] and rows[1]["passed"] is False
    assert rows[2]["failed_checks"] == ["key_management_failures"]
    assert rows[3]["failed_checks"] == []


@pytest.mark.parametrize(
    ("summary", "verdicts", "message"),
    [
        pytest.param([], {}, "input: expected an mmipsec_summary result (a mapping with a "
                             "'hosts' list), got [] (list)", id="summary-not-mapping"),
        pytest.param({"hosts": [{"host": "a", "status": "fine"}]}, {},
                     "input.hosts[0]: expected a row with a 'host' name and a 'status' of "
                     "ok/warning/critical/unknown, got {'host': 'a', 'status': 'fine'} (dict)",
                     id="bad-status"),
        pytest.param(SUMMARY, ["x"], "verdicts: expected a mapping of host name to verdict, "
                                     "got ['x'] (list)", id="verdicts-not-mapping"),
        pytest.param(SUMMARY, {"web01": {"status": "ok"}},
                     "verdicts['web01']: expected a verdict (a mapping with a 'checks' list), "
                     "got {'status': 'ok'} (dict)", id="verdict-without-checks"),
    ],
)
def test_host_rows_rejects_malformed_input(summary: Any, verdicts: Any, message: str) -> None:
    with pytest.raises(ReportError, match=re.escape(message)) as caught:
        host_rows(summary, verdicts)
    assert message.startswith(caught.value.field + ": expected " + caught.value.expected)


def test_render_table() -> None:
    text = render_table(host_rows(SUMMARY, VERDICTS), "change 42", pending=["web04", "web05"])
    lines = text.splitlines()
    assert lines[0] == "change 42"
    assert re.match(r"HOST\s+STATUS\s+GATE\s+FAILED CHECKS\s+SUMMARY$", lines[2])
    assert re.match(r"web02\s+CRITICAL\s+FAILED\s+cleartext_fallback\s+CRITICAL: summary$",
                    lines[3])
    assert re.match(r"gone\s+UNKNOWN\s+FAILED\s+-\s+UNKNOWN: no verdict", lines[4])
    assert re.match(r"web01\s+OK\s+passed\s+-\s+OK: summary$", lines[6])
    assert lines[-2] == ("4 hosts: 2 passed, 2 failed (ok 1, warning 1, critical 1, unknown 1)")
    assert lines[-1] == "not reached (2, unchanged): web04, web05"
    assert all(len(line) <= 100 for line in lines)


@pytest.mark.parametrize(("statuses", "label"), [
    pytest.param(["ok", "ok"], "-", id="none"),
    pytest.param(["critical", "ok"], "c0", id="one"),
    pytest.param(["critical", "warning", "ok"], "c0, c1", id="two"),
    pytest.param(["unknown", "unknown", "unknown", "ok"], "c0, c1 +1 more", id="three-of-four"),
    pytest.param(["unknown"] * 9, "all 9 checks", id="all"),
])
def test_render_table_failed_checks_column(statuses: list[str], label: str) -> None:
    verdict = _verdict("critical", False, [_check(f"c{i}", s) for i, s in enumerate(statuses)])
    summary = {"hosts": [{"host": "h", "status": "critical", "passed": False, "summary": "S"}]}
    line = render_table(host_rows(summary, {"h": verdict})).splitlines()[3]
    assert re.fullmatch(rf"h\s+CRITICAL\s+FAILED\s+{re.escape(label)}\s+S", line), line


def test_render_table_cuts_long_summaries() -> None:
    summary = {"hosts": [{"host": "h", "status": "ok", "passed": True, "summary": "y" * 500}]}
    line = render_table(host_rows(summary), width=80).splitlines()[3]
    assert len(line) == 80 and line.endswith("y\u2026")


class _Cells(HTMLParser):
    """Collect each row's data-host, data-status and cell texts and classes."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []
        self.in_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and "data-host" in found:
            self.rows.append({"host": found["data-host"], "status": found["data-status"],
                              "cells": [], "classes": []})
        elif tag in ("td", "th") and self.rows:
            self.in_cell = True
            self.rows[-1]["cells"].append("")
            self.rows[-1]["classes"].append(found.get("class"))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self.in_cell = False

    def handle_data(self, data: str) -> None:
        if self.in_cell and self.rows:
            self.rows[-1]["cells"][-1] += data


def test_render_html_rows_cells_colours_and_escaping() -> None:
    page = render_html(host_rows(SUMMARY, VERDICTS), "change <42>", "generated now", ["web04"])
    parser = _Cells()
    parser.feed(page)
    assert [(r["host"], r["status"]) for r in parser.rows] == [
        ("web02", "critical"), ("gone", "unknown"), ("web03", "warning"), ("web01", "ok"),
        ("web04", "pending")]
    web02 = parser.rows[0]
    assert web02["cells"][:4] == ["web02", "CRITICAL", "critical (3)", "ok (0)"]
    assert web02["classes"][1:4] == ["s-critical", "s-critical", "s-ok"]
    assert "cleartext_fallback: 3 negotiations fell back to <cleartext>" in web02["cells"][4]
    assert "<cleartext>" not in page and "&lt;cleartext&gt;" in page
    assert "<title>change &lt;42&gt;</title>" in page
    assert parser.rows[1]["cells"][2:4] == ["-", "-"]
    assert "http" not in page.lower().replace("http-equiv", "")  # self-contained


def test_render_junit() -> None:
    root = ET.fromstring(render_junit(host_rows(SUMMARY, VERDICTS), "change 42"))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("name"), suite.get("tests"), suite.get("failures"), suite.get("errors")) \
        == ("change 42", "7", "1", "1")
    cases = {(c.get("classname"), c.get("name")): c for c in suite.iter("testcase")}
    failure = cases[("web02", "cleartext_fallback")].find("failure")
    assert failure is not None and failure.get("type") == "critical"
    assert failure.get("message") == "3 negotiations fell back to <cleartext>"
    assert cases[("gone", "verdict")].find("error") is not None
    # A warning below the gate (the host passed) is reported, not failed.
    warned = cases[("web03", "key_management_failures")]
    assert warned.find("failure") is None
    assert warned.findtext("system-out") == "warning: key_management_failures is warning"
