"""Fleet summaries, their table, HTML and JUnit reports, file names (plugin_utils/_fleet.py)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from health_snapshots import T0, T1, both, qm_snapshot, snapshot
from health_strategies import json_values
from hypothesis import given, settings
from hypothesis import strategies as st
from input_errors import raised

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _fleet as f
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import (
    MISSING,
    InputError,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._policy import CHECKS
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._verdict import (
    fail_verdict,
    verdict,
)

# The checks of a main-mode window verdict, in policy order (no quick-mode class given).
MAIN_MODE_WINDOW_CHECKS = [c.name for c in CHECKS if not c.compare_only and not c.quick_mode]

ROOT = Path(__file__).resolve().parents[4]


def window(before: dict[str, int], after: dict[str, int], **kwargs: Any) -> dict[str, Any]:
    return verdict(snapshot(collected_at=T1, **after), snapshot(collected_at=T0, **before),
                   **kwargs)


# --- the summary --------------------------------------------------------------------------------


def test_summary() -> None:
    ok = window({}, {})
    warn = window({}, {"get_spi_failures": 1})
    crit = window({}, {"soft_associations": 1})
    unknown = verdict({})
    result = f.summary({"d": ok, "c": crit, "b": warn, "a": unknown, "e": None},
                       hosts=["a", "b", "c", "d", "e", "f"])
    assert list(result) == ["status", "exit_code", "total", "passed", "failed", "counts",
                            "hosts", "failed_hosts", "missing_hosts", "checks"]
    assert [(r["host"], r["status"], r["passed"]) for r in result["hosts"]] == [
        ("c", "critical", False), ("a", "unknown", False), ("e", "unknown", False),
        ("f", "unknown", False), ("b", "warning", True), ("d", "ok", True)]
    assert result["counts"] == {"ok": 1, "warning": 1, "critical": 1, "unknown": 3}
    assert (result["total"], result["passed"], result["failed"]) == (6, 2, 4)
    assert (result["status"], result["exit_code"]) == ("critical", 2)
    assert result["failed_hosts"] == ["c", "a", "e", "f"]
    assert result["missing_hosts"] == ["e", "f"]
    assert result["hosts"][2] == {
        "host": "e", "status": "unknown", "passed": False, "exit_code": 3,
        "summary": "UNKNOWN: no verdict for this host (unreachable, skipped or not judged)",
        "checks": [], "perfdata": ""}
    assert list(result["checks"]) == MAIN_MODE_WINDOW_CHECKS
    assert result["checks"]["cleartext_fallback"] == {"warning": 0, "critical": 1, "unknown": 1}
    assert result["checks"]["key_management_failures"] == {
        "warning": 1, "critical": 0, "unknown": 1}


def test_summary_rows_keep_their_checks() -> None:
    crit = window({}, {"soft_associations": 1})
    result = f.summary({"web01": crit})
    row = result["hosts"][0]
    assert list(row) == ["host", "status", "passed", "exit_code", "summary", "checks",
                         "perfdata"]
    assert row["checks"] == crit["checks"]
    assert row["checks"] is not crit["checks"]  # a copy of the list: the verdict is not shared


def test_summary_lists_other_checks_after_the_policy_s() -> None:
    failed = fail_verdict(window({}, {}), "RolledBack", "the change failed")
    result = f.summary({"web01": failed})
    assert list(result["checks"]) == [*MAIN_MODE_WINDOW_CHECKS, "rollout"]
    assert result["checks"]["rollout"] == {"warning": 0, "critical": 1, "unknown": 0}


def test_summary_of_nothing_is_ok() -> None:
    result = f.summary({})
    assert (result["status"], result["total"], result["hosts"]) == ("ok", 0, [])


def test_summary_failed_before_passed_within_a_status() -> None:
    warn_passed = window({}, {"get_spi_failures": 1})
    warn_failed = window({}, {"get_spi_failures": 1}, fail_on="warning")
    result = f.summary({"a": warn_passed, "b": warn_failed})
    assert [r["host"] for r in result["hosts"]] == ["b", "a"]


BAD_SUMMARIES = [
    # (verdicts, hosts, field, expected, got)
    pytest.param([], None, "input", "a mapping of host name to verdict", [],
                 id="not-a-mapping"),
    pytest.param({}, "web01", "hosts", "a list of host names", "web01", id="hosts-string"),
    pytest.param({}, ["a", 1], "hosts", "a list of host names", ["a", 1], id="hosts-not-names"),
    pytest.param({"web01": "ok"}, None, "input['web01']", "a verdict (a mapping)", "ok",
                 id="verdict-string"),
    pytest.param({"web01": {"status": "fine", "passed": True, "checks": []}}, None,
                 "input['web01'].status", "one of ['ok', 'warning', 'critical', 'unknown']",
                 "fine", id="bad-status"),
    pytest.param({"web01": {"status": "ok", "passed": "yes", "checks": []}}, None,
                 "input['web01'].passed", "true or false", "yes", id="bad-passed"),
    pytest.param({"web01": {"status": "ok", "passed": True}}, None,
                 "input['web01'].checks", "a list", MISSING, id="no-checks"),
    pytest.param({"web01": {"status": "ok", "passed": True, "checks": [{"name": "x"}]}}, None,
                 "input['web01'].checks[0]", "a check with a name and a status", {"name": "x"},
                 id="bad-check"),
]


@pytest.mark.parametrize(("verdicts", "hosts", "field", "expected", "got"), BAD_SUMMARIES)
def test_bad_summary(verdicts: Any, hosts: Any, field: str, expected: str, got: Any) -> None:
    raised(lambda: f.summary(verdicts, hosts), field, expected, got)


def test_bad_summary_message_in_full() -> None:
    with pytest.raises(InputError) as info:
        f.summary({"web01": {"status": "ok", "passed": True, "checks": [{"name": "x"}]}})
    assert str(info.value) == ("input['web01'].checks[0]: expected a check with a name and a "
                               "status, got {'name': 'x'} (dict)")


@settings(max_examples=200)
@given(json_values, json_values, st.sampled_from(f.REPORT_FORMATS))
def test_junk_input_raises_only_input_error(verdicts: Any, hosts: Any, fmt: str) -> None:
    for call in (lambda: f.summary(verdicts, hosts), lambda: f.report(verdicts, fmt, hosts),
                 lambda: f.report({"hosts": [verdicts]}, fmt)):
        try:
            call()
        except InputError:
            pass


# --- report rows --------------------------------------------------------------------------------


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
SUMMARY = f.summary(VERDICTS, ["web02", "gone", "web03", "web01"])
# A summary whose rows carry no checks, as mmipsec_summary made them before rows kept them.
OLD_SUMMARY = {**SUMMARY, "hosts": [{k: v for k, v in row.items() if k != "checks"}
                                    for row in SUMMARY["hosts"]]}


def test_report_rows_follow_the_summary_and_keep_its_checks() -> None:
    rows = f.report_rows(SUMMARY)
    assert [r["host"] for r in rows] == ["web02", "gone", "web03", "web01"]
    assert [r["checks"] for r in rows] == [VERDICTS["web02"]["checks"], [],
                                           VERDICTS["web03"]["checks"], VERDICTS["web01"]["checks"]]
    assert rows[1]["passed"] is False and rows[1]["summary"].startswith("UNKNOWN: no verdict")
    assert list(rows[0]) == ["host", "status", "passed", "summary", "checks"]


def test_verdicts_fill_rows_without_checks_only() -> None:
    assert f.report_rows(OLD_SUMMARY, VERDICTS) == f.report_rows(SUMMARY)
    assert [r["checks"] for r in f.report_rows(OLD_SUMMARY)] == [[], [], [], []]
    other = {"web02": _verdict("ok", True, [_check("x", "ok")])}
    assert f.report_rows(SUMMARY, other) == f.report_rows(SUMMARY)  # rows with checks win


@pytest.mark.parametrize(("summary", "verdicts", "field", "expected", "got"), [
    pytest.param([], {}, "input", "an mmipsec_summary result (a mapping with a 'hosts' list)",
                 [], id="summary-not-mapping"),
    pytest.param({"hosts": [{"host": "a", "status": "fine"}]}, {}, "input.hosts[0]",
                 "a row with a 'host' name and a 'status' of ok/warning/critical/unknown",
                 {"host": "a", "status": "fine"}, id="bad-status"),
    pytest.param({"hosts": [{"host": "a", "status": "ok", "passed": True, "checks": [1]}]}, None,
                 "input.hosts[0].checks[0]", "a check with a name and a status", 1,
                 id="bad-check"),
    pytest.param(SUMMARY, ["x"], "verdicts", "a mapping of host name to verdict", ["x"],
                 id="verdicts-not-mapping"),
    pytest.param(SUMMARY, {"web01": {"status": "ok"}}, "verdicts['web01']",
                 "a verdict (a mapping with a 'checks' list)", {"status": "ok"},
                 id="verdict-without-checks"),
])
def test_report_rows_rejects_malformed_input(summary: Any, verdicts: Any, field: str,
                                             expected: str, got: Any) -> None:
    raised(lambda: f.report_rows(summary, verdicts), field, expected, got)


@pytest.mark.parametrize(("kwargs", "field", "expected", "got"), [
    pytest.param({"format": "pdf"}, "format", "one of table, html, junit", "pdf",
                 id="bad-format"),
    pytest.param({"pending": "web02"}, "pending", "a list of host names", "web02",
                 id="bad-pending"),
    pytest.param({"verdicts": [1]}, "verdicts", "a mapping of host name to verdict", [1],
                 id="bad-verdicts"),
])
def test_report_rejects_bad_arguments(kwargs: dict[str, Any], field: str, expected: str,
                                      got: Any) -> None:
    raised(lambda: f.report(SUMMARY, **kwargs), field, expected, got)


# --- text table ---------------------------------------------------------------------------------


def test_render_table() -> None:
    text = f.report(SUMMARY, "table", title="change 42", pending=["web04", "web05"])
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
    assert f.report(OLD_SUMMARY, "table", VERDICTS, "change 42", pending=["web04", "web05"]) \
        == text


@pytest.mark.parametrize(("statuses", "label"), [
    pytest.param(["ok", "ok"], "-", id="none"),
    pytest.param(["critical", "ok"], "c0", id="one"),
    pytest.param(["critical", "warning", "ok"], "c0, c1", id="two"),
    pytest.param(["unknown", "unknown", "unknown", "ok"], "c0, c1 +1 more", id="three-of-four"),
    pytest.param(["unknown"] * 9, "all 9 checks", id="all"),
])
def test_render_table_failed_checks_column(statuses: list[str], label: str) -> None:
    one = _verdict("critical", False, [_check(f"c{i}", s) for i, s in enumerate(statuses)])
    line = f.report(f.summary({"h": one})).splitlines()[3]
    assert re.fullmatch(rf"h\s+CRITICAL\s+FAILED\s+{re.escape(label)}\s+CRITICAL: summary", line)


def test_render_table_cuts_long_summaries() -> None:
    summary = {"hosts": [{"host": "h", "status": "ok", "passed": True, "summary": "y" * 500}]}
    line = f.render_table(f.report_rows(summary), width=80).splitlines()[3]
    assert len(line) == 80 and line.endswith("y\u2026")


def test_render_table_one_host() -> None:
    assert f.report(f.summary({"h": VERDICTS["web01"]})).splitlines()[-1] == (
        "1 host: 1 passed, 0 failed (ok 1, warning 0, critical 0, unknown 0)")


# --- HTML ---------------------------------------------------------------------------------------


class _Cells(HTMLParser):
    """Collect each row's data-host, data-status and cell texts, classes and titles."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []
        self.in_cell = False
        self.counts = ""
        self.in_counts = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and "data-host" in found:
            self.rows.append({"host": found["data-host"], "status": found["data-status"],
                              "cells": [], "classes": [], "titles": []})
        elif tag in ("td", "th") and self.rows:
            self.in_cell = True
            self.rows[-1]["cells"].append("")
            self.rows[-1]["classes"].append(found.get("class"))
            self.rows[-1]["titles"].append(found.get("title"))
        elif tag == "p" and found.get("id") == "counts":
            self.in_counts = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self.in_cell = False
        if tag == "p":
            self.in_counts = False

    def handle_data(self, data: str) -> None:
        if self.in_cell and self.rows:
            self.rows[-1]["cells"][-1] += data
        if self.in_counts:
            self.counts += data


def test_render_html_rows_cells_colours_and_escaping() -> None:
    page = f.report(SUMMARY, "html", title="change <42>", generated_at="generated now",
                    pending=["web04"])
    parser = _Cells()
    parser.feed(page)
    assert page.startswith("<!DOCTYPE html>\n") and page.endswith("</html>\n")
    assert [(r["host"], r["status"]) for r in parser.rows] == [
        ("web02", "critical"), ("gone", "unknown"), ("web03", "warning"), ("web01", "ok"),
        ("web04", "pending")]
    web02 = parser.rows[0]
    assert web02["cells"][:4] == ["web02", "CRITICAL", "critical (3)", "ok (0)"]
    assert web02["classes"][1:4] == ["s-critical", "s-critical", "s-ok"]
    assert web02["titles"][2] == "Alert 3 negotiations fell back to <cleartext>"
    assert web02["cells"][4] == ("CRITICAL: summarycleartext_fallback: 3 negotiations fell back "
                                 "to <cleartext>")
    assert "<cleartext>" not in page and "&lt;cleartext&gt;" in page
    assert "<title>change &lt;42&gt;</title>" in page and "<p>generated now</p>" in page
    assert parser.rows[1]["cells"][2:4] == ["-", "-"]
    assert parser.rows[4]["cells"] == ["web04", "NOT REACHED", "not reached yet: unchanged"]
    assert 'colspan="3"' in page
    assert parser.counts == ("4 hosts: 2 passed, 2 failed. ok 1 warning 1 critical 1 unknown 1 "
                             "Not reached yet: 1.")
    assert "http" not in page.lower().replace("http-equiv", "")  # self-contained
    assert f.report(OLD_SUMMARY, "html", VERDICTS, "change <42>", "generated now",
                    ["web04"]) == page


def test_render_html_of_checks_without_value_reason_or_message() -> None:
    checks = [{"name": "a", "status": "critical"}, {"name": "b", "status": "ok", "value": None}]
    bare = {"status": "critical", "passed": False, "summary": "", "checks": checks}
    parser = _Cells()
    parser.feed(f.report(f.summary({"h": bare}), "html"))
    assert parser.rows[0]["cells"] == ["h", "CRITICAL", "critical", "ok", "a: critical"]
    assert parser.rows[0]["titles"][2:4] == [None, None]


def test_html_template_is_the_health_check_role_s() -> None:
    # The collection the tests import: the source tree, or the installed copy under `make`.
    role = Path(f.__file__).resolve().parents[2] / "roles" / "health_check"
    assert f.HTML_TEMPLATE == role / "templates" / "report.html.j2"
    assert f.HTML_TEMPLATE.read_bytes() == (
        ROOT / "roles" / "health_check" / "templates" / "report.html.j2").read_bytes()
    tasks = yaml.safe_load((role / "tasks" / "report.yml").read_text(encoding="utf-8"))
    written = [task for block in tasks for task in block.get("block", [block])
               if task.get("name") == "Write the HTML report"]
    assert [task["ansible.builtin.template"]["src"] for task in written] == [
        "{{ health_check_report_template }}"]
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text(encoding="utf-8"))
    assert defaults["health_check_report_template"] == f.HTML_TEMPLATE.name


def test_render_html_renders_the_template_file(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    own = tmp_path / "report.html.j2"
    own.write_text("{{ health_check_report_name }}: {{ health_check_summary.hosts | length }} "
                   "{{ health_check_report_pending | join(',') }} "
                   "{{ health_check_report_generated_at }}\n", encoding="utf-8")
    monkeypatch.setattr(f, "HTML_TEMPLATE", own)
    assert f.report(SUMMARY, "html", title="<t>", generated_at="now", pending=["p", "q"]) == \
        "&lt;t&gt;: 4 p,q now\n"


# --- JUnit XML ----------------------------------------------------------------------------------


def test_render_junit() -> None:
    root = ET.fromstring(f.report(SUMMARY, "junit", title="change 42"))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("name"), suite.get("tests"), suite.get("failures"), suite.get("errors")) \
        == ("change 42", "7", "1", "1")
    cases = {(c.get("classname"), c.get("name")): c for c in suite.iter("testcase")}
    failure = cases[("web02", "cleartext_fallback")].find("failure")
    assert failure is not None and failure.get("type") == "critical"
    assert failure.get("message") == "3 negotiations fell back to <cleartext>"
    assert failure.text == "web02: CRITICAL: summary"
    assert cases[("gone", "verdict")].find("error") is not None
    # A warning below the gate (the host passed) is reported, not failed.
    warned = cases[("web03", "key_management_failures")]
    assert warned.find("failure") is None
    assert warned.findtext("system-out") == "warning: key_management_failures is warning"
    assert f.report(OLD_SUMMARY, "junit", VERDICTS, "change 42") == f.report(
        SUMMARY, "junit", title="change 42")


# --- file names ---------------------------------------------------------------------------------


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
    assert f.safe_file_name(host) == expected


def test_safe_file_name_distinct_hosts_never_share_a_file() -> None:
    hosts = ["a/b", "a_b", "a%2Fb", "a:b", "a%3Ab", ".a", "%2Ea"]
    names = [f.safe_file_name(h) for h in hosts]
    assert len(set(names)) == len(hosts)


def test_safe_file_name_long_name_is_cut_with_a_hash() -> None:
    first = f.safe_file_name("x" * 300, "")
    second = f.safe_file_name("x" * 299 + "y", "")
    assert len(first) == f.MAX_FILE_NAME
    assert first != second
    assert re.fullmatch(r"x{183}~[0-9a-f]{16}", first)


@pytest.mark.parametrize("host", [pytest.param("", id="empty"), pytest.param(None, id="none"),
                                  pytest.param(7, id="int")])
def test_safe_file_name_rejects_non_names(host: Any) -> None:
    raised(lambda: f.safe_file_name(host), "host", "a non-empty host name string", host)


def test_summary_counts_quick_mode_checks_in_policy_order() -> None:
    broken = verdict(both(snapshot(collected_at=T1), qm_snapshot(packets_not_decrypted=3)),
                     both(snapshot(collected_at=T0), qm_snapshot(collected_at=T0)))
    result = f.summary({"web03": broken, "web01": window({}, {})})
    assert list(result["checks"])[-4:] == [c.name for c in CHECKS if c.quick_mode]
    assert result["checks"]["decryption_failure_rate"] == {
        "warning": 0, "critical": 1, "unknown": 0}
    assert (result["status"], result["failed_hosts"]) == ("critical", ["web03"])
