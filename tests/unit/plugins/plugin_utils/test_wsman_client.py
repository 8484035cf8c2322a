"""Tests for plugin_utils/_wsman_client.py: the enumeration loop, instances, the snapshot."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _wsman as w
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _wsman_client as c
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import (
    COUNTER_KEYS,
    validate_snapshot,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_errors import (
    ResponseTooLargeError,
    WSManFault,
    WSManResponseError,
    WSManTransportError,
    XmlRefusedError,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_transport import (
    Reply,
    WinRMSettings,
)

DATA = Path(__file__).resolve().parents[2] / "test_data" / "wsman"
STATS_ID = "uuid:00000000-0000-4000-8000-000000000001"
PULL1_ID = "uuid:00000000-0000-4000-8000-000000000002"
PULL2_ID = "uuid:00000000-0000-4000-8000-000000000003"
OS_ID = "uuid:00000000-0000-4000-8000-000000000004"
RELEASE_ID = "uuid:00000000-0000-4000-8000-000000000005"
PASSWORD = "Pa55-w0rd!secret"
COLLECTED_AT = datetime(2026, 11, 26, 8, 0, 0, 123456, tzinfo=timezone.utc)
BOOT_TIME = "2026-11-20T07:12:03.500000Z"

# The counter values recorded in the test data, in the class's member order.
VALUES_0000 = [1, 0, 2, 0, 0, 3, 4, 7, 5, 1, 120, 60, 60, 0, 0, 1, 2, 40, 60, 3, 2]
VALUES_0001 = [1] + [0] * 20
VALUES_0002 = [1, 2, 10, 1, 1, 8, 8, 9, 4, 0, 500, 250, 250, 1, 1, 0, 3, 100, 250, 2,
               18446744073709551615]


def counters(values: list[int]) -> dict[str, int]:
    return dict(zip(COUNTER_KEYS, values, strict=True))


def load(name: str) -> bytes:
    return (DATA / name).read_bytes()


def q(namespace: str, local: str) -> str:
    return f"{{{namespace}}}{local}"


SETTINGS = WinRMSettings(host="win1", port=5986, user="ops", password=PASSWORD)


class ScriptedSender:
    """A fake transport: answers each request with the next scripted reply, records requests."""

    def __init__(self, steps: list[tuple[str, Any]]) -> None:
        self.steps = list(steps)
        self.requests: list[tuple[str, ET.Element]] = []
        self.closed = False
        self.auth_transports = ("basic",)

    def send(self, message: bytes, operation: str) -> Reply:
        assert self.steps, f"unexpected {operation} request"
        expected, reply = self.steps.pop(0)
        self.requests.append((operation, ET.fromstring(message)))
        assert operation == expected
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, bytes):
            return Reply(200, reply)
        return reply

    def close(self) -> None:
        self.closed = True

    def header(self, index: int, local: str, namespace: str = w.NS_WSMAN) -> str | None:
        return self.requests[index][1].findtext(f"{q(w.NS_SOAP, 'Header')}/{q(namespace, local)}")

    def body(self, index: int) -> ET.Element:
        body = self.requests[index][1].find(q(w.NS_SOAP, "Body"))
        assert body is not None
        return body


def ids(*values: str) -> Callable[[], str]:
    iterator: Iterator[str] = iter(values)
    return lambda: next(iterator)


@dataclass(frozen=True)
class Collected:
    snapshot: dict[str, Any]
    warnings: tuple[str, ...]
    round_trips: int


def collect(sender: ScriptedSender, *message_ids: str, session: c.Session | None = None,
            **kwargs: Any) -> Collected:
    """collect_snapshot over the scripted sender, at COLLECTED_AT."""
    session = session or c.Session(SETTINGS, sender, ids(*message_ids))
    snapshot = c.collect_snapshot(session, collected_at=COLLECTED_AT, **kwargs)
    return Collected(snapshot, tuple(session.warnings), session.round_trips)


# --- collection ------------------------------------------------------------------------------
def test_one_page_and_boot_time_in_two_round_trips() -> None:
    sender = ScriptedSender([("Enumerate", load("enumerate_end_of_sequence.xml")),
                             ("Enumerate", load("os_last_boot.xml"))])
    result = collect(sender, STATS_ID, OS_ID)
    assert result.snapshot == {
        "available": True, "reason": None, "message": None, "source": "wsman",
        "collected_at": "2026-11-26T08:00:00.123456Z", "boot_time": BOOT_TIME,
        "instances": [{"instance_name": "ROOT\\ISCSIPRT\\0000_0", "active": True,
                       "counters": counters(VALUES_0000)}],
        "totals": counters(VALUES_0000),
    }
    assert validate_snapshot(result.snapshot) is result.snapshot
    assert (result.round_trips, result.warnings) == (2, ())
    assert sender.header(0, "ResourceURI") == w.STATS_CLASS_URI
    assert sender.body(0).find(f".//{q(w.NS_WSMAN, 'Filter')}") is None
    assert sender.header(1, "ResourceURI") == w.OS_CLASS_URI
    assert sender.header(0, "MessageID", w.NS_ADDRESSING) == STATS_ID
    assert sender.closed is False  # a sender passed in belongs to the caller


def test_include_inactive_keeps_inactive_instances_out_of_the_totals() -> None:
    sender = ScriptedSender([("Enumerate", load("enumerate_end_of_sequence.xml")),
                             ("Enumerate", load("os_last_boot.xml"))])
    snapshot = collect(sender, STATS_ID, OS_ID, include_inactive=True).snapshot
    assert [(i["instance_name"], i["active"]) for i in snapshot["instances"]] == [
        ("ROOT\\ISCSIPRT\\0000_0", True), ("ROOT\\ISCSIPRT\\0001_0", False)]
    assert snapshot["instances"][1]["counters"] == counters(VALUES_0001)
    assert snapshot["totals"] == counters(VALUES_0000)


def test_pulls_until_end_of_sequence_with_the_latest_context() -> None:
    sender = ScriptedSender([("Enumerate", load("enumerate_needs_pull.xml")),
                             ("Pull", load("pull_more.xml")),
                             ("Pull", load("pull_end_of_sequence.xml")),
                             ("Enumerate", load("os_last_boot.xml"))])
    result = collect(sender, STATS_ID, PULL1_ID, PULL2_ID, OS_ID, include_inactive=True)
    names = [i["instance_name"] for i in result.snapshot["instances"]]
    assert names == ["ROOT\\ISCSIPRT\\0000_0", "ROOT\\ISCSIPRT\\0001_0", "ROOT\\ISCSIPRT\\0002_0"]
    expected_totals = {k: a + b for (k, a), b
                       in zip(counters(VALUES_0000).items(), VALUES_0002, strict=True)}
    assert result.snapshot["totals"] == expected_totals
    assert result.snapshot["totals"]["soft_associations"] == 2 + 18446744073709551615
    assert result.round_trips == 4
    context = f"{q(w.NS_ENUMERATION, 'Pull')}/{q(w.NS_ENUMERATION, 'EnumerationContext')}"
    assert sender.body(1).findtext(context) == "uuid:0F3C2A11-7E55-4B8C-A0E2-1D2C3B4A5003"
    assert sender.body(2).findtext(context) == "uuid:0F3C2A11-7E55-4B8C-A0E2-1D2C3B4A5004"
    assert sender.header(1, "ResourceURI") == w.STATS_CLASS_URI


RELEASE_CONTEXT = f"{q(w.NS_ENUMERATION, 'Release')}/{q(w.NS_ENUMERATION, 'EnumerationContext')}"


def test_relates_to_mismatch_on_a_pull_releases_the_enumeration() -> None:
    sender = ScriptedSender([("Enumerate", load("enumerate_needs_pull.xml")),
                             ("Pull", load("pull_more.xml")),
                             ("Release", load("release_response.xml"))])
    with pytest.raises(WSManResponseError, match=re.escape(
            "wsman: unusable reply from win1:5986 (user 'ops') to Pull: RelatesTo is "
            f"{PULL1_ID!r}, expected the MessageID sent ('uuid:not-the-pull')")) as caught:
        collect(sender, STATS_ID, "uuid:not-the-pull", RELEASE_ID)
    assert sender.body(2).findtext(RELEASE_CONTEXT) == "uuid:0F3C2A11-7E55-4B8C-A0E2-1D2C3B4A5003"
    assert sender.header(2, "ResourceURI") == w.STATS_CLASS_URI
    assert (caught.value.operation, caught.value.target) == ("Pull", SETTINGS.target)
    assert sender.steps == []


def test_a_pull_reply_over_the_bound_releases_the_enumeration() -> None:
    big = load("pull_more.xml") + b" " * w.MAX_RESPONSE_BYTES
    sender = ScriptedSender([("Enumerate", load("enumerate_needs_pull.xml")), ("Pull", big),
                             ("Release", load("release_response.xml"))])
    with pytest.raises(ResponseTooLargeError, match=re.escape(
            f"wsman: unusable reply from win1:5986 (user 'ops') to Pull: the reply is larger "
            f"than the limit of {w.MAX_RESPONSE_BYTES} bytes (at least {len(big)} bytes)")):
        collect(sender, STATS_ID, PULL1_ID, RELEASE_ID)
    assert [request[0] for request in sender.requests] == ["Enumerate", "Pull", "Release"]


def test_an_endless_enumeration_is_stopped_and_released_and_a_failed_release_warns(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(c, "MAX_PULLS", 2)
    sender = ScriptedSender([("Enumerate", load("enumerate_needs_pull.xml")),
                             ("Pull", load("pull_more.xml")),
                             ("Pull", load("pull_more.xml")),
                             ("Release", Reply(500, load("fault_operation_timeout.xml").replace(
                                 STATS_ID.encode(), RELEASE_ID.encode())))])
    session = c.Session(SETTINGS, sender, ids(STATS_ID, PULL1_ID, PULL1_ID, RELEASE_ID))
    with pytest.raises(WSManResponseError, match=re.escape(
            f"wsman: unusable reply from win1:5986 (user 'ops') to Pull: the enumeration of "
            f"{w.STATS_CLASS_URI} did not end after 2 Pull requests")):
        collect(sender, session=session)
    assert sender.body(3).findtext(RELEASE_CONTEXT) == "uuid:0F3C2A11-7E55-4B8C-A0E2-1D2C3B4A5004"
    assert session.warnings == [
        f"could not release the enumeration of {w.STATS_CLASS_URI}: wsman: win1:5986 (user "
        f"'ops') did not finish Release of {w.STATS_CLASS_URI} within its OperationTimeout of "
        "20 s: fault 0x80338029 ERROR_WSMAN_OPERATION_TIMEDOUT (TimedOut): The WS-Management "
        "service cannot complete the operation within the time specified in OperationTimeout. "
        "A WMI provider (the iSCSI adapter's WDM driver) is hung or slow; the task fails rather "
        "than waiting. Raise ansible_winrm_operation_timeout_sec if the provider is only slow"]


def test_too_many_items_in_one_reply_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(c, "MAX_ITEMS", 1)
    sender = ScriptedSender([("Enumerate", load("enumerate_end_of_sequence.xml"))])
    with pytest.raises(WSManResponseError, match=re.escape(
            f"to Enumerate: the enumeration of {w.STATS_CLASS_URI} returned more than 1 items")):
        collect(sender, STATS_ID)
    assert [request[0] for request in sender.requests] == ["Enumerate"]  # it had ended


@pytest.mark.parametrize(("fault", "reason", "message"), [
    pytest.param("fault_cannot_process_filter.xml", "class_not_found",
                 "The specified class does not exist in the given namespace.",
                 id="class-not-found-cannot-process-filter"),
    pytest.param("fault_invalid_resource_uri.xml", "class_not_found",
                 "The WS-Management service cannot process the request. The service cannot "
                 "find the resource identified by the resource URI and selectors.",
                 id="class-not-found-uri"),
    pytest.param("fault_wmierror_invalid_resource_uri.xml",
                 "class_not_found", "The WS-Management service cannot process the request. The "
                 "service cannot find the resource identified by the resource URI and "
                 "selectors.", id="class-not-found-msft-wmierror"),
    pytest.param("fault_provider_not_capable.xml", "provider_error",
                 "The WS-Management service cannot process the request. The WMI service "
                 "reported that the WMI provider could not perform the requested operation. "
                 "(WDM specific return code: 4200)", id="provider-error"),
    pytest.param("fault_extended_status_dmtf.xml", "provider_error",
                 "The WS-Management service cannot process the request. The WMI service "
                 "reported that the WMI provider could not perform the requested operation. "
                 "(WDM specific return code: 4200)", id="provider-error-dmtf-extended-status"),
    pytest.param("fault_passthrough_hresult.xml", "provider_error",
                 "The WS-Management service cannot process the request. The WMI service or the "
                 "WMI provider returned an unknown error: HRESULT 0x80041001",
                 id="provider-error-pass-through-hresult"),
    pytest.param("fault_msft_wmierror_only.xml", "provider_error", "Not supported",
                 id="provider-error-msft-wmierror-only"),
])
def test_documented_faults_become_unavailable_snapshots(fault: str, reason: str,
                                                        message: str) -> None:
    sender = ScriptedSender([("Enumerate", Reply(500, load(fault))),
                             ("Enumerate", load("os_last_boot.xml"))])
    result = collect(sender, STATS_ID, OS_ID)
    assert result.snapshot == {
        "available": False, "reason": reason, "message": message, "source": "wsman",
        "collected_at": "2026-11-26T08:00:00.123456Z", "boot_time": BOOT_TIME,
        "instances": [], "totals": {}}
    assert result.round_trips == 2
    assert sender.header(0, "ResourceURI") == w.STATS_CLASS_URI


def test_access_denied_fails_naming_the_account_and_the_fix() -> None:
    sender = ScriptedSender([("Enumerate", Reply(500, load("fault_access_denied.xml")))])
    with pytest.raises(WSManFault, match=re.escape(
            "wsman: access denied to user 'ops' on win1:5986: Enumerate of "
            f"{w.STATS_CLASS_URI} failed with fault 0x80338104 ERROR_WSMAN_WMI_SVC_ACCESS_DENIED "
            "(AccessDenied): The WS-Management service cannot process the request. The WMI "
            "service returned an 'access denied' error. The account needs administrator rights "
            "on root\\WMI")) as caught:
        collect(sender, STATS_ID)
    assert caught.value.unreachable is False
    assert caught.value.outcome == "access_denied"


def test_a_timed_out_provider_fails_the_task_and_is_not_unreachable() -> None:
    sender = ScriptedSender([("Enumerate", Reply(500, load("fault_timed_out_activity_id.xml")))])
    with pytest.raises(WSManFault, match=re.escape(
            f"wsman: win1:5986 (user 'ops') did not finish Enumerate of {w.STATS_CLASS_URI} "
            "within its OperationTimeout of 20 s: fault 0x80338029 "
            "ERROR_WSMAN_OPERATION_TIMEDOUT (TimedOut)")) as caught:
        collect(sender, STATS_ID)
    assert caught.value.outcome == "timed_out"
    assert caught.value.unreachable is False


@pytest.mark.parametrize(("code", "outcome", "words"), [
    pytest.param(2147749894, None, "with fault 0x80041006 (InternalError)", id="unknown-hresult"),
    pytest.param(2147749902, "invalid_namespace", "with fault 0x8004100E "
                 "WBEM_E_INVALID_NAMESPACE (InternalError)", id="invalid-namespace"),
])
def test_other_faults_fail_naming_the_code(code: int, outcome: str | None, words: str) -> None:
    fault = load("fault_passthrough_hresult.xml").replace(b'Code="2147749889"',
                                                          f'Code="{code}"'.encode())
    sender = ScriptedSender([("Enumerate", Reply(500, fault))])
    with pytest.raises(WSManFault, match=re.escape(
            f"wsman: win1:5986 (user 'ops') answered Enumerate of {w.STATS_CLASS_URI} "
            + words)) as caught:
        collect(sender, STATS_ID)
    assert caught.value.outcome == outcome


def test_a_provider_fault_after_some_instances_is_unavailable_and_released() -> None:
    # Partial enumerations are never returned as data: a fault on a Pull after the first page
    # is classified like the same fault on the Enumerate (the module's Get-CimInstance, with
    # -ErrorAction Stop, returns nothing either).
    fault = load("fault_passthrough_hresult.xml").replace(STATS_ID.encode(), PULL1_ID.encode())
    sender = ScriptedSender([("Enumerate", load("enumerate_needs_pull.xml")),
                             ("Pull", Reply(500, fault)),
                             ("Release", load("release_response.xml")),
                             ("Enumerate", load("os_last_boot.xml"))])
    result = collect(sender, STATS_ID, PULL1_ID, RELEASE_ID, OS_ID)
    assert result.snapshot["available"] is False
    assert result.snapshot["reason"] == "provider_error"
    assert result.snapshot["instances"] == [] and result.snapshot["totals"] == {}
    assert sender.body(2).findtext(RELEASE_CONTEXT) == "uuid:0F3C2A11-7E55-4B8C-A0E2-1D2C3B4A5003"


def test_an_unknown_fault_after_some_instances_fails() -> None:
    fault = load("fault_passthrough_hresult.xml").replace(STATS_ID.encode(), PULL1_ID.encode())
    fault = fault.replace(b'Code="2147749889"', b'Code="2147749894"')
    sender = ScriptedSender([("Enumerate", load("enumerate_needs_pull.xml")),
                             ("Pull", Reply(500, fault)),
                             ("Release", load("release_response.xml"))])
    with pytest.raises(WSManFault, match=re.escape("with fault 0x80041006 (InternalError)")):
        collect(sender, STATS_ID, PULL1_ID, RELEASE_ID)


@pytest.mark.parametrize(("reply", "message"), [
    pytest.param(Reply(404, b""), "wsman: win1:5986 (user 'ops') answered to Enumerate with "
                 "HTTP 404: the reply is not a WS-Management fault", id="404-empty"),
    pytest.param(Reply(500, b"<html>oops</html>"), "wsman: win1:5986 (user 'ops') answered "
                 "to Enumerate with HTTP 500: the reply is not a WS-Management fault",
                 id="500-not-soap"),
])
def test_http_errors_without_a_fault(reply: Reply, message: str) -> None:
    with pytest.raises(WSManTransportError, match=re.escape(message)) as caught:
        collect(ScriptedSender([("Enumerate", reply)]), STATS_ID)
    assert caught.value.http_status == reply.status


def test_a_500_fault_about_another_message_is_refused() -> None:
    sender = ScriptedSender([("Enumerate", Reply(500, load("fault_access_denied.xml")))])
    with pytest.raises(WSManResponseError, match=re.escape(
            f"to Enumerate: a fault relates to {STATS_ID!r}, not to the request sent "
            "('uuid:mine')")):
        collect(sender, "uuid:mine")


def test_a_dtd_in_a_500_reply_is_refused_not_parsed() -> None:
    sender = ScriptedSender([("Enumerate", Reply(500, load("dtd_entity_bomb.xml")))])
    with pytest.raises(XmlRefusedError):
        collect(sender, STATS_ID)


def test_zero_instances_is_no_instances() -> None:
    sender = ScriptedSender([("Enumerate", load("enumerate_empty.xml")),
                             ("Enumerate", load("os_last_boot.xml"))])
    snapshot = collect(sender, STATS_ID, OS_ID).snapshot
    assert (snapshot["available"], snapshot["reason"], snapshot["message"]) == (
        False, "no_instances", "MSiSCSI_MMIPSECStats is registered in root\\WMI but has no "
        "instances: no adapter on this host reports IPsec main-mode statistics")


@pytest.mark.parametrize(("pattern", "include_inactive", "message"), [
    pytest.param("*0001*", False, "2 instance(s) of MSiSCSI_MMIPSECStats found, none kept: all "
                 "1 instance(s) matching instance_name '*0001*' are inactive (set "
                 "include_inactive to keep them)", id="only-inactive-matches"),
    pytest.param("ROOT\\ISCSIPRT\\9*", True, "2 instance(s) of MSiSCSI_MMIPSECStats found, none "
                 "kept: no name matched instance_name 'ROOT\\\\ISCSIPRT\\\\9*'", id="no-match"),
])
def test_filtered_to_nothing_is_no_instances_saying_why(pattern: str, include_inactive: bool,
                                                        message: str) -> None:
    sender = ScriptedSender([("Enumerate", load("enumerate_end_of_sequence.xml")),
                             ("Enumerate", load("os_last_boot.xml"))])
    snapshot = collect(sender, STATS_ID, OS_ID, instance_name=pattern,
                       include_inactive=include_inactive).snapshot
    assert (snapshot["reason"], snapshot["message"], snapshot["instances"]) == (
        "no_instances", message, [])


def test_instance_name_filter_is_case_insensitive() -> None:
    sender = ScriptedSender([("Enumerate", load("enumerate_end_of_sequence.xml")),
                             ("Enumerate", load("os_last_boot.xml"))])
    snapshot = collect(sender, STATS_ID, OS_ID, instance_name="root\\iscsiprt\\000[01]_?",
                       include_inactive=True).snapshot
    assert len(snapshot["instances"]) == 2


def test_boot_time_failure_is_null_with_a_warning() -> None:
    fault = load("fault_access_denied.xml").replace(STATS_ID.encode(), OS_ID.encode())
    sender = ScriptedSender([("Enumerate", load("enumerate_end_of_sequence.xml")),
                             ("Enumerate", Reply(500, fault))])
    result = collect(sender, STATS_ID, OS_ID)
    assert result.snapshot["boot_time"] is None
    assert result.snapshot["available"] is True
    assert result.warnings == (
        "boot_time is null: could not read Win32_OperatingSystem.LastBootUpTime from win1: "
        f"wsman: access denied to user 'ops' on win1:5986: Enumerate of {w.OS_CLASS_URI} failed "
        "with fault 0x80338104 ERROR_WSMAN_WMI_SVC_ACCESS_DENIED (AccessDenied): The "
        "WS-Management service cannot process the request. The WMI service returned an 'access "
        "denied' error. The account needs administrator rights on root\\WMI: make it a member of "
        "the host's Administrators group, or grant it 'Enable Account' and 'Remote Enable' on "
        "root\\WMI (WMI Control) and access to WinRM",)


def test_boot_time_without_an_offset_is_null_with_a_warning() -> None:
    os_reply = load("os_last_boot.xml").replace(b"2026-11-20T09:12:03.5+02:00",
                                                b"2026-11-20T09:12:03.5")
    sender = ScriptedSender([("Enumerate", load("enumerate_end_of_sequence.xml")),
                             ("Enumerate", os_reply)])
    result = collect(sender, STATS_ID, OS_ID)
    assert result.snapshot["boot_time"] is None
    assert result.warnings == (
        "boot_time is null: could not read Win32_OperatingSystem.LastBootUpTime from win1: "
        "expected an xs:dateTime with a time-zone offset, got '2026-11-20T09:12:03.5'",)


@pytest.mark.parametrize(("old", "new", "message"), [
    pytest.param(b"<p:SoftAssociations>2</p:SoftAssociations>",
                 b"<p:SoftAssociations>18446744073709551616</p:SoftAssociations>",
                 "instance 'ROOT\\\\ISCSIPRT\\\\0000_0': SoftAssociations is "
                 "'18446744073709551616', expected an unsigned 64-bit integer", id="over-uint64"),
    pytest.param(b"<p:KeyUpdates>60</p:KeyUpdates>", b'<p:KeyUpdates xsi:nil="true"/>',
                 "instance 'ROOT\\\\ISCSIPRT\\\\0000_0': KeyUpdates is null, expected an "
                 "unsigned 64-bit integer", id="nil-counter"),
    pytest.param(b"<p:Active>true</p:Active>", b'<p:Active xsi:nil="true"/>',
                 "instance 'ROOT\\\\ISCSIPRT\\\\0000_0': Active is null, expected true or false",
                 id="nil-active"),
    pytest.param(b"<p:Active>true</p:Active>", b"<p:Active>maybe</p:Active>",
                 "instance 'ROOT\\\\ISCSIPRT\\\\0000_0': Active is 'maybe', expected true or false",
                 id="bad-boolean"),
])
def test_bad_instance_data_fails(old: bytes, new: bytes, message: str) -> None:
    data = load("enumerate_end_of_sequence.xml").replace(old, new, 1)
    assert data != load("enumerate_end_of_sequence.xml")
    sender = ScriptedSender([("Enumerate", data), ("Enumerate", load("os_last_boot.xml"))])
    with pytest.raises(WSManResponseError, match=re.escape(
            "wsman: unusable reply from win1:5986 (user 'ops') to Enumerate: " + message)):
        collect(sender, STATS_ID, OS_ID, include_inactive=True)


def test_invalid_pattern_fails_before_any_request() -> None:
    sender = ScriptedSender([])
    with pytest.raises(InputError, match=re.escape(
            "instance_name: expected a PowerShell -like wildcard pattern in which every '[' is "
            "closed by ']' (write '`[' to match a literal '['), got 'ROOT[' (str)")):
        collect(sender, instance_name="ROOT[")
    assert sender.requests == []


# --- wildcards -------------------------------------------------------------------------------
@pytest.mark.parametrize(("pattern", "name", "matches"), [
    pytest.param("*", "ROOT\\ISCSIPRT\\0000_0", True, id="star-all"),
    pytest.param("*", "", True, id="star-empty"),
    pytest.param("ROOT\\ISCSIPRT\\0000_0", "ROOT\\ISCSIPRT\\0000_0", True, id="exact"),
    pytest.param("ROOT\\ISCSIPRT\\0000_0", "root\\iscsiprt\\0000_0", True, id="case"),
    pytest.param("ROOT\\ISCSIPRT\\000?_0", "ROOT\\ISCSIPRT\\0003_0", True, id="question"),
    pytest.param("ROOT\\ISCSIPRT\\000?_0", "ROOT\\ISCSIPRT\\00003_0", False, id="question-one"),
    pytest.param("*0001*", "ROOT\\ISCSIPRT\\0001_0", True, id="contains"),
    pytest.param("*0001", "ROOT\\ISCSIPRT\\0001_0", False, id="anchored-end"),
    pytest.param("[abc]x", "bx", True, id="set"),
    pytest.param("[abc]x", "dx", False, id="set-miss"),
    pytest.param("[a-c]x", "Bx", True, id="range-case"),
    pytest.param("[a-c]x", "-x", False, id="range-not-dash"),
    pytest.param("[a-]", "-", True, id="trailing-dash-literal"),
    pytest.param("[]]", "]", True, id="first-bracket-literal"),
    pytest.param("[!a]", "!", True, id="no-negation-bang"),
    pytest.param("[!a]", "b", False, id="no-negation-miss"),
    pytest.param("[^a]", "^", True, id="no-negation-caret"),
    pytest.param("[a`-c]", "b", False, id="escaped-dash-is-no-range"),
    pytest.param("[a`-c]", "-", True, id="escaped-dash-literal"),
    pytest.param("`*", "*", True, id="escaped-star"),
    pytest.param("`*", "x", False, id="escaped-star-miss"),
    pytest.param("`[x]", "[x]", True, id="escaped-bracket"),
    pytest.param("a`", "a`", True, id="trailing-backtick"),
    pytest.param("`", "", True, id="lone-backtick-is-empty"),
    pytest.param("``", "`", True, id="escaped-backtick"),
    pytest.param("a\\b", "a\\b", True, id="backslash-literal"),
    pytest.param("a.b", "axb", False, id="dot-literal"),
    pytest.param("a_b", "axb", False, id="underscore-literal"),
    pytest.param("a&b", "a&b", True, id="ampersand-literal"),
    pytest.param("a+b(c)", "a+b(c)", True, id="regex-chars-literal"),
    pytest.param("?", "\n", True, id="question-any-char"),
])
def test_wildcard_semantics(pattern: str, name: str, matches: bool) -> None:
    assert bool(c.compile_wildcard(pattern).fullmatch(name)) is matches


UNCLOSED = ("a PowerShell -like wildcard pattern in which every '[' is closed by ']' (write "
            "'`[' to match a literal '[')")


@pytest.mark.parametrize(("pattern", "expected"), [
    pytest.param("[abc", UNCLOSED, id="unclosed"),
    pytest.param("[`]", UNCLOSED, id="escaped-close"),
    pytest.param("[z-a]", "a PowerShell -like wildcard pattern whose ranges run forwards (not "
                 "'z-a')", id="backwards"),
])
def test_invalid_wildcards(pattern: str, expected: str) -> None:
    with pytest.raises(InputError, match=re.escape(
            f"instance_name: expected {expected}, got {pattern!r} (str)")) as caught:
        c.compile_wildcard(pattern)
    assert (caught.value.field, caught.value.expected, caught.value.got) == (
        "instance_name", expected, pattern)


# --- WMI instances and datetimes -------------------------------------------------------------
def test_parse_instance_reads_nil_arrays_and_nested_values() -> None:
    data = (f'<p:Thing xmlns:p="{w.WMI_URI_BASE}root/cimv2/Thing" xmlns:xsi="{w.NS_XSI}" '
            f'xmlns:cim="{w.NS_CIM}" xmlns:o="urn:other"><p:A xsi:nil="true"/><p:B>1</p:B>'
            '<p:B>2</p:B><p:C></p:C><p:D><cim:Datetime>2026-01-01T00:00:00Z</cim:Datetime>'
            '</p:D><o:E>ignored</o:E></p:Thing>').encode()
    properties = c.parse_instance(w.parse_xml(data), f"{w.WMI_URI_BASE}root/cimv2/thing")
    assert properties is not None
    assert {k: v for k, v in properties.items() if k != "D"} == {
        "A": None, "B": ["1", "2"], "C": ""}
    assert c.parse_cim_datetime(properties["D"]) == datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_parse_instance_ignores_other_classes() -> None:
    items = ET.fromstring(load("enumerate_end_of_sequence.xml")).iter(
        f"{{{w.STATS_CLASS_URI}}}MSiSCSI_MMIPSECStats")
    assert c.parse_instance(next(items), w.OS_CLASS_URI) is None
    assert c.parse_instance(ET.Element("plain"), w.OS_CLASS_URI) is None


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("2026-11-20T09:12:03.5+02:00", datetime(2026, 11, 20, 7, 12, 3, 500000,
                                                         tzinfo=timezone.utc), id="offset"),
    pytest.param("2026-11-20T07:12:03Z", datetime(2026, 11, 20, 7, 12, 3, tzinfo=timezone.utc),
                 id="zulu"),
    pytest.param("2026-11-20T01:42:03.1234567-05:30", datetime(2026, 11, 20, 7, 12, 3, 123456,
                                                               tzinfo=timezone.utc),
                 id="seven-digit-fraction-negative-offset"),
    # The repeated fall-back hour (US Eastern, 2026-11-01): the same wall-clock time twice, told
    # apart by the offset Windows writes, so a DST change never reads as a reboot.
    pytest.param("2026-11-01T01:30:00-04:00", datetime(2026, 11, 1, 5, 30, tzinfo=timezone.utc),
                 id="dst-first-pass-of-the-repeated-hour"),
    pytest.param("2026-11-01T01:30:00-05:00", datetime(2026, 11, 1, 6, 30, tzinfo=timezone.utc),
                 id="dst-second-pass-of-the-repeated-hour"),
    pytest.param("2013-04-10T16:17:23.5Z",
                 datetime(2013, 4, 10, 16, 17, 23, 500000, tzinfo=timezone.utc),
                 id="zulu-with-fraction-server-2008-r2"),
])
def test_cim_datetime_to_utc(text: str, expected: datetime) -> None:
    assert c.parse_cim_datetime(text) == expected


@pytest.mark.parametrize(("value", "message"), [
    pytest.param("2026-11-20T07:12:03", "expected an xs:dateTime with a time-zone offset, got "
                 "'2026-11-20T07:12:03'", id="no-offset"),
    pytest.param(None, "expected a cim:Datetime, got None", id="nil"),
])
def test_cim_datetime_refuses_what_it_cannot_place_in_time(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        c.parse_cim_datetime(value)


@pytest.mark.parametrize("include_inactive", [False, True])
def test_nulls_in_an_inactive_instance_matter_only_when_it_is_kept(
        include_inactive: bool) -> None:
    data = load("enumerate_end_of_sequence.xml")
    second = data.index(b"ROOT\\ISCSIPRT\\0001_0")
    data = data[:second] + data[second:].replace(
        b"<p:TotalGetSPI>0</p:TotalGetSPI>", b'<p:TotalGetSPI xsi:nil="true"/>', 1)
    assert data != load("enumerate_end_of_sequence.xml")
    sender = ScriptedSender([("Enumerate", data), ("Enumerate", load("os_last_boot.xml"))])
    if not include_inactive:
        snapshot = collect(sender, STATS_ID, OS_ID).snapshot
        assert [i["instance_name"] for i in snapshot["instances"]] == ["ROOT\\ISCSIPRT\\0000_0"]
        return
    with pytest.raises(WSManResponseError, match=re.escape(
            "instance 'ROOT\\\\ISCSIPRT\\\\0001_0': TotalGetSPI is null, expected an unsigned "
            "64-bit integer")):
        collect(sender, STATS_ID, OS_ID, include_inactive=True)
