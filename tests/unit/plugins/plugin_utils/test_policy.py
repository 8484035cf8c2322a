"""The check table, its defaults and the threshold overrides (plugin_utils/_policy.py)."""

from __future__ import annotations

from string import Formatter
from typing import Any

import pytest
from input_errors import raised

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _policy as p
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import COUNTER_KEYS, QM
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._nagios import (
    STATUSES,
    NagiosRange,
    parse_range,
)

# The fields each kind's message may use (what _verdict.py passes to str.format).
MESSAGE_FIELDS = {
    "count": {"value", "span"}, "ratio": {"value", "failures", "attempts", "span"},
    "rate": {"value", "events", "where"}, "gauge": {"value", "where"},
    "activity": {"value", "span", "before", "before_span"},
}


def _fields(template: str) -> set[str]:
    return {name for _text, name, _spec, _conv in Formatter().parse(template) if name}


def test_check_table_is_consistent() -> None:
    names = [c.name for c in p.CHECKS]
    assert len(set(names)) == len(names)
    assert p.CHECK_NAMES == tuple(names)
    assert [c.name for c in p.WINDOW_CHECKS] == [c.name for c in p.CHECKS if not c.compare_only]
    for spec in p.CHECKS:
        assert p.CHECK_BY_NAME[spec.name] is spec
        assert spec.reason[0].isupper() and "_" not in spec.reason, spec.reason
        keys = QM.keys if spec.quick_mode else COUNTER_KEYS
        assert spec.counters and all(k in keys for k in spec.counters), spec.name
        for text in (spec.warning, spec.critical):
            if text is not None:
                parse_range(text)
        assert _fields(spec.message) == MESSAGE_FIELDS[spec.kind], spec.name
        assert _fields(spec.idle_message) <= {"span"}, spec.name
        assert (spec.kind == "ratio") == bool(spec.idle_message), spec.name
        assert (spec.kind == "activity") == spec.compare_only, spec.name
        assert spec.rationale and spec.formula and spec.unit and spec.unit_noun


def test_common_reasons() -> None:
    codes = [reason for reason, _status, _meaning in p.COMMON_REASONS]
    assert len(set(codes)) == len(codes)
    assert {status for _reason, status, _meaning in p.COMMON_REASONS} <= set(STATUSES)
    assert not set(codes) & {c.reason for c in p.CHECKS}


def test_default_ranges_are_the_table_parsed() -> None:
    assert list(p.DEFAULT_RANGES) == list(p.CHECK_NAMES)
    assert p.DEFAULT_RANGES["cleartext_fallback"] == (None, NagiosRange("0", 0, 0, False))
    assert p.DEFAULT_RANGES["ike_heap_size"] == (NagiosRange("1000", 0, 1000, False), None)
    with pytest.raises(TypeError):
        p.DEFAULT_RANGES["cleartext_fallback"] = (None, None)  # type: ignore[index]


def test_no_thresholds_are_the_defaults() -> None:
    assert p.resolve_thresholds(None) is p.DEFAULT_RANGES
    assert dict(p.resolve_thresholds({})) == dict(p.DEFAULT_RANGES)


def test_override_disable_and_keep() -> None:
    ranges = p.resolve_thresholds({"cleartext_fallback": {"critical": None, "warning": "0"},
                                   "key_management_failures": {"warning": None},
                                   "ike_transport_failures": {"critical": 2}})
    assert ranges["cleartext_fallback"] == (NagiosRange("0", 0, 0, False), None)
    assert ranges["key_management_failures"] == (None, p.DEFAULT_RANGES[
        "key_management_failures"][1])
    assert ranges["ike_transport_failures"] == (p.DEFAULT_RANGES["ike_transport_failures"][0],
                                                NagiosRange("2", 0, 2, False))
    assert ranges["ike_heap_size"] == p.DEFAULT_RANGES["ike_heap_size"]


def test_an_override_leaves_the_defaults_alone() -> None:
    before = dict(p.DEFAULT_RANGES)
    p.resolve_thresholds({"cleartext_fallback": {"critical": None}})
    assert dict(p.DEFAULT_RANGES) == before


class _TaggedStr(str):
    """Stands in for Ansible 2.19's _AnsibleTaggedStr (a str subclass)."""


RANGE_SYNTAX = ("[@]start:end, where start is a number or '~' (negative infinity) and may be "
                "left out (0), and end is a number or left out (positive infinity)")

BAD_THRESHOLDS = [
    # (thresholds, field, expected, got)
    pytest.param({"nope": {"warning": "1"}}, "thresholds",
                 f"a check name, one of {list(p.CHECK_NAMES)}", "nope", id="unknown-check"),
    pytest.param({"cleartext_fallback": {"warn": "1"}}, "thresholds.cleartext_fallback",
                 "a level, one of ['warning', 'critical']", "warn", id="unknown-level"),
    pytest.param({"cleartext_fallback": {"critical": "5:1"}},
                 "thresholds.cleartext_fallback.critical",
                 "a Nagios range (its start 5 is above its end 1)", "5:1", id="bad-range"),
    pytest.param({"cleartext_fallback": {"critical": _TaggedStr("5:1")}},
                 "thresholds.cleartext_fallback.critical",
                 "a Nagios range (its start 5 is above its end 1)", "5:1",
                 id="bad-range-from-ansible-shows-str"),
    pytest.param({"cleartext_fallback": {"critical": "abc"}},
                 "thresholds.cleartext_fallback.critical", f"a Nagios range ({RANGE_SYNTAX})",
                 "abc", id="bad-range-syntax"),
    pytest.param({"cleartext_fallback": {"critical": True}},
                 "thresholds.cleartext_fallback.critical",
                 "a Nagios range (a string such as '10', '10:', '~:10', '10:20' or '@10:20')",
                 True, id="bool-range"),
    pytest.param({"cleartext_fallback": "5"}, "thresholds.cleartext_fallback",
                 "a mapping with warning and/or critical", "5", id="level-not-mapping"),
    pytest.param(["x"], "thresholds",
                 "a mapping of check name to {warning: range, critical: range}", ["x"],
                 id="thresholds-not-mapping"),
]


@pytest.mark.parametrize(("thresholds", "field", "expected", "got"), BAD_THRESHOLDS)
def test_bad_thresholds(thresholds: Any, field: str, expected: str, got: Any) -> None:
    raised(lambda: p.resolve_thresholds(thresholds), field, expected, got)


def test_bad_range_message_in_full() -> None:
    with pytest.raises(InputError) as info:
        p.resolve_thresholds({"cleartext_fallback": {"critical": "5:1"}})
    assert str(info.value) == ("thresholds.cleartext_fallback.critical: expected a Nagios range "
                               "(its start 5 is above its end 1), got '5:1' (str)")


def test_quick_mode_checks_judge_failure_counters_only() -> None:
    quick = [c for c in p.CHECKS if c.quick_mode]
    assert [c.name for c in quick] == ["decryption_failure_rate",
                                       "packet_authentication_failure_rate", "bad_spi_rate",
                                       "replay_detections"]
    # Every one judges a cumulative counter of the class, never a gauge, and runs on a window.
    assert all(QM.kind_by_key[k] == "counter" for c in quick for k in c.counters)
    assert not any(c.compare_only for c in quick)
    # A window whose decrypt failures grow must not pass: critical from the first one.
    assert p.DEFAULT_RANGES["decryption_failure_rate"][1].alerts(1 / 3600)
    assert not p.DEFAULT_RANGES["decryption_failure_rate"][1].alerts(0.0)


def test_quick_mode_thresholds_are_overridable() -> None:
    merged = p.resolve_thresholds({"bad_spi_rate": {"warning": None, "critical": "5"}})
    warning, critical = merged["bad_spi_rate"]
    assert warning is None and critical is not None and critical.text == "5"
