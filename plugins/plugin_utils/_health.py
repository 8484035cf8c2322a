# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deltas, health checks, verdicts and fleet summaries for mmipsec snapshots.

Internal to the winiscsi.ipsec collection: not a public API, may change without notice.

This is the one place the health policy is written down: ``CHECKS`` holds every check's name,
counters, formula, default thresholds and reason code. docs/policy.md is generated from it
(tests/support/gen_policy_doc.py) and a unit test fails when the two differ.

Semantics, in short (docs/policy.md has the long form):

* Cumulative counters are judged on their delta over a window (baseline -> current); gauges on
  their current value. Without a baseline, lifetime values are judged.
* A reset (any cumulative counter of an instance seen in both snapshots went down, or the boot
  time moved) makes every delta count from zero, as Prometheus ``increase()`` does.
* Unavailable or empty data gives ``unknown``, which fails a gate unless the caller allows it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from string import Formatter
from types import MappingProxyType
from typing import Any, Literal, NamedTuple, Optional

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import (
    CUMULATIVE_KEYS,
    GAUGE_KEYS,
    SnapshotError,
    is_int,
    parse_utc_timestamp,
    validate_snapshot,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._nagios import (
    NagiosRange,
    Number,
    RangeError,
    parse_range,
)

__all__ = ["parse_range"]  # re-exported for the policy page generator

Status = Literal["ok", "warning", "critical", "unknown"]
Level = Literal["warning", "critical"]
CheckKind = Literal["count", "ratio", "rate", "gauge", "activity"]
InstanceState = Literal["matched", "appeared", "vanished"]

STATUSES: tuple[Status, ...] = ("ok", "warning", "critical", "unknown")
LEVELS: tuple[Level, ...] = ("warning", "critical")
EXIT_CODES: Mapping[str, int] = MappingProxyType(
    {"ok": 0, "warning": 1, "critical": 2, "unknown": 3})
# Which status is worse: CRITICAL > UNKNOWN > WARNING > OK, the order of max_state_alt() in the
# Monitoring Plugins (lib/utils_base.c). Unknown outranks warning so that a check that could not
# be judged is never hidden behind a warning (fail closed).
SEVERITY: Mapping[str, int] = MappingProxyType(
    {"ok": 0, "warning": 1, "unknown": 2, "critical": 3})
# Rank used by the gate: passed means every judged check ranks below fail_on.
GATE_RANK: Mapping[str, int] = MappingProxyType({"ok": 0, "warning": 1, "critical": 2})
DEFAULT_FAIL_ON: Level = "critical"

# LastBootUpTime is stored at a fixed moment, but clock corrections can move the value Windows
# reports by a second or so; a real reboot moves it by at least the time the reboot took.
BOOT_TIME_TOLERANCE_SECONDS = 5.0

# Reason codes shared by every check (each check also has its own alert reason in CHECKS).
REASON_OK = "WithinThresholds"
REASON_NO_ATTEMPTS = "NoAttempts"
REASON_NO_ACTIVITY_BEFORE = "NoActivityBefore"
REASON_UNAVAILABLE = "DataUnavailable"
REASON_NO_ACTIVE_INSTANCE = "NoActiveInstance"
REASON_RATE_WINDOW_UNKNOWN = "RateWindowUnknown"
REASON_WINDOW_NOT_POSITIVE = "WindowNotPositive"
COMMON_REASONS: tuple[tuple[str, Status, str], ...] = (
    (REASON_OK, "ok", "The value is outside both alert ranges."),
    (REASON_NO_ATTEMPTS, "ok", "A ratio check found no attempts in the window: there is "
                               "nothing to divide, and nothing failed (value null)."),
    (REASON_NO_ACTIVITY_BEFORE, "ok", "negotiation_activity_lost: the pre-change window formed "
                                      "no SAs, so there was no activity to lose."),
    (REASON_UNAVAILABLE, "unknown", "The snapshot (or a baseline, or a compared window) is "
                                    "empty or has available false."),
    (REASON_NO_ACTIVE_INSTANCE, "unknown", "The snapshot lists instances, but none is active."),
    (REASON_RATE_WINDOW_UNKNOWN, "unknown", "A rate check saw events but cannot tell over how "
                                            "long: counters reset without a boot time change, "
                                            "an instance appeared, or a lifetime verdict has no "
                                            "boot_time."),
    (REASON_WINDOW_NOT_POSITIVE, "unknown", "A rate check saw events in a window of zero or "
                                            "negative length (the clock went backwards)."),
)


class CheckSpec(NamedTuple):
    """One health check: the policy table's row.

    Attributes:
        name: The check's name (thresholds are keyed by it).
        counters: The counter keys it judges.
        kind: How the value is computed (count, ratio, rate, gauge or activity).
        unit: The value's unit, for people.
        formula: How the value is computed, for people.
        warning: Default warning range (Nagios syntax) or None for no warning level.
        critical: Default critical range or None for no critical level.
        reason: Reason code when the value falls in an alert range.
        message: The check's message, a str.format template (fields depend on the kind).
        idle_message: The message when there is nothing to judge (ratios without attempts).
        unit_noun: What the counters count, for messages.
        rationale: Why the check and its defaults are what they are.
        compare_only: True when only mmipsec_compare (two windows) can judge it.
    """

    name: str
    counters: tuple[str, ...]
    kind: CheckKind
    unit: str
    formula: str
    warning: Optional[str]
    critical: Optional[str]
    reason: str
    message: str
    idle_message: str
    unit_noun: str
    rationale: str
    compare_only: bool = False


CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec(
        name="cleartext_fallback", counters=("soft_associations",), kind="count",
        unit="negotiations", formula="delta(soft_associations)",
        warning=None, critical="0", reason="SoftAssociationsIncreased",
        message="{value} negotiations fell back to cleartext {span}", idle_message="",
        unit_noun="cleartext fallbacks",
        rationale="A soft SA means the peer is talked to in cleartext: for an IPsec rollout "
                  "that is a security failure, so a single new one is critical."),
    CheckSpec(
        name="authentication_failure_ratio",
        counters=("authentication_failures", "oakley_main_mode"), kind="ratio", unit="percent",
        formula="100 * delta(authentication_failures) / (delta(authentication_failures) + "
                "delta(oakley_main_mode))",
        warning="5", critical="20", reason="AuthenticationFailureRatioHigh",
        message="{value}% of main-mode attempts failed authentication ({failures} of "
                "{attempts}) {span}",
        idle_message="no main-mode attempts {span}", unit_noun="authentication failures",
        rationale="Main-mode attempts are the successful main modes plus the failed identity "
                  "checks. Rising failures point at mismatched authentication methods, "
                  "certificates or preshared keys."),
    CheckSpec(
        name="negotiation_failure_ratio",
        counters=("negotiation_failures", "oakley_main_mode", "oakley_quick_mode"),
        kind="ratio", unit="percent",
        formula="100 * delta(negotiation_failures) / (delta(negotiation_failures) + "
                "delta(oakley_main_mode) + delta(oakley_quick_mode))",
        warning="5", critical="20", reason="NegotiationFailureRatioHigh",
        message="{value}% of negotiations failed ({failures} of {attempts}) {span}",
        idle_message="no negotiation attempts {span}", unit_noun="negotiation failures",
        rationale="NegotiationFailures mixes main and quick mode, so the attempts are both "
                  "modes' successes plus the failures. Rising failures point at mismatched "
                  "security methods."),
    CheckSpec(
        name="malformed_traffic_rate", counters=("invalid_packets", "invalid_cookies_received"),
        kind="rate", unit="per second",
        formula="(delta(invalid_packets) + delta(invalid_cookies_received)) / rate window",
        warning="0.1", critical="1", reason="MalformedTrafficHigh",
        message="{value} malformed IKE messages per second ({events} {where})",
        idle_message="", unit_noun="malformed IKE messages",
        rationale="A little malformed IKE traffic is normal (retransmissions after a rekey); "
                  "a steady stream points at a preshared key mismatch or spoofed traffic. A "
                  "rate, so that a long window does not inflate it."),
    CheckSpec(
        name="key_management_failures",
        counters=("get_spi_failures", "key_addition_failures", "key_update_failures"),
        kind="count", unit="failures",
        formula="delta(get_spi_failures) + delta(key_addition_failures) + "
                "delta(key_update_failures)",
        warning="0", critical="10", reason="KeyManagementFailures",
        message="{value} SPI or key installation failures {span}", idle_message="",
        unit_noun="key management failures",
        rationale="The IPsec driver's SA database rejected SPIs or keys: rare on a healthy "
                  "host, so any is a warning and a burst is critical."),
    CheckSpec(
        name="ike_transport_failures",
        counters=("acquire_failures", "send_failures", "receive_failures"), kind="count",
        unit="failures",
        formula="delta(acquire_failures) + delta(send_failures) + delta(receive_failures)",
        warning="0", critical="10", reason="IkeTransportFailures",
        message="{value} IKE acquire, send or receive failures {span}", idle_message="",
        unit_noun="IKE transport failures",
        rationale="Acquires failed, or the TCP/IP stack could not send or receive IKE "
                  "messages: any is a warning and a burst is critical."),
    CheckSpec(
        name="ike_acquire_backlog", counters=("active_acquire",), kind="gauge",
        unit="requests", formula="max over active instances of active_acquire (now)",
        warning="1", critical="20", reason="IkeAcquireBacklog",
        message="{value} acquire requests outstanding at IKE on {where}", idle_message="",
        unit_noun="outstanding acquires",
        rationale="ActiveAcquire is 1 on an idle host and 1 + the queue depth under load. One "
                  "snapshot cannot tell a lasting backlog from a burst, hence a warning first."),
    CheckSpec(
        name="ike_receive_backlog", counters=("active_receive",), kind="gauge",
        unit="messages", formula="max over active instances of active_receive (now)",
        warning="10", critical="100", reason="IkeReceiveBacklog",
        message="{value} IKE messages waiting to be processed on {where}", idle_message="",
        unit_noun="queued IKE messages",
        rationale="IKE messages waiting to be processed: a long queue means IKE is not "
                  "keeping up."),
    CheckSpec(
        name="ike_heap_size", counters=("acquire_heap_size", "receive_heap_size"),
        kind="gauge", unit="messages",
        formula="max over active instances of acquire_heap_size and receive_heap_size (now)",
        warning="1000", critical=None, reason="IkeHeapGrown",
        message="an IKE heap holds room for {value} messages on {where}", idle_message="",
        unit_noun="heap slots",
        rationale="The heaps grow under load and drain afterwards. Microsoft publishes no "
                  "normal size, so the default only warns on a large heap: tune it from your "
                  "own hosts."),
    CheckSpec(
        name="negotiation_activity_lost", counters=("oakley_main_mode", "oakley_quick_mode"),
        kind="activity", unit="SAs",
        formula="post-change delta(oakley_main_mode) + delta(oakley_quick_mode), judged only "
                "when the pre-change window formed at least one SA",
        warning="1:", critical=None, reason="NegotiationActivityLost",
        message="{value} SAs formed {span} after the change, {before} {before_span} before it",
        idle_message="", unit_noun="SAs formed",
        rationale="SAs were forming before the change and none formed after it: peers may no "
                  "longer reach the host. SAs form only at connection and rekey time, so a "
                  "short window can miss them: a warning by default; set critical to '1:' to "
                  "gate on it.",
        compare_only=True),
)

CHECK_BY_NAME: Mapping[str, CheckSpec] = MappingProxyType({c.name: c for c in CHECKS})
CHECK_NAMES: tuple[str, ...] = tuple(c.name for c in CHECKS)

DELTA_KEYS: tuple[str, ...] = (
    "available", "reason", "collected_at", "baseline_collected_at", "window_seconds",
    "rate_window_seconds", "reset_detected", "reset_reasons", "counters", "rates", "gauges",
    "instances",
)

Thresholds = Mapping[str, "tuple[Optional[NagiosRange], Optional[NagiosRange]]"]


class HealthError(ValueError):
    """An argument of a health function is not what it should be.

    Attributes:
        argument: The argument (and path inside it) that is wrong, e.g. ``thresholds.x.warning``.
        problem: What was expected and what was got.
    """

    def __init__(self, argument: str, problem: str) -> None:
        self.argument = argument
        self.problem = problem
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.argument}: {self.problem}"


def describe(value: Any) -> str:
    """Show a value for an error message: its repr (shortened) and its type."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


# --- input conversion and validation -------------------------------------------------------------


def to_plain(value: Any) -> Any:
    """Copy a value made of mappings, lists and scalars into plain Python types.

    Ansible 2.19 hands filters tagged subclasses of int, float and str and lazy containers.
    mmipsec_compare reads back deltas that went through Ansible this way, and checks them with
    "an int but not a bool" (a bool is an int too): a bool stays a bool, so it is still refused.
    A plain value comes back as itself (bool(), int(), float() and str() of one return it).
    """
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return {to_plain(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


def _is_empty(value: Any) -> bool:
    # Snapshots are nearly always dicts, and a dict check costs a fraction of an ABC check.
    if isinstance(value, dict):
        return not value
    return isinstance(value, Mapping) and len(value) == 0


def check_snapshot(value: Any, argument: str) -> Mapping[str, Any]:
    """Validate a snapshot with the counter schema, naming the argument in any error.

    Args:
        value: The snapshot (``ansible_facts.mmipsec``); ``{}`` is accepted as "no data".
        argument: The argument's name, for errors.

    Returns:
        The snapshot, unchanged (Ansible's tagged int and str subclasses pass the schema).

    Raises:
        HealthError: The value is not a snapshot; the message carries the schema's own words.
    """
    if _is_empty(value):
        return value  # type: ignore[no-any-return]  # an empty mapping: "no data"
    try:
        return validate_snapshot(value)
    except SnapshotError as e:
        raise HealthError(argument, str(e)) from e


def _has_data(snapshot: Mapping[str, Any]) -> bool:
    return bool(snapshot) and bool(snapshot["available"])


def _unavailable_reason(snapshot: Mapping[str, Any], argument: str) -> str:
    if not snapshot:
        return f"{argument} is empty (no facts gathered)"
    text = f"{argument} not available ({snapshot['reason']})"
    if snapshot["message"]:
        text += f": {snapshot['message']}"
    return text


def check_fail_on(value: Any) -> Level:
    """Validate the ``fail_on`` argument."""
    if value not in LEVELS or not isinstance(value, str):
        raise HealthError("fail_on", f"expected one of {list(LEVELS)}, got {describe(value)}")
    return "warning" if value == "warning" else "critical"


def check_allow_unknown(value: Any) -> bool:
    """Validate the ``allow_unknown`` argument."""
    if not isinstance(value, bool):
        raise HealthError("allow_unknown", f"expected true or false, got {describe(value)}")
    return value


def _default_ranges() -> dict[str, tuple[Optional[NagiosRange], Optional[NagiosRange]]]:
    return {c.name: (parse_range(c.warning) if c.warning is not None else None,
                     parse_range(c.critical) if c.critical is not None else None)
            for c in CHECKS}


# Parsed once at import; read-only so nothing can change the defaults of a later call.
DEFAULT_RANGES: Thresholds = MappingProxyType(_default_ranges())


def resolve_thresholds(overrides: Any) -> Thresholds:
    """Merge the caller's thresholds over the defaults.

    Args:
        overrides: None, or ``{check_name: {warning: range|None, critical: range|None}}``; a
            level left out keeps its default, a null level is disabled.

    Returns:
        Check name -> (warning range, critical range), None meaning "no such level".

    Raises:
        HealthError: Not a mapping, an unknown check or level name, or a bad range.
    """
    if overrides is None or _is_empty(overrides):
        return DEFAULT_RANGES
    if not isinstance(overrides, Mapping):
        raise HealthError("thresholds", "expected a mapping of check name to "
                                        f"{{warning: range, critical: range}}, got "
                                        f"{describe(overrides)}")
    merged = dict(DEFAULT_RANGES)
    for name, levels in overrides.items():
        if name not in CHECK_BY_NAME:
            raise HealthError("thresholds", f"unknown check {name!r}; expected one of "
                                            f"{list(CHECK_NAMES)}")
        if not isinstance(levels, Mapping):
            raise HealthError(f"thresholds.{name}", "expected a mapping with warning and/or "
                                                    f"critical, got {describe(levels)}")
        warning, critical = merged[name]
        for level, text in levels.items():
            if level not in LEVELS:
                raise HealthError(f"thresholds.{name}", f"unknown level {level!r}; expected "
                                                        f"{list(LEVELS)}")
            try:
                parsed = None if text is None else parse_range(to_plain(text))
            except RangeError as e:
                raise HealthError(f"thresholds.{name}.{level}", str(e)) from e
            if level == "warning":
                warning = parsed
            else:
                critical = parsed
        merged[name] = (warning, critical)
    return MappingProxyType(merged)


# --- deltas -------------------------------------------------------------------------------------


def _rates(counts: Mapping[str, int], window: Optional[float],
           keys: Optional[Iterable[str]] = None) -> dict[str, Optional[float]]:
    # A counter that did not move has a zero rate over any window, even an empty one; one
    # that moved has none when the window is unknown, empty or negative.
    if keys is None:
        keys = counts.keys()
    if window is not None and window > 0:
        return {key: counts[key] / window if counts[key] else 0.0 for key in keys}
    return {key: None if counts[key] else 0.0 for key in keys}


# Deltas read snapshots that validate_snapshot has already checked, timestamps included, so
# they parse again without the format check. From Python 3.11, parse_utc_timestamp is that
# check followed by datetime.fromisoformat: the C parser alone gives the same datetime.
_parse_checked_timestamp: Callable[[str], datetime] = (
    datetime.fromisoformat if sys.version_info >= (3, 11) else parse_utc_timestamp)


def _seconds_between(later: str, earlier: str) -> float:
    return (_parse_checked_timestamp(later) - _parse_checked_timestamp(earlier)).total_seconds()


def unavailable_delta(reason: str, current: Mapping[str, Any],
                      baseline: Mapping[str, Any]) -> dict[str, Any]:
    """The delta of a pair where either side has no data."""
    return {
        "available": False, "reason": reason,
        "collected_at": current.get("collected_at"),
        "baseline_collected_at": baseline.get("collected_at"),
        "window_seconds": None, "rate_window_seconds": None, "reset_detected": False,
        "reset_reasons": [], "counters": {}, "rates": {}, "gauges": {}, "instances": [],
    }


def compute_delta(current: Mapping[str, Any], baseline: Mapping[str, Any],
                  detail: bool = True) -> dict[str, Any]:
    """Deltas, rates and gauges between two validated snapshots (see DELTA_KEYS).

    Instances are matched by name, ignoring case (Windows instance names are). An instance
    only in ``current`` counts from zero and its start is unknown; one only in ``baseline`` is
    listed as vanished and adds nothing. Totals add the deltas of the instances active now.

    Args:
        current: The later snapshot, validated (or ``{}``).
        baseline: The earlier snapshot, validated (or ``{}``).
        detail: False leaves out what no check reads (each instance's counters and rates,
            and the rates of counters no rate check judges), and gives each instance's current
            counters as its ``gauges`` (the gauge checks read only the gauge keys): for speed
            when only a verdict is wanted. That delta is the verdict's own, never returned.

    Returns:
        The delta mapping; ``available`` false when either side has no data.
    """
    if not _has_data(current):
        return unavailable_delta(_unavailable_reason(current, "current"), current, baseline)
    if not _has_data(baseline):
        return unavailable_delta(_unavailable_reason(baseline, "baseline"), current, baseline)

    window = _seconds_between(current["collected_at"], baseline["collected_at"])
    reasons: list[str] = []
    boot_now, boot_then = current["boot_time"], baseline["boot_time"]
    boot_moved = False
    if boot_now is not None and boot_then is not None and boot_now != boot_then:
        if abs(_seconds_between(boot_now, boot_then)) > BOOT_TIME_TOLERANCE_SECONDS:
            boot_moved = True
            reasons.append(f"boot_time changed from {boot_then} to {boot_now}")
    if not detail and not boot_moved:
        usual = _usual_host_window(current, baseline, window)
        if usual is not None:
            return usual

    before = {i["instance_name"].lower(): i for i in baseline["instances"]}
    pairs: list[tuple[Mapping[str, Any], Optional[Mapping[str, Any]], dict[str, int]]] = []
    for instance in current["instances"]:
        old = before.pop(instance["instance_name"].lower(), None)
        now_c = instance["counters"]
        if old is None:
            counts = {key: now_c[key] for key in CUMULATIVE_KEYS}
        else:
            old_c = old["counters"]
            counts = {key: now_c[key] - old_c[key] for key in CUMULATIVE_KEYS}
            if min(counts.values()) < 0:
                key = next(k for k, v in counts.items() if v < 0)
                reasons.append(f"{instance['instance_name']}: {key} went down from "
                               f"{old_c[key]} to {now_c[key]}")
        pairs.append((instance, old, counts))
    reset = bool(reasons)

    # The window the deltas really cover. After a reboot the counters restarted near boot
    # time; after a reset without a boot change (IPsec service restart) nobody knows when.
    rate_window: Optional[float] = window
    if reset:
        rate_window = None
        if boot_moved:
            since_boot = _seconds_between(current["collected_at"], boot_now)
            rate_window = min(max(since_boot, 0.0), window) if window > 0 else window

    totals = dict.fromkeys(CUMULATIVE_KEYS, 0)
    unknown_start: set[str] = set()
    instances: list[dict[str, Any]] = []
    for instance, old, counts in pairs:
        now_c = instance["counters"]
        if reset:
            # Every instance shares one IPsec service: a reset restarted all their counters.
            counts = {key: now_c[key] for key in CUMULATIVE_KEYS}
        # An instance that appeared started counting at a moment nobody knows, unless a
        # reboot restarted everything anyway.
        own_window = rate_window if (old is not None or (reset and boot_moved)) else None
        if instance["active"]:
            if len(pairs) == 1 and own_window is not None:
                totals = dict(counts)  # the usual host: one instance, nothing to add up
            else:
                for key, value in counts.items():
                    if value:
                        totals[key] += value
                        if own_window is None:
                            unknown_start.add(key)
        entry: dict[str, Any] = {
            "instance_name": instance["instance_name"],
            "state": "matched" if old is not None else "appeared",
            "active": instance["active"],
            # Without detail, the gauge checks read the gauge keys straight from the counters.
            "gauges": now_c,
        }
        if detail:
            entry.update(gauges={key: now_c[key] for key in GAUGE_KEYS}, window_seconds=window,
                         reset_detected=reset, counters=counts, rates=_rates(counts, own_window))
        instances.append(entry)
    for old in before.values():
        instances.append({
            "instance_name": old["instance_name"], "state": "vanished", "active": old["active"],
            "window_seconds": window, "reset_detected": reset,
            "counters": {}, "rates": {}, "gauges": {},
        })

    rates = _rates(totals, rate_window, None if detail else _RATE_KEYS)
    for key in unknown_start:
        if key in rates:  # without detail, only the rates a check reads are there
            rates[key] = None
    return {
        "available": True, "reason": None,
        "collected_at": current["collected_at"],
        "baseline_collected_at": baseline["collected_at"],
        "window_seconds": window, "rate_window_seconds": rate_window,
        "reset_detected": reset, "reset_reasons": reasons,
        "counters": totals, "rates": rates,
        "gauges": {key: current["totals"][key] for key in GAUGE_KEYS},
        "instances": instances,
    }


def _usual_host_window(current: Mapping[str, Any], baseline: Mapping[str, Any],
                       window: float) -> Optional[dict[str, Any]]:
    """compute_delta(detail=False) for the usual host; None when the general path is needed.

    The usual host (most of a fleet, most of the time) has one adapter instance, present and
    active in both snapshots, whose counters all grew, with no boot time change: there is no
    matching, reset or adding up to do, so the verdict skips that machinery. The caller has
    checked the boot time; the result is the one the general path gives for such a pair.
    """
    now_list, then_list = current["instances"], baseline["instances"]
    if len(now_list) != 1 or len(then_list) != 1:
        return None
    now, then = now_list[0], then_list[0]
    if not now["active"] or now["instance_name"].lower() != then["instance_name"].lower():
        return None
    now_c, old_c = now["counters"], then["counters"]
    counts = {key: now_c[key] - old_c[key] for key in CUMULATIVE_KEYS}
    if min(counts.values()) < 0:
        return None  # a reset: the general path finds and words its reason
    return {
        "available": True, "reason": None,
        "collected_at": current["collected_at"],
        "baseline_collected_at": baseline["collected_at"],
        "window_seconds": window, "rate_window_seconds": window,
        "reset_detected": False, "reset_reasons": [],
        "counters": counts, "rates": _rates(counts, window, _RATE_KEYS),
        "gauges": {key: current["totals"][key] for key in GAUGE_KEYS},
        "instances": [{
            "instance_name": now["instance_name"], "state": "matched", "active": True,
            "gauges": now_c,  # as the general path without detail: the checks read gauge keys
        }],
    }


def lifetime_delta(current: Mapping[str, Any]) -> dict[str, Any]:
    """The values since the IPsec service started, shaped like a delta (window null).

    Rates use the time since boot_time: the service starts at boot, and if it was restarted
    later the rate is an underestimate (documented in docs/policy.md).
    """
    if not _has_data(current):
        return unavailable_delta(_unavailable_reason(current, "current"), current, {})
    rate_window: Optional[float] = None
    if current["boot_time"] is not None:
        rate_window = _seconds_between(current["collected_at"], current["boot_time"])
    totals = current["totals"]
    counts = {key: totals[key] for key in CUMULATIVE_KEYS}
    # Only what the checks read, as compute_delta(detail=False) gives it.
    instances = [{
        "instance_name": i["instance_name"], "state": "matched", "active": i["active"],
        "gauges": i["counters"],
    } for i in current["instances"]]
    return {
        "available": True, "reason": None, "collected_at": current["collected_at"],
        "baseline_collected_at": None, "window_seconds": None,
        "rate_window_seconds": rate_window, "reset_detected": False, "reset_reasons": [],
        "counters": counts, "rates": _rates(counts, rate_window, _RATE_KEYS),
        "gauges": {key: totals[key] for key in GAUGE_KEYS},
        "instances": instances,
    }


def check_delta(value: Any, argument: str) -> Mapping[str, Any]:
    """Validate a value made by :func:`compute_delta` (as mmipsec_compare receives it).

    Raises:
        HealthError: Naming the argument and the field that is wrong.
    """
    if not isinstance(value, Mapping):
        raise HealthError(argument, f"expected an mmipsec_delta result (a mapping), got "
                                    f"{describe(value)}")
    missing = [key for key in DELTA_KEYS if key not in value]
    if missing:
        raise HealthError(argument, f"expected an mmipsec_delta result, missing keys {missing}")
    value = to_plain(value)
    if not isinstance(value["available"], bool):
        raise HealthError(f"{argument}.available", f"expected true or false, got "
                                                   f"{describe(value['available'])}")
    if not value["available"]:
        return value  # type: ignore[no-any-return]  # plain copy of a mapping
    if not isinstance(value["reset_detected"], bool):
        raise HealthError(f"{argument}.reset_detected", "expected true or false, got "
                                                        f"{describe(value['reset_detected'])}")
    for field in ("window_seconds", "rate_window_seconds"):
        number = value[field]
        if number is not None and (not isinstance(number, (int, float))
                                   or isinstance(number, bool)):
            raise HealthError(f"{argument}.{field}", f"expected a number or null, got "
                                                     f"{describe(number)}")
    for field, keys in (("counters", CUMULATIVE_KEYS), ("gauges", GAUGE_KEYS),
                        ("rates", CUMULATIVE_KEYS)):
        block = value[field]
        if not isinstance(block, Mapping):
            raise HealthError(f"{argument}.{field}", f"expected a mapping, got {describe(block)}")
        for key in keys:
            if key not in block:
                raise HealthError(f"{argument}.{field}.{key}",
                                  "expected a value, got nothing (the key is missing)")
            item = block[key]
            if field == "rates":
                ok = item is None or (isinstance(item, (int, float)) and not isinstance(item, bool))
                expected = "a number or null"
            else:
                # Deltas never go below zero: a reset makes them count from zero.
                ok = is_int(item) and item >= 0
                expected = "an integer 0 or more (not a bool, float or string)"
            if not ok:
                raise HealthError(f"{argument}.{field}.{key}",
                                  f"expected {expected}, got {describe(item)}")
    instances = value["instances"]
    if not isinstance(instances, list):
        raise HealthError(f"{argument}.instances", f"expected a list, got {describe(instances)}")
    for index, instance in enumerate(instances):
        if (not isinstance(instance, Mapping) or instance.get("state") not in
                ("matched", "appeared", "vanished") or not isinstance(instance.get("active"), bool)
                or not isinstance(instance.get("gauges"), Mapping)):
            raise HealthError(f"{argument}.instances[{index}]",
                              "expected an instance delta with state, active and gauges, got "
                              f"{describe(instance)}")
        if instance["state"] != "vanished":
            for key in GAUGE_KEYS:
                if not is_int(instance["gauges"].get(key)):
                    raise HealthError(f"{argument}.instances[{index}].gauges.{key}",
                                      "expected an integer, got "
                                      f"{describe(instance['gauges'].get(key))}")
    return value  # type: ignore[no-any-return]  # plain copy of a mapping


# --- checks -------------------------------------------------------------------------------------


# The fields each kind's message template may use, in the order its evaluator passes them.
_MESSAGE_FIELDS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "count": ("value", "span"), "ratio": ("value", "failures", "attempts", "span"),
    "rate": ("value", "events", "where"), "gauge": ("value", "where"),
    "activity": ("value", "span", "before", "before_span"),
})

# The counters whose rates some check reads: a verdict's delta computes only these.
_RATE_KEYS: tuple[str, ...] = tuple(key for c in CHECKS if c.kind == "rate" for key in c.counters)

_INFINITY = float("inf")


def _printf_template(template: str, fields: Sequence[str], where: str) -> str:
    """Turn a readable ``{name}`` template of CHECKS into a ``%s`` template, once at import.

    A verdict formats nine messages, and ``%`` costs about half of ``str.format`` (a third of it
    with keywords). Both write a value with str() when the field has no format spec, so the
    text is the same. ``%`` takes its values in order, so the template must use every field of
    its kind once, in the order the evaluator passes them: anything else fails at import.

    Raises:
        ValueError: The template uses other fields, another order, or a format spec.
    """
    parts: list[str] = []
    used: list[str] = []
    for literal, name, spec, conversion in Formatter().parse(template):
        parts.append(literal.replace("%", "%%"))
        if name is None:
            continue
        if spec or conversion:
            raise ValueError(f"{where}: expected plain {{name}} fields, got {{{name}:{spec}}}"
                             f" with conversion {conversion!r} in {template!r}")
        parts.append("%s")
        used.append(name)
    if used != list(fields):
        raise ValueError(f"{where}: expected the fields {list(fields)} in this order, got "
                         f"{used} in {template!r}")
    return "".join(parts)


class _Judge(NamedTuple):
    """One check made ready to run under one set of thresholds.

    Everything in a check's result that does not depend on the snapshot is worked out here,
    once per set of thresholds (once at import for the defaults), not once per verdict.

    Attributes:
        spec: The policy row.
        name: The check's name (spec.name, one attribute lookup nearer).
        counters: The counters it judges (spec.counters, likewise).
        evaluate: The kind's evaluator (None for the compare-only activity check).
        warning: The warning range, or None.
        critical: The critical range, or None.
        warning_text: The warning range as the result shows it.
        critical_text: The critical range as the result shows it.
        ok_low: With ok_high, the band of values in no alert range (see :func:`_ok_band`).
        ok_high: The band's upper end.
        message: The message as a ``%s`` template (see :func:`_printf_template`).
        idle_message: The idle message as a ``%s`` template ("" when the kind has none).
    """

    spec: CheckSpec
    name: str
    counters: tuple[str, ...]
    evaluate: Optional[Callable[..., dict[str, Any]]]
    warning: Optional[NagiosRange]
    critical: Optional[NagiosRange]
    warning_text: Optional[str]
    critical_text: Optional[str]
    ok_low: Number
    ok_high: Number
    message: str
    idle_message: str


class _Plan(NamedTuple):
    """Every check made ready under one set of thresholds."""

    window: tuple[_Judge, ...]  # the checks of judge_delta, in CHECKS order
    activity: _Judge  # negotiation_activity_lost, judged by compare only


def _ok_band(ranges: tuple[Optional[NagiosRange], Optional[NagiosRange]]) -> tuple[Number, Number]:
    # Most values of most checks alert at no level. When every range alerts outside an interval,
    # "no alert" is one test, low <= value <= high, on the intersection of those intervals. An
    # inside (@) range alerts within its interval, so no single band describes it: the empty
    # band (inf, -inf) sends every value to the exact per-range test.
    low: Number = -_INFINITY
    high: Number = _INFINITY
    for one in ranges:
        if one is None:
            continue
        if one.inside:
            return _INFINITY, -_INFINITY
        if one.start is not None:
            low = max(low, one.start)
        if one.end is not None:
            high = min(high, one.end)
    return low, high


def _make_judge(spec: CheckSpec, ranges: tuple[Optional[NagiosRange], Optional[NagiosRange]]
                ) -> _Judge:
    warning, critical = ranges
    low, high = _ok_band(ranges)
    where = f"CHECKS {spec.name}"
    return _Judge(
        spec=spec, name=spec.name, counters=spec.counters,
        evaluate=None if spec.compare_only else _EVALUATORS[spec.kind],
        warning=warning, critical=critical,
        warning_text=warning.text if warning is not None else None,
        critical_text=critical.text if critical is not None else None,
        ok_low=low, ok_high=high,
        message=_printf_template(spec.message, _MESSAGE_FIELDS[spec.kind], f"{where}.message"),
        idle_message=_printf_template(spec.idle_message, ("span",) if spec.idle_message else (),
                                      f"{where}.idle_message"))


def _make_plan(thresholds: Thresholds) -> _Plan:
    judges = {spec.name: _make_judge(spec, thresholds[spec.name]) for spec in CHECKS}
    return _Plan(window=tuple(judges[spec.name] for spec in WINDOW_CHECKS),
                 activity=judges["negotiation_activity_lost"])


def _plan(thresholds: Thresholds) -> _Plan:
    # The defaults' plan is made once at import (below); an override costs one plan per call.
    if thresholds is DEFAULT_RANGES:
        return _DEFAULT_PLAN
    return _make_plan(thresholds)


def _fmt(number: Number) -> str:
    if isinstance(number, int):
        return str(number)
    if number == int(number) and abs(number) < 1e15:
        return str(int(number))
    # printf-style formatting runs the same float formatter as f"{number:.3g}" with less
    # overhead, and a verdict formats up to six numbers.
    if abs(number) >= 100:
        return "%.0f" % number
    return "%.3g" % number


def _span(delta: Mapping[str, Any]) -> str:
    window = delta["window_seconds"]
    if window is None:
        return "since the IPsec service started"
    text = f"in {_fmt(window)} s"
    if delta["reset_detected"]:
        text += " (counters reset: counted from zero)"
    return text


def _entry(judge: _Judge, status: str, value: Optional[Number], reason: str, message: str
           ) -> dict[str, Any]:
    # A fresh dict and counters list per result: verdicts are the caller's to change.
    return {
        "name": judge.name, "status": status, "counters": list(judge.counters),
        "value": value, "warning": judge.warning_text, "critical": judge.critical_text,
        "reason": reason, "message": message,
    }


def _judged(judge: _Judge, value: Number, message: str) -> dict[str, Any]:
    if judge.ok_low <= value <= judge.ok_high:
        status, reason = "ok", REASON_OK  # the usual answer, in one test (see _ok_band)
    elif judge.critical is not None and judge.critical.alerts(value):
        status, reason = "critical", judge.spec.reason
    elif judge.warning is not None and judge.warning.alerts(value):
        status, reason = "warning", judge.spec.reason
    else:
        status, reason = "ok", REASON_OK
    # The dict of _entry written out here: nine checks per verdict make the call measurable.
    return {
        "name": judge.name, "status": status, "counters": list(judge.counters),
        "value": value, "warning": judge.warning_text, "critical": judge.critical_text,
        "reason": reason, "message": message,
    }


def _active(delta: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [i for i in delta["instances"] if i["active"] and i["state"] != "vanished"]


def _count(judge: _Judge, delta: Mapping[str, Any], span: str, active: list[Mapping[str, Any]]
           ) -> dict[str, Any]:
    counts = delta["counters"]
    value = 0
    for key in judge.counters:
        value += counts[key]
    return _judged(judge, value, judge.message % (value, span))


def _ratio(judge: _Judge, delta: Mapping[str, Any], span: str, active: list[Mapping[str, Any]]
           ) -> dict[str, Any]:
    # The first counter is the failures; the attempts are all of them added up.
    counts = delta["counters"]
    keys = judge.counters
    failures = counts[keys[0]]
    attempts = 0
    for key in keys:
        attempts += counts[key]
    if attempts == 0:
        return _entry(judge, "ok", None, REASON_NO_ATTEMPTS, judge.idle_message % (span,))
    ratio = 100 * failures / attempts
    return _judged(judge, ratio, judge.message % (_fmt(ratio), failures, attempts, span))


def _rate_check(judge: _Judge, delta: Mapping[str, Any], span: str,
                active: list[Mapping[str, Any]]) -> dict[str, Any]:
    spec = judge.spec
    counts, rates = delta["counters"], delta["rates"]
    events = 0
    rate = 0.0
    unknown = False
    for key in spec.counters:
        events += counts[key]
        one = rates[key]
        if one is None:
            unknown = True
        else:
            rate += one
    if unknown:
        # Events, but no trustworthy window to divide by: say so, never pass silently.
        window = delta["window_seconds"]
        if window is not None and window <= 0:
            return _entry(judge, "unknown", None, REASON_WINDOW_NOT_POSITIVE,
                          f"{events} {spec.unit_noun} in a window of {_fmt(window)} s (the "
                          "clock went backwards?): the rate cannot be judged")
        return _entry(judge, "unknown", None, REASON_RATE_WINDOW_UNKNOWN,
                      f"{events} {spec.unit_noun} {span}, but when counting started is "
                      "unknown: the rate cannot be judged")
    over = delta["rate_window_seconds"]
    where = f"over {_fmt(over)} s" if over is not None else span
    return _judged(judge, rate, judge.message % (_fmt(rate), events, where))


def _gauge(judge: _Judge, delta: Mapping[str, Any], span: str, active: list[Mapping[str, Any]]
           ) -> dict[str, Any]:
    # The largest current value over the active instances: summing gauges of several
    # instances would turn two idle active_acquire levels of 1 into a false backlog of 2.
    keys = judge.counters
    level, where = -1, ""
    for instance in active:
        gauges = instance["gauges"]
        for key in keys:
            if gauges[key] > level:
                level, where = gauges[key], instance["instance_name"]
    return _judged(judge, level, judge.message % (level, where))


_EVALUATORS: Mapping[str, Callable[..., dict[str, Any]]] = MappingProxyType({
    "count": _count, "ratio": _ratio, "rate": _rate_check, "gauge": _gauge})


def _activity(judge: _Judge, pre: Mapping[str, Any], post: Mapping[str, Any]) -> dict[str, Any]:
    keys = judge.counters
    before = sum(pre["counters"][key] for key in keys)
    after = sum(post["counters"][key] for key in keys)
    text = judge.message % (after, _span(post), before, _span(pre))
    if before == 0:
        return _entry(judge, "ok", after, REASON_NO_ACTIVITY_BEFORE, text)
    return _judged(judge, after, text)


def _unknown_checks(judges: Iterable[_Judge], reason: str, message: str
                    ) -> list[dict[str, Any]]:
    return [_entry(j, "unknown", None, reason, message) for j in judges]


WINDOW_CHECKS: tuple[CheckSpec, ...] = tuple(c for c in CHECKS if not c.compare_only)
# Made once at import from immutable parts (NamedTuples and strings): nothing can change it.
_DEFAULT_PLAN = _make_plan(DEFAULT_RANGES)


def judge_delta(delta: Mapping[str, Any], thresholds: Thresholds) -> list[dict[str, Any]]:
    """Run every window check (all but the compare-only ones) on one delta."""
    plan = _plan(thresholds)
    if not delta["available"]:
        return _unknown_checks(plan.window, REASON_UNAVAILABLE, f"no data: {delta['reason']}")
    active = _active(delta)
    if not active:
        return _unknown_checks(plan.window, REASON_NO_ACTIVE_INSTANCE,
                               "no data: no instance is active")
    span = _span(delta)
    return [judge.evaluate(judge, delta, span, active)  # type: ignore[misc]  # window: not None
            for judge in plan.window]


def _gate(checks: Sequence[Mapping[str, Any]], fail_on: Level, allow_unknown: bool) -> bool:
    limit = GATE_RANK[fail_on]
    for check in checks:
        status = check["status"]
        if status == "unknown":
            if not allow_unknown:
                return False
        elif GATE_RANK[status] >= limit:
            return False
    return True


def worst(statuses: Iterable[str]) -> Status:
    """The worst status (CRITICAL > UNKNOWN > WARNING > OK); ok for none."""
    found: Status = "ok"
    rank = 0
    for status in statuses:
        if status != "ok" and SEVERITY[status] > rank:
            found, rank = status, SEVERITY[status]  # type: ignore[assignment]  # a Status
    return found


def build_verdict(delta: Mapping[str, Any], checks: list[dict[str, Any]], fail_on: Level,
                  allow_unknown: bool) -> dict[str, Any]:
    """Assemble the verdict of DESIGN.md from judged checks."""
    status = worst(c["status"] for c in checks)
    if status == "ok":
        window = delta["window_seconds"]
        scope = "lifetime values" if window is None else f"{_fmt(window)} s window"
        summary = f"OK: all {len(checks)} checks passed ({scope})"
        passed = True  # ok ranks below every fail_on level, and nothing is unknown
    else:
        # dict.fromkeys drops repeats in order: unavailable data gives every check one message.
        summary = f"{status.upper()}: " + "; ".join(dict.fromkeys(
            c["message"] for c in checks if c["status"] == status))
        passed = _gate(checks, fail_on, allow_unknown)
    return {
        "status": status,
        "passed": passed,
        "exit_code": EXIT_CODES[status],
        "window_seconds": delta["window_seconds"],
        "reset_detected": delta["reset_detected"],
        "checks": checks,
        "summary": summary,
    }


# --- public entry points (the filters call these) -----------------------------------------------


def delta(current: Any, baseline: Any) -> dict[str, Any]:
    """mmipsec_delta: see :func:`compute_delta`. Raises HealthError on bad input."""
    return compute_delta(check_snapshot(current, "input"), check_snapshot(baseline, "baseline"))


def verdict(current: Any, baseline: Any = None, thresholds: Any = None,
            fail_on: Any = DEFAULT_FAIL_ON, allow_unknown: Any = False) -> dict[str, Any]:
    """mmipsec_verdict: judge a snapshot, over a window when a baseline is given.

    Args:
        current: The snapshot to judge.
        baseline: An earlier snapshot of the same host, or None for lifetime values.
        thresholds: Per-check overrides (see :func:`resolve_thresholds`).
        fail_on: The status at which ``passed`` turns false (warning or critical).
        allow_unknown: Whether unknown checks pass the gate.

    Returns:
        The verdict.

    Raises:
        HealthError: Any argument is malformed.
    """
    level = check_fail_on(fail_on)
    allow = check_allow_unknown(allow_unknown)
    ranges = resolve_thresholds(thresholds)
    snapshot = check_snapshot(current, "input")
    if baseline is None:
        window = lifetime_delta(snapshot)
    else:
        window = compute_delta(snapshot, check_snapshot(baseline, "baseline"), detail=False)
    return build_verdict(window, judge_delta(window, ranges), level, allow)


def compare(pre_delta: Any, post_delta: Any, thresholds: Any = None,
            fail_on: Any = DEFAULT_FAIL_ON, allow_unknown: Any = False) -> dict[str, Any]:
    """mmipsec_compare: judge the post-change window and list what got worse since pre.

    A regression is a check whose status rank (ok < warning < critical) is higher after the
    change than before; a check unknown in either window is not compared (its unknown status
    already fails the gate unless allowed).

    Raises:
        HealthError: Any argument is malformed.
    """
    level = check_fail_on(fail_on)
    allow = check_allow_unknown(allow_unknown)
    ranges = resolve_thresholds(thresholds)
    pre = check_delta(pre_delta, "input")
    post = check_delta(post_delta, "post_delta")
    before = {c["name"]: c for c in judge_delta(pre, ranges)}
    checks = judge_delta(post, ranges)
    activity = _plan(ranges).activity
    spec = activity.spec
    if not pre["available"] or not post["available"]:
        reason = pre["reason"] if not pre["available"] else post["reason"]
        side = "pre-change" if not pre["available"] else "post-change"
        checks.append(_entry(activity, "unknown", None, REASON_UNAVAILABLE,
                             f"no data for the {side} window: {reason}"))
    else:
        checks.append(_activity(activity, pre, post))
    regressions = []
    for check in checks:
        old = before.get(check["name"])
        if check["name"] == spec.name:
            if check["status"] in ("warning", "critical"):
                regressions.append(_regression(check, sum(pre["counters"][k] for k in
                                                          spec.counters), "ok"))
            continue
        if old is None or "unknown" in (old["status"], check["status"]):
            continue
        if GATE_RANK[check["status"]] > GATE_RANK[old["status"]]:
            regressions.append(_regression(check, old["value"], old["status"]))
    result = build_verdict(post, checks, level, allow)
    result["regressions"] = regressions
    return result


def _regression(check: Mapping[str, Any], pre_value: Any, pre_status: str) -> dict[str, Any]:
    return {
        "check": check["name"], "counters": list(check["counters"]), "pre": pre_value,
        "post": check["value"], "reason": check["reason"],
        "message": f"{check['name']} went from {pre_status.upper()} to "
                   f"{check['status'].upper()}: {check['message']}",
    }


def healthy(current: Any, baseline: Any = None, thresholds: Any = None,
            fail_on: Any = DEFAULT_FAIL_ON, allow_unknown: Any = False) -> bool:
    """mmipsec_healthy: the verdict's ``passed``."""
    return bool(verdict(current, baseline, thresholds, fail_on, allow_unknown)["passed"])


def summary(verdicts: Any, hosts: Any = None) -> dict[str, Any]:
    """mmipsec_summary: one fleet view of many hosts' verdicts.

    Args:
        verdicts: Host name -> verdict. A null verdict counts as missing.
        hosts: Every host that should have a verdict; one without counts as unknown and
            failed (unreachable hosts never reach a rescue, so they must fail here).

    Returns:
        status, exit_code, total, passed, failed, counts per status, hosts (worst first),
        failed_hosts, missing_hosts and per-check counts of non-ok statuses.

    Raises:
        HealthError: Not a mapping of verdicts, a malformed verdict, or hosts not a list of
            names.
    """
    if not isinstance(verdicts, Mapping):
        raise HealthError("input", f"expected a mapping of host name to verdict, got "
                                   f"{describe(verdicts)}")
    if hosts is not None and (not isinstance(hosts, (list, tuple)) or
                              not all(isinstance(h, str) for h in hosts)):
        raise HealthError("hosts", f"expected a list of host names, got {describe(hosts)}")
    by_name = {str(name): one for name, one in verdicts.items()}
    names: list[str] = [str(h) for h in hosts] if hosts is not None else []
    seen = set(names)
    for name in by_name:
        if name not in seen:
            names.append(name)
            seen.add(name)

    counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
    per_check: dict[str, dict[str, int]] = {}
    rows: list[dict[str, Any]] = []
    missing: list[str] = []
    for host in names:
        one = by_name.get(host)
        row: dict[str, Any]
        if one is None:
            missing.append(host)
            row = {"host": host, "status": "unknown", "passed": False, "exit_code": 3,
                   "summary": "UNKNOWN: no verdict for this host (unreachable, skipped or "
                              "not judged)"}
        else:
            row = _summary_row(host, one, per_check)
        counts[row["status"]] += 1
        rows.append(row)
    rows.sort(key=lambda r: (-SEVERITY[r["status"]], r["passed"], r["host"]))
    status = worst(r["status"] for r in rows)
    ordered = {name: per_check[name] for name in CHECK_NAMES if name in per_check}
    ordered.update({name: per_check[name] for name in sorted(per_check) if name not in ordered})
    passed = sum(1 for r in rows if r["passed"])
    return {
        "status": status, "exit_code": EXIT_CODES[status], "total": len(rows),
        "passed": passed, "failed": len(rows) - passed, "counts": counts, "hosts": rows,
        "failed_hosts": [r["host"] for r in rows if not r["passed"]],
        "missing_hosts": missing, "checks": ordered,
    }


def _summary_row(host: str, one: Any, per_check: dict[str, dict[str, int]]) -> dict[str, Any]:
    where = f"input[{host!r}]"
    if not isinstance(one, Mapping):
        raise HealthError(where, f"expected a verdict (a mapping), got {describe(one)}")
    status, passed, checks = one.get("status"), one.get("passed"), one.get("checks")
    if status not in STATUSES:
        raise HealthError(f"{where}.status", f"expected one of {list(STATUSES)}, got "
                                             f"{describe(status)}")
    if not isinstance(passed, bool):
        raise HealthError(f"{where}.passed", f"expected true or false, got {describe(passed)}")
    if not isinstance(checks, list):
        raise HealthError(f"{where}.checks", f"expected a list, got {describe(checks)}")
    for index, check in enumerate(checks):
        if (not isinstance(check, Mapping) or not isinstance(check.get("name"), str)
                or check.get("status") not in STATUSES):
            raise HealthError(f"{where}.checks[{index}]", "expected a check with a name and a "
                                                          f"status, got {describe(check)}")
        counts = per_check.setdefault(str(check["name"]),
                                      {"warning": 0, "critical": 0, "unknown": 0})
        if check["status"] != "ok":
            counts[str(check["status"])] += 1
    return {"host": host, "status": str(status), "passed": passed,
            "exit_code": EXIT_CODES[str(status)], "summary": str(one.get("summary", ""))}
