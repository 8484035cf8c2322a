"""Checks, the gate, verdicts, comparisons, failed-change and unread verdicts (plugin_utils/_verdict.py)."""

from __future__ import annotations

from typing import Any

import pytest
from health_snapshots import (
    T0,
    T1,
    UNAVAILABLE_IDS,
    both,
    instance,
    qm_snapshot,
    snapshot,
    unavailable,
    unavailable_pairs,
)
from health_strategies import healthy_gauges, host, json_values
from hypothesis import given, settings
from hypothesis import strategies as st
from input_errors import raised

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _verdict as v
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import (
    MISSING,
    InputError,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._policy import (
    CHECK_BY_NAME,
    CHECK_NAMES,
    CHECKS,
    DEFAULT_FAIL_ON,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._window import delta

IDLE = {"active_acquire": 1}


def window(before: dict[str, int], after: dict[str, int], **kwargs: Any) -> dict[str, Any]:
    """The verdict of a 60 s window from ``before`` to ``after`` (one active instance)."""
    return v.verdict(snapshot(collected_at=T1, **after), snapshot(collected_at=T0, **before),
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
    spec = CHECK_BY_NAME[name]
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
    # Main mode only (no quick-mode class given): the quick-mode checks are skipped.
    expected_checks = [c.name for c in CHECKS if not c.compare_only and not c.quick_mode]
    assert [c["name"] for c in verdict["checks"]] == expected_checks
    assert verdict["summary"] == "OK: all 9 checks passed (60 s window)"
    assert (verdict["status"], verdict["passed"], verdict["exit_code"]) == ("ok", True, 0)


def test_gauges_of_several_instances_are_not_added() -> None:
    # Two idle instances report active_acquire 1 each: their sum (2) would be a false backlog.
    two = [instance("A", active_acquire=1), instance("B", active_acquire=1)]
    verdict = v.verdict(snapshot(two, collected_at=T1), snapshot(two, collected_at=T0))
    assert check(verdict, "ike_acquire_backlog")["status"] == "ok"
    assert check(verdict, "ike_acquire_backlog")["value"] == 1
    assert check(verdict, "ike_acquire_backlog")["message"] == (
        "1 acquire requests outstanding at IKE on A")  # the first of equal levels


def test_gauge_names_the_worst_instance() -> None:
    now = [instance("A", active_receive=3), instance("B", active_receive=12),
           instance("C", active=False, active_receive=500)]
    result = check(v.verdict(snapshot(now)), "ike_receive_backlog")
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
    assert DEFAULT_FAIL_ON == "critical"


def test_unknown_with_a_hidden_warning_fails_a_warning_gate() -> None:
    # invalid_packets moved across a service restart: the rate is unknown; the key failure
    # is a warning that the unknown status hides. allow_unknown must not let the warning pass.
    before = snapshot(collected_at=T0, oakley_main_mode=100)
    after = snapshot(collected_at=T1, oakley_main_mode=1, invalid_packets=1, get_spi_failures=1)
    verdict = v.verdict(after, before, fail_on="warning", allow_unknown=True)
    assert verdict["status"] == "unknown"
    assert verdict["passed"] is False
    assert v.verdict(after, before, fail_on="critical", allow_unknown=True)["passed"] is True


def test_summary_joins_the_worst_messages() -> None:
    verdict = window({}, {"soft_associations": 2, "send_failures": 11, "get_spi_failures": 1})
    assert verdict["summary"] == ("CRITICAL: 2 negotiations fell back to cleartext in 60 s; "
                                  "11 IKE acquire, send or receive failures in 60 s")


# --- resets, windows, instances -----------------------------------------------------------------


def test_rate_after_reset_without_reboot_is_unknown_not_a_pass() -> None:
    before = snapshot(collected_at=T0, oakley_main_mode=100)
    after = snapshot(collected_at=T1, oakley_main_mode=1, invalid_packets=1)
    verdict = v.verdict(after, before)
    result = check(verdict, "malformed_traffic_rate")
    assert (result["status"], result["reason"], result["value"]) == (
        "unknown", "RateWindowUnknown", None)
    assert result["message"] == ("1 malformed IKE messages in 60 s (counters reset: counted "
                                 "from zero), but when counting started is unknown: the rate "
                                 "cannot be judged")
    assert verdict["reset_detected"] is True
    assert verdict["status"] == "unknown"
    assert verdict["passed"] is False


def test_rate_after_reboot_is_over_the_time_since_boot() -> None:
    before = snapshot(collected_at=T0, oakley_main_mode=5, invalid_packets=2)
    after = snapshot(collected_at=T1, boot_time="2026-11-26T08:00:30Z", oakley_main_mode=9,
                     invalid_packets=6)
    result = check(v.verdict(after, before), "malformed_traffic_rate")
    assert result["status"] == "warning"  # 0.2/s over 30 s, not 0.1/s over 60 s
    assert result["message"] == "0.2 malformed IKE messages per second (6 over 30 s)"


def test_instance_appearing_makes_the_rate_unknown() -> None:
    before = snapshot([instance("A", invalid_packets=1)], collected_at=T0)
    after = snapshot([instance("A", invalid_packets=1), instance("B", invalid_packets=5,
                                                                 oakley_main_mode=4)],
                     collected_at=T1)
    verdict = v.verdict(after, before)
    assert check(verdict, "malformed_traffic_rate")["reason"] == "RateWindowUnknown"
    assert check(verdict, "negotiation_failure_ratio")["value"] == 0.0


def test_inactive_instances_are_not_judged() -> None:
    before = snapshot([instance("A"), instance("B", soft_associations=1)], collected_at=T0)
    after = snapshot([instance("A"), instance("B", active=False, soft_associations=9)],
                     collected_at=T1)
    assert check(v.verdict(after, before), "cleartext_fallback")["status"] == "ok"


def test_no_active_instance_is_unknown() -> None:
    verdict = v.verdict(snapshot([instance("A", active=False)]))
    assert verdict["status"] == "unknown"
    assert {c["reason"] for c in verdict["checks"]} == {"NoActiveInstance"}
    assert verdict["summary"] == "UNKNOWN: no data: no instance is active"


def test_identical_snapshots_zero_window_are_ok() -> None:
    same = snapshot(oakley_main_mode=10, invalid_packets=4, active_acquire=1)
    assert v.verdict(same, same)["status"] == "ok"


def test_zero_window_with_events_cannot_give_a_rate() -> None:
    before = snapshot(collected_at=T1, invalid_packets=1)
    after = snapshot(collected_at=T1, invalid_packets=3)
    result = check(v.verdict(after, before), "malformed_traffic_rate")
    assert (result["status"], result["reason"]) == ("unknown", "WindowNotPositive")
    assert result["message"] == ("2 malformed IKE messages in a window of 0 s (the clock went "
                                 "backwards?): the rate cannot be judged")


def test_clock_going_backwards() -> None:
    before = snapshot(collected_at=T1, oakley_main_mode=1, invalid_packets=1)
    after = snapshot(collected_at=T0, oakley_main_mode=5, invalid_packets=2)
    verdict = v.verdict(after, before)
    assert check(verdict, "malformed_traffic_rate")["reason"] == "WindowNotPositive"
    assert check(verdict, "malformed_traffic_rate")["message"].startswith(
        "1 malformed IKE messages in a window of -60 s")
    assert check(verdict, "cleartext_fallback")["status"] == "ok"


# --- lifetime verdicts --------------------------------------------------------------------------


def test_lifetime_verdict_rates_over_time_since_boot() -> None:
    # Booted 2026-11-20T07:12:03Z, read 2026-11-26T08:01:00Z: 6 days 48 min 57 s = 521337 s.
    verdict = v.verdict(snapshot(invalid_packets=5213, soft_associations=0))
    assert verdict["window_seconds"] is None
    assert verdict["summary"] == "OK: all 9 checks passed (lifetime values)"
    result = check(verdict, "malformed_traffic_rate")
    assert result["value"] == 5213 / 521337
    assert result["message"] == ("0.01 malformed IKE messages per second (5213 over 521337 s)")


def test_lifetime_without_boot_time() -> None:
    quiet = v.verdict(snapshot(boot_time=None))
    assert quiet["status"] == "ok"
    noisy = check(v.verdict(snapshot(boot_time=None, invalid_packets=1)), "malformed_traffic_rate")
    assert (noisy["status"], noisy["reason"]) == ("unknown", "RateWindowUnknown")
    assert noisy["message"] == ("1 malformed IKE messages since the IPsec service started, but "
                                "when counting started is unknown: the rate cannot be judged")


def test_lifetime_counts_since_service_start() -> None:
    result = check(v.verdict(snapshot(soft_associations=3)), "cleartext_fallback")
    assert result["message"] == ("3 negotiations fell back to cleartext since the IPsec service "
                                 "started")


# --- missing data -------------------------------------------------------------------------------

@pytest.mark.parametrize(("current", "baseline", "reason"), unavailable_pairs(),
                         ids=UNAVAILABLE_IDS)
def test_unavailable_is_unknown_and_fails_closed(
        current: dict[str, Any], baseline: dict[str, Any], reason: str) -> None:
    verdict = v.verdict(current, baseline)
    assert verdict["status"] == "unknown"
    assert verdict["passed"] is False
    assert verdict["exit_code"] == 3
    assert {(c["status"], c["reason"], c["message"]) for c in verdict["checks"]} == {
        ("unknown", "DataUnavailable", f"no data: {reason}")}
    # Every check has the same message: the summary says it once.
    assert verdict["summary"] == f"UNKNOWN: no data: {reason}"
    assert v.verdict(current, baseline, allow_unknown=True)["passed"] is True


def test_empty_snapshot_without_baseline_is_unknown() -> None:
    verdict = v.verdict({})
    assert verdict["status"] == "unknown"
    assert verdict["summary"] == "UNKNOWN: no data: current is empty (no facts gathered)"


# --- thresholds and arguments -------------------------------------------------------------------


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


@pytest.mark.parametrize(("kwargs", "field", "expected", "got"), [
    pytest.param({"thresholds": {"nope": {"warning": "1"}}}, "thresholds",
                 f"a check name, one of {list(CHECK_NAMES)}", "nope", id="thresholds"),
    pytest.param({"fail_on": "unknown"}, "fail_on", "one of ['warning', 'critical']", "unknown",
                 id="fail-on"),
    pytest.param({"fail_on": ["warning"]}, "fail_on", "one of ['warning', 'critical']",
                 ["warning"], id="fail-on-list"),
    pytest.param({"allow_unknown": "yes"}, "allow_unknown", "true or false", "yes",
                 id="allow-unknown"),
])
def test_bad_arguments(kwargs: dict[str, Any], field: str, expected: str, got: Any) -> None:
    raised(lambda: v.verdict(snapshot(), **kwargs), field, expected, got)
    raised(lambda: v.healthy(snapshot(), **kwargs), field, expected, got)


def test_bad_snapshot_names_the_argument() -> None:
    raised(lambda: v.verdict(snapshot(), {"available": True}), "baseline.reason",
           "a value (every snapshot key is required)", MISSING)
    raised(lambda: v.verdict([]), "input", "a mapping (ansible_facts.mmipsec)", [])


def test_healthy_is_passed() -> None:
    assert v.healthy(snapshot(collected_at=T1), snapshot(collected_at=T0)) is True
    assert v.healthy(snapshot(soft_associations=1)) is False
    assert v.healthy({}) is False
    assert v.healthy({}, allow_unknown=True) is True


# --- compare ------------------------------------------------------------------------------------

T2 = "2026-11-26T08:03:00Z"


def _deltas(pre_after: dict[str, int], post_after: dict[str, int]) -> tuple[Any, Any]:
    """Pre window T0 -> T1 from zero; post window T1 -> T2 (120 s) adding post_after."""
    first = snapshot(collected_at=T0)
    middle = snapshot(collected_at=T1, **pre_after)
    grown = {k: pre_after.get(k, 0) + post_after.get(k, 0)
             for k in set(pre_after) | set(post_after)}
    last = snapshot(collected_at=T2, **grown)
    return delta(middle, first), delta(last, middle)


def test_compare_lists_regressions() -> None:
    pre, post = _deltas({"oakley_main_mode": 10, "get_spi_failures": 1},
                        {"oakley_main_mode": 10, "get_spi_failures": 20, "soft_associations": 1})
    result = v.compare(pre, post)
    assert result["status"] == "critical"
    assert result["window_seconds"] == 120.0
    assert [c["name"] for c in result["checks"]] == [
        c for c in CHECK_NAMES if not CHECK_BY_NAME[c].quick_mode]
    assert list(result) == ["status", "passed", "exit_code", "window_seconds", "reset_detected",
                            "checks", "summary", "regressions"]
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
    result = v.compare(pre, post)
    assert result["status"] == "warning"
    assert result["regressions"] == []
    assert result["passed"] is True


def test_compare_activity_lost() -> None:
    pre, post = _deltas({"oakley_main_mode": 4, "oakley_quick_mode": 6}, {})
    result = v.compare(pre, post)
    lost = check(result, "negotiation_activity_lost")
    assert lost == {
        "name": "negotiation_activity_lost", "status": "warning",
        "counters": ["oakley_main_mode", "oakley_quick_mode"], "value": 0, "warning": "1:",
        "critical": None, "reason": "NegotiationActivityLost",
        "message": "0 SAs formed in 120 s after the change, 10 in 60 s before it"}
    assert [r["check"] for r in result["regressions"]] == ["negotiation_activity_lost"]
    assert result["regressions"][0]["pre"] == 10
    gated = v.compare(pre, post, thresholds={"negotiation_activity_lost": {"critical": "1:"}})
    assert (gated["status"], gated["passed"]) == ("critical", False)


def test_compare_no_activity_before_is_ok() -> None:
    pre, post = _deltas({}, {})
    lost = check(v.compare(pre, post), "negotiation_activity_lost")
    assert (lost["status"], lost["reason"]) == ("ok", "NoActivityBefore")


@pytest.mark.parametrize(("side", "message"), [
    pytest.param("pre", "no data for the pre-change window: baseline not available "
                 "(class_not_found): Invalid class", id="pre"),
    pytest.param("post", "no data for the post-change window: current is empty (no facts "
                 "gathered)", id="post"),
])
def test_compare_with_a_window_without_data(side: str, message: str) -> None:
    pre = delta(snapshot(collected_at=T1), unavailable(collected_at=T0))
    post = delta(snapshot(collected_at=T2), snapshot(collected_at=T1))
    if side == "post":
        pre, post = post, delta({}, snapshot(collected_at=T1))
    result = v.compare(pre, post)
    lost = check(result, "negotiation_activity_lost")
    assert (lost["status"], lost["reason"], lost["message"]) == (
        "unknown", "DataUnavailable", message)
    assert result["status"] == "unknown"
    assert result["regressions"] == []


def test_compare_takes_deltas_back_from_ansible_and_names_post_delta() -> None:
    pre, post = _deltas({}, {"soft_associations": 1})
    assert v.compare(pre, post)["status"] == "critical"
    raised(lambda: v.compare(pre, None), "post_delta", "an mmipsec_delta result (a mapping)",
           None)
    raised(lambda: v.compare("x", post), "input", "an mmipsec_delta result (a mapping)", "x")
    raised(lambda: v.compare(pre, post, fail_on="ok"), "fail_on",
           "one of ['warning', 'critical']", "ok")


# --- verdicts handed in, and the verdict of a failed change ---------------------------------------

GOOD = {"status": "ok", "passed": True, "checks": [{"name": "x", "status": "ok"}]}


@pytest.mark.parametrize(("value", "field", "expected", "got"), [
    pytest.param("ok", "v", "a verdict (a mapping)", "ok", id="string"),
    pytest.param({**GOOD, "status": "fine"}, "v.status",
                 "one of ['ok', 'warning', 'critical', 'unknown']", "fine", id="status"),
    pytest.param({"passed": True, "checks": []}, "v.status",
                 "one of ['ok', 'warning', 'critical', 'unknown']", MISSING, id="no-status"),
    pytest.param({**GOOD, "passed": "yes"}, "v.passed", "true or false", "yes", id="passed"),
    pytest.param({**GOOD, "checks": {}}, "v.checks", "a list", {}, id="checks"),
    pytest.param({**GOOD, "checks": [{"name": "x"}]}, "v.checks[0]",
                 "a check with a name and a status", {"name": "x"}, id="check"),
])
def test_check_verdict(value: Any, field: str, expected: str, got: Any) -> None:
    raised(lambda: v.check_verdict(value, "v"), field, expected, got)


def test_check_verdict_returns_a_good_one() -> None:
    assert v.check_verdict(GOOD, "v") is GOOD


def test_fail_verdict() -> None:
    original = window({}, {"get_spi_failures": 1})
    assert (original["status"], original["passed"]) == ("warning", True)
    failed = v.fail_verdict(original, "RolledBack", "the change task failed")
    assert failed == {
        **original, "status": "critical", "passed": False, "exit_code": 2,
        "summary": "CRITICAL: the change task failed",
        "checks": [*original["checks"], {
            "name": "rollout", "status": "critical", "counters": [], "value": None,
            "warning": None, "critical": None, "reason": "RolledBack",
            "message": "the change task failed"}],
    }
    assert list(failed) == list(original)
    assert len(original["checks"]) == 9  # the input is not changed
    assert v.fail_verdict(failed, "ChangeFailed", "again")["checks"][-1]["reason"] == "ChangeFailed"


def test_fail_verdict_keeps_a_comparison_s_regressions() -> None:
    pre, post = _deltas({}, {})
    comparison = v.compare(pre, post)
    failed = v.fail_verdict(comparison, "ChangeFailed", "the settle stage failed")
    assert failed["regressions"] == comparison["regressions"]
    assert failed["window_seconds"] == 120.0


def test_fail_verdict_names_its_check() -> None:
    failed = v.fail_verdict(GOOD, "BaselineNotWritten", "cannot write", check="baseline")
    assert failed["checks"][-1] == {
        "name": "baseline", "status": "critical", "counters": [], "value": None,
        "warning": None, "critical": None, "reason": "BaselineNotWritten",
        "message": "cannot write"}


@pytest.mark.parametrize(("args", "field", "expected", "got"), [
    pytest.param(([], "RolledBack", "m"), "input", "a verdict (a mapping)", [], id="verdict"),
    pytest.param((GOOD, "", "m"), "reason",
                 "a reason code such as 'RolledBack' (a non-empty string)", "", id="reason"),
    pytest.param((GOOD, None, "m"), "reason",
                 "a reason code such as 'RolledBack' (a non-empty string)", None,
                 id="reason-null"),
    pytest.param((GOOD, "RolledBack", 3), "message", "a non-empty string", 3, id="message"),
    pytest.param((GOOD, "RolledBack", "m", ""), "check", "a check name (a non-empty string)", "",
                 id="check"),
])
def test_fail_verdict_bad_input(args: tuple[Any, ...], field: str, expected: str,
                                got: Any) -> None:
    raised(lambda: v.fail_verdict(*args), field, expected, got)


def test_unread_verdict_of_an_unreachable_host() -> None:
    # Issue 14's contract: the shape and texts the host strategy gave in YAML, key order too.
    verdict = v.unread_verdict("wsman: cannot connect to 127.0.0.1:1: connection refused")
    message = "unreachable: wsman: cannot connect to 127.0.0.1:1: connection refused"
    assert verdict == {
        "status": "unknown", "passed": False, "exit_code": 3, "window_seconds": None,
        "reset_detected": False,
        "checks": [{"name": "reachable", "status": "unknown", "counters": [], "value": None,
                    "warning": None, "critical": None, "reason": "Unreachable",
                    "message": message}],
        "summary": f"UNKNOWN: {message}",
    }
    assert list(verdict) == ["status", "passed", "exit_code", "window_seconds", "reset_detected",
                             "checks", "summary"]
    assert list(verdict["checks"][0]) == ["name", "status", "counters", "value", "warning",
                                          "critical", "reason", "message"]
    assert v.check_verdict(verdict, "v") is verdict


def test_unread_verdict_of_a_read_that_failed() -> None:
    verdict = v.unread_verdict("wsman: HTTP 401", unreachable=False)
    assert verdict["checks"] == [{
        "name": "reachable", "status": "unknown", "counters": [], "value": None,
        "warning": None, "critical": None, "reason": "ReadFailed",
        "message": "not read: wsman: HTTP 401"}]
    assert verdict["summary"] == "UNKNOWN: not read: wsman: HTTP 401"
    assert (verdict["status"], verdict["passed"], verdict["exit_code"]) == ("unknown", False, 3)


@pytest.mark.parametrize(("args", "field", "expected", "got"), [
    pytest.param(("",), "input", "why the host was not read (a non-empty string)", "",
                 id="empty"),
    pytest.param((None,), "input", "why the host was not read (a non-empty string)", None,
                 id="null"),
    pytest.param(("m", "yes"), "unreachable", "true or false", "yes", id="unreachable"),
])
def test_unread_verdict_bad_input(args: tuple[Any, ...], field: str, expected: str,
                                  got: Any) -> None:
    raised(lambda: v.unread_verdict(*args), field, expected, got)


# --- properties (hypothesis) --------------------------------------------------------------------

@given(host(healthy_gauges))
def test_identical_snapshots_judge_ok(instances: list[dict[str, Any]]) -> None:
    same = snapshot(instances)
    verdict = v.verdict(same, same)
    assert verdict["status"] == "ok", verdict["summary"]
    assert verdict["passed"] is True


@settings(max_examples=150)
@given(host(), host(), st.sampled_from(["warning", "critical"]), st.booleans(), st.booleans())
def test_status_is_the_worst_check_status(before: list[dict[str, Any]],
                                          after: list[dict[str, Any]], fail_on: str,
                                          allow_unknown: bool, lifetime: bool) -> None:
    baseline = None if lifetime else snapshot(before, collected_at=T0)
    verdict = v.verdict(snapshot(after, collected_at=T1), baseline, fail_on=fail_on,
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


@settings(max_examples=200)
@given(json_values, json_values, json_values)
def test_junk_input_raises_only_input_error(current: Any, baseline: Any,
                                            thresholds: Any) -> None:
    for call in (lambda: v.verdict(current, baseline, thresholds),
                 lambda: v.compare(current, baseline, thresholds),
                 lambda: v.fail_verdict(current, baseline, thresholds)):
        try:
            call()
        except InputError:
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
def test_one_junk_field_raises_only_input_error(data: st.DataObject, junk: Any) -> None:
    good = delta(snapshot(collected_at=T1, oakley_main_mode=4), snapshot(collected_at=T0))
    target = data.draw(st.sampled_from(["snapshot", "delta", "thresholds", "verdict"]))
    if target == "snapshot":
        value: Any = snapshot(invalid_packets=3)
    elif target == "delta":
        value = good
    elif target == "thresholds":
        value = {"cleartext_fallback": {"warning": "1", "critical": "2"}}
    else:
        value = v.verdict(snapshot())
    _replace(value, data.draw(st.sampled_from(_paths(value))), junk)
    try:
        if target == "snapshot":
            v.verdict(value, snapshot(collected_at=T0))
        elif target == "delta":
            v.compare(good, value)
        elif target == "thresholds":
            v.verdict(snapshot(), thresholds=value)
        else:
            v.fail_verdict(value, "RolledBack", "m")
    except InputError:
        pass


# --- the quick-mode class ----------------------------------------------------------------------

QM_CHECKS = [c.name for c in CHECKS if c.quick_mode]


def qm_window(before: dict[str, int], after: dict[str, int], **kwargs: Any) -> dict[str, Any]:
    """The verdict of a 60 s window of both classes; main mode idle, quick mode as given."""
    return v.verdict(both(snapshot(collected_at=T1, **IDLE), qm_snapshot(collected_at=T1, **after)),
                     both(snapshot(collected_at=T0, **IDLE), qm_snapshot(collected_at=T0, **before)),
                     **kwargs)


QM_CHECK_CASES = [
    pytest.param("decryption_failure_rate", {}, {}, "ok", 0.0, "WithinThresholds",
                 "0 packets per second failed decryption (0 over 60 s)", id="decrypt-none"),
    pytest.param("decryption_failure_rate", {"packets_not_decrypted": 9},
                 {"packets_not_decrypted": 12}, "critical", 3 / 60, "PacketsNotDecrypted",
                 "0.05 packets per second failed decryption (3 over 60 s)", id="decrypt-grows"),
    pytest.param("packet_authentication_failure_rate", {}, {"packets_not_authenticated": 1},
                 "critical", 1 / 60, "PacketsNotAuthenticated",
                 "0.0167 packets per second failed authentication (1 over 60 s)",
                 id="auth-one"),
    pytest.param("bad_spi_rate", {}, {"bad_spi_packets": 6}, "ok", 0.1, "WithinThresholds",
                 "0.1 packets per second arrived with a wrong SPI (6 over 60 s)",
                 id="bad-spi-at-edge"),
    pytest.param("bad_spi_rate", {}, {"bad_spi_packets": 7}, "warning", 7 / 60, "BadSpiPackets",
                 "0.117 packets per second arrived with a wrong SPI (7 over 60 s)",
                 id="bad-spi-warning"),
    pytest.param("bad_spi_rate", {}, {"bad_spi_packets": 61}, "critical", 61 / 60,
                 "BadSpiPackets", "1.02 packets per second arrived with a wrong SPI (61 over "
                 "60 s)", id="bad-spi-critical"),
    pytest.param("replay_detections", {}, {}, "ok", 0, "WithinThresholds",
                 "0 packets caught by replay detection in 60 s", id="replay-none"),
    pytest.param("replay_detections", {}, {"packets_with_replay_detection": 1}, "warning", 1,
                 "ReplayDetected", "1 packets caught by replay detection in 60 s",
                 id="replay-warning"),
    pytest.param("replay_detections", {}, {"packets_with_replay_detection": 101}, "critical",
                 101, "ReplayDetected", "101 packets caught by replay detection in 60 s",
                 id="replay-critical"),
]


@pytest.mark.parametrize(("name", "before", "after", "status", "value", "reason", "message"),
                         QM_CHECK_CASES)
def test_quick_mode_check(name: str, before: dict[str, int], after: dict[str, int],
                          status: str, value: Any, reason: str, message: str) -> None:
    spec = CHECK_BY_NAME[name]
    result = check(qm_window(before, after), name)
    assert result == {
        "name": name, "status": status, "counters": list(spec.counters), "value": value,
        "warning": spec.warning, "critical": spec.critical, "reason": reason,
        "message": message,
    }
    assert type(result["value"]) is type(value)


def test_both_classes_are_judged_in_policy_order() -> None:
    verdict = qm_window({}, {"confidential_bytes_sent": 10**12})
    main_mode = [c.name for c in CHECKS if not c.compare_only and not c.quick_mode]
    assert [c["name"] for c in verdict["checks"]] == main_mode + QM_CHECKS
    assert verdict["summary"] == "OK: all 13 checks passed (60 s window)"
    assert verdict["passed"] is True


def test_growing_decrypt_failures_fail_the_gate() -> None:
    verdict = qm_window({"packets_not_decrypted": 0}, {"packets_not_decrypted": 1})
    assert (verdict["status"], verdict["passed"], verdict["exit_code"]) == ("critical", False, 2)
    assert verdict["summary"] == ("CRITICAL: 0.0167 packets per second failed decryption (1 "
                                  "over 60 s)")
    assert v.healthy(both(snapshot(collected_at=T1, **IDLE),
                          qm_snapshot(collected_at=T1, packets_not_decrypted=1)),
                     both(snapshot(collected_at=T0, **IDLE), qm_snapshot(collected_at=T0))) is False


@pytest.mark.parametrize("qm_now", [
    pytest.param(unavailable(), id="class-not-found"),
    pytest.param(unavailable("provider_error", None), id="provider-error"),
    pytest.param({}, id="empty"),
])
def test_a_host_without_the_quick_mode_class_skips_its_checks(qm_now: dict[str, Any]) -> None:
    now = both(snapshot(collected_at=T1, **IDLE), qm_now)
    then = both(snapshot(collected_at=T0, **IDLE), qm_now)
    for verdict in (v.verdict(now, then), v.verdict(now)):
        names = [c["name"] for c in verdict["checks"]]
        assert not set(names) & set(QM_CHECKS)
        assert (verdict["status"], verdict["passed"]) == ("ok", True)


def test_a_baseline_without_quick_mode_data_skips_its_checks() -> None:
    # A baseline kept by 0.2.0 holds the main-mode snapshot only.
    now = both(snapshot(collected_at=T1, **IDLE), qm_snapshot(packets_not_decrypted=5))
    verdict = v.verdict(now, snapshot(collected_at=T0, **IDLE))
    assert not {c["name"] for c in verdict["checks"]} & set(QM_CHECKS)


def test_lifetime_verdict_judges_quick_mode_since_boot() -> None:
    # BOOT is 2026-11-20T07:12:03Z, T1 six days later: 521637 s.
    verdict = v.verdict(both(snapshot(**IDLE), qm_snapshot(packets_with_replay_detection=2)))
    result = check(verdict, "replay_detections")
    assert (result["status"], result["value"], result["message"]) == (
        "warning", 2, "2 packets caught by replay detection since the IPsec service started")


def test_quick_mode_thresholds_are_applied() -> None:
    verdict = qm_window({}, {"packets_not_decrypted": 6},
                        thresholds={"decryption_failure_rate": {"critical": "1"}})
    result = check(verdict, "decryption_failure_rate")
    assert (result["status"], result["critical"], result["value"]) == ("ok", "1", 0.1)


def test_compare_catches_decrypt_failures_after_the_change() -> None:
    first = both(snapshot(collected_at=T0, **IDLE), qm_snapshot(collected_at=T0))
    middle = both(snapshot(collected_at=T1, **IDLE), qm_snapshot(collected_at=T1))
    last = both(snapshot(collected_at=T2, **IDLE),
                qm_snapshot(collected_at=T2, packets_not_decrypted=40))
    result = v.compare(delta(middle, first), delta(last, middle))
    assert (result["status"], result["passed"]) == ("critical", False)
    assert result["regressions"] == [
        {"check": "decryption_failure_rate", "counters": ["packets_not_decrypted"],
         "pre": 0.0, "post": 40 / 120, "reason": "PacketsNotDecrypted",
         "message": "decryption_failure_rate went from OK to CRITICAL: 0.333 packets per "
                    "second failed decryption (40 over 120 s)"}]


def test_compare_without_quick_mode_before_still_gates_after() -> None:
    first = snapshot(collected_at=T0, **IDLE)
    middle = snapshot(collected_at=T1, **IDLE)
    last = both(snapshot(collected_at=T2, **IDLE),
                qm_snapshot(collected_at=T2, packets_not_decrypted=4))
    post = delta(last, both(middle, qm_snapshot(collected_at=T1)))
    result = v.compare(delta(middle, first), post)
    assert (result["status"], result["passed"], result["regressions"]) == (
        "critical", False, [])
