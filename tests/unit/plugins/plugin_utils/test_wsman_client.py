"""Tests for plugin_utils/_wsman_client.py: settings, wildcards, collection, pywinrm transport."""

from __future__ import annotations

import base64
import re
import socket
import ssl
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _wsman as w
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _wsman_client as c
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import (
    COUNTER_KEYS,
    validate_snapshot,
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


SETTINGS = c.WinRMSettings(host="win1", port=5986, user="ops", password=PASSWORD)


class ScriptedSender:
    """A fake transport: answers each request with the next scripted reply, records requests."""

    def __init__(self, steps: list[tuple[str, Any]]) -> None:
        self.steps = list(steps)
        self.requests: list[tuple[str, ET.Element]] = []
        self.closed = False

    def send(self, message: bytes, operation: str) -> c.Reply:
        assert self.steps, f"unexpected {operation} request"
        expected, reply = self.steps.pop(0)
        self.requests.append((operation, ET.fromstring(message)))
        assert operation == expected
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, bytes):
            return c.Reply(200, reply)
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


def collect(sender: ScriptedSender, *message_ids: str, **kwargs: Any) -> c.CollectResult:
    kwargs.setdefault("collected_at", COLLECTED_AT)
    return c.collect_snapshot(SETTINGS, sender=sender, new_message_id=ids(*message_ids),
                              **kwargs)


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
    with pytest.raises(w.WSManResponseError, match=re.escape(
            "wsman: unusable reply from win1:5986 (user 'ops') to Pull: RelatesTo is "
            f"{PULL1_ID!r}, expected the MessageID sent ('uuid:not-the-pull')")) as caught:
        collect(sender, STATS_ID, "uuid:not-the-pull", RELEASE_ID)
    assert sender.body(2).findtext(RELEASE_CONTEXT) == "uuid:0F3C2A11-7E55-4B8C-A0E2-1D2C3B4A5003"
    assert sender.header(2, "ResourceURI") == w.STATS_CLASS_URI
    assert caught.value.warnings == ()
    assert sender.steps == []


def test_a_pull_reply_over_the_bound_releases_the_enumeration() -> None:
    first = load("enumerate_needs_pull.xml")
    big = load("pull_more.xml") + b" " * len(first)
    sender = ScriptedSender([("Enumerate", first), ("Pull", big),
                             ("Release", load("release_response.xml"))])
    limit = len(first) + 10
    with pytest.raises(w.ResponseTooLargeError, match=re.escape(
            f"wsman: unusable reply from win1:5986 (user 'ops') to Pull: the reply is larger "
            f"than the limit of {limit} bytes (at least {len(big)} bytes)")):
        collect(sender, STATS_ID, PULL1_ID, RELEASE_ID, max_response_bytes=limit)
    assert [request[0] for request in sender.requests] == ["Enumerate", "Pull", "Release"]


def test_an_endless_enumeration_is_stopped_and_released_and_a_failed_release_warns() -> None:
    sender = ScriptedSender([("Enumerate", load("enumerate_needs_pull.xml")),
                             ("Pull", load("pull_more.xml")),
                             ("Pull", load("pull_more.xml")),
                             ("Release", c.Reply(500, load("fault_operation_timeout.xml").replace(
                                 STATS_ID.encode(), RELEASE_ID.encode())))])
    with pytest.raises(w.WSManResponseError, match=re.escape(
            f"wsman: unusable reply from win1:5986 (user 'ops') to Pull: the enumeration of "
            f"{w.STATS_CLASS_URI} did not end after 2 Pull requests")) as caught:
        collect(sender, STATS_ID, PULL1_ID, PULL1_ID, RELEASE_ID, max_pulls=2)
    assert sender.body(3).findtext(RELEASE_CONTEXT) == "uuid:0F3C2A11-7E55-4B8C-A0E2-1D2C3B4A5004"
    assert caught.value.warnings == (
        f"could not release the enumeration of {w.STATS_CLASS_URI}: wsman: win1:5986 (user "
        "'ops') answered Release with fault 0x80338029 ERROR_WSMAN_OPERATION_TIMEDOUT "
        "(TimedOut): The WS-Management service cannot complete the operation within the time "
        "specified in OperationTimeout.",)


def test_too_many_items_in_one_reply_is_refused() -> None:
    sender = ScriptedSender([("Enumerate", load("enumerate_end_of_sequence.xml"))])
    with pytest.raises(w.WSManResponseError, match=re.escape(
            f"the enumeration of {w.STATS_CLASS_URI} returned more than 1 items")):
        collect(sender, STATS_ID, max_items=1)


@pytest.mark.parametrize(("query", "uri", "fault", "reason", "message"), [
    pytest.param("wql", w.STATS_WQL_URI, "fault_cannot_process_filter.xml", "class_not_found",
                 "The specified class does not exist in the given namespace.",
                 id="class-not-found-wql"),
    pytest.param("class", w.STATS_CLASS_URI, "fault_invalid_resource_uri.xml", "class_not_found",
                 "The WS-Management service cannot process the request. The service cannot "
                 "find the resource identified by the resource URI and selectors.",
                 id="class-not-found-uri"),
    pytest.param("class", w.STATS_CLASS_URI, "fault_wmierror_invalid_resource_uri.xml",
                 "class_not_found", "The WS-Management service cannot process the request. The "
                 "service cannot find the resource identified by the resource URI and "
                 "selectors.", id="class-not-found-msft-wmierror"),
    pytest.param("class", w.STATS_CLASS_URI, "fault_provider_not_capable.xml", "provider_error",
                 "The WS-Management service cannot process the request. The WMI service "
                 "reported that the WMI provider could not perform the requested operation. "
                 "(WDM specific return code: 4200)", id="provider-error"),
])
def test_documented_faults_become_unavailable_snapshots(query: str, uri: str, fault: str,
                                                        reason: str, message: str) -> None:
    sender = ScriptedSender([("Enumerate", c.Reply(500, load(fault))),
                             ("Enumerate", load("os_last_boot.xml"))])
    result = collect(sender, STATS_ID, OS_ID, query=query)
    assert result.snapshot == {
        "available": False, "reason": reason, "message": message, "source": "wsman",
        "collected_at": "2026-11-26T08:00:00.123456Z", "boot_time": BOOT_TIME,
        "instances": [], "totals": {}}
    assert result.round_trips == 2
    assert sender.header(0, "ResourceURI") == uri
    wql = sender.body(0).findtext(f".//{q(w.NS_WSMAN, 'Filter')}")
    assert wql == ("SELECT * FROM MSiSCSI_MMIPSECStats" if query == "wql" else None)


def test_access_denied_fails_naming_the_account_and_the_fix() -> None:
    sender = ScriptedSender([("Enumerate", c.Reply(500, load("fault_access_denied.xml")))])
    with pytest.raises(w.WSManFault, match=re.escape(
            "wsman: access denied to user 'ops' on win1:5986: Enumerate of "
            f"{w.STATS_CLASS_URI} failed with fault 0x80338104 ERROR_WSMAN_WMI_SVC_ACCESS_DENIED "
            "(AccessDenied): The WS-Management service cannot process the request. The WMI "
            "service returned an 'access denied' error. The account needs administrator rights "
            "on root\\WMI")) as caught:
        collect(sender, STATS_ID)
    assert caught.value.unreachable is False
    assert caught.value.outcome == "access_denied"


def test_other_faults_fail() -> None:
    sender = ScriptedSender([("Enumerate", c.Reply(500, load("fault_operation_timeout.xml")))])
    with pytest.raises(w.WSManFault, match=re.escape(
            f"wsman: win1:5986 (user 'ops') answered Enumerate of {w.STATS_CLASS_URI} with fault "
            "0x80338029 ERROR_WSMAN_OPERATION_TIMEDOUT (TimedOut)")):
        collect(sender, STATS_ID)


@pytest.mark.parametrize(("reply", "message"), [
    pytest.param(c.Reply(404, b""), "wsman: win1:5986 (user 'ops') answered to Enumerate with "
                 "HTTP 404: the reply is not a WS-Management fault", id="404-empty"),
    pytest.param(c.Reply(500, b"<html>oops</html>"), "wsman: win1:5986 (user 'ops') answered "
                 "to Enumerate with HTTP 500: the reply is not a WS-Management fault",
                 id="500-not-soap"),
])
def test_http_errors_without_a_fault(reply: c.Reply, message: str) -> None:
    with pytest.raises(w.WSManTransportError, match=re.escape(message)) as caught:
        collect(ScriptedSender([("Enumerate", reply)]), STATS_ID)
    assert caught.value.http_status == reply.status


def test_a_500_fault_about_another_message_is_refused() -> None:
    sender = ScriptedSender([("Enumerate", c.Reply(500, load("fault_access_denied.xml")))])
    with pytest.raises(w.WSManResponseError, match=re.escape(
            f"to Enumerate: a fault relates to {STATS_ID!r}, not to the request sent "
            "('uuid:mine')")):
        collect(sender, "uuid:mine")


def test_a_dtd_in_a_500_reply_is_refused_not_parsed() -> None:
    sender = ScriptedSender([("Enumerate", c.Reply(500, load("dtd_entity_bomb.xml")))])
    with pytest.raises(w.XmlRefusedError):
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
                             ("Enumerate", c.Reply(500, fault))])
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
                 "instance 'ROOT\\\\ISCSIPRT\\\\0000_0': KeyUpdates is None, expected an "
                 "unsigned 64-bit integer", id="nil-counter"),
    pytest.param(b"<p:Active>true</p:Active>", b"<p:Active>maybe</p:Active>",
                 "instance 'ROOT\\\\ISCSIPRT\\\\0000_0': Active is 'maybe', expected true or false",
                 id="bad-boolean"),
    pytest.param(b"ROOT\\ISCSIPRT\\0001_0", b"root\\iscsiprt\\0000_0",
                 "the host's data is not a valid snapshot: host 'win1': "
                 "instances[1].instance_name: expected a name used once", id="duplicate-name"),
])
def test_bad_instance_data_fails(old: bytes, new: bytes, message: str) -> None:
    data = load("enumerate_end_of_sequence.xml").replace(old, new, 1)
    assert data != load("enumerate_end_of_sequence.xml")
    sender = ScriptedSender([("Enumerate", data), ("Enumerate", load("os_last_boot.xml"))])
    with pytest.raises(w.WSManResponseError, match=re.escape(message)):
        collect(sender, STATS_ID, OS_ID, include_inactive=True)


def test_invalid_pattern_fails_before_any_request() -> None:
    sender = ScriptedSender([])
    with pytest.raises(c.WildcardPatternError, match=re.escape(
            "instance_name 'ROOT[' is not a valid wildcard pattern: a '[' is never closed by "
            "']' (write '`[' to match a literal '[')")):
        collect(sender, instance_name="ROOT[")
    assert sender.requests == []


@pytest.mark.parametrize(("kwargs", "message"), [
    pytest.param({"include_inactive": "yes"}, "include_inactive: expected true or false, got "
                 "'yes' (str)", id="include-inactive"),
    pytest.param({"query": "xpath"}, "query: expected one of ['class', 'wql'], got 'xpath' (str)",
                 id="query"),
    pytest.param({"collected_at": datetime(2026, 1, 1)}, "collected_at: expected an aware "
                 "datetime, got a naive one", id="naive-time"),
])
def test_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        collect(ScriptedSender([]), **kwargs)


def test_the_password_never_appears_in_errors() -> None:
    leak = w.WSManTransportError("connection", f"failed for https://ops:{PASSWORD}@win1/wsman")
    sender = ScriptedSender([("Enumerate", leak)])
    with pytest.raises(w.WSManTransportError) as caught:
        collect(sender, STATS_ID)
    error = caught.value
    shown = " ".join([str(error), repr(error), repr(error.details()), repr(vars(error))])
    assert PASSWORD not in shown
    assert "https://ops:********@win1/wsman" in str(error)
    assert PASSWORD not in repr(SETTINGS)


# --- settings --------------------------------------------------------------------------------
def test_settings_defaults_follow_the_winrm_connection_plugin() -> None:
    settings = c.settings_from_vars({"inventory_hostname": "win1", "ansible_user": "ops",
                                     "ansible_password": PASSWORD})
    assert settings == c.WinRMSettings(
        host="win1", port=5986, user="ops", password=PASSWORD, scheme="https", path="/wsman",
        auth_transports=("ssl",), server_cert_validation="validate", ca_trust_path=None,
        message_encryption="auto", read_timeout_sec=30, operation_timeout_sec=20)
    assert settings.endpoint == "https://win1:5986/wsman"


@pytest.mark.parametrize(("extra", "attribute", "expected"), [
    pytest.param({"ansible_port": 5985}, "scheme", "http", id="port-5985-is-http"),
    pytest.param({"ansible_port": "5985"}, "auth_transports", ("plaintext",),
                 id="http-default-transport"),
    pytest.param({"ansible_user": "ops@EXAMPLE.TEST"}, "auth_transports", ("kerberos",),
                 id="upn-is-kerberos"),
    pytest.param({"ansible_winrm_transport": "ntlm, basic"}, "auth_transports",
                 ("ntlm", "basic"), id="comma-string"),
    pytest.param({"ansible_winrm_transport": ["credssp", "ntlm", "credssp"]}, "auth_transports",
                 ("credssp", "ntlm"), id="list-deduplicated"),
    pytest.param({"ansible_host": "10.0.0.5"}, "host", "10.0.0.5", id="ansible-host"),
    pytest.param({"ansible_host": "10.0.0.5", "ansible_winrm_host": "10.0.0.6"}, "host",
                 "10.0.0.6", id="winrm-host-wins"),
    pytest.param({"ansible_winrm_password": "other"}, "password", "other",
                 id="winrm-password-wins"),
    pytest.param({"ansible_password": None, "ansible_ssh_pass": "legacy"}, "password",
                 "legacy", id="ssh-pass-alias"),
    pytest.param({"ansible_winrm_scheme": "HTTP", "ansible_port": 8080}, "endpoint",
                 "http://win1:8080/wsman", id="scheme-case"),
    pytest.param({"ansible_host": "fe80::1", "ansible_winrm_path": "/custom"}, "endpoint",
                 "https://[fe80::1]:5986/custom", id="ipv6"),
    pytest.param({"ansible_winrm_connection_timeout": 15}, "read_timeout_sec", 25,
                 id="connection-timeout-read"),
    pytest.param({"ansible_winrm_connection_timeout": "15"}, "operation_timeout_sec", 15,
                 id="connection-timeout-operation"),
    pytest.param({"ansible_winrm_read_timeout_sec": 90, "ansible_winrm_operation_timeout_sec": 60},
                 "operation_timeout_sec", 60, id="explicit-timeouts"),
    pytest.param({"ansible_winrm_server_cert_validation": "ignore"}, "server_cert_validation",
                 "ignore", id="ignore-validation"),
    pytest.param({"ansible_winrm_ca_trust_path": "/etc/ca.pem"}, "ca_trust_path", "/etc/ca.pem",
                 id="ca-trust-path"),
    pytest.param({"ansible_winrm_message_encryption": "never"}, "message_encryption", "never",
                 id="encryption"),
    pytest.param({"ansible_winrm_send_cbt": "no"}, "send_cbt", False, id="send-cbt"),
    pytest.param({"ansible_winrm_kerberos_delegation": True}, "kerberos_delegation", True,
                 id="delegation"),
])
def test_settings_from_vars(extra: dict[str, Any], attribute: str, expected: Any) -> None:
    host_vars = {"inventory_hostname": "win1", "ansible_user": "ops", "ansible_password": "pw"}
    host_vars.update(extra)
    assert getattr(c.settings_from_vars(host_vars), attribute) == expected


@pytest.mark.parametrize(("host_vars", "message"), [
    pytest.param({}, "ansible_host: expected the address of the Windows host (one of "
                 "['inventory_hostname', 'ansible_host', 'ansible_winrm_host']), got nothing",
                 id="no-host"),
    pytest.param({"ansible_host": " "}, "ansible_host: expected a host name or address, got ' '",
                 id="blank-host"),
    pytest.param({"ansible_port": "https"}, "ansible_port: expected an integer in 1..65535, got "
                 "'https' (str)", id="port-word"),
    pytest.param({"ansible_port": 70000}, "ansible_port: expected an integer in 1..65535, got "
                 "70000 (int)", id="port-range"),
    pytest.param({"ansible_port": True}, "ansible_port: expected an integer in 1..65535, got "
                 "True (bool)", id="port-bool"),
    pytest.param({"ansible_winrm_scheme": "ftp"}, "ansible_winrm_scheme: expected one of "
                 "['http', 'https'], got 'ftp' (str)", id="scheme"),
    pytest.param({"ansible_winrm_transport": "ntlm,smoke"}, "ansible_winrm_transport: expected "
                 "transports among ['basic', 'certificate', 'ntlm', 'kerberos', 'plaintext', "
                 "'ssl', 'credssp'] (those the installed pywinrm supports), got ['smoke']",
                 id="transport-unknown"),
    pytest.param({"ansible_winrm_transport": 5}, "ansible_winrm_transport: expected a list of "
                 "transport names or a comma-separated string, got 5 (int)", id="transport-type"),
    pytest.param({"ansible_winrm_transport": " , "}, "ansible_winrm_transport: expected at "
                 "least one transport, got ' , ' (str)", id="transport-empty"),
    pytest.param({"ansible_winrm_server_cert_validation": "off"}, "ansible_winrm_server_cert_"
                 "validation: expected one of ['validate', 'ignore'], got 'off' (str)",
                 id="validation"),
    pytest.param({"ansible_winrm_message_encryption": True}, "ansible_winrm_message_encryption: "
                 "expected one of ['auto', 'always', 'never'], got True (bool)", id="encryption"),
    pytest.param({"ansible_winrm_operation_timeout_sec": 30}, "ansible_winrm_operation_timeout_"
                 "sec: expected less than ansible_winrm_read_timeout_sec (30), got 30",
                 id="operation-not-below-read"),
    pytest.param({"ansible_winrm_read_timeout_sec": "0"}, "ansible_winrm_read_timeout_sec: "
                 "expected an integer in 1..86400, got '0' (str)", id="read-timeout-zero"),
    pytest.param({"ansible_winrm_path": "wsman"}, "ansible_winrm_path: expected a URL path "
                 "starting with '/', got 'wsman' (str)", id="path"),
    pytest.param({"ansible_winrm_send_cbt": "maybe"}, "ansible_winrm_send_cbt: expected a "
                 "boolean (true/false, yes/no, on/off, 1/0), got 'maybe' (str)", id="boolean"),
    pytest.param({"ansible_user": 42}, "ansible_user: expected a string, got 42 (int)",
                 id="user-type"),
])
def test_bad_settings_name_the_variable(host_vars: dict[str, Any], message: str) -> None:
    if host_vars:
        host_vars = {"inventory_hostname": "win1", **host_vars}
    with pytest.raises(ValueError, match=re.escape(message)):
        c.settings_from_vars(host_vars)


def test_a_bad_password_value_is_not_shown() -> None:
    with pytest.raises(ValueError, match=re.escape(
            "ansible_password: expected a string, got a value of type int")) as caught:
        c.settings_from_vars({"inventory_hostname": "win1", "ansible_password": 98765432})
    assert "98765432" not in str(caught.value)


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


@pytest.mark.parametrize(("pattern", "problem"), [
    pytest.param("[abc", "a '[' is never closed by ']' (write '`[' to match a literal '[')",
                 id="unclosed"),
    pytest.param("[`]", "a '[' is never closed by ']' (write '`[' to match a literal '[')",
                 id="escaped-close"),
    pytest.param("[z-a]", "the range 'z-a' runs backwards", id="backwards"),
    pytest.param(5, "expected a string, got int", id="not-a-string"),
])
def test_invalid_wildcards(pattern: Any, problem: str) -> None:
    with pytest.raises(c.WildcardPatternError, match=re.escape(
            f"instance_name {pattern!r} is not a valid wildcard pattern: {problem}")) as caught:
        c.compile_wildcard(pattern)
    assert (caught.value.pattern, caught.value.problem) == (pattern, problem)


# --- pywinrm over a real local HTTP server ---------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    """Answers like WinRM over HTTP with Basic auth; the test sets ``server.respond``."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        server: Any = self.server
        server.seen.append((self.headers.get("Authorization"), body))
        expected = "Basic " + base64.b64encode(f"ops:{PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self._reply(401, b"", {"WWW-Authenticate": 'Basic realm="WSMAN"'})
            return
        status, payload, headers = server.respond(body)
        self._reply(status, payload, headers)

    def _reply(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/soap+xml;charset=UTF-8")
        if "Transfer-Encoding" not in headers:
            self.send_header("Content-Length", str(len(payload)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if headers.get("Transfer-Encoding") == "chunked":
            for start in range(0, len(payload), 4096):
                chunk = payload[start:start + 4096]
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        pass


def _answer_like_windows(body: bytes) -> tuple[int, bytes, dict[str, str]]:
    """Pick the recorded reply by ResourceURI and relate it to the request's MessageID."""
    root = ET.fromstring(body)
    head = f"{q(w.NS_SOAP, 'Header')}/"
    uri = root.findtext(head + q(w.NS_WSMAN, "ResourceURI"))
    message_id = root.findtext(head + q(w.NS_ADDRESSING, "MessageID"))
    name = "os_last_boot.xml" if uri == w.OS_CLASS_URI else "enumerate_end_of_sequence.xml"
    data = re.sub(rb"<a:RelatesTo>[^<]*</a:RelatesTo>",
                  f"<a:RelatesTo>{message_id}</a:RelatesTo>".encode(), load(name))
    return 200, data, {}


@pytest.fixture
def server() -> Iterator[Any]:
    httpd: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.seen = []
    httpd.respond = _answer_like_windows
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def http_settings(port: int, **kwargs: Any) -> c.WinRMSettings:
    values: dict[str, Any] = {"host": "127.0.0.1", "port": port, "user": "ops",
                              "password": PASSWORD, "scheme": "http",
                              "auth_transports": ("basic",)}
    values.update(kwargs)
    return c.WinRMSettings(**values)


def test_collects_through_pywinrm_over_http_basic(server: Any) -> None:
    result = c.collect_snapshot(http_settings(server.server_port), collected_at=COLLECTED_AT)
    assert result.snapshot["instances"][0]["counters"] == counters(VALUES_0000)
    assert result.snapshot["boot_time"] == BOOT_TIME
    assert (result.round_trips, result.auth_transport) == (2, "basic")
    assert len(server.seen) == 2  # Basic is pre-emptive: no extra authentication round trip


def test_falls_back_to_the_next_transport_after_a_401(server: Any) -> None:
    settings = http_settings(server.server_port, auth_transports=("ntlm", "basic"))
    result = c.collect_snapshot(settings, collected_at=COLLECTED_AT)
    assert result.auth_transport == "basic"
    assert result.snapshot["available"] is True


def test_rejected_credentials_name_user_host_and_port(server: Any) -> None:
    settings = http_settings(server.server_port, password="wrong-" + PASSWORD,
                             auth_transports=("ntlm", "basic"))
    with pytest.raises(w.WSManTransportError, match=re.escape(
            f"wsman: 127.0.0.1:{server.server_port} rejected the credentials of user 'ops' "
            "(HTTP 401, the server rejected the credentials; transport 'ntlm', 'basic')")
    ) as caught:
        c.collect_snapshot(settings)
    error = caught.value
    assert (error.kind, error.http_status, error.unreachable) == ("credentials", 401, False)
    assert PASSWORD not in str(error) + repr(error.details()) + repr(vars(error))


def test_a_500_fault_is_read_by_the_hardened_parser(server: Any) -> None:
    server.respond = lambda body: (500, load("fault_provider_not_capable.xml").replace(
        STATS_ID.encode(), ET.fromstring(body).findtext(
            f".//{q(w.NS_ADDRESSING, 'MessageID')}").encode()), {}) if w.STATS_CLASS_URI.encode() \
        in body else _answer_like_windows(body)
    result = c.collect_snapshot(http_settings(server.server_port), collected_at=COLLECTED_AT)
    assert (result.snapshot["reason"], result.snapshot["boot_time"]) == ("provider_error",
                                                                         BOOT_TIME)


def test_a_dtd_in_a_500_reply_never_reaches_a_parser_that_expands_it(server: Any) -> None:
    server.respond = lambda body: (500, load("dtd_entity_bomb.xml"), {})
    with pytest.raises(w.XmlRefusedError):
        c.collect_snapshot(http_settings(server.server_port))


@pytest.mark.parametrize("chunked", [pytest.param(False, id="content-length"),
                                     pytest.param(True, id="chunked")])
def test_replies_over_the_bound_are_not_read_whole(server: Any, chunked: bool) -> None:
    payload = b"<s:Envelope>" + b" " * 300_000
    headers = {"Transfer-Encoding": "chunked"} if chunked else {}
    server.respond = lambda body: (200, payload, headers)
    with pytest.raises(w.ResponseTooLargeError) as caught:
        c.collect_snapshot(http_settings(server.server_port), max_response_bytes=100_000)
    assert caught.value.limit == 100_000
    assert caught.value.size == (len(payload) if not chunked else 4096 * 25)
    assert caught.value.operation == "Enumerate"


def test_refused_connection_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(w.WSManTransportError, match=re.escape(
            f"wsman: cannot connect to 127.0.0.1:{port} (user 'ops'): connection refused; check "
            "that WinRM listens on that port (ansible_port, ansible_winrm_scheme)")) as caught:
        c.collect_snapshot(http_settings(port))
    assert (caught.value.kind, caught.value.unreachable) == ("refused", True)


def _raise(error: Exception) -> Callable[..., Any]:
    def send(*args: Any, **kwargs: Any) -> Any:
        raise error
    return send


def test_certificate_failure_says_how_to_fix_it(monkeypatch: pytest.MonkeyPatch) -> None:
    cause = ssl.SSLCertVerificationError(
        1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate "
           "in certificate chain (_ssl.c:1006)")
    wrapped = urllib3.exceptions.MaxRetryError(
        None, "/wsman", urllib3.exceptions.SSLError(cause))  # type: ignore[arg-type]
    monkeypatch.setattr(requests.Session, "send",
                        _raise(requests.exceptions.SSLError(wrapped)))
    settings = c.WinRMSettings(host="win1", user="ops", password=PASSWORD)
    with pytest.raises(w.WSManTransportError, match=re.escape(
            "wsman: certificate validation failed for https://win1:5986/wsman (user 'ops'): "
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate "
            "in certificate chain (_ssl.c:1006). Make the controller trust the host's "
            "certificate: set ansible_winrm_ca_trust_path to a PEM file holding the CA "
            "certificate that issued it, and check that the certificate is valid for the name "
            "'win1'")) as caught:
        c.collect_snapshot(settings)
    assert caught.value.unreachable is False
    assert "ignore" not in str(caught.value)


def test_timeout_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(requests.Session, "send", _raise(requests.exceptions.ReadTimeout(
        f"HTTPSConnectionPool(host='win1', port=5986): Read timed out. (read timeout=30) "
        f"password={PASSWORD}")))
    settings = c.WinRMSettings(host="win1", user="ops", password=PASSWORD)
    with pytest.raises(w.WSManTransportError, match=re.escape(
            "wsman: win1:5986 did not answer within 30 s (user 'ops'): HTTPSConnectionPool("
            "host='win1', port=5986): Read timed out. (read timeout=30) password=********")) as e:
        c.collect_snapshot(settings)
    assert (e.value.kind, e.value.unreachable) == ("timeout", True)


def test_unusable_transport_is_a_setup_failure() -> None:
    settings = c.WinRMSettings(host="win1", user="ops", password=PASSWORD, scheme="http",
                               auth_transports=("basic",), message_encryption="always")
    with pytest.raises(w.WSManTransportError, match=re.escape(
            "wsman: cannot talk to win1:5986 (user 'ops') with transport 'basic': basic: "
            "message encryption is set to 'always' but the selected auth method basic does not "
            "support it")) as caught:
        c.collect_snapshot(settings)
    assert caught.value.kind == "setup"


def test_bounded_transport_overrides_the_method_pywinrm_calls() -> None:
    # The bound and the hardened fault path depend on this pywinrm 0.5 internal.
    import winrm.transport

    assert callable(getattr(winrm.transport.Transport, "_send_message_request", None))
    assert c._BoundedTransport._send_message_request is not (
        winrm.transport.Transport._send_message_request)
