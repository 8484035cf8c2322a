# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The counter schemas of MSiSCSI_MMIPSECStats and MSiSCSI_QMIPSECStats, snapshot validation.

Internal to the winiscsi.ipsec collection: not a public API, may change without notice.

This is the one place the members of the two classes are listed: 21 main-mode (IKE) members,
18 quick-mode (protected traffic) members. The PowerShell module carries a copy of each
member-to-key table, and a unit test checks those copies against these.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, Literal, NamedTuple

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import MISSING, InputError

CounterKind = Literal["counter", "gauge"]
Reason = Literal["class_not_found", "no_instances", "provider_error"]
Source = Literal["cim", "wsman"]

UINT64_MAX = 2**64 - 1
REASONS: tuple[Reason, ...] = ("class_not_found", "no_instances", "provider_error")
SOURCES: tuple[Source, ...] = ("cim", "wsman")
WMI_NAMESPACE = "root\\WMI"
WMI_CLASS = "MSiSCSI_MMIPSECStats"
QM_WMI_CLASS = "MSiSCSI_QMIPSECStats"


class Member(NamedTuple):
    """One uint64 member of MSiSCSI_MMIPSECStats or MSiSCSI_QMIPSECStats."""

    wmi_name: str
    key: str
    kind: CounterKind
    meaning: str


# Order and kinds follow the project's reference table of the class (its own member order; a
# copy is tests/unit/test_data/reference/counters.md, which a unit test checks this against).
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

# The quick-mode sibling (Iscsiprf.mof, WmiDataId 1..18; a copy of the project's reference
# table is tests/unit/test_data/reference/qm_counters.md). Also PERF_COUNTER_LARGE_RAWCOUNT
# throughout: the "now" members are gauges, everything counted since the start is a counter.
QM_MEMBERS: tuple[Member, ...] = (
    Member("ActiveSA", "active_sa", "gauge",
           "IPsec security associations active now."),
    Member("PendingKeyOperations", "pending_key_operations", "gauge",
           "Key operations in progress now."),
    Member("KeyAdditions", "key_additions", "counter",
           "Successful SA negotiations."),
    Member("KeyDeletions", "key_deletions", "counter",
           "SA key deletions."),
    Member("ReKeys", "re_keys", "counter",
           "Re-key operations on SAs."),
    Member("ActiveTunnels", "active_tunnels", "gauge",
           "Tunnel-mode tunnels active now."),
    Member("BadSPIPackets", "bad_spi_packets", "counter",
           "Packets whose security parameters index (SPI) was wrong."),
    Member("PacketsNotDecrypted", "packets_not_decrypted", "counter",
           "Packets that failed decryption."),
    Member("PacketsNotAuthenticated", "packets_not_authenticated", "counter",
           "Packets whose data could not be verified."),
    Member("PacketsWithReplayDetection", "packets_with_replay_detection", "counter",
           "Packets caught by replay detection (sequence number)."),
    Member("ConfidentialBytesSent", "confidential_bytes_sent", "counter",
           "Bytes sent with ESP."),
    Member("ConfidentialBytesReceived", "confidential_bytes_received", "counter",
           "Bytes received with ESP."),
    Member("AuthenticatedBytesSent", "authenticated_bytes_sent", "counter",
           "Bytes sent with AH."),
    Member("AuthenticatedBytesReceived", "authenticated_bytes_received", "counter",
           "Bytes received with AH."),
    Member("TransportBytesSent", "transport_bytes_sent", "counter",
           "Bytes sent in transport mode."),
    Member("TransportBytesReceived", "transport_bytes_received", "counter",
           "Bytes received in transport mode."),
    Member("TunnelBytesSent", "tunnel_bytes_sent", "counter",
           "Bytes sent in tunnel mode."),
    Member("TunnelBytesReceived", "tunnel_bytes_received", "counter",
           "Bytes received in tunnel mode."),
)


class Schema:
    """One class's member table and what follows from it (keys, kinds, the fact's name)."""

    def __init__(self, wmi_class: str, fact: str, members: tuple[Member, ...]) -> None:
        self.wmi_class = wmi_class
        self.fact = fact  # the ansible_facts key: mmipsec or qmipsec
        self.members = members
        self.keys: tuple[str, ...] = tuple(m.key for m in members)
        self.key_by_wmi_name: Mapping[str, str] = {m.wmi_name: m.key for m in members}
        self.kind_by_key: Mapping[str, CounterKind] = {m.key: m.kind for m in members}
        self.cumulative_keys: tuple[str, ...] = tuple(m.key for m in members
                                                      if m.kind == "counter")
        self.gauge_keys: tuple[str, ...] = tuple(m.key for m in members if m.kind == "gauge")

    def __repr__(self) -> str:
        return f"Schema({self.wmi_class!r})"


MM = Schema(WMI_CLASS, "mmipsec", MEMBERS)
QM = Schema(QM_WMI_CLASS, "qmipsec", QM_MEMBERS)
SCHEMAS: tuple[Schema, ...] = (MM, QM)

# The main-mode names every caller has used since 0.1.0.
COUNTER_KEYS: tuple[str, ...] = MM.keys
KEY_BY_WMI_NAME: Mapping[str, str] = MM.key_by_wmi_name
KIND_BY_KEY: Mapping[str, CounterKind] = MM.kind_by_key
CUMULATIVE_KEYS: tuple[str, ...] = MM.cumulative_keys
GAUGE_KEYS: tuple[str, ...] = MM.gauge_keys
QM_COUNTER_KEYS: tuple[str, ...] = QM.keys

SNAPSHOT_KEYS: tuple[str, ...] = (
    "available", "reason", "message", "source", "collected_at", "boot_time", "instances", "totals",
)
INSTANCE_KEYS: tuple[str, ...] = ("instance_name", "active", "counters")

# UTC only, as both transports write it: 'Z', optional fraction of any length (.NET's 'o'
# format writes 7 digits; Python keeps microseconds, so digits past 6 are dropped).
_UTC_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$"
)


def is_int(value: Any) -> bool:
    """True for a Python int that is not a bool (bool is a subclass of int)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_uint64(value: Any) -> bool:
    """True for a Python int (never a bool) in 0..2**64-1."""
    return is_int(value) and 0 <= value <= UINT64_MAX


def to_plain(value: Any) -> Any:
    """Copy a value made of mappings, lists and scalars into plain Python types.

    Ansible 2.19 hands plugins tagged subclasses of int, float and str and lazy containers.
    A plain copy shows its plain type in error messages and compares as the plain value. A
    bool stays a bool (bool cannot be subclassed), so "an int but not a bool" still refuses it.

    Args:
        value: Anything.

    Returns:
        The plain copy; a plain scalar comes back as itself.
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
    year, month, day, hour, minute, second, fraction = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    # datetime() refuses a month 13, a February 30 and the like with a ValueError.
    return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                    micro, tzinfo=timezone.utc)


def format_utc_timestamp(moment: datetime) -> str:
    """Write an aware datetime as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC.

    Raises:
        ValueError: The datetime is naive.
    """
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no known time zone")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sum_active(instances: Iterable[Mapping[str, Any]], schema: Schema = MM) -> dict[str, int]:
    """Sum each counter over the active instances (exact ints; may pass 2**64-1).

    Both transports total on the controller with this: a sum of uint64 values needs more
    than 64 bits, which Python's int has and the module's JSON serialisers do not.
    """
    totals = dict.fromkeys(schema.keys, 0)
    for instance in instances:
        if instance["active"]:
            for key in schema.keys:
                totals[key] += instance["counters"][key]
    return totals


def with_totals(snapshot: Any, schema: Schema = MM) -> Any:
    """A copy of an available snapshot with ``totals`` summed here, from its instances.

    The module leaves totals to the controller when it cannot write them as integers (see
    mmipsec_facts.ps1), and the controller's sum is exact either way. Anything that is not an
    available snapshot with well-formed counters comes back as it is, for
    :func:`validate_snapshot` to name what is wrong.
    """
    if not isinstance(snapshot, Mapping) or snapshot.get("available") is not True:
        return snapshot
    instances = snapshot.get("instances")
    if not isinstance(instances, list):
        return snapshot
    try:
        if not all(is_uint64(instance["counters"][key]) and isinstance(instance["active"], bool)
                   for instance in instances for key in schema.keys):
            return snapshot
        totals = sum_active(instances, schema)
    except (TypeError, KeyError, IndexError):
        return snapshot
    return {**snapshot, "totals": totals}


class _Checker:
    """Raises InputError for one snapshot, with field paths relative to where it was given."""

    def __init__(self, host: str | None, argument: str | None, schema: Schema) -> None:
        self.host = host
        self.argument = argument
        self.schema = schema

    def error(self, field: str, expected: str, got: Any) -> InputError:
        """The error for ``field`` (a path inside the snapshot, "" for the snapshot itself)."""
        if self.argument is None:
            where = field or "snapshot"
        else:
            where = f"{self.argument}.{field}" if field else self.argument
        return InputError(where, expected, got, self.host)

    def counters(self, counters: Any, field: str, upper: int | None) -> None:
        """Check a mapping of the schema's keys to non-negative ints (at most ``upper``)."""
        count = len(self.schema.keys)
        if not isinstance(counters, Mapping):
            raise self.error(field, f"a mapping of the {count} counter keys", counters)
        limit = f"0..{upper}" if upper is not None else "0 or more"
        for key in self.schema.keys:
            value = counters.get(key, MISSING)
            if (isinstance(value, bool) or not isinstance(value, int) or value < 0
                    or (upper is not None and value > upper)):
                raise self.error(f"{field}.{key}", f"an integer in {limit} (not a bool, float "
                                 "or string)", value)
        for key in counters:
            if key not in self.schema.kind_by_key:
                raise self.error(f"{field}.{key}", f"no such key (only the {count} counter keys)",
                                 counters[key])

    def timestamp(self, value: Any, field: str, nullable: bool) -> None:
        """Check an ISO 8601 UTC timestamp (or null, when ``nullable``)."""
        if value is None and nullable:
            return
        try:
            parse_utc_timestamp(value)
        except ValueError:
            expected = "an ISO 8601 UTC timestamp ending in 'Z'" + (" or null" if nullable else "")
            raise self.error(field, expected, value) from None


def validate_snapshot(snapshot: Any, host: str | None = None,
                      argument: str | None = None, schema: Schema = MM) -> Mapping[str, Any]:
    """Check that a value is a complete ``ansible_facts.mmipsec`` (or ``qmipsec``) snapshot.

    The shape is the contract of DESIGN.md: every key present, counters exact uint64 ints,
    totals equal to the sum over active instances, empty instances and totals when unavailable.

    Args:
        snapshot: The value to check.
        host: The inventory host name, named in the error.
        argument: The argument the snapshot was given as (for example ``input``); the error's
            field then starts with it. Without it, fields are paths inside the snapshot and the
            snapshot itself is ``snapshot``.
        schema: The class the snapshot is of: :data:`MM` (``mmipsec``) or :data:`QM`.

    Returns:
        The snapshot itself, unchanged.

    Raises:
        InputError: The first problem found, naming the host and the field.
    """
    check = _Checker(host, argument, schema)
    if not isinstance(snapshot, Mapping):
        raise check.error("", f"a mapping (ansible_facts.{schema.fact})", snapshot)
    for key in SNAPSHOT_KEYS:
        if key not in snapshot:
            raise check.error(key, "a value (every snapshot key is required)", MISSING)
    for key in snapshot:
        if key not in SNAPSHOT_KEYS:
            raise check.error(str(key), f"no such key (only the keys {list(SNAPSHOT_KEYS)})",
                              snapshot[key])

    available = snapshot["available"]
    if not isinstance(available, bool):
        raise check.error("available", "true or false", available)
    if snapshot["source"] not in SOURCES:
        raise check.error("source", f"one of {list(SOURCES)}", snapshot["source"])
    check.timestamp(snapshot["collected_at"], "collected_at", nullable=False)
    check.timestamp(snapshot["boot_time"], "boot_time", nullable=True)

    reason, message = snapshot["reason"], snapshot["message"]
    instances, totals = snapshot["instances"], snapshot["totals"]
    if not available:
        if reason not in REASONS:
            raise check.error("reason", f"one of {list(REASONS)} when available is false", reason)
        if message is not None and not isinstance(message, str):
            raise check.error("message", "a string or null", message)
        if instances != []:
            raise check.error("instances", "[] when available is false", instances)
        if totals != {}:
            raise check.error("totals", "{} when available is false", totals)
        return snapshot

    if reason is not None:
        raise check.error("reason", "null when available is true", reason)
    if message is not None:
        raise check.error("message", "null when available is true", message)
    if not isinstance(instances, list) or not instances:
        raise check.error("instances", "a non-empty list when available is true", instances)
    names = set()
    for index, instance in enumerate(instances):
        field = f"instances[{index}]"
        if not isinstance(instance, Mapping) or set(instance) != set(INSTANCE_KEYS):
            raise check.error(field, f"a mapping with exactly the keys {list(INSTANCE_KEYS)}",
                              instance)
        name = instance["instance_name"]
        if not isinstance(name, str) or not name:
            raise check.error(f"{field}.instance_name", "a non-empty string", name)
        if name.lower() in names:
            raise check.error(f"{field}.instance_name", "a name used once", name)
        names.add(name.lower())
        if not isinstance(instance["active"], bool):
            raise check.error(f"{field}.active", "true or false", instance["active"])
        check.counters(instance["counters"], f"{field}.counters", UINT64_MAX)

    # Totals are a sum of uint64 values, so only they may pass 2**64-1.
    check.counters(totals, "totals", None)
    expected = sum_active(instances, schema)
    for key in schema.keys:
        if totals[key] != expected[key]:
            raise check.error(f"totals.{key}", f"{expected[key]}, the sum over active instances",
                              totals[key])
    return snapshot
