"""Nagios statuses, exit codes and threshold ranges (plugin_utils/_nagios.py)."""

from __future__ import annotations

import re

import pytest

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._nagios import (
    EXIT_CODES,
    SEVERITY,
    STATUSES,
    NagiosRange,
    RangeError,
    parse_range,
    worst,
)

UINT64_MAX = 2**64 - 1

PARSED = [
    pytest.param("10", NagiosRange("10", 0, 10, False), id="end-only"),
    pytest.param("10:", NagiosRange("10:", 10, None, False), id="start-only"),
    pytest.param("~:10", NagiosRange("~:10", None, 10, False), id="negative-infinity"),
    pytest.param("10:20", NagiosRange("10:20", 10, 20, False), id="both"),
    pytest.param("@10:20", NagiosRange("@10:20", 10, 20, True), id="inside"),
    pytest.param("@10", NagiosRange("@10", 0, 10, True), id="inside-end-only"),
    pytest.param("0.5:1.5", NagiosRange("0.5:1.5", 0.5, 1.5, False), id="decimals"),
    pytest.param("-5:5", NagiosRange("-5:5", -5, 5, False), id="negative"),
    pytest.param(":10", NagiosRange(":10", 0, 10, False), id="empty-start-is-zero"),
    pytest.param("~:", NagiosRange("~:", None, None, False), id="everything"),
    pytest.param(" 5 ", NagiosRange("5", 0, 5, False), id="spaces-stripped"),
    pytest.param(10, NagiosRange("10", 0, 10, False), id="yaml-int"),
    pytest.param(0.5, NagiosRange("0.5", 0, 0.5, False), id="yaml-float"),
    pytest.param(str(UINT64_MAX), NagiosRange(str(UINT64_MAX), 0, UINT64_MAX, False),
                 id="uint64-max-stays-exact"),
]


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_parse_range(text: object, expected: NagiosRange) -> None:
    parsed = parse_range(text)
    assert parsed == expected
    assert type(parsed.start) is type(expected.start)
    assert type(parsed.end) is type(expected.end)


ALERTS = [
    # (range, value, alerts?)
    pytest.param("10", -1, True, id="10-below"),
    pytest.param("10", 0, False, id="10-at-start"),
    pytest.param("10", 10, False, id="10-at-end"),
    pytest.param("10", 11, True, id="10-above"),
    pytest.param("10:", 9.99, True, id="10:-below"),
    pytest.param("10:", 10, False, id="10:-at-start"),
    pytest.param("10:", 10**30, False, id="10:-huge"),
    pytest.param("~:10", -10**30, False, id="~:10-very-negative"),
    pytest.param("~:10", 10.01, True, id="~:10-above"),
    pytest.param("10:20", 9, True, id="10:20-below"),
    pytest.param("10:20", 15, False, id="10:20-inside"),
    pytest.param("10:20", 21, True, id="10:20-above"),
    pytest.param("@10:20", 10, True, id="@10:20-at-start"),
    pytest.param("@10:20", 20, True, id="@10:20-at-end"),
    pytest.param("@10:20", 9, False, id="@10:20-below"),
    pytest.param("@10:20", 21, False, id="@10:20-above"),
    pytest.param("0", 0, False, id="0-zero"),
    pytest.param("0", 1, True, id="0-one"),
    pytest.param("0.1", 0.1, False, id="0.1-equal-float"),
    pytest.param("0.1", 0.1000001, True, id="0.1-just-above"),
    pytest.param(str(UINT64_MAX - 1), UINT64_MAX, True, id="uint64-exact-above"),
    pytest.param(str(UINT64_MAX), UINT64_MAX, False, id="uint64-exact-equal"),
]


@pytest.mark.parametrize(("text", "value", "alerts"), ALERTS)
def test_alerts(text: str, value: float, alerts: bool) -> None:
    assert parse_range(text).alerts(value) is alerts


BAD = [
    pytest.param("", "expected [@]start:end", id="empty"),
    pytest.param("abc", "expected [@]start:end", id="letters"),
    pytest.param("@", "expected [@]start:end", id="at-only"),
    pytest.param(":", "expected [@]start:end", id="colon-only"),
    pytest.param("10:20:30", "expected [@]start:end", id="two-colons"),
    pytest.param("~", "expected [@]start:end", id="tilde-without-colon"),
    pytest.param("10:~", "expected [@]start:end", id="tilde-as-end"),
    pytest.param("1e3", "expected [@]start:end", id="exponent"),
    pytest.param("20:10", "its start 20 is above its end 10", id="start-above-end"),
    pytest.param("-5", "its start 0 is above its end -5", id="negative-end-only"),
    pytest.param(True, "expected a string such as", id="bool"),
    pytest.param(None, "expected a string such as", id="none"),
    pytest.param(["10"], "expected a string such as", id="list"),
]


@pytest.mark.parametrize(("value", "problem"), BAD)
def test_bad_range(value: object, problem: str) -> None:
    with pytest.raises(RangeError) as info:
        parse_range(value)
    assert info.value.text == value
    assert info.value.problem.startswith(problem)
    assert str(info.value) == (f"{value!r} ({type(value).__name__}) is not a Nagios range: "
                               f"{info.value.problem}")


def test_bad_range_full_message() -> None:
    message = ("'20:10' (str) is not a Nagios range: its start 20 is above its end 10")
    with pytest.raises(RangeError, match=re.escape(message)):
        parse_range("20:10")


def test_statuses_and_exit_codes() -> None:
    assert STATUSES == ("ok", "warning", "critical", "unknown")
    assert dict(EXIT_CODES) == {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}
    assert sorted(SEVERITY, key=SEVERITY.__getitem__) == ["ok", "warning", "unknown", "critical"]


def test_unknown_outranks_warning_and_critical_outranks_unknown() -> None:
    assert worst(["ok", "warning", "unknown"]) == "unknown"
    assert worst(["unknown", "critical", "warning"]) == "critical"
    assert worst(["ok", "warning"]) == "warning"
    assert worst(iter(["ok"])) == "ok"
    assert worst([]) == "ok"
