"""Deltas, rates, resets and the checks of a delta handed back in (plugin_utils/_window.py)."""

from __future__ import annotations

from typing import Any

import pytest
from health_snapshots import (
    BOOT,
    T0,
    T1,
    UNAVAILABLE_IDS,
    both,
    instance,
    qm_snapshot,
    snapshot,
    unavailable_pairs,
)
from health_strategies import host
from hypothesis import given
from hypothesis import strategies as st
from input_errors import raised

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _window as w
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import (
    CUMULATIVE_KEYS,
    GAUGE_KEYS,
    QM,
    UINT64_MAX,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import (
    MISSING,
    InputError,
)

# --- shape --------------------------------------------------------------------------------------


def test_delta_shape() -> None:
    result = w.delta(snapshot(collected_at=T1, oakley_main_mode=3, active_receive=2),
                     snapshot(collected_at=T0))
    assert tuple(result) == w.DELTA_KEYS
    assert set(result["counters"]) == set(CUMULATIVE_KEYS) == set(result["rates"])
    assert set(result["gauges"]) == set(GAUGE_KEYS)
    assert result["gauges"]["active_receive"] == 2
    assert (result["collected_at"], result["baseline_collected_at"]) == (T1, T0)
    assert result["instances"][0] == {
        "instance_name": "ROOT\\ISCSIPRT\\0000_0", "state": "matched", "active": True,
        "window_seconds": 60.0, "reset_detected": False, "counters": result["counters"],
        "rates": result["rates"], "gauges": result["gauges"],
    }
    assert tuple(result["instances"][0]) == w.INSTANCE_DELTA_KEYS


def test_lifetime_window_has_the_same_shape() -> None:
    two = [instance("A", oakley_main_mode=4, active_acquire=1),
           instance("B", active=False, invalid_packets=2, receive_heap_size=7)]
    # Booted 2026-11-20T07:12:03Z, read 2026-11-26T08:01:00Z: 521337 s.
    result = w.lifetime_delta(snapshot(two))
    assert tuple(result) == w.DELTA_KEYS
    assert (result["window_seconds"], result["baseline_collected_at"]) == (None, None)
    assert result["rate_window_seconds"] == 521337.0
    assert result["counters"]["oakley_main_mode"] == 4
    assert result["counters"]["invalid_packets"] == 0  # B is not active
    assert result["rates"]["oakley_main_mode"] == 4 / 521337
    first, second = result["instances"]
    assert [tuple(i) for i in result["instances"]] == [w.INSTANCE_DELTA_KEYS] * 2
    assert first["gauges"] == {"active_acquire": 1, "active_receive": 0, "acquire_heap_size": 0,
                               "receive_heap_size": 0, "connection_list_size": 0}
    assert (second["state"], second["active"], second["window_seconds"]) == (
        "matched", False, None)
    assert second["counters"]["invalid_packets"] == 2
    assert second["rates"]["invalid_packets"] == 2 / 521337
    assert second["gauges"]["receive_heap_size"] == 7


def test_lifetime_without_boot_time_has_no_rate_window() -> None:
    result = w.lifetime_delta(snapshot(boot_time=None, invalid_packets=1))
    assert result["rate_window_seconds"] is None
    assert result["rates"]["invalid_packets"] is None
    assert result["rates"]["oakley_main_mode"] == 0.0


# --- resets -------------------------------------------------------------------------------------


def test_counter_decrease_is_a_reset_and_counts_from_zero() -> None:
    before = snapshot(collected_at=T0, oakley_main_mode=100, oakley_quick_mode=50)
    after = snapshot(collected_at=T1, oakley_main_mode=5, oakley_quick_mode=70)
    result = w.delta(after, before)
    assert result["reset_detected"] is True
    assert result["reset_reasons"] == [
        "ROOT\\ISCSIPRT\\0000_0: oakley_main_mode went down from 100 to 5"]
    assert result["counters"]["oakley_main_mode"] == 5
    assert result["counters"]["oakley_quick_mode"] == 70  # from zero too, not 20
    assert result["rate_window_seconds"] is None
    assert result["rates"]["oakley_main_mode"] is None
    assert result["rates"]["invalid_packets"] == 0.0
    assert result["instances"][0]["reset_detected"] is True


def test_boot_time_change_is_a_reset_and_rates_use_the_time_since_boot() -> None:
    before = snapshot(collected_at=T0, oakley_main_mode=5, invalid_packets=2)
    # Rebooted 30 s before the second read; the counters already passed their old values.
    after = snapshot(collected_at=T1, boot_time="2026-11-26T08:00:30Z", oakley_main_mode=9,
                     invalid_packets=6)
    result = w.delta(after, before)
    assert result["reset_detected"] is True
    assert result["reset_reasons"] == [f"boot_time changed from {BOOT} to 2026-11-26T08:00:30Z"]
    assert result["counters"]["invalid_packets"] == 6
    assert result["rate_window_seconds"] == 30.0
    assert result["rates"]["invalid_packets"] == 0.2


@pytest.mark.parametrize(("boot_then", "boot_now", "reset"), [
    pytest.param(BOOT, "2026-11-20T07:12:06Z", False, id="3s-jitter-is-not-a-reboot"),
    pytest.param(BOOT, "2026-11-20T07:12:09Z", True, id="6s-is-a-reboot"),
    pytest.param(BOOT, "2026-11-20T07:12:03.0000000Z", False, id="same-moment-other-format"),
    pytest.param(None, BOOT, False, id="baseline-boot-unknown"),
    pytest.param(BOOT, None, False, id="current-boot-unknown"),
])
def test_boot_time_tolerance(boot_then: str | None, boot_now: str | None, reset: bool) -> None:
    before = snapshot(collected_at=T0, boot_time=boot_then)
    after = snapshot(collected_at=T1, boot_time=boot_now)
    assert w.delta(after, before)["reset_detected"] is reset


UINT64_CASES = [
    pytest.param(UINT64_MAX - 1, UINT64_MAX, False, 1, id="last-step"),
    pytest.param(0, UINT64_MAX, False, UINT64_MAX, id="whole-range"),
    pytest.param(UINT64_MAX, UINT64_MAX, False, 0, id="at-max-unchanged"),
    pytest.param(UINT64_MAX, 0, True, 0, id="wrap-is-a-reset"),
    pytest.param(UINT64_MAX, 3, True, 3, id="wrap-counts-from-zero"),
]


@pytest.mark.parametrize(("before", "after", "reset", "delta"), UINT64_CASES)
def test_uint64_edges_are_exact(before: int, after: int, reset: bool, delta: int) -> None:
    result = w.delta(snapshot(collected_at=T1, key_additions=after),
                     snapshot(collected_at=T0, key_additions=before))
    assert result["reset_detected"] is reset
    assert result["counters"]["key_additions"] == delta
    value = result["counters"]["key_additions"]
    assert isinstance(value, int) and not isinstance(value, bool)


def test_totals_past_uint64_stay_exact() -> None:
    two_then = [instance("A"), instance("B")]
    two_now = [instance("A", key_updates=UINT64_MAX), instance("B", key_updates=UINT64_MAX)]
    result = w.delta(snapshot(two_now, collected_at=T1), snapshot(two_then, collected_at=T0))
    assert result["counters"]["key_updates"] == 2 * UINT64_MAX
    assert result["rates"]["key_updates"] == 2 * UINT64_MAX / 60


# --- instances ----------------------------------------------------------------------------------


def test_instance_appearing_counts_from_zero_with_unknown_rate() -> None:
    before = snapshot([instance("A", invalid_packets=1)], collected_at=T0)
    after = snapshot([instance("A", invalid_packets=1), instance("B", invalid_packets=5,
                                                                 oakley_main_mode=4)],
                     collected_at=T1)
    result = w.delta(after, before)
    assert result["reset_detected"] is False
    assert [(i["instance_name"], i["state"]) for i in result["instances"]] == [
        ("A", "matched"), ("B", "appeared")]
    assert result["counters"]["invalid_packets"] == 5
    assert result["rates"]["invalid_packets"] is None
    assert result["instances"][1]["rates"]["invalid_packets"] is None
    assert result["instances"][0]["rates"]["invalid_packets"] == 0.0


def test_instance_vanishing_is_not_a_reset() -> None:
    before = snapshot([instance("A", oakley_main_mode=5), instance("B", oakley_main_mode=900)],
                      collected_at=T0)
    after = snapshot([instance("A", oakley_main_mode=7)], collected_at=T1)
    result = w.delta(after, before)
    assert result["reset_detected"] is False
    assert result["counters"]["oakley_main_mode"] == 2
    vanished = result["instances"][1]
    assert vanished == {"instance_name": "B", "state": "vanished", "active": True,
                        "window_seconds": 60.0, "reset_detected": False, "counters": {},
                        "rates": {}, "gauges": {}}
    assert tuple(vanished) == w.INSTANCE_DELTA_KEYS


def test_instance_names_match_ignoring_case() -> None:
    before = snapshot([instance("root\\iscsiprt\\0000_0", oakley_main_mode=5)], collected_at=T0)
    after = snapshot([instance("ROOT\\ISCSIPRT\\0000_0", oakley_main_mode=8)], collected_at=T1)
    result = w.delta(after, before)
    assert result["instances"][0]["state"] == "matched"
    assert result["counters"]["oakley_main_mode"] == 3


def test_inactive_instances_add_nothing() -> None:
    before = snapshot([instance("A"), instance("B", soft_associations=1)], collected_at=T0)
    after = snapshot([instance("A"), instance("B", active=False, soft_associations=9)],
                     collected_at=T1)
    result = w.delta(after, before)
    assert result["counters"]["soft_associations"] == 0
    assert result["instances"][1]["counters"]["soft_associations"] == 8


# --- windows ------------------------------------------------------------------------------------


def test_identical_snapshots_zero_window() -> None:
    same = snapshot(oakley_main_mode=10, invalid_packets=4, active_acquire=1)
    result = w.delta(same, same)
    assert result["window_seconds"] == 0.0
    assert set(result["counters"].values()) == {0}
    assert set(result["rates"].values()) == {0.0}


def test_zero_window_with_events_has_no_rate() -> None:
    result = w.delta(snapshot(collected_at=T1, invalid_packets=3),
                     snapshot(collected_at=T1, invalid_packets=1))
    assert result["counters"]["invalid_packets"] == 2
    assert result["rates"]["invalid_packets"] is None


def test_clock_going_backwards() -> None:
    before = snapshot(collected_at=T1, oakley_main_mode=1, invalid_packets=1)
    after = snapshot(collected_at=T0, oakley_main_mode=5, invalid_packets=2)
    result = w.delta(after, before)
    assert result["window_seconds"] == -60.0
    assert result["reset_detected"] is False
    assert result["counters"]["oakley_main_mode"] == 4
    assert result["rates"]["oakley_main_mode"] is None


# --- missing data -------------------------------------------------------------------------------

@pytest.mark.parametrize(("current", "baseline", "reason"), unavailable_pairs(),
                         ids=UNAVAILABLE_IDS)
def test_unavailable_window(current: dict[str, Any], baseline: dict[str, Any],
                            reason: str) -> None:
    result = w.delta(current, baseline)
    assert tuple(result) == w.DELTA_KEYS
    assert (result["available"], result["reason"]) == (False, reason)
    assert result["counters"] == {} and result["instances"] == []
    assert result["collected_at"] == current.get("collected_at")
    assert result["baseline_collected_at"] == baseline.get("collected_at")


def test_lifetime_of_nothing_is_unavailable() -> None:
    result = w.lifetime_delta({})
    assert (result["available"], result["reason"]) == (False,
                                                       "current is empty (no facts gathered)")


# --- snapshot arguments -------------------------------------------------------------------------

UINT64 = f"an integer in 0..{UINT64_MAX} (not a bool, float or string)"

BAD_SNAPSHOTS = [
    # (current, baseline, field, expected, got)
    pytest.param([], snapshot(), "input", "a mapping (ansible_facts.mmipsec)", [],
                 id="not-a-mapping"),
    pytest.param(snapshot(oakley_main_mode=-1), snapshot(),
                 "input.instances[0].counters.oakley_main_mode", UINT64, -1,
                 id="negative-counter"),
    pytest.param(snapshot(soft_associations=UINT64_MAX + 1), snapshot(),
                 "input.instances[0].counters.soft_associations", UINT64, UINT64_MAX + 1,
                 id="past-uint64"),
    pytest.param(snapshot(), {"available": True}, "baseline.reason",
                 "a value (every snapshot key is required)", MISSING, id="baseline-incomplete"),
]


@pytest.mark.parametrize(("current", "baseline", "field", "expected", "got"), BAD_SNAPSHOTS)
def test_bad_snapshots(current: Any, baseline: Any, field: str, expected: str,
                       got: Any) -> None:
    raised(lambda: w.delta(current, baseline), field, expected, got)


@pytest.mark.parametrize("bad", [
    pytest.param("12", id="string"), pytest.param(12.0, id="float"),
    pytest.param(True, id="bool"), pytest.param(None, id="null")])
def test_mistyped_counter_is_named(bad: Any) -> None:
    broken = snapshot()
    broken["instances"][0]["counters"]["key_updates"] = bad
    with pytest.raises(InputError) as info:
        w.delta(broken, snapshot(collected_at=T0))
    assert str(info.value) == (f"input.instances[0].counters.key_updates: expected {UINT64}, got "
                               f"{bad!r} ({type(bad).__name__})")
    assert (info.value.field, info.value.got) == ("input.instances[0].counters.key_updates", bad)


class _TaggedInt(int):
    """Stands in for Ansible 2.19's _AnsibleTaggedInt (an int subclass)."""


def test_int_subclasses_from_ansible_are_accepted() -> None:
    tagged = snapshot(oakley_main_mode=3)
    tagged["instances"][0]["counters"] = {k: _TaggedInt(v) for k, v in
                                          tagged["instances"][0]["counters"].items()}
    tagged["totals"] = {k: _TaggedInt(v) for k, v in tagged["totals"].items()}
    result = w.delta(tagged, snapshot(collected_at=T0))
    value = result["counters"]["oakley_main_mode"]
    assert value == 3
    assert isinstance(value, int) and not isinstance(value, bool)


# --- a delta handed back in ---------------------------------------------------------------------


def _good_delta() -> dict[str, Any]:
    return w.delta(snapshot(collected_at=T1), snapshot(collected_at=T0))


def _broken(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    result = _good_delta()
    target: Any = result
    for key in path[:-1]:
        target = target[key]
    if value is MISSING:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return result


def test_a_good_delta_comes_back_as_a_plain_copy() -> None:
    good = _good_delta()
    checked = w.check_delta(good, "input")
    assert checked == good and checked is not good
    unavailable_window = w.delta({}, snapshot())
    assert w.check_delta(unavailable_window, "input") == unavailable_window


NEGATIVE_OK = "an integer 0 or more (not a bool, float or string)"
BAD_DELTAS = [
    # (value, field, expected, got); got "value" stands for the value itself
    pytest.param(snapshot(), "input", "an mmipsec_delta result (missing the keys "
                 "['baseline_collected_at', 'window_seconds', 'rate_window_seconds', "
                 "'reset_detected', 'reset_reasons', 'counters', 'rates', 'gauges'])", "value",
                 id="a-snapshot-not-a-delta"),
    pytest.param("x", "input", "an mmipsec_delta result (a mapping)", "x", id="string"),
    pytest.param(_broken(("counters", "send_failures"), "3"), "input.counters.send_failures",
                 NEGATIVE_OK, "3", id="string-counter"),
    pytest.param(_broken(("counters", "send_failures"), -3), "input.counters.send_failures",
                 NEGATIVE_OK, -3, id="negative-delta"),
    pytest.param(_broken(("counters", "send_failures"), MISSING), "input.counters.send_failures",
                 "a value", MISSING, id="missing-counter"),
    pytest.param(_broken(("gauges",), []), "input.gauges", "a mapping", [], id="gauges"),
    pytest.param(_broken(("rates", "send_failures"), "fast"), "input.rates.send_failures",
                 "a number or null", "fast", id="string-rate"),
    pytest.param(_broken(("available",), "yes"), "input.available", "true or false", "yes",
                 id="available"),
    pytest.param(_broken(("reset_detected",), 0), "input.reset_detected", "true or false", 0,
                 id="reset-detected"),
    pytest.param(_broken(("window_seconds",), "60"), "input.window_seconds", "a number or null",
                 "60", id="window"),
    pytest.param(_broken(("instances",), {}), "input.instances", "a list", {}, id="instances"),
    pytest.param(_broken(("instances", 0, "state"), "gone"), "input.instances[0]",
                 "an instance delta with state, active and gauges", "instance", id="state"),
    pytest.param(_broken(("instances", 0, "gauges", "active_acquire"), 1.5),
                 "input.instances[0].gauges.active_acquire", "an integer", 1.5, id="gauge"),
]


@pytest.mark.parametrize(("value", "field", "expected", "got"), BAD_DELTAS)
def test_bad_delta(value: Any, field: str, expected: str, got: Any) -> None:
    if got == "value":
        got = value
    elif got == "instance":
        got = value["instances"][0]
    raised(lambda: w.check_delta(value, "input"), field, expected, got)


# --- properties (hypothesis) --------------------------------------------------------------------

@given(host())
def test_identical_snapshots_have_no_deltas(instances: list[dict[str, Any]]) -> None:
    same = snapshot(instances)
    result = w.delta(same, same)
    assert result["reset_detected"] is False
    assert set(result["counters"].values()) == {0}
    assert set(result["rates"].values()) == {0.0}


@given(host(), st.data())
def test_monotonic_growth_never_flags_a_reset(instances: list[dict[str, Any]],
                                              data: st.DataObject) -> None:
    grown = []
    for item in instances:
        counters = dict(item["counters"])
        for key in CUMULATIVE_KEYS:
            counters[key] = data.draw(st.integers(counters[key], UINT64_MAX), label=key)
        grown.append({**item, "counters": counters})
    result = w.delta(snapshot(grown, collected_at=T1), snapshot(instances, collected_at=T0))
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
    result = w.delta(snapshot(lower, collected_at=T1), snapshot(instances, collected_at=T0))
    assert result["reset_detected"] is True
    # Counted from zero: every delta is the current value (of the active instances).
    for name in CUMULATIVE_KEYS:
        assert result["counters"][name] == sum(i["counters"][name] for i in lower if i["active"])


@given(host(), host())
def test_every_instance_entry_has_the_one_shape(before: list[dict[str, Any]],
                                                after: list[dict[str, Any]]) -> None:
    windows = [w.delta(snapshot(after, collected_at=T1), snapshot(before, collected_at=T0)),
               w.lifetime_delta(snapshot(after))]
    for window in windows:
        assert w.check_delta(window, "input") == window
        for entry in window["instances"]:
            assert tuple(entry) == w.INSTANCE_DELTA_KEYS
            if entry["state"] != "vanished":
                assert set(entry["gauges"]) == set(GAUGE_KEYS)
                assert set(entry["counters"]) == set(CUMULATIVE_KEYS) == set(entry["rates"])


# --- the quick-mode class ----------------------------------------------------------------------
def _both(**qm_values: int) -> tuple[dict[str, Any], dict[str, Any]]:
    return (both(snapshot(collected_at=T1), qm_snapshot(collected_at=T1, **qm_values)),
            both(snapshot(collected_at=T0), qm_snapshot(collected_at=T0)))


def test_delta_of_both_classes_carries_the_quick_mode_window() -> None:
    now, then = _both(packets_not_decrypted=30, active_sa=4, confidential_bytes_sent=6000)
    window = w.delta(now, then)
    assert window == {**w.delta(now["mmipsec"], then["mmipsec"]), "quick_mode": window["quick_mode"]}
    qm = window["quick_mode"]
    assert list(qm) == list(w.DELTA_KEYS)
    assert set(qm["counters"]) == set(QM.cumulative_keys)
    assert set(qm["gauges"]) == set(QM.gauge_keys)
    assert (qm["counters"]["packets_not_decrypted"], qm["rates"]["packets_not_decrypted"]) == (
        30, 0.5)
    assert (qm["gauges"]["active_sa"], qm["rates"]["confidential_bytes_sent"]) == (4, 100.0)
    # What mmipsec_compare gets back passes its check, quick mode included.
    assert w.check_delta(window, "input") == window


def test_a_main_mode_snapshot_alone_gives_the_window_of_before() -> None:
    now, then = _both()
    assert "quick_mode" not in w.delta(now["mmipsec"], then["mmipsec"])
    # A baseline without quick-mode data: the quick-mode window has none to subtract.
    window = w.delta(now, then["mmipsec"])
    assert (window["quick_mode"]["available"], window["quick_mode"]["reason"]) == (
        False, "baseline is empty (no facts gathered)")


def test_malformed_quick_mode_values_name_their_field() -> None:
    now, then = _both()
    now["qmipsec"]["instances"][0]["counters"]["re_keys"] = -1
    with pytest.raises(InputError) as info:
        w.delta(now, then)
    assert info.value.field == "input.qmipsec.instances[0].counters.re_keys"
    window = w.delta(*_both())
    window["quick_mode"]["counters"]["bad_spi_packets"] = "3"
    with pytest.raises(InputError) as info:
        w.check_delta(window, "input")
    assert (info.value.field, info.value.got) == ("input.quick_mode.counters.bad_spi_packets", "3")
