# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The health policy as data: every check, its default thresholds and its reason codes.

Internal to the winiscsi.ipsec collection: not a public API, may change without notice.

This is the one place the health policy is written down: ``CHECKS`` holds every check's name,
counters, formula, default thresholds and reason code. docs/policy.md is generated from it
(tests/support/gen_policy_doc.py) and a unit test fails when the two differ. How a check is
judged is in _verdict.py; the windows it judges come from _window.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal, NamedTuple, Optional

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import to_plain
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import (
    InputError,
    check_bounds,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._nagios import (
    NagiosRange,
    RangeError,
    Status,
    parse_range,
)

Level = Literal["warning", "critical"]
CheckKind = Literal["count", "ratio", "rate", "gauge", "activity"]

LEVELS: tuple[Level, ...] = ("warning", "critical")
DEFAULT_FAIL_ON: Level = "critical"

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
        quick_mode: True when it judges the quick-mode class (MSiSCSI_QMIPSECStats, the
            window's ``quick_mode``); a host without that class skips it.
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
    quick_mode: bool = False


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
    # Quick mode (MSiSCSI_QMIPSECStats): is the protected iSCSI traffic itself sound?
    CheckSpec(
        name="decryption_failure_rate", counters=("packets_not_decrypted",), kind="rate",
        unit="per second", formula="delta(packets_not_decrypted) / rate window",
        warning=None, critical="0", reason="PacketsNotDecrypted",
        message="{value} packets per second failed decryption ({events} {where})",
        idle_message="", unit_noun="packets that failed decryption",
        rationale="A packet of an established SA that fails decryption means the two ends "
                  "disagree on keys or policy (the classic sign of a bad IPsec change) or the "
                  "traffic was tampered with; a healthy SA never produces one, so any is "
                  "critical. A rate, so that a tolerance can be set per second whatever the "
                  "window's length.",
        quick_mode=True),
    CheckSpec(
        name="packet_authentication_failure_rate", counters=("packets_not_authenticated",),
        kind="rate", unit="per second", formula="delta(packets_not_authenticated) / rate window",
        warning=None, critical="0", reason="PacketsNotAuthenticated",
        message="{value} packets per second failed authentication ({events} {where})",
        idle_message="", unit_noun="packets whose data could not be verified",
        rationale="A packet whose integrity check fails is mismatched keys or tampering, as "
                  "for decryption failures: any is critical.",
        quick_mode=True),
    CheckSpec(
        name="bad_spi_rate", counters=("bad_spi_packets",), kind="rate", unit="per second",
        formula="delta(bad_spi_packets) / rate window",
        warning="0.1", critical="1", reason="BadSpiPackets",
        message="{value} packets per second arrived with a wrong SPI ({events} {where})",
        idle_message="", unit_noun="packets with a wrong SPI",
        rationale="A few packets for an SA that was just deleted are normal around a re-key; "
                  "a steady stream means the peers no longer agree on which SAs exist (one "
                  "side lost or replaced its SAs).",
        quick_mode=True),
    CheckSpec(
        name="replay_detections", counters=("packets_with_replay_detection",), kind="count",
        unit="packets", formula="delta(packets_with_replay_detection)",
        warning="0", critical="100", reason="ReplayDetected",
        message="{value} packets caught by replay detection {span}", idle_message="",
        unit_noun="replayed packets",
        rationale="Microsoft's wording for PacketsWithReplayDetection is ambiguous; we read it "
                  "as packets refused by the sequence-number check, a failure counter. "
                  "Duplicated or badly reordered traffic gives a few (a warning); a burst "
                  "points at a replay attack or a broken path (critical).",
        quick_mode=True),
)

CHECK_BY_NAME: Mapping[str, CheckSpec] = MappingProxyType({c.name: c for c in CHECKS})
CHECK_NAMES: tuple[str, ...] = tuple(c.name for c in CHECKS)
# The checks one window can judge (mmipsec_verdict); mmipsec_compare adds the compare-only ones.
WINDOW_CHECKS: tuple[CheckSpec, ...] = tuple(c for c in CHECKS if not c.compare_only)

Ranges = tuple[Optional[NagiosRange], Optional[NagiosRange]]
"""A check's (warning, critical) ranges; None is a level that is off."""
Thresholds = Mapping[str, Ranges]
"""Check name -> its ranges, for every check."""


def _default_ranges(spec: CheckSpec) -> Ranges:
    return (parse_range(spec.warning) if spec.warning is not None else None,
            parse_range(spec.critical) if spec.critical is not None else None)


# Parsed once at import; read-only so nothing can change the defaults of a later call.
DEFAULT_RANGES: Thresholds = MappingProxyType({c.name: _default_ranges(c) for c in CHECKS})


def resolve_thresholds(overrides: Any) -> Thresholds:
    """Merge the caller's thresholds over the defaults.

    Args:
        overrides: None, or ``{check_name: {warning: range|None, critical: range|None}}``; a
            level left out keeps its default, a null level is disabled.

    Returns:
        Check name -> (warning range, critical range), None meaning "no such level".

    Raises:
        InputError: Not a mapping, an unknown check or level name, or a bad range (see
            :func:`check_bounds` for NaN, infinity, deep nesting and huge ints).
    """
    if overrides is None:
        return DEFAULT_RANGES
    check_bounds(overrides, "thresholds")
    overrides = to_plain(overrides)
    if not isinstance(overrides, dict):
        raise InputError("thresholds", "a mapping of check name to {warning: range, critical: "
                                       "range}", overrides)
    merged = dict(DEFAULT_RANGES)
    for name, levels in overrides.items():
        if name not in CHECK_BY_NAME:
            raise InputError("thresholds", f"a check name, one of {list(CHECK_NAMES)}", name)
        if not isinstance(levels, dict):
            raise InputError(f"thresholds.{name}", "a mapping with warning and/or critical",
                             levels)
        warning, critical = merged[name]
        for level, text in levels.items():
            if level not in LEVELS:
                raise InputError(f"thresholds.{name}", f"a level, one of {list(LEVELS)}", level)
            try:
                parsed = None if text is None else parse_range(text)
            except RangeError as e:
                # RangeError's problem reads "expected ..." or says what is wrong.
                problem = e.problem.removeprefix("expected ")
                raise InputError(f"thresholds.{name}.{level}", f"a Nagios range ({problem})",
                                 text) from e
            if level == "warning":
                warning = parsed
            else:
                critical = parsed
        merged[name] = (warning, critical)
    return MappingProxyType(merged)
