"""Deltas, checks, verdicts, comparisons and summaries (plugin_utils/_health.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from health_snapshots import BOOT, T0, T1, instance, snapshot, unavailable

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _health as h
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import (
    CUMULATIVE_KEYS,
    GAUGE_KEYS,
    UINT64_MAX,
)

IDLE = {"active_acquire": 1}


def window(before: dict[str, int], after: dict[str, int], **kwargs: Any) -> dict[str, Any]:
    """The verdict of a 60 s window from ``before`` to ``after`` (one active instance)."""
    return h.verdict(snapshot(collected_at=T1, **after), snapshot(collected_at=T0, **before),
                     **kwargs)


def check(verdict: dict[str, Any], name: str) -> dict[str, Any]:
    found = [c for c in verdict["checks"] if c["name"] == name]
    assert len(found) == 1, f"{name} not exactly once in {verdict['checks']}"
    return found[0]


# --- each check ---------------------------------------------------------------------------------

CHECK_CASES = [
    # (check, before, after, status, value, reason, message)
    pytest.param("cleartext_fallback", {}, {}, "ok", 0, "WithinThresholds",
                 "0 negotiations fell back to cleartext in 60 s", id="cleartext-none"),
    pytest.param("cleartext_fallback", {"soft_associations": 7}, {"soft_associations": 8},
                 "critical", 1, "SoftAssociationsIncreased",
                 "1 negotiations fell back to cleartext in 60 s", id="cleartext-one-new"),
    pytest.param("authentication_failure_ratio", {}, {"oakley_main_mode": 95,
                 "authentication_failures": 5}, "ok", 5.0, "WithinThresholds",
                 "5% of main-mode attempts failed authentication (5 of 100) in 60 s",
                 id="auth-at-warning-edge"),
    pytest.param("authentication_failure_ratio", {}, {"oakley_main_mode": 94,
                 "authentication_failures": 6}, "warning", 6.0, "AuthenticationFailureRatioHigh",
                 "6% of main-mode attempts failed authentication (6 of 100) in 60 s",
                 id="auth-warning"),
    pytest.param("authentication_failure_ratio", {}, {"oakley_main_mode": 3,
                 "authentication_failures": 1}, "critical", 25.0,
                 "AuthenticationFailureRatioHigh",
                 "25% of main-mode attempts failed authentication (1 of 4) in 60 s",
                 id="auth-critical"),
    pytest.param("authentication_failure_ratio", {"oakley_main_mode": 9}, {"oakley_main_mode": 9},
                 "ok", None, "NoAttempts", "no main-mode attempts in 60 s", id="auth-no-attempts"),
    pytest.param("negotiation_failure_ratio", {}, {"negotiation_failures": 2,
                 "oakley_main_mode": 9, "oakley_quick_mode": 9}, "warning", 10.0,
                 "NegotiationFailureRatioHigh", "10% of negotiations failed (2 of 20) in 60 s",
                 id="negotiation-warning-counts-both-modes"),
    pytest.param("negotiation_failure_ratio", {}, {"negotiation_failures": 1,
                 "oakley_main_mode": 1, "oakley_quick_mode": 1}, "critical", 100 / 3,
                 "NegotiationFailureRatioHigh", "33.3% of negotiations failed (1 of 3) in 60 s",
                 id="negotiation-critical"),
    pytest.param("negotiation_failure_ratio", {}, {}, "ok", None, "NoAttempts",
                 "no negotiation attempts in 60 s", id="negotiation-no-attempts"),
    pytest.param("malformed_traffic_rate", {}, {"invalid_packets": 6}, "ok", 0.1,
                 "WithinThresholds", "0.1 malformed IKE messages per second (6 over 60 s)",
                 id="malformed-at-edge"),
    pytest.param("malformed_traffic_rate", {}, {"invalid_packets": 3,
                 "invalid_cookies_received": 4}, "warning", 7 / 60, "MalformedTrafficHigh",
                 "0.117 malformed IKE messages per second (7 over 60 s)",
                 id="malformed-warning-adds-cookies"),
    pytest.param("malformed_traffic_rate", {}, {"invalid_cookies_received": 61}, "critical",
                 61 / 60, "MalformedTrafficHigh",
                 "1.02 malformed IKE messages per second (61 over 60 s)", id="malformed-critical"),
    pytest.param("key_management_failures", {}, {"get_spi_failures": 1}, "warning", 1,
                 "KeyManagementFailures", "1 SPI or key installation failures in 60 s",
                 id="keys-warning"),
    pytest.param("key_management_failures", {}, {"get_spi_failures": 4,
                 "key_addition_failures": 4, "key_update_failures": 3}, "critical", 11,
                 "KeyManagementFailures", "11 SPI or key installation failures in 60 s",
                 id="keys-critical-sums-three"),
    pytest.param("ike_transport_failures", {}, {"acquire_failures": 10}, "warning", 10,
                 "IkeTransportFailures", "10 IKE acquire, send or receive failures in 60 s",
                 id="transport-at-critical-edge"),
    pytest.param("ike_transport_failures", {}, {"send_failures": 5, "receive_failures": 6},
                 "critical", 11, "IkeTransportFailures",
                 "11 IKE acquire, send or receive failures in 60 s", id="transport-critical"),
    pytest.param("ike_acquire_backlog", {}, {"active_acquire": 1}, "ok", 1, "WithinThresholds",
                 "1 acquire requests outstanding at IKE on ROOT\\ISCSIPRT\\0000_0",
                 id="acquire-idle"),
    pytest.param("ike_acquire_backlog", {}, {"active_acquire": 2}, "warning", 2,
                 "IkeAcquireBacklog",
                 "2 acquire requests outstanding at IKE on ROOT\\ISCSIPRT\\0000_0",
                 id="acquire-warning"),
    pytest.param("ike_acquire_backlog", {"active_acquire": 50}, {"active_acquire": 21},
                 "critical", 21, "IkeAcquireBacklog",
                 "21 acquire requests outstanding at IKE on ROOT\\ISCSIPRT\\0000_0",
                 id="acquire-critical-gauge-may-fall"),
    pytest.param("ike_receive_backlog", {}, {"active_receive": 11}, "warning", 11,
                 "IkeReceiveBacklog",
                 "11 IKE messages waiting to be processed on ROOT\\ISCSIPRT\\0000_0",
                 id="receive-warning"),
    pytest.param("ike_receive_backlog", {}, {"active_receive": 101}, "critical", 101,
                 "IkeReceiveBacklog",
                 "101 IKE messages waiting to be processed on ROOT\\ISCSIPRT\\0000_0",
                 id="receive-critical"),
    pytest.param("ike_heap_size", {}, {"acquire_heap_size": 1000, "receive_heap_size": 999},
                 "ok", 1000, "WithinThresholds",
                 "an IKE heap holds room for 1000 messages on ROOT\\ISCSIPRT\\0000_0",
                 id="heap-at-edge"),
    pytest.param("ike_heap_size", {}, {"acquire_heap_size": 5, "receive_heap_size": 1001},
                 "warning", 1001, "IkeHeapGrown",
                 "an IKE heap holds room for 1001 messages on ROOT\\ISCSIPRT\\0000_0",
                 id="heap-warning-takes-larger"),
]


@pytest.mark.parametrize(("name", "before", "after", "status", "value", "reason", "message"),
                         CHECK_CASES)
def test_check(name: str, before: dict[str, int], after: dict[str, int], status: str,
               value: Any, reason: str, message: str) -> None:
    spec = h.CHECK_BY_NAME[name]
    result = check(window(before, after), name)
    assert result == {
        "name": name, "status": status, "counters": list(spec.counters), "value": value,
        "warning": spec.warning, "critical": spec.critical, "reason": reason,
        "message": message,
    }
    assert type(result["value"]) is type(value)


def test_verdict_shape_and_check_order() -> None:
    verdict = window(IDLE, IDLE)
    assert list(verdict) == ["status", "passed", "exit_code", "window_seconds",
                             "reset_detected", "checks", "summary"]
    expected_checks = [c.name for c in h.CHECKS if not c.compare_only]
    assert [c["name"] for c in verdict["checks"]] == expected_checks
    assert verdict["summary"] == "OK: all 9 checks passed (60 s window)"
    assert (verdict["status"], verdict["passed"], verdict["exit_code"]) == ("ok", True, 0)


def test_gauges_of_several_instances_are_not_added() -> None:
    # Two idle instances report active_acquire 1 each: their sum (2) would be a false backlog.
    two = [instance("A", active_acquire=1), instance("B", active_acquire=1)]
    verdict = h.verdict(snapshot(two, collected_at=T1), snapshot(two, collected_at=T0))
    assert check(verdict, "ike_acquire_backlog")["status"] == "ok"
    assert check(verdict, "ike_acquire_backlog")["value"] == 1


def test_gauge_names_the_worst_instance() -> None:
    now = [instance("A", active_receive=3), instance("B", active_receive=12),
           instance("C", active=False, active_receive=500)]
    result = check(h.verdict(snapshot(now)), "ike_receive_backlog")
    assert (result["value"], result["status"]) == (12, "warning")
    assert result["message"] == "12 IKE messages waiting to be processed on B"


# --- status, gate, summary line -----------------------------------------------------------------

GATE_CASES = [
    # (after counters, fail_on, allow_unknown, status, passed)
    pytest.param({}, "critical", False, "ok", True, id="ok-passes"),
    pytest.param({"get_spi_failures": 1}, "critical", False, "warning", True,
                 id="warning-passes-fail-on-critical"),
    pytest.param({"get_spi_failures": 1}, "warning", False, "warning", False,
                 id="warning-fails-fail-on-warning"),
    pytest.param({"soft_associations": 1}, "critical", False, "critical", False,
                 id="critical-fails"),
    pytest.param({"soft_associations": 1}, "critical", True, "critical", False,
                 id="critical-fails-even-with-allow-unknown"),
]


@pytest.mark.parametrize(("after", "fail_on", "allow_unknown", "status", "passed"), GATE_CASES)
def test_gate(after: dict[str, int], fail_on: str, allow_unknown: bool, status: str,
              passed: bool) -> None:
    verdict = window({}, after, fail_on=fail_on, allow_unknown=allow_unknown)
    assert (verdict["status"], verdict["passed"]) == (status, passed)
    assert verdict["exit_code"] == {"ok": 0, "warning": 1, "critical": 2}[status]


def test_default_fail_on_is_critical() -> None:
    assert h.DEFAULT_FAIL_ON == "critical"


def test_unknown_outranks_warning_and_critical_outranks_unknown() -> None:
    assert h.worst(["ok", "warning", "unknown"]) == "unknown"
    assert h.worst(["unknown", "critical", "warning"]) == "critical"
    assert h.worst(["ok", "warning"]) == "warning"
    assert h.worst([]) == "ok"


def test_unknown_with_a_hidden_warning_fails_a_warning_gate() -> None:
    # invalid_packets moved across a service restart: the rate is unknown; the key failure
    # is a warning that the unknown status hides. allow_unknown must not let the warning pass.
    before = snapshot(collected_at=T0, oakley_main_mode=100)
    after = snapshot(collected_at=T1, oakley_main_mode=1, invalid_packets=1, get_spi_failures=1)
    verdict = h.verdict(after, before, fail_on="warning", allow_unknown=True)
    assert verdict["status"] == "unknown"
    assert verdict["passed"] is False
    assert h.verdict(after, before, fail_on="critical", allow_unknown=True)["passed"] is True


def test_summary_joins_the_worst_messages() -> None:
    verdict = window({}, {"soft_associations": 2, "send_failures": 11, "get_spi_failures": 1})
    assert verdict["summary"] == ("CRITICAL: 2 negotiations fell back to cleartext in 60 s; "
                                  "11 IKE acquire, send or receive failures in 60 s")


# --- resets, windows, instances -----------------------------------------------------------------


def test_counter_decrease_is_a_reset_and_counts_from_zero() -> None:
    before = snapshot(collected_at=T0, oakley_main_mode=100, oakley_quick_mode=50)
    after = snapshot(collected_at=T1, oakley_main_mode=5, oakley_quick_mode=70)
    result = h.delta(after, before)
    assert result["reset_detected"] is True
    assert result["reset_reasons"] == [
        "ROOT\\ISCSIPRT\\0000_0: oakley_main_mode went down from 100 to 5"]
    assert result["counters"]["oakley_main_mode"] == 5
    assert result["counters"]["oakley_quick_mode"] == 70  # from zero too, not 20
    assert result["rate_window_seconds"] is None
    assert result["rates"]["oakley_main_mode"] is None
    assert result["rates"]["invalid_packets"] == 0.0


def test_rate_after_reset_without_reboot_is_unknown_not_a_pass() -> None:
    before = snapshot(collected_at=T0, oakley_main_mode=100)
    after = snapshot(collected_at=T1, oakley_main_mode=1, invalid_packets=1)
    verdict = h.verdict(after, before)
    result = check(verdict, "malformed_traffic_rate")
    assert (result["status"], result["reason"], result["value"]) == (
        "unknown", "RateWindowUnknown", None)
    assert result["message"] == ("1 malformed IKE messages in 60 s (counters reset: counted "
                                 "from zero), but when counting started is unknown: the rate "
                                 "cannot be judged")
    assert verdict["reset_detected"] is True
    assert verdict["status"] == "unknown"
    assert verdict["passed"] is False


def test_boot_time_change_is_a_reset_and_rates_use_the_time_since_boot() -> None:
    before = snapshot(collected_at=T0, oakley_main_mode=5, invalid_packets=2)
    # Rebooted 30 s before the second read; the counters already passed their old values.
    after = snapshot(collected_at=T1, boot_time="2026-11-26T08:00:30Z", oakley_main_mode=9,
                     invalid_packets=6)
    result = h.delta(after, before)
    assert result["reset_detected"] is True
    assert result["reset_reasons"] == [f"boot_time changed from {BOOT} to 2026-11-26T08:00:30Z"]
    assert result["counters"]["invalid_packets"] == 6
    assert result["rate_window_seconds"] == 30.0
    assert result["rates"]["invalid_packets"] == 0.2
    verdict = h.verdict(after, before)
    assert check(verdict, "malformed_traffic_rate")["status"] == "warning"  # 0.2/s, not 0.1/s


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
    assert h.delta(after, before)["reset_detected"] is reset


UINT64_CASES = [
    pytest.param(UINT64_MAX - 1, UINT64_MAX, False, 1, id="last-step"),
    pytest.param(0, UINT64_MAX, False, UINT64_MAX, id="whole-range"),
    pytest.param(UINT64_MAX, UINT64_MAX, False, 0, id="at-max-unchanged"),
    pytest.param(UINT64_MAX, 0, True, 0, id="wrap-is-a-reset"),
    pytest.param(UINT64_MAX, 3, True, 3, id="wrap-counts-from-zero"),
]


@pytest.mark.parametrize(("before", "after", "reset", "delta"), UINT64_CASES)
def test_uint64_edges_are_exact(before: int, after: int, reset: bool, delta: int) -> None:
    result = h.delta(snapshot(collected_at=T1, key_additions=after),
                     snapshot(collected_at=T0, key_additions=before))
    assert result["reset_detected"] is reset
    assert result["counters"]["key_additions"] == delta
    value = result["counters"]["key_additions"]
    assert isinstance(value, int) and not isinstance(value, bool)


def test_totals_past_uint64_stay_exact() -> None:
    two_then = [instance("A"), instance("B")]
    two_now = [instance("A", key_updates=UINT64_MAX), instance("B", key_updates=UINT64_MAX)]
    result = h.delta(snapshot(two_now, collected_at=T1), snapshot(two_then, collected_at=T0))
    assert result["counters"]["key_updates"] == 2 * UINT64_MAX
    assert result["rates"]["key_updates"] == 2 * UINT64_MAX / 60


def test_instance_appearing_counts_from_zero_with_unknown_rate() -> None:
    before = snapshot([instance("A", invalid_packets=1)], collected_at=T0)
    after = snapshot([instance("A", invalid_packets=1), instance("B", invalid_packets=5,
                                                                 oakley_main_mode=4)],
                     collected_at=T1)
    result = h.delta(after, before)
    assert result["reset_detected"] is False
    assert [(i["instance_name"], i["state"]) for i in result["instances"]] == [
        ("A", "matched"), ("B", "appeared")]
    assert result["counters"]["invalid_packets"] == 5
    assert result["rates"]["invalid_packets"] is None
    assert result["instances"][1]["rates"]["invalid_packets"] is None
    assert result["instances"][0]["rates"]["invalid_packets"] == 0.0
    verdict = h.verdict(after, before)
    assert check(verdict, "malformed_traffic_rate")["reason"] == "RateWindowUnknown"
    assert check(verdict, "negotiation_failure_ratio")["value"] == 0.0


def test_instance_vanishing_is_not_a_reset() -> None:
    before = snapshot([instance("A", oakley_main_mode=5), instance("B", oakley_main_mode=900)],
                      collected_at=T0)
    after = snapshot([instance("A", oakley_main_mode=7)], collected_at=T1)
    result = h.delta(after, before)
    assert result["reset_detected"] is False
    assert result["counters"]["oakley_main_mode"] == 2
    vanished = result["instances"][1]
    assert vanished == {"instance_name": "B", "state": "vanished", "active": True,
                        "window_seconds": 60.0, "reset_detected": False, "counters": {},
                        "rates": {}, "gauges": {}}


def test_instance_names_match_ignoring_case() -> None:
    before = snapshot([instance("root\\iscsiprt\\0000_0", oakley_main_mode=5)], collected_at=T0)
    after = snapshot([instance("ROOT\\ISCSIPRT\\0000_0", oakley_main_mode=8)], collected_at=T1)
    result = h.delta(after, before)
    assert result["instances"][0]["state"] == "matched"
    assert result["counters"]["oakley_main_mode"] == 3


def test_inactive_instances_add_nothing() -> None:
    before = snapshot([instance("A"), instance("B", soft_associations=1)], collected_at=T0)
    after = snapshot([instance("A"), instance("B", active=False, soft_associations=9)],
                     collected_at=T1)
    result = h.delta(after, before)
    assert result["counters"]["soft_associations"] == 0
    assert result["instances"][1]["counters"]["soft_associations"] == 8
    assert check(h.verdict(after, before), "cleartext_fallback")["status"] == "ok"


def test_no_active_instance_is_unknown() -> None:
    after = snapshot([instance("A", active=False)])
    verdict = h.verdict(after)
    assert verdict["status"] == "unknown"
    assert {c["reason"] for c in verdict["checks"]} == {"NoActiveInstance"}
    assert verdict["summary"] == "UNKNOWN: no data: no instance is active"


def test_identical_snapshots_zero_window_are_ok() -> None:
    same = snapshot(oakley_main_mode=10, invalid_packets=4, active_acquire=1)
    result = h.delta(same, same)
    assert result["window_seconds"] == 0.0
    assert set(result["counters"].values()) == {0}
    assert set(result["rates"].values()) == {0.0}
    assert h.verdict(same, same)["status"] == "ok"


def test_zero_window_with_events_cannot_give_a_rate() -> None:
    before = snapshot(collected_at=T1, invalid_packets=1)
    after = snapshot(collected_at=T1, invalid_packets=3)
    result = check(h.verdict(after, before), "malformed_traffic_rate")
    assert (result["status"], result["reason"]) == ("unknown", "WindowNotPositive")
    assert result["message"] == ("2 malformed IKE messages in a window of 0 s (the clock went "
                                 "backwards?): the rate cannot be judged")


def test_clock_going_backwards() -> None:
    before = snapshot(collected_at=T1, oakley_main_mode=1, invalid_packets=1)
    after = snapshot(collected_at=T0, oakley_main_mode=5, invalid_packets=2)
    result = h.delta(after, before)
    assert result["window_seconds"] == -60.0
    assert result["reset_detected"] is False
    assert result["counters"]["oakley_main_mode"] == 4
    assert result["rates"]["oakley_main_mode"] is None
    verdict = h.verdict(after, before)
    assert check(verdict, "malformed_traffic_rate")["reason"] == "WindowNotPositive"
    assert check(verdict, "cleartext_fallback")["status"] == "ok"


def test_delta_shape() -> None:
    result = h.delta(snapshot(collected_at=T1, oakley_main_mode=3, active_receive=2),
                     snapshot(collected_at=T0))
    assert tuple(result) == h.DELTA_KEYS
    assert set(result["counters"]) == set(CUMULATIVE_KEYS) == set(result["rates"])
    assert set(result["gauges"]) == set(GAUGE_KEYS)
    assert result["gauges"]["active_receive"] == 2
    assert (result["collected_at"], result["baseline_collected_at"]) == (T1, T0)
    assert result["instances"][0] == {
        "instance_name": "ROOT\\ISCSIPRT\\0000_0", "state": "matched", "active": True,
        "gauges": result["gauges"], "window_seconds": 60.0, "reset_detected": False,
        "counters": result["counters"], "rates": result["rates"],
    }


# --- lifetime verdicts --------------------------------------------------------------------------


def test_lifetime_verdict_rates_over_time_since_boot() -> None:
    # Booted 2026-11-20T07:12:03Z, read 2026-11-26T08:01:00Z: 6 days 48 min 57 s = 521337 s.
    now = snapshot(invalid_packets=5213, soft_associations=0)
    verdict = h.verdict(now)
    assert verdict["window_seconds"] is None
    assert verdict["summary"] == "OK: all 9 checks passed (lifetime values)"
    result = check(verdict, "malformed_traffic_rate")
    assert result["value"] == 5213 / 521337
    assert result["message"] == ("0.01 malformed IKE messages per second (5213 over 521337 s)")


def test_lifetime_without_boot_time() -> None:
    quiet = h.verdict(snapshot(boot_time=None))
    assert quiet["status"] == "ok"
    noisy = check(h.verdict(snapshot(boot_time=None, invalid_packets=1)), "malformed_traffic_rate")
    assert (noisy["status"], noisy["reason"]) == ("unknown", "RateWindowUnknown")


def test_lifetime_counts_since_service_start() -> None:
    result = check(h.verdict(snapshot(soft_associations=3)), "cleartext_fallback")
    assert result["message"] == "3 negotiations fell back to cleartext since the IPsec service started"


# --- missing data -------------------------------------------------------------------------------

UNAVAILABLE_CASES = [
    pytest.param(unavailable(), snapshot(collected_at=T0),
                 "current not available (class_not_found): Invalid class", id="current-no-class"),
    pytest.param(snapshot(), unavailable("provider_error", None, T0),
                 "baseline not available (provider_error)", id="baseline-provider-error"),
    pytest.param({}, snapshot(collected_at=T0), "current is empty (no facts gathered)",
                 id="current-empty"),
    pytest.param(snapshot(), {}, "baseline is empty (no facts gathered)", id="baseline-empty"),
]


@pytest.mark.parametrize(("current", "baseline", "reason"), UNAVAILABLE_CASES)
def test_unavailable_is_unknown_and_fails_closed(
        current: dict[str, Any], baseline: dict[str, Any], reason: str) -> None:
    result = h.delta(current, baseline)
    assert (result["available"], result["reason"]) == (False, reason)
    assert result["counters"] == {} and result["instances"] == []
    verdict = h.verdict(current, baseline)
    assert verdict["status"] == "unknown"
    assert verdict["passed"] is False
    assert verdict["exit_code"] == 3
    assert {(c["status"], c["reason"], c["message"]) for c in verdict["checks"]} == {
        ("unknown", "DataUnavailable", f"no data: {reason}")}
    # Every check has the same message: the summary says it once.
    assert verdict["summary"] == f"UNKNOWN: no data: {reason}"
    assert h.verdict(current, baseline, allow_unknown=True)["passed"] is True


def test_empty_snapshot_without_baseline_is_unknown() -> None:
    verdict = h.verdict({})
    assert verdict["status"] == "unknown"
    assert verdict["summary"].startswith("UNKNOWN: no data: current is empty (no facts gathered)")


# --- thresholds ---------------------------------------------------------------------------------


def test_threshold_override_and_disable() -> None:
    thresholds = {"cleartext_fallback": {"critical": None, "warning": "0"},
                  "key_management_failures": {"warning": None},
                  "ike_transport_failures": {"critical": 2}}
    verdict = window({}, {"soft_associations": 1, "get_spi_failures": 1, "send_failures": 3},
                     thresholds=thresholds)
    soft = check(verdict, "cleartext_fallback")
    assert (soft["status"], soft["warning"], soft["critical"]) == ("warning", "0", None)
    keys = check(verdict, "key_management_failures")
    assert (keys["status"], keys["warning"], keys["critical"]) == ("ok", None, "10")
    transport = check(verdict, "ike_transport_failures")
    assert (transport["status"], transport["critical"]) == ("critical", "2")


def test_threshold_inside_range() -> None:
    verdict = window({}, {"oakley_main_mode": 3}, thresholds={
        "negotiation_failure_ratio": {"warning": "@0:0", "critical": None}})
    # No failure at all is a warning with this (odd, but valid) inside range.
    assert check(verdict, "negotiation_failure_ratio")["status"] == "warning"


def test_defaults_are_not_changed_by_an_override() -> None:
    window({}, {}, thresholds={"cleartext_fallback": {"critical": None}})
    assert check(window({}, {"soft_associations": 1}), "cleartext_fallback")["status"] == \
        "critical"


BAD_ARGUMENTS = [
    pytest.param({"thresholds": {"nope": {"warning": "1"}}},
                 "thresholds: unknown check 'nope'; expected one of " + str(list(h.CHECK_NAMES)),
                 id="unknown-check"),
    pytest.param({"thresholds": {"cleartext_fallback": {"warn": "1"}}},
                 "thresholds.cleartext_fallback: unknown level 'warn'; expected ['warning', "
                 "'critical']", id="unknown-level"),
    pytest.param({"thresholds": {"cleartext_fallback": {"critical": "5:1"}}},
                 "thresholds.cleartext_fallback.critical: '5:1' (str) is not a Nagios range: "
                 "its start 5 is above its end 1", id="bad-range"),
    pytest.param({"thresholds": {"cleartext_fallback": "5"}},
                 "thresholds.cleartext_fallback: expected a mapping with warning and/or "
                 "critical, got '5' (str)", id="level-not-mapping"),
    pytest.param({"thresholds": ["x"]},
                 "thresholds: expected a mapping of check name to {warning: range, critical: "
                 "range}, got ['x'] (list)", id="thresholds-not-mapping"),
    pytest.param({"fail_on": "unknown"},
                 "fail_on: expected one of ['warning', 'critical'], got 'unknown' (str)",
                 id="fail-on"),
    pytest.param({"allow_unknown": "yes"},
                 "allow_unknown: expected true or false, got 'yes' (str)", id="allow-unknown"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD_ARGUMENTS)
def test_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(h.HealthError, match=re.escape(message)) as info:
        h.verdict(snapshot(), **kwargs)
    assert str(info.value) == message
    assert f"{info.value.argument}: {info.value.problem}" == message


BAD_SNAPSHOTS = [
    pytest.param([], None,
                 "input: snapshot: expected a mapping (ansible_facts.mmipsec), got [] (list)",
                 id="not-a-mapping"),
    pytest.param(snapshot(oakley_main_mode=-1), None,
                 "input: instances[0].counters.oakley_main_mode: expected an integer in "
                 f"0..{UINT64_MAX} (not a bool, float or string), got -1 (int)",
                 id="negative-counter"),
    pytest.param(snapshot(soft_associations=UINT64_MAX + 1), None,
                 "input: instances[0].counters.soft_associations: expected an integer in "
                 f"0..{UINT64_MAX} (not a bool, float or string), got {UINT64_MAX + 1} (int)",
                 id="past-uint64"),
    pytest.param(snapshot(), {"available": True},
                 "baseline: reason: expected a value (every snapshot key is required), got "
                 "nothing (the key is missing)", id="baseline-incomplete"),
]


@pytest.mark.parametrize(("current", "baseline", "message"), BAD_SNAPSHOTS)
def test_bad_snapshots(current: Any, baseline: Any, message: str) -> None:
    with pytest.raises(h.HealthError, match=re.escape(message)):
        h.verdict(current, baseline)


@pytest.mark.parametrize("bad", [
    pytest.param("12", id="string"), pytest.param(12.0, id="float"),
    pytest.param(True, id="bool"), pytest.param(None, id="null")])
def test_mistyped_counter_is_named(bad: Any) -> None:
    broken = snapshot()
    broken["instances"][0]["counters"]["key_updates"] = bad
    message = (f"input: instances[0].counters.key_updates: expected an integer in 0..{UINT64_MAX}"
               f" (not a bool, float or string), got {bad!r} ({type(bad).__name__})")
    with pytest.raises(h.HealthError, match=re.escape(message)):
        h.delta(broken, snapshot(collected_at=T0))


class _TaggedInt(int):
    """Stands in for Ansible 2.19's _AnsibleTaggedInt (an int subclass)."""


def test_int_subclasses_from_ansible_are_accepted() -> None:
    tagged = snapshot(oakley_main_mode=3)
    tagged["instances"][0]["counters"] = {k: _TaggedInt(v) for k, v in
                                          tagged["instances"][0]["counters"].items()}
    tagged["totals"] = {k: _TaggedInt(v) for k, v in tagged["totals"].items()}
    result = h.delta(tagged, snapshot(collected_at=T0))
    assert result["counters"]["oakley_main_mode"] == 3
    value = result["counters"]["oakley_main_mode"]
    assert isinstance(value, int) and not isinstance(value, bool)


def test_to_plain_keeps_bools_so_the_schema_rejects_them() -> None:
    assert h.to_plain({"a": [True, _TaggedInt(2), 1.5, None, "x"]}) == {
        "a": [True, 2, 1.5, None, "x"]}
    assert isinstance(h.to_plain(True), bool)  # bool cannot be subclassed: exactly bool
    plain = h.to_plain(_TaggedInt(2))
    assert isinstance(plain, int) and not isinstance(plain, (bool, _TaggedInt))


# --- compare ------------------------------------------------------------------------------------

T2 = "2026-11-26T08:03:00Z"


def _deltas(pre_after: dict[str, int], post_after: dict[str, int]) -> tuple[Any, Any]:
    """Pre window T0 -> T1 from zero; post window T1 -> T2 (120 s) adding post_after."""
    first = snapshot(collected_at=T0)
    middle = snapshot(collected_at=T1, **pre_after)
    grown = {k: pre_after.get(k, 0) + post_after.get(k, 0)
             for k in set(pre_after) | set(post_after)}
    last = snapshot(collected_at=T2, **grown)
    return h.delta(middle, first), h.delta(last, middle)


def test_compare_lists_regressions() -> None:
    pre, post = _deltas({"oakley_main_mode": 10, "get_spi_failures": 1},
                        {"oakley_main_mode": 10, "get_spi_failures": 20, "soft_associations": 1})
    result = h.compare(pre, post)
    assert result["status"] == "critical"
    assert result["window_seconds"] == 120.0
    assert [c["name"] for c in result["checks"]][-1] == "negotiation_activity_lost"
    assert result["regressions"] == [
        {"check": "cleartext_fallback", "counters": ["soft_associations"], "pre": 0, "post": 1,
         "reason": "SoftAssociationsIncreased",
         "message": "cleartext_fallback went from OK to CRITICAL: 1 negotiations fell back to "
                    "cleartext in 120 s"},
        {"check": "key_management_failures",
         "counters": ["get_spi_failures", "key_addition_failures", "key_update_failures"],
         "pre": 1, "post": 20, "reason": "KeyManagementFailures",
         "message": "key_management_failures went from WARNING to CRITICAL: 20 SPI or key "
                    "installation failures in 120 s"},
    ]


def test_compare_same_status_is_no_regression() -> None:
    pre, post = _deltas({"oakley_main_mode": 5, "get_spi_failures": 1},
                        {"oakley_main_mode": 5, "get_spi_failures": 2})
    result = h.compare(pre, post)
    assert result["status"] == "warning"
    assert result["regressions"] == []
    assert result["passed"] is True


def test_compare_activity_lost() -> None:
    pre, post = _deltas({"oakley_main_mode": 4, "oakley_quick_mode": 6}, {})
    result = h.compare(pre, post)
    lost = check(result, "negotiation_activity_lost")
    assert lost == {
        "name": "negotiation_activity_lost", "status": "warning",
        "counters": ["oakley_main_mode", "oakley_quick_mode"], "value": 0, "warning": "1:",
        "critical": None, "reason": "NegotiationActivityLost",
        "message": "0 SAs formed in 120 s after the change, 10 in 60 s before it"}
    assert [r["check"] for r in result["regressions"]] == ["negotiation_activity_lost"]
    assert result["regressions"][0]["pre"] == 10
    gated = h.compare(pre, post, thresholds={"negotiation_activity_lost": {"critical": "1:"}})
    assert (gated["status"], gated["passed"]) == ("critical", False)


def test_compare_no_activity_before_is_ok() -> None:
    pre, post = _deltas({}, {})
    lost = check(h.compare(pre, post), "negotiation_activity_lost")
    assert (lost["status"], lost["reason"]) == ("ok", "NoActivityBefore")


def test_compare_with_a_window_without_data() -> None:
    pre = h.delta(snapshot(collected_at=T1), unavailable(collected_at=T0))
    post = h.delta(snapshot(collected_at=T2), snapshot(collected_at=T1))
    result = h.compare(pre, post)
    lost = check(result, "negotiation_activity_lost")
    assert (lost["status"], lost["reason"]) == ("unknown", "DataUnavailable")
    assert lost["message"] == ("no data for the pre-change window: baseline not available "
                               "(class_not_found): Invalid class")
    assert result["status"] == "unknown"
    assert result["regressions"] == []


def _good_delta() -> dict[str, Any]:
    return h.delta(snapshot(collected_at=T1), snapshot(collected_at=T0))


def _broken(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    result = _good_delta()
    target = result
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return result


BAD_DELTAS = [
    pytest.param(snapshot(), "input: expected an mmipsec_delta result, missing keys "
                 "['baseline_collected_at', 'window_seconds', 'rate_window_seconds', "
                 "'reset_detected', 'reset_reasons', 'counters', 'rates', 'gauges']",
                 id="a-snapshot-not-a-delta"),
    pytest.param("x", "input: expected an mmipsec_delta result (a mapping), got 'x' (str)",
                 id="string"),
    pytest.param(_broken(("counters", "send_failures"), "3"),
                 "input.counters.send_failures: expected an integer 0 or more (not a bool, "
                 "float or string), got '3' (str)", id="string-counter"),
    pytest.param(_broken(("counters", "send_failures"), -3),
                 "input.counters.send_failures: expected an integer 0 or more (not a bool, "
                 "float or string), got -3 (int)", id="negative-delta"),
    pytest.param(_broken(("rates", "send_failures"), "fast"),
                 "input.rates.send_failures: expected a number or null, got 'fast' (str)",
                 id="string-rate"),
    pytest.param(_broken(("available",), "yes"),
                 "input.available: expected true or false, got 'yes' (str)", id="available"),
    pytest.param(_broken(("window_seconds",), "60"),
                 "input.window_seconds: expected a number or null, got '60' (str)", id="window"),
    pytest.param(_broken(("instances",), {}),
                 "input.instances: expected a list, got {} (dict)", id="instances"),
]


@pytest.mark.parametrize(("pre", "message"), BAD_DELTAS)
def test_compare_bad_delta(pre: Any, message: str) -> None:
    with pytest.raises(h.HealthError, match=re.escape(message)):
        h.compare(pre, _good_delta())


def test_compare_names_post_delta() -> None:
    message = "post_delta: expected an mmipsec_delta result (a mapping), got None (NoneType)"
    with pytest.raises(h.HealthError, match=re.escape(message)):
        h.compare(_good_delta(), None)


# --- fleet summary ------------------------------------------------------------------------------


def test_summary() -> None:
    ok = window({}, {})
    warn = window({}, {"get_spi_failures": 1})
    crit = window({}, {"soft_associations": 1})
    unknown = h.verdict({})
    result = h.summary({"d": ok, "c": crit, "b": warn, "a": unknown, "e": None},
                       hosts=["a", "b", "c", "d", "e", "f"])
    assert [(r["host"], r["status"], r["passed"]) for r in result["hosts"]] == [
        ("c", "critical", False), ("a", "unknown", False), ("e", "unknown", False),
        ("f", "unknown", False), ("b", "warning", True), ("d", "ok", True)]
    assert result["counts"] == {"ok": 1, "warning": 1, "critical": 1, "unknown": 3}
    assert (result["total"], result["passed"], result["failed"]) == (6, 2, 4)
    assert (result["status"], result["exit_code"]) == ("critical", 2)
    assert result["failed_hosts"] == ["c", "a", "e", "f"]
    assert result["missing_hosts"] == ["e", "f"]
    assert result["hosts"][2]["summary"] == ("UNKNOWN: no verdict for this host (unreachable, "
                                             "skipped or not judged)")
    assert list(result["checks"]) == list(h.CHECK_NAMES[:-1])
    assert result["checks"]["cleartext_fallback"] == {"warning": 0, "critical": 1, "unknown": 1}
    assert result["checks"]["key_management_failures"] == {
        "warning": 1, "critical": 0, "unknown": 1}


def test_summary_of_nothing_is_ok() -> None:
    result = h.summary({})
    assert (result["status"], result["total"], result["hosts"]) == ("ok", 0, [])


def test_summary_failed_before_passed_within_a_status() -> None:
    warn_passed = window({}, {"get_spi_failures": 1})
    warn_failed = window({}, {"get_spi_failures": 1}, fail_on="warning")
    result = h.summary({"a": warn_passed, "b": warn_failed})
    assert [r["host"] for r in result["hosts"]] == ["b", "a"]


BAD_SUMMARIES = [
    pytest.param([], None, "input: expected a mapping of host name to verdict, got [] (list)",
                 id="not-a-mapping"),
    pytest.param({}, "web01", "hosts: expected a list of host names, got 'web01' (str)",
                 id="hosts-string"),
    pytest.param({"web01": "ok"}, None,
                 "input['web01']: expected a verdict (a mapping), got 'ok' (str)",
                 id="verdict-string"),
    pytest.param({"web01": {"status": "fine", "passed": True, "checks": []}}, None,
                 "input['web01'].status: expected one of ['ok', 'warning', 'critical', "
                 "'unknown'], got 'fine' (str)", id="bad-status"),
    pytest.param({"web01": {"status": "ok", "passed": "yes", "checks": []}}, None,
                 "input['web01'].passed: expected true or false, got 'yes' (str)",
                 id="bad-passed"),
    pytest.param({"web01": {"status": "ok", "passed": True, "checks": [{"name": "x"}]}}, None,
                 "input['web01'].checks[0]: expected a check with a name and a status, got "
                 "{'name': 'x'} (dict)", id="bad-check"),
]


@pytest.mark.parametrize(("verdicts", "hosts", "message"), BAD_SUMMARIES)
def test_bad_summary(verdicts: Any, hosts: Any, message: str) -> None:
    with pytest.raises(h.HealthError, match=re.escape(message)):
        h.summary(verdicts, hosts)


def test_healthy_is_passed() -> None:
    assert h.healthy(snapshot(collected_at=T1), snapshot(collected_at=T0)) is True
    assert h.healthy(snapshot(soft_associations=1)) is False
    assert h.healthy({}) is False
    assert h.healthy({}, allow_unknown=True) is True


# --- speed paths keep the behaviour ---------------------------------------------------------------


def _exact_status(warning: Any, critical: Any, value: float) -> str:
    """The status by the Nagios ranges alone (no band shortcut)."""
    if critical is not None and critical.alerts(value):
        return "critical"
    if warning is not None and warning.alerts(value):
        return "warning"
    return "ok"


RANGE_TEXTS = [None, "0", "10", "10:", "~:10", "5:20", "@5:20", "@10", "0.5", "1:", "~:0",
               "20:25"]
VALUES = [-1, 0, 0.5, 1, 4.999, 5, 5.5, 10, 10.001, 20, 25, 26, UINT64_MAX, 2 * UINT64_MAX]


@pytest.mark.parametrize("warning_text", RANGE_TEXTS, ids=lambda t: f"warning={t}")
@pytest.mark.parametrize("critical_text", RANGE_TEXTS, ids=lambda t: f"critical={t}")
def test_ok_band_agrees_with_the_ranges(warning_text: Any, critical_text: Any) -> None:
    warning = h.parse_range(warning_text) if warning_text is not None else None
    critical = h.parse_range(critical_text) if critical_text is not None else None
    judge = h._make_judge(h.CHECK_BY_NAME["ike_transport_failures"], (warning, critical))
    for value in VALUES:
        result = h._judged(judge, value, "m")
        assert result["status"] == _exact_status(warning, critical, value), value


def test_printf_templates_write_what_the_readable_templates_say() -> None:
    fields = {"value": "7.5", "failures": 3, "attempts": 40, "span": "in 60 s", "events": 9,
              "where": "over 60 s", "before": 12, "before_span": "in 30 s"}
    for spec in h.CHECKS:
        judge = h._make_judge(spec, h.DEFAULT_RANGES[spec.name])
        names = h._MESSAGE_FIELDS[spec.kind]
        assert judge.message % tuple(fields[n] for n in names) == spec.message.format(**fields)
        if spec.idle_message:
            assert judge.idle_message % ("in 60 s",) == spec.idle_message.format(span="in 60 s")


@pytest.mark.parametrize(("template", "message"), [
    pytest.param("{span} then {value}", "CHECKS x.message: expected the fields ['value', "
                 "'span'] in this order, got ['span', 'value'] in '{span} then {value}'",
                 id="order"),
    pytest.param("{value} only", "CHECKS x.message: expected the fields ['value', 'span'] in "
                 "this order, got ['value'] in '{value} only'", id="missing"),
    pytest.param("{value:.1f} {span}", "CHECKS x.message: expected plain {name} fields, got "
                 "{value:.1f} with conversion None in '{value:.1f} {span}'", id="format-spec"),
])
def test_printf_template_refuses_what_percent_cannot_write(template: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        h._printf_template(template, ("value", "span"), "CHECKS x.message")


def test_printf_template_escapes_percent() -> None:
    assert h._printf_template("{value}% of {span}", ("value", "span"), "x") == "%s%% of %s"
