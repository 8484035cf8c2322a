# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the iSCSI IPsec statistics from the controller over WS-Management (``via: wsman``).

Internal to the winiscsi.ipsec collection: not a public API, may change without notice.

:class:`Session` enumerates a class over a sender (``_wsman_transport``, or a fake in tests):
Enumerate, Pull until EndOfSequence, Release when stopping early. :func:`collect_facts` reads
MSiSCSI_MMIPSECStats, MSiSCSI_QMIPSECStats and the boot time and shapes both snapshots exactly
as the module does; :func:`collect_snapshot` reads the main-mode one only.
No WinRS shell is opened: WS-Enumeration against the WMI plugin needs none.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import (
    MM,
    QM,
    UINT64_MAX,
    WMI_NAMESPACE,
    Schema,
    format_utc_timestamp,
    sum_active,
    to_plain,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wmi_errors import UNAVAILABLE_OUTCOMES
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman import (
    NAMESPACES,
    NS_SOAP,
    OS_CLASS_URI,
    STATS_CLASS_URI,
    WMI_URI_BASE,
    Request,
    build_enumerate,
    build_pull,
    build_release,
    parse_enumerate_response,
    parse_pull_response,
    parse_release_response,
    parse_xml,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_errors import (
    ResponseTooLargeError,
    Target,
    WSManError,
    WSManFault,
    WSManResponseError,
    WSManTransportError,
    XmlRefusedError,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_transport import (
    MessageSender,
    PywinrmSender,
    WinRMSettings,
)

# Bounds on one enumeration: a host has a handful of iSCSI adapters, so these only stop a
# misbehaving service from keeping the controller busy.
MAX_ITEMS = 4096
MAX_PULLS = 64

# The resource URI of each class (MS-WSMV 2.2.4.44: the WMI plugin's prefix, namespace, class).
CLASS_URIS = {MM.wmi_class: STATS_CLASS_URI, QM.wmi_class: f"{WMI_URI_BASE}root/wmi/{QM.wmi_class}"}
# What a class reports, for the message of a host that has none of its instances.
_WHAT = {MM.wmi_class: "IPsec main-mode statistics", QM.wmi_class: "IPsec quick-mode statistics"}


# --- Instance-name wildcards (PowerShell -like) ----------------------------------------------
def _bracket(contents: list[tuple[str, bool]], pattern: str) -> str:
    """A regex class for one ``[...]``: literal characters, ``a-z`` ranges (no negation)."""
    out = []
    index = 0
    while index < len(contents):
        if index + 2 < len(contents) and contents[index + 1][1]:
            low, high = contents[index][0], contents[index + 2][0]
            if low > high:
                raise InputError("instance_name", "a PowerShell -like wildcard pattern whose "
                                 f"ranges run forwards (not '{low}-{high}')", to_plain(pattern))
            out.append(f"{re.escape(low)}-{re.escape(high)}")
            index += 3
        else:
            out.append(re.escape(contents[index][0]))
            index += 1
    return "[" + "".join(out) + "]"


def compile_wildcard(pattern: str) -> re.Pattern[str]:
    """Compile a PowerShell ``-like`` pattern (case-insensitive) into a regex for fullmatch.

    Semantics of System.Management.Automation.WildcardPattern: ``*`` any run, ``?`` one
    character, ``[abc]`` one of, ``[a-z]`` a range (no negation; ``]`` right after ``[`` is
    literal), a backtick escapes the next character (a trailing one is literal). Every other
    character, backslash included, is literal.

    Raises:
        InputError: An unclosed ``[`` or a backwards range.
    """
    parts: list[str] = []
    contents: list[tuple[str, bool]] = []
    escaped = in_bracket = just_opened = False
    for char in pattern:
        if in_bracket:
            if char == "]" and not just_opened and not escaped:
                in_bracket = False
                parts.append(_bracket(contents, pattern))
            elif char != "`" or escaped:
                contents.append((char, char == "-" and not escaped))
            just_opened = False
        elif char == "*" and not escaped:
            parts.append(".*")
        elif char == "?" and not escaped:
            parts.append(".")
        elif char == "[" and not escaped:
            in_bracket, just_opened, contents = True, True, []
        elif char != "`" or escaped:
            parts.append(re.escape(char))
        escaped = char == "`" and not escaped
    if in_bracket:
        raise InputError("instance_name", "a PowerShell -like wildcard pattern in which every "
                         "'[' is closed by ']' (write '`[' to match a literal '[')", to_plain(pattern))
    if escaped and pattern != "`":
        parts.append(re.escape("`"))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


# --- Enumeration -----------------------------------------------------------------------------
def _random_message_id() -> str:
    return f"uuid:{str(uuid.uuid4()).upper()}"


_Parsed = TypeVar("_Parsed")


class Session:
    """Enumerations of WMI classes over one sender; counts round trips, collects warnings.

    Attributes:
        settings: How to reach the host.
        sender: What sends the messages.
        round_trips: WS-Management requests sent (authentication legs not counted).
        warnings: What the user should know even when the read succeeds.
    """

    def __init__(self, settings: WinRMSettings, sender: MessageSender | None = None,
                 new_message_id: Callable[[], str] = _random_message_id) -> None:
        self.settings = settings
        self._own_sender = sender is None
        self.sender: MessageSender = sender if sender is not None else PywinrmSender(settings)
        self._new_message_id = new_message_id
        self.round_trips = 0
        self.warnings: list[str] = []

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._own_sender:
            self.sender.close()

    def _request(self, resource_uri: str) -> Request:
        return Request(self.settings.target, resource_uri, self._new_message_id(),
                       self.settings.operation_timeout_sec)

    def _exchange(self, message: bytes, request: Request, operation: str,
                  parse: Callable[[bytes, Request], _Parsed]) -> _Parsed:
        self.round_trips += 1
        reply = self.sender.send(message, operation)
        if reply.status != 200:
            # Windows sends faults with HTTP 500 (sometimes 400): a SOAP envelope is read as
            # one (a fault, or an error saying what is wrong with it); anything else fails.
            try:
                root: ET.Element | None = parse_xml(reply.body, request=request,
                                                    operation=operation)
            except (XmlRefusedError, ResponseTooLargeError):
                raise
            except WSManResponseError:
                root = None
            if root is not None and root.tag == f"{{{NS_SOAP}}}Envelope":
                parse(reply.body, request)
            raise WSManTransportError(
                "http", "the reply is not a WS-Management fault", target=request.target,
                operation=operation, http_status=reply.status,
                auth_transports=self.sender.auth_transports)
        return parse(reply.body, request)

    def enumerate(self, resource_uri: str) -> list[ET.Element]:
        """All items of an enumeration: Enumerate, then Pull until EndOfSequence.

        If the enumeration stops early with a context in hand (a bad reply, a fault, too many
        items or pulls), a Release is sent first (best effort; a failure is a warning).

        Raises:
            WSManError: The enumeration failed.
        """
        request = self._request(resource_uri)
        page = self._exchange(build_enumerate(request), request, "Enumerate",
                              parse_enumerate_response)
        items, context, pulls = list(page.items), page.context, 0
        try:
            while not page.end_of_sequence:
                if len(items) > MAX_ITEMS or pulls >= MAX_PULLS:
                    break
                pulls += 1
                request = self._request(resource_uri)
                # A reply that neither ends nor gives a context is refused when parsed.
                page = self._exchange(build_pull(request, context or ""), request, "Pull",
                                      parse_pull_response)
                items.extend(page.items)
                context = page.context or context
        except WSManTransportError:
            raise  # the connection is gone or unusable: nothing to release it on
        except WSManError:
            self._release(resource_uri, context)
            raise
        if len(items) > MAX_ITEMS or not page.end_of_sequence:
            what = (f"returned more than {MAX_ITEMS} items" if len(items) > MAX_ITEMS
                    else f"did not end after {pulls} Pull requests")
            if not page.end_of_sequence:
                self._release(resource_uri, context)
            raise WSManResponseError(f"the enumeration of {resource_uri} {what}",
                                     target=self.settings.target,
                                     operation="Pull" if pulls else "Enumerate")
        return items

    def _release(self, resource_uri: str, context: str | None) -> None:
        if context is None:
            return
        request = self._request(resource_uri)
        try:
            self._exchange(build_release(request, context), request, "Release",
                           parse_release_response)
        except WSManError as e:
            self.warnings.append(f"could not release the enumeration of {resource_uri}: {e}")


# --- WMI instances, as the WMI plugin serializes them (MS-WSMV) ------------------------------
def parse_instance(item: ET.Element, class_uri: str) -> dict[str, Any] | None:
    """Read the properties of one item if it is an instance of the class at ``class_uri``.

    The namespace is compared case-insensitively: WMI namespace and class names are.

    Args:
        item: An element of ``Items``.
        class_uri: The resource URI of the class, e.g. :data:`STATS_CLASS_URI`.

    Returns:
        Property name -> text (``None`` for ``xsi:nil``; a list for an array; the element for
        an embedded value such as ``cim:Datetime``), or None when the item is something else.
    """
    if not item.tag.startswith("{"):
        return None
    namespace, dummy, local = item.tag[1:].partition("}")
    if (namespace.lower() != class_uri.lower()
            or local.lower() != class_uri.rpartition("/")[2].lower()):
        return None
    nil = f"{{{NAMESPACES['xsi']}}}nil"
    properties: dict[str, Any] = {}
    for child in item:
        child_ns, dummy, name = child.tag[1:].partition("}")
        if child_ns != namespace:
            continue
        if child.get(nil, "").strip() in ("true", "1"):
            value: Any = None
        elif len(child):
            value = child
        else:
            value = child.text or ""
        if name in properties:
            previous = properties[name]
            properties[name] = (previous if isinstance(previous, list) else [previous]) + [value]
        else:
            properties[name] = value
    return properties


_XS_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$"
)


def parse_cim_datetime(value: Any) -> datetime:
    """Read a ``cim:Datetime`` property (xs:dateTime with an offset, DSP0230) as UTC.

    Args:
        value: The property as :func:`parse_instance` returns it (the element, or its text).

    Returns:
        An aware datetime in UTC (fractions beyond microseconds dropped).

    Raises:
        ValueError: Not an xs:dateTime with a time-zone offset.
    """
    text = value.findtext("cim:Datetime", None, NAMESPACES) if isinstance(value, ET.Element) else value
    if not isinstance(text, str):
        raise ValueError(f"expected a cim:Datetime, got {value!r}")
    match = _XS_DATETIME.match(text.strip())
    if match is None:
        raise ValueError(f"expected an xs:dateTime with a time-zone offset, got {text!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    offset = timedelta(0)
    if zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        offset = sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                     micro, tzinfo=timezone(offset))
    return local.astimezone(timezone.utc)


# --- Snapshot --------------------------------------------------------------------------------
def _unavailable(reason: str, message: str, collected_at: str,
                 boot_time: str | None) -> dict[str, Any]:
    return {"available": False, "reason": reason, "message": message, "source": "wsman",
            "collected_at": collected_at, "boot_time": boot_time, "instances": [], "totals": {}}


def _stats_instance(item: ET.Element, target: Target, schema: Schema = MM) -> dict[str, Any]:
    """Shape one item of the schema's class as the module does.

    A nil ``Active`` or counter is kept as None here: it matters only for an instance the
    filters keep, which :func:`_snapshot` refuses (an instance left out is never judged).
    """
    def bad(problem: str) -> WSManResponseError:
        return WSManResponseError(problem, target=target, operation="Enumerate")

    wmi_class = schema.wmi_class
    props = parse_instance(item, CLASS_URIS[wmi_class])
    if props is None:
        raise bad(f"an item is {item.tag}, not an instance of {wmi_class}")
    name = props.get("InstanceName")
    if not isinstance(name, str) or not name:
        raise bad(f"an instance of {wmi_class} has InstanceName {name!r}, expected a non-empty "
                  "string")
    active_text = props.get("Active")
    active = {"true": True, "1": True, "false": False, "0": False}.get(
        active_text.strip().lower() if isinstance(active_text, str) else "")
    if active is None and active_text is not None:
        raise bad(f"instance {name!r}: Active is {active_text!r}, expected true or false")
    counters: dict[str, int | None] = {}
    for member in schema.members:
        text = props.get(member.wmi_name)
        if text is None and member.wmi_name in props:  # xsi:nil
            counters[member.key] = None
            continue
        # ASCII digits only: str.isdigit() would also accept digits int() refuses, e.g. '\u00b2'.
        digits = text.strip() if isinstance(text, str) else ""
        if len(digits) > len(str(UINT64_MAX)) and digits.isascii() and digits.isdigit():
            # Refused before int(): Python refuses over 4300 digits with a ValueError.
            raise bad(f"instance {name!r}: {member.wmi_name} is a counter value of "
                      f"{len(digits)} digits: expected an unsigned 64-bit integer (at most "
                      f"{len(str(UINT64_MAX))} digits)")
        value = int(digits) if digits and digits.isascii() and digits.isdigit() else None
        if value is None or value > UINT64_MAX:
            raise bad(f"instance {name!r}: {member.wmi_name} is {text!r}, expected an unsigned "
                      "64-bit integer")
        counters[member.key] = value
    return {"instance_name": name, "active": active, "counters": counters}


def _read_boot_time(session: Session) -> str | None:
    """LastBootUpTime of Win32_OperatingSystem in UTC; None and a warning if unreadable."""
    try:
        items = session.enumerate(OS_CLASS_URI)
        instances = [i for i in (parse_instance(item, OS_CLASS_URI) for item in items)
                     if i is not None]
        if not instances:
            raise ValueError("the host returned no Win32_OperatingSystem instance")
        return format_utc_timestamp(parse_cim_datetime(instances[0].get("LastBootUpTime")))
    except (WSManError, ValueError) as e:
        session.warnings.append("boot_time is null: could not read Win32_OperatingSystem."
                                f"LastBootUpTime from {session.settings.host}: {e}")
    return None


def collect_snapshot(session: Session, instance_name: str = "*", include_inactive: bool = False,
                     collected_at: datetime | None = None) -> dict[str, Any]:
    """Read MSiSCSI_MMIPSECStats and the boot time; shape ``ansible_facts.mmipsec``.

    Two requests when all fits in one reply: Enumerate of the class, Enumerate of
    Win32_OperatingSystem. :func:`collect_facts` reads the quick-mode class too.

    Args:
        session: The session to the host.
        instance_name: PowerShell ``-like`` pattern on InstanceName (case-insensitive).
        include_inactive: Keep instances whose ``Active`` is false.
        collected_at: The collection time (aware); now, if None.

    Returns:
        The snapshot.

    Raises:
        InputError: ``instance_name`` is not a valid pattern (before any request).
        WSManError: As :func:`collect_facts`.
    """
    return collect_facts(session, instance_name, include_inactive, collected_at, (MM,))["mmipsec"]


def collect_facts(session: Session, instance_name: str = "*", include_inactive: bool = False,
                  collected_at: datetime | None = None,
                  schemas: tuple[Schema, ...] = (MM, QM)) -> dict[str, dict[str, Any]]:
    """Read both statistics classes and the boot time; shape ``ansible_facts``.

    Three requests when all fits in one reply: Enumerate of MSiSCSI_MMIPSECStats, of
    MSiSCSI_QMIPSECStats, of Win32_OperatingSystem. For each class, a class not registered and
    a provider failure are outcomes (``available: false``); every other failure raises.

    Args:
        session: The session to the host.
        instance_name: PowerShell ``-like`` pattern on InstanceName (case-insensitive), applied
            to both classes.
        include_inactive: Keep instances whose ``Active`` is false.
        collected_at: The collection time (aware); now, if None.
        schemas: The classes to read.

    Returns:
        ``{"mmipsec": snapshot, "qmipsec": snapshot}``: the task's ``ansible_facts``, one key per
        class read, each snapshot with the same ``collected_at`` and ``boot_time``.

    Raises:
        InputError: ``instance_name`` is not a valid pattern (before any request).
        WSManError: The host could not be read; ``str()`` says what happened and to whom,
            ``unreachable`` tells unreachable from failed, ``details()`` has the evidence.
    """
    matcher = compile_wildcard(instance_name)
    moment = format_utc_timestamp(collected_at or datetime.now(timezone.utc))
    # In this order on the wire: each class, then the boot time both snapshots carry.
    reads = {schema.fact: _enumerate_class(session, schema) for schema in schemas}
    boot_time = _read_boot_time(session)
    facts = {}
    for schema in schemas:
        read = reads[schema.fact]
        if isinstance(read, WSManFault):
            facts[schema.fact] = _unavailable(str(read.outcome), read.host_message, moment,
                                              boot_time)
        else:
            facts[schema.fact] = _snapshot(read, matcher, instance_name, include_inactive,
                                           moment, boot_time, session.settings.target, schema)
    return facts


def _enumerate_class(session: Session, schema: Schema) -> list[dict[str, Any]] | WSManFault:
    """The class's instances, shaped; or the fault by which the host says it has no such data.

    A class not registered and a provider failure are outcomes (``available: false``); any
    other fault raises.
    """
    try:
        items = session.enumerate(CLASS_URIS[schema.wmi_class])
    except WSManFault as fault:
        if fault.outcome not in UNAVAILABLE_OUTCOMES:
            raise
        return fault
    return [_stats_instance(item, session.settings.target, schema) for item in items]


def _refuse_nulls(kept: list[dict[str, Any]], schema: Schema, target: Target) -> None:
    """A kept instance with a null counter would read as 0 or as a reset: fail closed."""
    for instance in kept:
        unset = [member.wmi_name for member in schema.members
                 if instance["counters"][member.key] is None]
        if unset:
            raise WSManResponseError(f"instance {instance['instance_name']!r}: "
                                     f"{', '.join(unset)} is null, expected an unsigned 64-bit "
                                     "integer", target=target, operation="Enumerate")


def _snapshot(instances: Iterable[dict[str, Any]], matcher: re.Pattern[str], pattern: str,
              include_inactive: bool, moment: str, boot_time: str | None,
              target: Target, schema: Schema = MM) -> dict[str, Any]:
    instances = list(instances)
    wmi_class = schema.wmi_class
    if not instances:
        return _unavailable("no_instances", f"{wmi_class} is registered in {WMI_NAMESPACE} but "
                            f"has no instances: no adapter on this host reports "
                            f"{_WHAT[wmi_class]}", moment, boot_time)
    matched = [i for i in instances if matcher.fullmatch(i["instance_name"])]
    for instance in matched:
        if instance["active"] is None:  # cannot tell whether it counts: fail closed
            raise WSManResponseError(f"instance {instance['instance_name']!r}: Active is null, "
                                     "expected true or false", target=target,
                                     operation="Enumerate")
    kept = [i for i in matched if include_inactive or i["active"]]
    _refuse_nulls(kept, schema, target)
    if not kept:
        why = (f"all {len(matched)} instance(s) matching instance_name {pattern!r} are inactive "
               "(set include_inactive to keep them)" if matched
               else f"no name matched instance_name {pattern!r}")
        return _unavailable("no_instances", f"{len(instances)} instance(s) of {wmi_class} "
                            f"found, none kept: {why}", moment, boot_time)
    return {"available": True, "reason": None, "message": None, "source": "wsman",
            "collected_at": moment, "boot_time": boot_time, "instances": kept,
            "totals": sum_active(kept, schema)}
