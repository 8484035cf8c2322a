# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The MSiSCSI_MMIPSECStats counter schema and snapshot validation.

Internal to the winiscsi.ipsec collection: not a public API, may change without notice.

This is the one place the 21 members of the class are listed. The PowerShell module carries a
copy of the member-to-key table, and a unit test checks that copy against this one.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, Literal, NamedTuple

CounterKind = Literal["counter", "gauge"]
Reason = Literal["class_not_found", "no_instances", "provider_error"]
Source = Literal["cim", "wsman"]

UINT64_MAX = 2**64 - 1
REASONS: tuple[Reason, ...] = ("class_not_found", "no_instances", "provider_error")
SOURCES: tuple[Source, ...] = ("cim", "wsman")
WMI_NAMESPACE = "root\\WMI"
WMI_CLASS = "MSiSCSI_MMIPSECStats"


class Member(NamedTuple):
    """One uint64 member of MSiSCSI_MMIPSECStats."""

    wmi_name: str
    key: str
    kind: CounterKind
    meaning: str


# Order and kinds follow shared/reference/counters.md (the class's own member order).
# Every member is PERF_COUNTER_LARGE_RAWCOUNT, so WMI metadata cannot tell counters
# (cumulative since the IPsec service started) from gauges (current levels): we classify.
MEMBERS: tuple[Member, ...] = (
    Member("ActiveAcquire", "active_acquire", "gauge",
           "Acquire requests the IPsec driver has outstanding at IKE (1 when idle)."),
    Member("ActiveReceive", "active_receive", "gauge",
           "IKE messages waiting to be processed."),
    Member("AcquireFailures", "acquire_failures", "counter",
           "Acquire requests that failed."),
    Member("ReceiveFailures", "receive_failures", "counter",
           "Errors while the TCP/IP stack received IKE messages."),
    Member("SendFailures", "send_failures", "counter",
           "Errors while the TCP/IP stack sent IKE messages."),
    Member("AcquireHeapSize", "acquire_heap_size", "gauge",
           "IKE messages the acquire heap holds room for; grows under load."),
    Member("ReceiveHeapSize", "receive_heap_size", "gauge",
           "Incoming IKE messages the receive buffers hold room for."),
    Member("NegotiationFailures", "negotiation_failures", "counter",
           "Failed negotiations, main mode and quick mode counted together."),
    Member("AuthenticationFailures", "authentication_failures", "counter",
           "Main-mode identity checks that failed (Kerberos, certificate, preshared key)."),
    Member("InvalidCookiesReceived", "invalid_cookies_received", "counter",
           "IKE messages whose cookie belongs to no live main-mode SA."),
    Member("TotalGetSPI", "total_get_spi", "counter",
           "Requests IKE made for a unique security parameters index (SPI)."),
    Member("KeyAdditions", "key_additions", "counter",
           "Outbound quick-mode SAs added."),
    Member("KeyUpdates", "key_updates", "counter",
           "Inbound quick-mode SAs added."),
    Member("GetSPIFailures", "get_spi_failures", "counter",
           "SPI requests that failed."),
    Member("KeyAdditionFailures", "key_addition_failures", "counter",
           "Outbound quick-mode SAs that could not be added."),
    Member("KeyUpdateFailures", "key_update_failures", "counter",
           "Inbound quick-mode SAs that could not be added."),
    Member("ConnectionListSize", "connection_list_size", "gauge",
           "Quick-mode state entries held now."),
    Member("OakleyMainMode", "oakley_main_mode", "counter",
           "Main-mode SAs negotiated successfully."),
    Member("OakleyQuickMode", "oakley_quick_mode", "counter",
           "Quick-mode SAs negotiated successfully."),
    Member("InvalidPackets", "invalid_packets", "counter",
           "Received IKE messages that were malformed (header, lengths, responder cookie)."),
    Member("SoftAssociations", "soft_associations", "counter",
           "Negotiations that fell back to cleartext soft SAs: that traffic is NOT protected."),
)

COUNTER_KEYS: tuple[str, ...] = tuple(m.key for m in MEMBERS)
KEY_BY_WMI_NAME: Mapping[str, str] = {m.wmi_name: m.key for m in MEMBERS}
KIND_BY_KEY: Mapping[str, CounterKind] = {m.key: m.kind for m in MEMBERS}
CUMULATIVE_KEYS: tuple[str, ...] = tuple(m.key for m in MEMBERS if m.kind == "counter")
GAUGE_KEYS: tuple[str, ...] = tuple(m.key for m in MEMBERS if m.kind == "gauge")

SNAPSHOT_KEYS: tuple[str, ...] = (
    "available", "reason", "message", "source", "collected_at", "boot_time", "instances", "totals",
)
INSTANCE_KEYS: tuple[str, ...] = ("instance_name", "active", "counters")

# UTC only, as both transports write it: 'Z', optional fraction of any length (.NET's 'o'
# format writes 7 digits; Python keeps microseconds, so digits past 6 are dropped).
_UTC_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$"
)


# Python 3.11 made fromisoformat read 'Z' and fractions of any length; 3.10 (still a controller
# Python for ansible-core 2.16 and 2.17) needs the fields picked out by hand.
_FROMISOFORMAT_READS_Z = sys.version_info >= (3, 11)


class SnapshotError(ValueError):
    """A value is not a valid mmipsec snapshot.

    Attributes:
        field: Dotted path of the offending field inside the snapshot (``""`` for the whole).
        expected: What the field should have been.
        got: The offending value (its repr and type are shown).
        host: The inventory host the snapshot belongs to, when known.
    """

    def __init__(self, field: str, expected: str, got: Any, host: str | None = None) -> None:
        self.field = field
        self.expected = expected
        self.got = got
        self.host = host
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"host {self.host!r}: " if self.host is not None else ""
        name = self.field or "snapshot"
        got = _describe(self.got)
        return f"{where}{name}: expected {self.expected}, got {got}"


class _Missing:
    def __repr__(self) -> str:
        return "nothing (the key is missing)"


MISSING: Any = _Missing()


def _describe(value: Any) -> str:
    if value is MISSING:
        return repr(value)
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


def is_int(value: Any) -> bool:
    """True for a Python int that is not a bool (bool is a subclass of int)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_uint64(value: Any) -> bool:
    """True for a Python int (never a bool) in 0..2**64-1."""
    return is_int(value) and 0 <= value <= UINT64_MAX


def parse_utc_timestamp(text: str) -> datetime:
    """Parse an ISO 8601 UTC timestamp such as ``2026-11-26T08:00:00.1234567Z``.

    Args:
        text: The timestamp; it must end in ``Z``.

    Returns:
        An aware datetime in UTC (fractions beyond microseconds are dropped).

    Raises:
        ValueError: The text is not such a timestamp.
    """
    match = _UTC_TIMESTAMP.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not an ISO 8601 UTC timestamp ending in 'Z': {text!r}")
    if _FROMISOFORMAT_READS_Z:
        return datetime.fromisoformat(text)  # C code, a tenth of the cost of the lines below
    year, month, day, hour, minute, second, fraction = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                    micro, tzinfo=timezone.utc)


def format_utc_timestamp(moment: datetime) -> str:
    """Write an aware datetime as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no known time zone")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sum_active(instances: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Sum each counter over the active instances (exact ints; may pass 2**64-1)."""
    totals = dict.fromkeys(COUNTER_KEYS, 0)
    for instance in instances:
        if instance["active"]:
            counters = instance["counters"]
            for key in COUNTER_KEYS:
                totals[key] += counters[key]
    return totals


_KEY_SET = frozenset(COUNTER_KEYS)
_SNAPSHOT_KEY_SET = frozenset(SNAPSHOT_KEYS)
_INSTANCE_KEY_SET = frozenset(INSTANCE_KEYS)
_PLAIN_INT = {int}


def _counters_plainly_valid(counters: Any, upper: int | None) -> bool:
    """The common case, checked in C: exactly the 21 keys, plain ints (no bools) in range.

    False only means "look closer": _check_counters then finds and words the problem, and
    accepts int subclasses other than bool (Ansible 2.19 hands over tagged ints).
    """
    if not isinstance(counters, dict) or counters.keys() != _KEY_SET:
        return False
    # A list: Ansible 2.19's lazy dicts hand out values() that can be walked only once.
    values = list(counters.values())
    return (set(map(type, values)) == _PLAIN_INT and min(values) >= 0
            and (upper is None or max(values) <= upper))


def _check_counters(counters: Any, field: str, host: str | None, upper: int | None) -> None:
    """Check a mapping of the 21 keys to non-negative ints (at most ``upper`` if given)."""
    if _counters_plainly_valid(counters, upper):
        return
    if not isinstance(counters, Mapping):
        raise SnapshotError(field, "a mapping of the 21 counter keys", counters, host)
    for key in COUNTER_KEYS:
        value = counters.get(key, MISSING)
        if not is_int(value) or value < 0 or (upper is not None and value > upper):
            limit = f"0..{upper}" if upper is not None else "0 or more"
            raise SnapshotError(f"{field}.{key}", f"an integer in {limit} (not a bool, "
                                "float or string)", value, host)
    unknown = sorted(str(k) for k in counters if k not in KIND_BY_KEY)
    if unknown:
        raise SnapshotError(field, "only the 21 counter keys", f"unknown keys {unknown}", host)


def _check_timestamp(value: Any, field: str, host: str | None, nullable: bool) -> None:
    if value is None and nullable:
        return
    try:
        parse_utc_timestamp(value)
    except ValueError:
        expected = "an ISO 8601 UTC timestamp ending in 'Z'" + (" or null" if nullable else "")
        raise SnapshotError(field, expected, value, host) from None


def validate_snapshot(snapshot: Any, host: str | None = None) -> Mapping[str, Any]:
    """Check that a value is a complete ``ansible_facts.mmipsec`` snapshot.

    The shape is the contract of DESIGN.md: every key present, counters exact uint64 ints,
    totals equal to the sum over active instances, empty instances and totals when unavailable.

    Args:
        snapshot: The value to check.
        host: The inventory host name, named in the error.

    Returns:
        The snapshot itself, unchanged.

    Raises:
        SnapshotError: The first problem found, naming the host and the field.
    """
    if not isinstance(snapshot, Mapping):
        raise SnapshotError("", "a mapping (ansible_facts.mmipsec)", snapshot, host)
    if snapshot.keys() != _SNAPSHOT_KEY_SET:
        _check_snapshot_keys(snapshot, host)
    return _check_snapshot_values(snapshot, host)


def _check_snapshot_keys(snapshot: Mapping[str, Any], host: str | None) -> None:
    for key in SNAPSHOT_KEYS:
        if key not in snapshot:
            raise SnapshotError(key, "a value (every snapshot key is required)", MISSING, host)
    unknown = sorted(str(k) for k in snapshot if k not in SNAPSHOT_KEYS)
    if unknown:
        raise SnapshotError("", f"only the keys {list(SNAPSHOT_KEYS)}", f"unknown keys {unknown}",
                            host)


def _check_snapshot_values(snapshot: Mapping[str, Any], host: str | None) -> Mapping[str, Any]:

    available = snapshot["available"]
    if not isinstance(available, bool):
        raise SnapshotError("available", "true or false", available, host)
    if snapshot["source"] not in SOURCES:
        raise SnapshotError("source", f"one of {list(SOURCES)}", snapshot["source"], host)
    _check_timestamp(snapshot["collected_at"], "collected_at", host, nullable=False)
    _check_timestamp(snapshot["boot_time"], "boot_time", host, nullable=True)

    reason, message = snapshot["reason"], snapshot["message"]
    instances, totals = snapshot["instances"], snapshot["totals"]
    if not available:
        if reason not in REASONS:
            raise SnapshotError("reason", f"one of {list(REASONS)} when available is false",
                                reason, host)
        if message is not None and not isinstance(message, str):
            raise SnapshotError("message", "a string or null", message, host)
        if instances != []:
            raise SnapshotError("instances", "[] when available is false", instances, host)
        if totals != {}:
            raise SnapshotError("totals", "{} when available is false", totals, host)
        return snapshot

    if reason is not None:
        raise SnapshotError("reason", "null when available is true", reason, host)
    if message is not None:
        raise SnapshotError("message", "null when available is true", message, host)
    if not isinstance(instances, list) or not instances:
        raise SnapshotError("instances", "a non-empty list when available is true", instances,
                            host)
    names = set()
    for index, instance in enumerate(instances):
        field = f"instances[{index}]"
        if not isinstance(instance, Mapping) or instance.keys() != _INSTANCE_KEY_SET:
            raise SnapshotError(field, f"a mapping with exactly the keys {list(INSTANCE_KEYS)}",
                                instance, host)
        name = instance["instance_name"]
        if not isinstance(name, str) or not name:
            raise SnapshotError(f"{field}.instance_name", "a non-empty string", name, host)
        if name.lower() in names:
            raise SnapshotError(f"{field}.instance_name", "a name used once", name, host)
        names.add(name.lower())
        if not isinstance(instance["active"], bool):
            raise SnapshotError(f"{field}.active", "true or false", instance["active"], host)
        _check_counters(instance["counters"], f"{field}.counters", host, UINT64_MAX)

    active = [instance for instance in instances if instance["active"]]
    # The usual host, one adapter: plain-int totals equal to its validated counters are valid
    # (the plain-int test keeps True == 1 and 1.0 == 1 from passing).
    if (len(active) == 1 and isinstance(totals, dict)
            and set(map(type, totals.values())) == _PLAIN_INT
            and totals == active[0]["counters"]):
        return snapshot
    # Totals are a sum of uint64 values, so only they may pass 2**64-1.
    _check_counters(totals, "totals", host, None)
    expected = sum_active(active)
    for key in COUNTER_KEYS:
        if totals[key] != expected[key]:
            raise SnapshotError(f"totals.{key}", f"{expected[key]}, the sum over active instances",
                                totals[key], host)
    return snapshot
