"""Issue 15: bad filter input gives an InputError naming the field, never a raw Python error.

Huge integers, NaN and infinity, deep nesting, duplicate hosts, string booleans and control
characters in host names, through the functions behind every filter.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from health_snapshots import T0, T1, snapshot
from input_errors import raised

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _fleet as f
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import (
    MAX_DEPTH,
    MAX_INT_DIGITS,
    InputError,
    check_bounds,
    describe,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._nagios import RangeError, parse_range
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._policy import resolve_thresholds
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._verdict import (
    compare,
    fail_verdict,
    verdict,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._window import delta

HUGE = 10**5000
TOO_MANY_DIGITS = f"an integer of at most {MAX_INT_DIGITS} digits"
TOO_DEEP = f"at most {MAX_DEPTH} levels of nesting"


def nested(levels: int, leaf: Any = 1) -> Any:
    value = leaf
    for dummy in range(levels):
        value = {"a": value}
    return value


def window() -> dict[str, Any]:
    return delta(snapshot(collected_at=T1, soft_associations=3, invalid_packets=5),
                 snapshot(collected_at=T0))


# --- huge integers ------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "shown"), [
    pytest.param(HUGE, "an integer of 5001 digits (int)", id="huge"),
    pytest.param(-HUGE, "an integer of 5001 digits (int)", id="huge-negative"),
    pytest.param(10**4299, "1" + "0" * 76 + "... (int)", id="4300-digits-is-shown"),
])
def test_describe_huge_int(value: int, shown: str) -> None:
    assert describe(value) == shown


def test_huge_int_in_snapshot_counters_names_the_field() -> None:
    current = snapshot(collected_at=T1)
    current["instances"][0]["counters"]["send_failures"] = HUGE
    raised(lambda: delta(current, {}), "input.instances[0].counters.send_failures",
           "an integer in 0..18446744073709551615 (not a bool, float or string)", HUGE)


def test_huge_int_in_snapshot_totals_names_the_field() -> None:
    current = snapshot(collected_at=T1)
    current["totals"]["send_failures"] = HUGE
    raised(lambda: verdict(current), "input.totals.send_failures",
           "0, the sum over active instances", HUGE)


@pytest.mark.parametrize("level", [HUGE, "1" * 5000, "1:" + "2" * 5000, "0." + "5" * 5000],
                         ids=["int", "str", "range-end", "decimal"])
def test_huge_threshold_is_an_input_error(level: Any) -> None:
    with pytest.raises(InputError) as info:
        verdict(snapshot(collected_at=T1), thresholds={"cleartext_fallback": {"warning": level}})
    assert info.value.field == "thresholds.cleartext_fallback.warning"
    assert f"at most {MAX_INT_DIGITS} digits" in info.value.expected


@pytest.mark.parametrize("text", [HUGE, "1" * 5000], ids=["int", "str"])
def test_parse_range_refuses_huge_numbers(text: Any) -> None:
    with pytest.raises(RangeError) as info:
        parse_range(text)
    assert info.value.problem == f"expected numbers of at most {MAX_INT_DIGITS} digits"
    assert "digits" in str(info.value)


def test_huge_int_in_a_delta_names_the_field() -> None:
    post = window()
    post["counters"]["soft_associations"] = HUGE
    raised(lambda: compare(window(), post), "post_delta.counters.soft_associations",
           TOO_MANY_DIGITS, HUGE)


@pytest.mark.parametrize("fmt", f.REPORT_FORMATS)
def test_huge_int_in_a_summary_row(fmt: str) -> None:
    summary = f.summary({"web01": verdict(snapshot(collected_at=T1))})
    summary["hosts"][0]["summary"] = HUGE
    raised(lambda: f.report(summary, fmt), "input.hosts[0].summary", TOO_MANY_DIGITS, HUGE)


def test_huge_int_in_a_verdict_for_the_summary() -> None:
    one = {**verdict(snapshot(collected_at=T1)), "summary": HUGE}
    raised(lambda: f.summary({"web01": one}), "input.web01.summary", TOO_MANY_DIGITS, HUGE)


# --- NaN and infinity ---------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["window_seconds", "rate_window_seconds"])
@pytest.mark.parametrize("bad", [math.inf, -math.inf], ids=["inf", "-inf"])
def test_infinite_window_is_an_input_error(field: str, bad: float) -> None:
    raised(lambda: compare(window(), {**window(), field: bad}), f"post_delta.{field}",
           "a finite number", bad)


@pytest.mark.parametrize("field", ["window_seconds", "rate_window_seconds"])
def test_nan_window_is_an_input_error(field: str) -> None:
    with pytest.raises(InputError) as info:
        compare({**window(), field: math.nan}, window())
    assert (info.value.field, info.value.expected) == (f"input.{field}", "a finite number")
    assert str(info.value) == f"input.{field}: expected a finite number, got nan (float)"


def test_nan_rate_is_an_input_error() -> None:
    post = window()
    post["rates"]["invalid_packets"] = math.nan
    with pytest.raises(InputError, match=r"^post_delta\.rates\.invalid_packets: expected a "
                                         r"finite number, got nan \(float\)$"):
        compare(window(), post)


@pytest.mark.parametrize("level", ["nan", math.nan, math.inf, "inf"])
def test_nan_threshold_is_an_input_error(level: Any) -> None:
    with pytest.raises(InputError) as info:
        resolve_thresholds({"cleartext_fallback": {"critical": level}})
    assert info.value.field == "thresholds.cleartext_fallback.critical"


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_counter_in_a_snapshot(bad: float) -> None:
    current = snapshot(collected_at=T1)
    current["totals"]["send_failures"] = bad
    with pytest.raises(InputError) as info:
        verdict(current)
    assert info.value.field == "input.totals.send_failures"


# --- deep nesting -------------------------------------------------------------------------------


DEEP = nested(900)


@pytest.mark.parametrize("call", [
    pytest.param(lambda: compare(DEEP, window()), id="compare-input"),
    pytest.param(lambda: compare(window(), {**window(), "rates": DEEP}), id="compare-rates"),
    pytest.param(lambda: verdict(snapshot(collected_at=T1), thresholds=DEEP), id="thresholds"),
    pytest.param(lambda: resolve_thresholds({"cleartext_fallback": DEEP}),
                 id="resolve-thresholds"),
    pytest.param(lambda: delta(DEEP, {}), id="delta"),
    pytest.param(lambda: delta({**snapshot(collected_at=T1), "instances": [DEEP]}, {}),
                 id="delta-instance"),
    pytest.param(lambda: verdict(snapshot(collected_at=T1), DEEP), id="verdict-baseline"),
    pytest.param(lambda: f.summary(DEEP), id="summary"),
    pytest.param(lambda: f.summary({"web01": DEEP}), id="summary-verdict"),
    pytest.param(lambda: f.summary({}, [DEEP]), id="summary-hosts"),
    pytest.param(lambda: fail_verdict(DEEP, "RolledBack", "x"), id="fail-verdict"),
    pytest.param(lambda: f.report(DEEP, "junit"), id="report"),
    pytest.param(lambda: f.report({"hosts": [DEEP]}, "html"), id="report-row"),
    pytest.param(lambda: f.report({"hosts": []}, "table", DEEP), id="report-verdicts"),
    pytest.param(lambda: f.report({"hosts": []}, "table", title=DEEP), id="report-title"),
])
def test_deep_nesting_is_an_input_error(call: Any) -> None:
    with pytest.raises(InputError):
        call()


def test_deep_nesting_message() -> None:
    value = nested(MAX_DEPTH + 1)
    with pytest.raises(InputError) as info:
        check_bounds(value, "input")
    assert info.value.field == "input" + ".a" * MAX_DEPTH
    assert info.value.expected == TOO_DEEP
    check_bounds(nested(MAX_DEPTH), "input")  # the limit itself is fine


def test_deep_nesting_in_a_summary_field() -> None:
    one = {**verdict(snapshot(collected_at=T1)), "summary": nested(5000)}
    with pytest.raises(InputError) as info:
        f.summary({"web01": one})
    assert info.value.field.startswith("input.web01.summary.a.a")
    assert info.value.expected == TOO_DEEP


@pytest.mark.parametrize(("value", "field"), [
    pytest.param({"a": [1, {"b": math.nan}]}, "x.a[1].b", id="list-in-mapping"),
    pytest.param({"web 01": math.inf}, "x['web 01']", id="key-not-a-name"),
    pytest.param({HUGE: 1}, "x[an integer of 5001 digits] (a key)", id="huge-key"),
])
def test_check_bounds_paths(value: Any, field: str) -> None:
    with pytest.raises(InputError) as info:
        check_bounds(value, "x")
    assert info.value.field == field


# --- summary and report: duplicates, string booleans --------------------------------------------


def test_summary_counts_a_host_listed_twice_once() -> None:
    one = verdict(snapshot(collected_at=T1))
    result = f.summary({"web01": one}, hosts=["web01", "web02", "web01", "web02"])
    assert [r["host"] for r in result["hosts"]] == ["web02", "web01"]
    assert (result["total"], result["passed"], result["failed"]) == (2, 1, 1)
    assert result["missing_hosts"] == ["web02"]


def test_summary_refuses_two_keys_for_one_host() -> None:
    one = verdict(snapshot(collected_at=T1))
    raised(lambda: f.summary({1: one, "1": one}), "input['1']",
           "each host once (another key is the same host name)", "1")


def test_summary_refuses_string_passed() -> None:
    one = {**verdict(snapshot(collected_at=T1)), "passed": "false"}
    raised(lambda: f.summary({"web01": one}), "input['web01'].passed", "true or false", "false")


SUMMARY_ROW = {"host": "web01", "status": "ok", "passed": True, "exit_code": 0,
               "summary": "OK", "checks": []}


@pytest.mark.parametrize(("row", "field", "expected", "got"), [
    pytest.param({**SUMMARY_ROW, "passed": "false"}, "input.hosts[0].passed", "true or false",
                 "false", id="passed-string"),
    pytest.param({k: v for k, v in SUMMARY_ROW.items() if k != "passed"},
                 "input.hosts[0].passed", "true or false", None, id="passed-missing"),
    pytest.param({**SUMMARY_ROW, "exit_code": 2}, "input.hosts[0].exit_code",
                 "0, the exit code of status 'ok'", 2, id="exit-code-mismatch"),
    pytest.param({**SUMMARY_ROW, "exit_code": False}, "input.hosts[0].exit_code",
                 "0, the exit code of status 'ok'", False, id="exit-code-bool"),
])
def test_report_refuses_inconsistent_rows(row: Any, field: str, expected: str, got: Any) -> None:
    error = pytest.raises(InputError, f.report, {"hosts": [row]}, "table").value
    assert (error.field, error.expected, error.got) == (field, expected, got)


def test_report_refuses_a_host_listed_twice() -> None:
    rows = [SUMMARY_ROW, {**SUMMARY_ROW, "host": "web02"}, SUMMARY_ROW]
    raised(lambda: f.report({"hosts": rows}, "junit"), "input.hosts[2].host",
           "each host once (it is also input.hosts[0])", "web01")


# --- control characters in the JUnit report -----------------------------------------------------


@pytest.mark.parametrize(("host", "shown"), [
    ("web\x01evil", "web\\x01evil"), ("web\x1b[31mred", "web\\x1b[31mred"),
    ("bad\ud800", "bad\\ud800"), ("a\ufffeb", "a\\ufffeb")])
def test_junit_with_control_characters_is_well_formed(host: str, shown: str) -> None:
    bad = {"status": "critical", "passed": False, "summary": f"CRITICAL: {host} broke",
           "checks": [{"name": f"check{host}", "status": "critical", "message": f"m{host}"}]}
    summary = f.summary({host: bad, "web02": None})
    text = f.report(summary, "junit", title=f"fleet{host}")
    root = ET.fromstring(text.encode("utf-8"))  # raises on ill-formed XML
    classnames = [case.get("classname") for case in root.iter("testcase")]
    assert shown in classnames
    assert root.get("name") == f"fleet{shown}"
    failure = root.find(".//failure")
    assert failure is not None
    assert failure.get("message") == f"m{shown}"


def test_junit_keeps_ordinary_text() -> None:
    check = {"name": "x", "status": "critical", "message": "line1\nline2 <&>"}
    verdict = {"status": "critical", "passed": False, "summary": "a\tb", "checks": [check]}
    summary = f.summary({"wéb01 ü": verdict})
    root = ET.fromstring(f.report(summary, "junit").encode("utf-8"))
    failure = root.find(".//failure")
    assert failure is not None
    assert failure.get("message") == "line1\nline2 <&>"
    assert [case.get("classname") for case in root.iter("testcase")] == ["wéb01 ü"]


def test_table_shows_control_characters_escaped() -> None:
    summary = f.summary({"web\x1b[31m": None})
    table = f.report(summary, "table")
    assert "\x1b" not in table
    assert "web\\x1b[31m" in table
