"""Property-based tests of the health invariants (hypothesis)."""

from __future__ import annotations

from typing import Any

from health_snapshots import T0, T1, instance, snapshot
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _health as h
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import (
    CUMULATIVE_KEYS,
    GAUGE_KEYS,
    UINT64_MAX,
)

uint64 = st.integers(min_value=0, max_value=UINT64_MAX)
# Edges are where the bugs are: small values, and values near 2**64-1.
counter_value = st.one_of(st.integers(0, 1000), st.integers(UINT64_MAX - 1000, UINT64_MAX),
                          uint64)
# Gauges inside the default ok ranges, so identical snapshots must judge ok.
healthy_gauges = st.fixed_dictionaries({
    "active_acquire": st.integers(0, 1), "active_receive": st.integers(0, 10),
    "acquire_heap_size": st.integers(0, 1000), "receive_heap_size": st.integers(0, 1000),
    "connection_list_size": uint64,
})
cumulative = st.fixed_dictionaries({key: counter_value for key in CUMULATIVE_KEYS})
names = st.lists(st.sampled_from(["A", "B", "C"]), min_size=1, max_size=3, unique=True)


@st.composite
def host(draw: st.DrawFn, gauges: st.SearchStrategy[dict[str, int]] = healthy_gauges
         ) -> list[dict[str, Any]]:
    """1-3 instances, at least one active."""
    chosen = draw(names)
    actives = draw(st.lists(st.booleans(), min_size=len(chosen), max_size=len(chosen)))
    actives[0] = True
    return [instance(name, active, **draw(cumulative), **draw(gauges))
            for name, active in zip(chosen, actives, strict=True)]


@given(host())
def test_identical_snapshots_have_no_deltas_and_judge_ok(instances: list[dict[str, Any]]) -> None:
    same = snapshot(instances)
    result = h.delta(same, same)
    assert result["reset_detected"] is False
    assert set(result["counters"].values()) == {0}
    assert set(result["rates"].values()) == {0.0}
    verdict = h.verdict(same, same)
    assert verdict["status"] == "ok", verdict["summary"]
    assert verdict["passed"] is True


@given(host(), st.data())
def test_monotonic_growth_never_flags_a_reset(instances: list[dict[str, Any]],
                                              data: st.DataObject) -> None:
    grown = []
    for item in instances:
        counters = dict(item["counters"])
        for key in CUMULATIVE_KEYS:
            counters[key] = data.draw(st.integers(counters[key], UINT64_MAX), label=key)
        grown.append({**item, "counters": counters})
    result = h.delta(snapshot(grown, collected_at=T1), snapshot(instances, collected_at=T0))
    assert result["reset_detected"] is False
    assert result["reset_reasons"] == []
    for key in CUMULATIVE_KEYS:
        expected = sum(g["counters"][key] - i["counters"][key]
                       for g, i in zip(grown, instances, strict=True) if g["active"])
        assert result["counters"][key] == expected
        value = result["counters"][key]
        assert isinstance(value, int) and not isinstance(value, bool)


@given(host(), st.data())
def test_any_decrease_flags_a_reset(instances: list[dict[str, Any]], data: st.DataObject) -> None:
    candidates = [(i, key) for i, item in enumerate(instances) for key in CUMULATIVE_KEYS
                  if item["counters"][key] > 0]
    if not candidates:
        instances[0]["counters"]["key_updates"] = 1
        candidates = [(0, "key_updates")]
    index, key = data.draw(st.sampled_from(candidates))
    lower = [dict(item, counters=dict(item["counters"])) for item in instances]
    lower[index]["counters"][key] = data.draw(st.integers(0, instances[index]["counters"][key] - 1))
    result = h.delta(snapshot(lower, collected_at=T1), snapshot(instances, collected_at=T0))
    assert result["reset_detected"] is True
    # Counted from zero: every delta is the current value (of the active instances).
    for name in CUMULATIVE_KEYS:
        assert result["counters"][name] == sum(i["counters"][name] for i in lower if i["active"])


any_gauges = st.fixed_dictionaries({key: st.integers(0, 2000) for key in GAUGE_KEYS})


@settings(max_examples=150)
@given(host(any_gauges), host(any_gauges), st.sampled_from(["warning", "critical"]),
       st.booleans(), st.booleans())
def test_status_is_the_worst_check_status(before: list[dict[str, Any]],
                                          after: list[dict[str, Any]], fail_on: str,
                                          allow_unknown: bool, lifetime: bool) -> None:
    baseline = None if lifetime else snapshot(before, collected_at=T0)
    verdict = h.verdict(snapshot(after, collected_at=T1), baseline, fail_on=fail_on,
                        allow_unknown=allow_unknown)
    statuses = [c["status"] for c in verdict["checks"]]
    order = ["ok", "warning", "unknown", "critical"]
    assert verdict["status"] == max(statuses, key=order.index)
    assert verdict["exit_code"] == {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}[
        verdict["status"]]
    limit = {"warning": 1, "critical": 2}[fail_on]
    expected = all(allow_unknown if s == "unknown" else
                   {"ok": 0, "warning": 1, "critical": 2}[s] < limit for s in statuses)
    assert verdict["passed"] is expected
    assert verdict["summary"].startswith(verdict["status"].upper() + ": ")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)


@settings(max_examples=200)
@given(json_values, json_values, json_values)
def test_junk_input_raises_only_health_error(current: Any, baseline: Any,
                                             thresholds: Any) -> None:
    for call in (lambda: h.verdict(current, baseline, thresholds),
                 lambda: h.delta(current, baseline),
                 lambda: h.compare(current, baseline, thresholds),
                 lambda: h.summary(current, baseline)):
        try:
            call()
        except h.HealthError:
            pass


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside nested dicts and lists."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, prefix + (index,))
    return found


def _replace(value: Any, path: tuple[Any, ...], junk: Any) -> None:
    for key in path[:-1]:
        value = value[key]
    value[path[-1]] = junk


@settings(max_examples=150)
@given(st.data(), json_values)
def test_one_junk_field_raises_only_health_error(data: st.DataObject, junk: Any) -> None:
    good = h.delta(snapshot(collected_at=T1, oakley_main_mode=4), snapshot(collected_at=T0))
    target = data.draw(st.sampled_from(["snapshot", "delta", "thresholds", "verdict"]))
    if target == "snapshot":
        value: Any = snapshot(invalid_packets=3)
    elif target == "delta":
        value = good
    elif target == "thresholds":
        value = {"cleartext_fallback": {"warning": "1", "critical": "2"}}
    else:
        value = {"web01": h.verdict(snapshot())}
    _replace(value, data.draw(st.sampled_from(_paths(value))), junk)
    try:
        if target == "snapshot":
            h.verdict(value, snapshot(collected_at=T0))
        elif target == "delta":
            h.compare(good, value)
        elif target == "thresholds":
            h.verdict(snapshot(), thresholds=value)
        else:
            h.summary(value)
    except h.HealthError:
        pass


@settings(max_examples=100)
@given(host(any_gauges), host(any_gauges), st.booleans(), st.data())
def test_verdict_fast_paths_judge_as_the_full_delta(before: list[dict[str, Any]],
                                                    after: list[dict[str, Any]], grow: bool,
                                                    data: st.DataObject) -> None:
    """The verdict's lean delta (usual-host shortcut included) judges like the full one."""
    if grow:  # mostly a growing copy of the same host, the case the shortcut takes
        def grown(key: str, value: int) -> int:
            if key not in CUMULATIVE_KEYS:
                return value
            return min(value + data.draw(st.integers(0, 9), label=key), UINT64_MAX)
        after = [dict(item, counters={k: grown(k, v) for k, v in item["counters"].items()})
                 for item in before]
    boot_now = data.draw(st.sampled_from([None, "2026-11-20T07:12:03Z", "2026-11-26T07:59:00Z"]))
    current = snapshot(after, collected_at=T1, boot_time=boot_now)
    baseline = snapshot(before, collected_at=T0)
    full = h.delta(current, baseline)
    expected = h.build_verdict(full, h.judge_delta(full, h.DEFAULT_RANGES), "critical", False)
    assert h.verdict(current, baseline) == expected
