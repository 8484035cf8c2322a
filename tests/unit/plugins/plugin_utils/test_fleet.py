"""Fleet summaries, their table, HTML and JUnit reports, file names (plugin_utils/_fleet.py)."""

from __future__ import annotations

import base64
import hashlib
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


class _Page(HTMLParser):
    """Every table row of a page (nested tables too) with its table, attributes and cell texts;
    the counts line; each chart bar's label and rectangles; every src and href."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []
        self.counts = ""
        self.bars: list[tuple[str, list[tuple[str, str, str]]]] = []
        self.links: list[str] = []
        self.tags: dict[str, int] = {}
        self._tables: list[str] = []
        self._open: list[dict[str, Any]] = []
        self._in_counts = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self.links += [value for key, value in found.items() if key in ("src", "href")]
        if tag == "table":
            self._tables.append(found.get("id") or found.get("class", ""))
        elif tag == "tr":
            self._open.append({"table": self._tables[-1], "attrs": found, "cells": [],
                               "classes": []})
            self.rows.append(self._open[-1])
        elif tag in ("td", "th") and self._open:
            self._open[-1]["cells"].append("")
            self._open[-1]["classes"].append(found.get("class"))
        elif tag == "svg":
            self.bars.append((found["aria-label"], []))
        elif tag == "rect":
            self.bars[-1][1].append((found["class"], found["x"], found["width"]))
        elif tag == "p" and found.get("id") == "counts":
            self._in_counts = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._tables.pop()
        elif tag == "tr":
            row = self._open.pop()
            row["cells"] = [" ".join(cell.split()) for cell in row["cells"]]
        elif tag == "p":
            self._in_counts = False

    def handle_data(self, data: str) -> None:
        if self._open and self._open[-1]["cells"]:
            self._open[-1]["cells"][-1] += data
        if self._in_counts:
            self.counts += data

    def table(self, name: str) -> list[dict[str, Any]]:
        return [row for row in self.rows if row["table"] == name and row["cells"]]


def _parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


def test_render_html_overview_details_and_chart() -> None:
    page = f.report(SUMMARY, "html", title="change <42>", generated_at="generated now",
                    pending=["web04"])
    parsed = _parse(page)
    assert page.startswith("<!DOCTYPE html>\n") and page.endswith("</html>\n")
    assert "<title>change &lt;42&gt;</title>" in page and "<p>generated now</p>" in page
    assert parsed.counts == ("4 hosts: 2 passed, 2 failed. ok 1 warning 1 critical 1 unknown 1 "
                             "Not reached yet: 1.")
    # The overview: one row per host, worst first, then the hosts not reached.
    hosts = parsed.table("hosts")[1:]
    assert [(r["attrs"]["data-host"], r["attrs"]["data-status"], r["attrs"]["data-failed"],
             r["attrs"]["data-order"]) for r in hosts] == [
        ("web02", "critical", "1", "1"), ("gone", "unknown", "0", "2"),
        ("web03", "warning", "1", "3"), ("web01", "ok", "0", "4"), ("web04", "pending", "0", "5")]
    assert [r["cells"] for r in hosts] == [
        ["web02", "CRITICAL", "cleartext_fallback", "CRITICAL: summary Gate failed."],
        ["gone", "UNKNOWN", "-",
         "UNKNOWN: no verdict for this host (unreachable, skipped or not judged)"],
        ["web03", "WARNING", "key_management_failures", "WARNING: summary Gate passed."],
        ["web01", "OK", "-", "OK: summary Gate passed."],
        ["web04", "NOT REACHED", "-", "not reached yet: unchanged"]]
    assert [r["classes"][1] for r in hosts] == [
        "s-critical", "s-unknown", "s-warning", "s-ok", "pending"]
    # The details: each check with its value, limits (warning / critical) and message.
    checks = parsed.table("checks")
    assert [r["cells"] for r in checks if r["cells"][0] != "check"][:2] == [
        ["cleartext_fallback", "critical", "3", "- / 0", "3 negotiations fell back to <cleartext>"],
        ["key_management_failures", "ok", "0", "- / 0", "key_management_failures is ok"]]
    assert "<cleartext>" not in page and "&lt;cleartext&gt;" in page
    # The chart: each check's statuses over the 4 hosts (one has no verdict).
    assert [r["cells"] for r in parsed.table("chart")] == [
        ["cleartext_fallback", "", "ok 2, critical 1, no verdict 1"],
        ["key_management_failures", "", "ok 2, warning 1, no verdict 1"]]
    assert parsed.bars == [
        ("cleartext_fallback: ok 2, critical 1, no verdict 1",
         [("s-ok", "0", "2"), ("s-critical", "2", "1")]),
        ("key_management_failures: ok 2, warning 1, no verdict 1",
         [("s-ok", "0", "2"), ("s-warning", "2", "1")])]
    assert 'viewBox="0 0 4 1"' in page
    assert f.report(OLD_SUMMARY, "html", VERDICTS, "change <42>", "generated now",
                    ["web04"]) == page


@pytest.mark.parametrize(("name", "value", "shown"), [
    pytest.param("authentication_failure_ratio", 100 * 14 / 15, "93.3%", id="percent"),
    pytest.param("negotiation_failure_ratio", 5.0, "5.0%", id="percent-whole"),
    pytest.param("negotiation_failure_ratio", None, "-", id="percent-no-attempts"),
    pytest.param("malformed_traffic_rate", 5 / 60, "0.0833/s", id="rate-small"),
    pytest.param("malformed_traffic_rate", 0, "0/s", id="rate-zero"),
    pytest.param("malformed_traffic_rate", 1234.56, "1,234.6/s", id="rate-large"),
    pytest.param("cleartext_fallback", 1234567, "1,234,567", id="count"),
    pytest.param("ike_receive_backlog", 0, "0", id="count-zero"),
    pytest.param("ike_heap_size", 2.5, "2.50", id="other-float"),
    pytest.param("rollout", None, "-", id="none"),
    pytest.param("custom", "n/a", "n/a", id="text"),
    pytest.param("custom", True, "True", id="bool-not-a-count"),
])
def test_render_html_numbers_for_people(name: str, value: Any, shown: str) -> None:
    one = _verdict("critical", False, [_check(name, "critical", value)])
    [check] = [r for r in _parse(f.report(f.summary({"h": one}), "html")).table("checks")
               if r["cells"][0] == name]
    assert check["cells"][2] == shown


def test_policy_names_say_the_unit_the_report_shows() -> None:
    # The template picks percent for *_ratio and per second for *_rate (it sees names only).
    for spec in CHECKS:
        assert (spec.unit == "percent") == spec.name.endswith("_ratio"), spec.name
        assert (spec.unit == "per second") == spec.name.endswith("_rate"), spec.name


def test_render_html_counts_with_separators() -> None:
    rows = [{"host": f"h{n}", "status": "ok", "passed": True, "summary": "", "checks": []}
            for n in range(1234)]
    parsed = _parse(f.render_html(rows, pending=[f"p{n}" for n in range(1001)]))
    assert parsed.counts == ("1,234 hosts: 1,234 passed, 0 failed. ok 1,234 warning 0 critical 0 "
                             "unknown 0 Not reached yet: 1,001.")
    assert len(parsed.table("hosts")) == 1 + 1234 + 1001
    assert parsed.table("chart") == []  # no checks, no chart
    # The text table counts the same way.
    assert f.render_table(rows, pending=["p"] * 1001).splitlines()[-2:] == [
        "1,234 hosts: 1,234 passed, 0 failed (ok 1,234, warning 0, critical 0, unknown 0)",
        "not reached (1,001, unchanged): " + ", ".join(["p"] * 1001)]


@pytest.mark.parametrize(("statuses", "label"), [
    pytest.param(["ok", "ok"], "-", id="none"),
    pytest.param(["critical", "ok"], "c0", id="one"),
    pytest.param(["critical", "warning", "ok"], "c0 c1", id="two"),
    pytest.param(["unknown", "unknown", "unknown", "ok"], "c0 c1 +1 more", id="three-of-four"),
    pytest.param(["unknown"] * 9, "all 9 checks", id="all"),
])
def test_render_html_failed_checks_column(statuses: list[str], label: str) -> None:
    one = _verdict("critical", False, [_check(f"c{i}", s) for i, s in enumerate(statuses)])
    [row] = _parse(f.report(f.summary({"h": one}), "html")).table("hosts")[1:]
    assert row["cells"][2] == label
    assert row["attrs"]["data-failed"] == str(statuses.count("unknown")
                                              + statuses.count("critical")
                                              + statuses.count("warning"))


HOSTILE = '"><img src=x onerror=alert(1)><script>alert(2)</script>\'&amp;'


def test_render_html_escapes_hostile_names_and_messages() -> None:
    one = fail_verdict(window({}, {}), "ChangeFailed", HOSTILE)
    page = f.report(f.summary({HOSTILE: one}), "html", title=HOSTILE, generated_at=HOSTILE,
                    pending=[HOSTILE + "2"])
    parsed = _parse(page)
    # Only the page's own markup: its one script, no image; the texts come back unchanged.
    assert (parsed.tags.get("script"), parsed.tags.get("img")) == (1, None)
    assert parsed.links == []
    host, pending = parsed.table("hosts")[1:]
    assert (host["attrs"]["data-host"], host["cells"][0]) == (HOSTILE, HOSTILE)
    assert host["cells"][3] == f"CRITICAL: {HOSTILE} Gate failed."
    assert (pending["attrs"]["data-host"], pending["cells"][0]) == (HOSTILE + "2", HOSTILE + "2")
    [rollout] = [r for r in parsed.table("checks") if r["cells"][0] == "rollout"]
    assert rollout["cells"][4] == HOSTILE


def test_render_html_content_security_policy_allows_only_its_own_script() -> None:
    page = f.report(SUMMARY, "html")
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', page)
    assert policy is not None
    rules = dict(rule.strip().split(" ", 1) for rule in policy[1].split(";"))
    [script] = re.findall(r"<script>(.*?)</script>", page, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    assert rules == {"default-src": "'none'", "style-src": "'unsafe-inline'",
                     "script-src": f"'sha256-{digest}'", "base-uri": "'none'",
                     "form-action": "'none'"}
    # Without the script every host is shown: the filter controls start hidden, no row does.
    assert '<div id="controls" hidden>' in page
    assert all("hidden" not in row["attrs"] for row in _parse(page).rows)


def test_render_html_of_checks_without_value_reason_or_message() -> None:
    checks = [{"name": "a", "status": "critical"}, {"name": "b", "status": "ok", "value": None}]
    bare = {"status": "critical", "passed": False, "summary": "", "checks": checks}
    parsed = _parse(f.report(f.summary({"h": bare}), "html"))
    assert parsed.table("hosts")[1]["cells"] == ["h", "CRITICAL", "a", "CRITICAL Gate failed."]
    assert [r["cells"] for r in parsed.table("checks")[1:]] == [
        ["a", "critical", "-", "- / -", "-"], ["b", "ok", "-", "- / -", "-"]]


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
