"""Tests of the local WinRM test endpoint (tests/support/winrm_endpoint), with a bare client.

The client side is plain pywinrm (``Protocol`` + ``build_wsman_header`` + ``send_message``)
and raw http.client / sockets for the faults, so the endpoint is checked independently of the
collection's own WS-Man client.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import pytest
import requests
import xmltodict
import yaml
from defusedxml import DTDForbidden, EntitiesForbidden
from defusedxml.ElementTree import ParseError, fromstring
from winrm.exceptions import InvalidCredentialsError, WinRMTransportError, WSManFaultError
from winrm.protocol import Protocol

SUPPORT = Path(__file__).resolve().parents[2] / "support"
if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))

from winrm_endpoint import Endpoint, ScenarioError, load_scenario  # noqa: E402
from winrm_endpoint import server as server_module  # noqa: E402
from winrm_endpoint.scenario import HostState  # noqa: E402

SCENARIOS = SUPPORT / "scenarios"
NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "n": "http://schemas.xmlsoap.org/ws/2004/09/enumeration",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "cim": "http://schemas.dmtf.org/wbem/wscim/1/common",
}
WMI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/"
CLASS_URI = WMI + "root/wmi/MSiSCSI_MMIPSECStats"
OS_URI = WMI + "root/cimv2/Win32_OperatingSystem"
WQL = "http://schemas.microsoft.com/wbem/wsman/1/WQL"
ENUMERATE = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate"
PULL = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull"
RELEASE = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Release"
NIL = f"{{{NS['xsi']}}}nil"


@pytest.fixture(scope="module")
def ep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    with Endpoint(SCENARIOS / "faults.yml", state_dir=tmp_path_factory.mktemp("faults")) as endpoint:
        yield endpoint


# ---------------------------------------------------------------- helpers


def client(ep: Endpoint, host: str, **kwargs: Any) -> Protocol:
    info = ep.hosts[host]
    options: dict[str, Any] = {
        "transport": info.transport, "username": info.username, "password": info.password,
        "server_cert_validation": "validate", "ca_trust_path": str(ep.ca_path),
    }
    options.update(kwargs)
    return Protocol(info.url, **options)


def send(
    proto: Protocol, action: str, uri: str, body: dict[str, Any], message_id: str | None = None
) -> tuple[str, Element]:
    mid = message_id or str(uuid.uuid4())
    header = proto.build_wsman_header(action, uri, message_id=mid)
    header["env:Body"] = body
    raw = proto.send_message(xmltodict.unparse({"env:Envelope": header}))
    return f"uuid:{mid}", fromstring(raw)


def enumerate_body(wql: str | None = None, max_elements: int = 32000) -> dict[str, Any]:
    enum: dict[str, Any] = {"w:OptimizeEnumeration": None, "w:MaxElements": str(max_elements)}
    if wql is not None:
        enum["w:Filter"] = {"@Dialect": WQL, "#text": wql}
    return {"n:Enumerate": enum}


def pull_body(context: str, max_elements: int = 32000) -> dict[str, Any]:
    return {"n:Pull": {"n:EnumerationContext": context, "n:MaxElements": str(max_elements)}}


def items_of(root: Element) -> list[Element]:
    body = root.find("s:Body", NS)
    assert body is not None
    for path in ("n:EnumerateResponse/w:Items", "n:PullResponse/n:Items"):
        holder = body.find(path, NS)
        if holder is not None:
            return list(holder)
    return []


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def props(item: Element) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for child in item:
        result[local(child.tag)] = None if child.get(NIL) == "true" else child.text
    return result


def read_all(ep: Endpoint, host: str, uri: str = CLASS_URI, wql: str | None = None) -> list[Element]:
    proto = client(ep, host)
    root = send(proto, ENUMERATE, uri, enumerate_body(wql))[1]
    items = items_of(root)
    context = root.findtext("s:Body/n:EnumerateResponse/n:EnumerationContext", namespaces=NS)
    end = root.find("s:Body/n:EnumerateResponse/w:EndOfSequence", NS) is not None
    while not end:
        root = send(proto, PULL, uri, pull_body(context or ""))[1]
        items += items_of(root)
        end = root.find("s:Body/n:PullResponse/n:EndOfSequence", NS) is not None
    return items


def post_raw(ep: Endpoint, host: str, body: bytes, timeout: float = 10) -> http.client.HTTPResponse:
    info = ep.hosts[host]
    conn = http.client.HTTPConnection("127.0.0.1", info.port, timeout=timeout)
    token = f"{info.username}:{info.password}".encode()
    conn.request("POST", "/wsman", body=body, headers={
        "Content-Type": "application/soap+xml;charset=UTF-8",
        "Authorization": "Basic " + base64.b64encode(token).decode(),
    })
    return conn.getresponse()


def enumerate_xml(ep: Endpoint, host: str) -> bytes:
    proto = client(ep, host)
    header = proto.build_wsman_header(ENUMERATE, CLASS_URI)
    header["env:Body"] = enumerate_body()
    return xmltodict.unparse({"env:Envelope": header}).encode()


# ---------------------------------------------------------------- auth modes and shape


@pytest.mark.parametrize("host", ["basic_http", "basic_https", "ntlm_http", "ntlm_https"])
def test_each_auth_mode_reads_the_class(ep: Endpoint, host: str) -> None:
    ep.clear_requests()
    mid, root = send(client(ep, host), ENUMERATE, CLASS_URI, enumerate_body())
    assert root.findtext("s:Header/a:RelatesTo", namespaces=NS) == mid
    assert root.findtext("s:Header/a:Action", namespaces=NS) == ENUMERATE + "Response"
    assert root.find("s:Body/n:EnumerateResponse/w:EndOfSequence", NS) is not None
    (item,) = items_of(root)
    assert item.tag == f"{{{CLASS_URI}}}MSiSCSI_MMIPSECStats"
    assert item.get(f"{{{NS['xsi']}}}type") == "p:MSiSCSI_MMIPSECStats_Type"
    values = props(item)
    assert list(values) == sorted(values)
    assert values["InstanceName"] == "ROOT\\ISCSIPRT\\0000_0"
    assert values["Active"] == "true"
    assert values["OakleyMainMode"] == "1200"
    assert values["ActiveAcquire"] == "1"
    for name in ("Caption", "Description", "Frequency_Object", "Frequency_PerfTime",
                 "Frequency_Sys100NS", "Name", "Timestamp_Object", "Timestamp_PerfTime",
                 "Timestamp_Sys100NS"):
        assert name in values and values[name] is None, name
    assert len([k for k, v in values.items() if v is not None and k not in ("InstanceName", "Active")]) == 21
    (entry,) = [e for e in ep.requests(host) if e["action"] == ENUMERATE]
    assert entry["message_id"] == mid
    assert entry["user"] == "ansible"
    assert entry["status"] == 200
    assert entry["encrypted"] is (host == "ntlm_http")


def test_ntlm_over_http_refuses_cleartext_bodies(ep: Endpoint) -> None:
    proto = client(ep, "ntlm_http", message_encryption="never")
    with pytest.raises(WinRMTransportError) as info:
        send(proto, ENUMERATE, CLASS_URI, enumerate_body())
    assert info.value.code == 400
    assert ep.requests("ntlm_http")[-1]["fault"] == "UnencryptedRefused"


@pytest.mark.parametrize(
    ("host", "password"),
    [("wrong_password", None), ("ntlm_http", "not-the-password"), ("basic_https", "nope")],
    ids=["inventory-password-differs", "ntlm-bad-password", "basic-bad-password"],
)
def test_wrong_credentials_get_401(ep: Endpoint, host: str, password: str | None) -> None:
    ep.clear_requests()
    kwargs = {"password": password} if password else {}
    with pytest.raises(InvalidCredentialsError):
        send(client(ep, host, **kwargs), ENUMERATE, CLASS_URI, enumerate_body())
    assert ep.requests(host)[-1]["status"] == 401
    assert ep.requests(host)[-1]["fault"] == "InvalidCredentials"
    log_text = ep.requests_path.read_text()
    assert ep.hosts[host].server_password not in log_text
    assert ep.hosts[host].password not in log_text


def test_wrong_password_host_differs_only_in_inventory(ep: Endpoint) -> None:
    info = ep.hosts["wrong_password"]
    assert info.password != info.server_password
    items = read_all_with(ep, "wrong_password", info.server_password)
    assert len(items) == 1


def read_all_with(ep: Endpoint, host: str, password: str) -> list[Element]:
    root = send(client(ep, host, password=password), ENUMERATE, CLASS_URI, enumerate_body())[1]
    return items_of(root)


# ---------------------------------------------------------------- paging, pull, release


def test_page_size_one_forces_one_item_per_message(ep: Endpoint) -> None:
    proto = client(ep, "paged")
    root = send(proto, ENUMERATE, CLASS_URI, enumerate_body())[1]
    assert len(items_of(root)) == 1
    assert root.find("s:Body/n:EnumerateResponse/w:EndOfSequence", NS) is None
    context = root.findtext("s:Body/n:EnumerateResponse/n:EnumerationContext", namespaces=NS)
    names = [props(i)["InstanceName"] for i in items_of(root)]
    pulls = 0
    while True:
        mid, root = send(proto, PULL, CLASS_URI, pull_body(context or ""))
        pulls += 1
        assert root.findtext("s:Header/a:RelatesTo", namespaces=NS) == mid
        page = items_of(root)
        assert len(page) == 1
        names += [props(i)["InstanceName"] for i in page]
        if root.find("s:Body/n:PullResponse/n:EndOfSequence", NS) is not None:
            assert root.find("s:Body/n:PullResponse/n:EnumerationContext", NS) is None
            assert props(page[0])["Active"] == "false"
            break
        assert root.findtext("s:Body/n:PullResponse/n:EnumerationContext", namespaces=NS) == context
    assert pulls == 2
    assert names == ["ROOT\\ISCSIPRT\\0000_0", "ROOT\\ISCSIPRT\\0001_0", "ROOT\\ISCSIPRT\\0002_0"]
    assert ep.runtimes["paged"].open_enumerations() == 0


def test_release_ends_the_enumeration(ep: Endpoint) -> None:
    proto = client(ep, "paged")
    root = send(proto, ENUMERATE, CLASS_URI, enumerate_body())[1]
    context = root.findtext("s:Body/n:EnumerateResponse/n:EnumerationContext", namespaces=NS) or ""
    before = ep.runtimes["paged"].open_enumerations()
    mid, root = send(proto, RELEASE, CLASS_URI, {"n:Release": {"n:EnumerationContext": context}})
    assert root.findtext("s:Header/a:Action", namespaces=NS) == RELEASE + "Response"
    assert root.findtext("s:Header/a:RelatesTo", namespaces=NS) == mid
    assert ep.runtimes["paged"].open_enumerations() == before - 1
    with pytest.raises(WSManFaultError) as info:
        send(proto, PULL, CLASS_URI, pull_body(context))
    assert info.value.wsman_fault_code == 0x8033801B
    assert info.value.fault_subcode == "n:InvalidEnumerationContext"


def test_enumerate_without_optimization_returns_only_a_context(ep: Endpoint) -> None:
    proto = client(ep, "basic_http")
    root = send(proto, ENUMERATE, CLASS_URI, {"n:Enumerate": None})[1]
    assert items_of(root) == []
    context = root.findtext("s:Body/n:EnumerateResponse/n:EnumerationContext", namespaces=NS)
    root = send(proto, PULL, CLASS_URI, pull_body(context or ""))[1]
    assert len(items_of(root)) == 1
    assert root.find("s:Body/n:PullResponse/n:EndOfSequence", NS) is not None


def test_no_instances_is_an_empty_end_of_sequence(ep: Endpoint) -> None:
    root = send(client(ep, "no_instances"), ENUMERATE, CLASS_URI, enumerate_body())[1]
    assert items_of(root) == []
    assert root.find("s:Body/n:EnumerateResponse/w:EndOfSequence", NS) is not None


def test_uint64_values_are_exact_decimal(ep: Endpoint) -> None:
    (item,) = read_all(ep, "big_values")
    assert props(item)["OakleyMainMode"] == "18446744073709551615"
    assert props(item)["KeyAdditions"] == "9007199254740993"


# ---------------------------------------------------------------- WQL and the OS class


def test_wql_form_gives_the_same_instance(ep: Endpoint) -> None:
    (direct,) = read_all(ep, "basic_http")
    (wql,) = read_all(ep, "basic_http", WMI + "root/wmi/*", "SELECT * FROM MSiSCSI_MMIPSECStats")
    assert props(wql) == props(direct)
    entry = [e for e in ep.requests("basic_http") if e["filter"]][-1]
    assert entry["filter"] == "SELECT * FROM MSiSCSI_MMIPSECStats"


@pytest.mark.parametrize(
    ("uri", "wql"),
    [(OS_URI, None), (WMI + "root/cimv2/*", "SELECT * FROM Win32_OperatingSystem")],
    ids=["direct", "wql"],
)
def test_operating_system_boot_time_is_a_cim_datetime(ep: Endpoint, uri: str, wql: str | None) -> None:
    (item,) = read_all(ep, "ntlm_http", uri, wql)
    assert item.tag == f"{{{OS_URI}}}Win32_OperatingSystem"
    boot = item.find(f"{{{OS_URI}}}LastBootUpTime/cim:Datetime", NS)
    assert boot is not None and boot.text == "2026-11-20T07:12:03.5+00:00"
    names = [local(c.tag) for c in item]
    assert names == sorted(names)


# ---------------------------------------------------------------- SOAP faults


FAULT_CASES = [
    ("class_missing", "wql", "n:CannotProcessFilter", 0x8033801A,
     "The specified class does not exist in the given namespace."),
    ("class_missing", "uri", "a:DestinationUnreachable", 0x80338000,
     "The specified class does not exist in the given namespace."),
    ("class_missing_wql", "uri", "n:CannotProcessFilter", 0x8033801A,
     "The specified class does not exist in the given namespace."),
    ("class_missing_uri", "wql", "a:DestinationUnreachable", 0x80338000,
     "The specified class does not exist in the given namespace."),
    ("provider_error", "uri", "w:InternalError", 0x80338102, "WDM specific return code: 4200"),
    ("access_denied", "wql", "w:AccessDenied", 0x80338104, "'access denied'"),
]


@pytest.mark.parametrize(
    ("host", "form", "subcode", "code", "text"), FAULT_CASES,
    ids=[f"{c[0]}-{c[1]}" for c in FAULT_CASES],
)
def test_soap_faults(ep: Endpoint, host: str, form: str, subcode: str, code: int, text: str) -> None:
    uri, body = (
        (WMI + "root/wmi/*", enumerate_body("SELECT * FROM MSiSCSI_MMIPSECStats"))
        if form == "wql" else (CLASS_URI, enumerate_body())
    )
    mid = str(uuid.uuid4())
    with pytest.raises(WSManFaultError) as info:
        send(client(ep, host), ENUMERATE, uri, body, message_id=mid)
    fault = info.value
    assert fault.code == 500
    assert fault.fault_subcode == subcode
    assert fault.wsman_fault_code == code
    root = fromstring(fault.response)
    assert root.findtext("s:Header/a:RelatesTo", namespaces=NS) == f"uuid:{mid}"
    assert text in fault.response
    assert ep.requests(host)[-1]["fault"] == host
    assert ep.requests(host)[-1]["wsman_code"] == code


def test_os_query_still_works_on_a_class_fault_host(ep: Endpoint) -> None:
    assert len(read_all(ep, "provider_error", OS_URI)) == 1


@pytest.mark.parametrize(
    ("action", "uri", "body", "subcode", "code", "text"),
    [
        ("http://schemas.xmlsoap.org/ws/2004/09/transfer/Create",
         "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd",
         {"rsp:Shell": {"rsp:InputStreams": "stdin"}},
         "a:ActionNotSupported", 0x80338013, "WinRS shells are not supported by the test endpoint."),
        (ENUMERATE, CLASS_URI, {}, "w:SchemaValidationError", 0x80338041,
         "the XML is missing the element titled Enumerate."),
        (PULL, CLASS_URI, {"n:Pull": {"n:EnumerationContext": "uuid:NOPE"}},
         "n:InvalidEnumerationContext", 0x8033801B, "context 'uuid:NOPE'"),
        (ENUMERATE, WMI + "root/wmi/NoSuchClass", {"n:Enumerate": None},
         "a:DestinationUnreachable", 0x80338000, "does not exist in the given namespace"),
        (ENUMERATE, WMI + "root/wmi/*",
         {"n:Enumerate": {"w:Filter": {"@Dialect": WQL, "#text": "SELECT a FROM b"}}},
         "n:CannotProcessFilter", 0x8033801A, "got 'SELECT a FROM b'"),
    ],
    ids=["shell-create", "no-enumerate-element", "unknown-context", "unknown-class", "projection"],
)
def test_protocol_faults(
    ep: Endpoint, action: str, uri: str, body: dict[str, Any], subcode: str, code: int, text: str
) -> None:
    with pytest.raises(WSManFaultError) as info:
        send(client(ep, "basic_http"), action, uri, body)
    assert info.value.fault_subcode == subcode
    assert info.value.wsman_fault_code == code
    assert text in info.value.response


# ---------------------------------------------------------------- transport faults


def test_http_500_junk(ep: Endpoint) -> None:
    with pytest.raises(WinRMTransportError) as info:
        send(client(ep, "http_500_junk"), ENUMERATE, CLASS_URI, enumerate_body())
    assert info.value.code == 500
    with pytest.raises(ParseError):
        fromstring(info.value.response_text.encode())


def test_malformed_xml(ep: Endpoint) -> None:
    response = post_raw(ep, "malformed_xml", enumerate_xml(ep, "malformed_xml"))
    assert response.status == 200
    data = response.read()
    assert data.startswith(b"<s:Envelope")
    with pytest.raises(ParseError):
        fromstring(data)


def test_entity_bomb_is_refused_by_a_safe_parser(ep: Endpoint) -> None:
    response = post_raw(ep, "entity_bomb", enumerate_xml(ep, "entity_bomb"))
    data = response.read()
    assert b"<!DOCTYPE" in data and b'<!ENTITY lol9 "&lol8;' in data
    with pytest.raises((DTDForbidden, EntitiesForbidden)):
        fromstring(data, forbid_dtd=True)


def test_slow_answer_exceeds_the_read_timeout(ep: Endpoint) -> None:
    proto = client(ep, "slow", read_timeout_sec=2, operation_timeout_sec=1)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        send(proto, ENUMERATE, CLASS_URI, enumerate_body())
    assert 1.5 < time.monotonic() - started < 5


def test_drop_closes_mid_response(ep: Endpoint) -> None:
    response = post_raw(ep, "drop", enumerate_xml(ep, "drop"))
    assert response.status == 200
    promised = int(response.getheader("Content-Length") or 0)
    with pytest.raises(http.client.IncompleteRead) as info:
        response.read()
    assert 0 < len(info.value.partial) < promised


def test_oversized_answer(ep: Endpoint) -> None:
    response = post_raw(ep, "oversized", enumerate_xml(ep, "oversized"))
    data = response.read()
    assert len(data) > 9437184
    (item,) = items_of(fromstring(data))
    assert props(item)["OakleyMainMode"] == "1200"


def test_unreachable_host_listens_nowhere(ep: Endpoint) -> None:
    port = ep.hosts["unreachable"].port
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    # Held while the endpoint runs: another server (a test run alongside) cannot take the
    # port and answer for the unreachable host.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other, \
            pytest.raises(OSError, match="in use"):
        other.bind(("127.0.0.1", port))


# ---------------------------------------------------------------- log, inventory, control


def test_request_log_file_matches_memory(ep: Endpoint) -> None:
    ep.clear_requests()
    read_all(ep, "basic_https")
    lines = [json.loads(line) for line in ep.requests_path.read_text().splitlines()]
    assert lines == ep.requests()
    (entry,) = lines
    assert set(entry) >= {"time", "host", "action", "resource_uri", "message_id", "user",
                          "status", "fault"}
    assert entry["host"] == "basic_https" and entry["resource_uri"] == CLASS_URI


def test_inventory(ep: Endpoint) -> None:
    inventory = yaml.safe_load(ep.inventory_path.read_text())
    windows = inventory["all"]["children"]["windows"]["hosts"]
    assert set(windows) == set(ep.hosts)
    ntlm = windows["ntlm_https"]
    assert ntlm == {
        "ansible_host": "127.0.0.1",
        "ansible_port": ep.hosts["ntlm_https"].port,
        "ansible_user": "ansible",
        "ansible_password": "Winiscsi-Test-1",
        "ansible_connection": "winrm",
        "ansible_winrm_transport": "ntlm",
        "ansible_winrm_scheme": "https",
        "ansible_winrm_server_cert_validation": "validate",
        "ansible_winrm_ca_trust_path": str(ep.ca_path.resolve()),
        "ansible_winrm_message_encryption": "auto",
        "ansible_winrm_read_timeout_sec": 4,
        "ansible_winrm_operation_timeout_sec": 2,
    }
    assert windows["wrong_password"]["ansible_password"] == "Winiscsi-Test-1-wrong"
    assert set(inventory["all"]["children"]["auth_modes"]["hosts"]) == {
        "basic_http", "basic_https", "ntlm_http", "ntlm_https"}


def control(ep: Endpoint, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(f"{ep.control_url}{path}", data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_control_api_switches_phase(ep: Endpoint) -> None:
    assert json.loads((ep.state_dir / "control.json").read_text()) == {"url": ep.control_url}
    with pytest.raises(WSManFaultError):
        read_all(ep, "provider_error")
    assert control(ep, "POST", "/phase", {"phase": "healed", "hosts": ["provider_error"]})[0] == 200
    try:
        assert len(read_all(ep, "provider_error")) == 1
        status, health = control(ep, "GET", "/health")
        assert status == 200
        assert health["hosts"]["provider_error"]["phase"] == "healed"
        assert health["hosts"]["class_missing"]["phase"] == "initial"
        status, entries = control(ep, "GET", "/requests?host=provider_error")
        assert status == 200 and entries and {e["host"] for e in entries} == {"provider_error"}
    finally:
        ep.set_phase("initial", ["provider_error"])
    status, answer = control(ep, "POST", "/phase", {"phase": "nope"})
    assert status == 400
    assert answer == {"error": "winrm_endpoint: unknown phase 'nope'; expected one of "
                               "['initial', 'reboot', 'healed']"}


# ---------------------------------------------------------------- counters and phases


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_counters_grow_and_phases_keep_them_continuous() -> None:
    scenario = load_scenario(SCENARIOS / "fleet.yml")
    clock = FakeClock()
    state = HostState(scenario.hosts["web03"], clock)
    clock.now += 10
    values = state.snapshot()[2][0][2]
    assert values["oakley_main_mode"] == 1200 + 5
    assert values["oakley_quick_mode"] == 4800 + 20
    assert values["authentication_failures"] == 0
    state.apply("change", scenario.phases["change"]["web03"])
    clock.now += 4
    values = state.snapshot()[2][0][2]
    # The change breaks web03's decryption: main mode still negotiates, in quick mode
    # packets_not_decrypted grows 25 per second.
    assert values["oakley_main_mode"] == 1207
    assert values["authentication_failures"] == 0
    quick_mode = state.quick_mode()
    assert quick_mode is not None
    assert quick_mode[0][2]["packets_not_decrypted"] == 100
    state.apply("rollback", scenario.phases["rollback"].get("web03"))
    clock.now += 100
    values = state.snapshot()[2][0][2]
    assert values["oakley_main_mode"] == 1207 + 50
    quick_mode = state.quick_mode()
    assert quick_mode is not None
    assert quick_mode[0][2]["packets_not_decrypted"] == 100  # continuous, no longer growing


def test_reboot_resets_cumulative_counters_and_moves_boot_time() -> None:
    scenario = load_scenario(SCENARIOS / "faults.yml")
    clock = FakeClock()
    state = HostState(scenario.hosts["basic_http"], clock)
    state.apply("reboot", scenario.phases["reboot"]["basic_http"])
    dummy, boot, [(dummy_name, dummy_active, values)] = state.snapshot()
    assert boot.isoformat() == "2026-11-27T06:00:00+00:00"
    assert values["oakley_main_mode"] == 0
    assert values["active_acquire"] == 1  # a gauge keeps its level
    state.apply("initial", None)
    boot = state.snapshot()[1]
    assert boot.isoformat() == "2026-11-27T06:00:00+00:00"  # a reboot cannot be undone


def test_fleet_scenario_end_to_end(tmp_path: Path) -> None:
    with Endpoint(SCENARIOS / "fleet.yml", state_dir=tmp_path, control=False) as fleet:
        assert set(fleet.hosts) == {"web01", "web02", "web03", "web04", "app01", "app02",
                                    "db01", "file01"}
        assert fleet.hosts["web04"].unreachable
        assert len(read_all(fleet, "db01")) == 2
        (soft,) = read_all(fleet, "file01")
        assert int(props(soft)["SoftAssociations"]) >= 40
        with pytest.raises(WSManFaultError) as info:
            read_all(fleet, "app02")
        assert info.value.wsman_fault_code == 0x80338000
        fleet.set_phase("change", ["web03"])
        assert fleet.phase("web03") == "change" and fleet.phase("web01") == "initial"
        (app,) = read_all(fleet, "app01")
        assert props(app)["AuthenticationFailures"] == "0"


# ---------------------------------------------------------------- scenario validation


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        ({"hosts": {"h": {"fault": "boom"}}},
         "scenario hosts.h.fault: expected one of ['class_missing', 'class_missing_wql', "
         "'class_missing_uri', 'provider_error', 'access_denied', 'provider_error_dmtf', "
         "'wmi_error_only', 'timed_out', 'provider_error_passthrough', "
         "'not_supported_passthrough_hex', 'class_missing_passthrough', "
         "'access_denied_passthrough', 'invalid_namespace_passthrough', "
         "'unknown_wmi_error_passthrough', 'http_500_junk', 'malformed_xml', 'entity_bomb', "
         "'slow', 'drop', 'oversized', 'wrong_password'], got 'boom' (str)"),
        ({"hosts": {"h": {"shapes": ["bare_envelope", "windows"]}}},
         "scenario hosts.h.shapes: expected one of ['bare_envelope', 'no_xml_lang', "
         "'case_insensitive_order', 'empty_context', 'first_page_one', 'zulu'], got 'windows' "
         "(str)"),
        ({"hosts": {"h": {"growth": {"Bogus": 1}}}},
         "scenario hosts.h.growth.Bogus: expected a counter key or WMI member name of "
         "MSiSCSI_MMIPSECStats, got 'Bogus' (str)"),
        ({"hosts": {"h": {}}, "phases": {"p": {"x": {}}}},
         "scenario phases.p.x: expected a host name among ['h'], got 'x' (str)"),
        ({"hosts": {}}, "scenario hosts: expected a non-empty mapping of host name to "
                        "settings, got {} (dict)"),
        ({"hosts": {"h": {"counters": {"key_updates": -1}}}},
         "scenario hosts.h.counters.key_updates: expected an integer "
         "0..18446744073709551615, got -1 (int)"),
    ],
    ids=["unknown-fault", "unknown-shape", "unknown-counter", "phase-unknown-host", "no-hosts",
         "negative-counter"],
)
def test_scenario_errors(scenario: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError, match=re.escape(message)):
        load_scenario(scenario)


# ---------------------------------------------------------------- command line


def test_command_line_runs_until_sigterm(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(SUPPORT))
    env.pop("NTLM_USER_FILE", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "winrm_endpoint", "--scenario", str(SCENARIOS / "fleet.yml"),
         "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line == f"ready {(tmp_path / 'inventory.yml').resolve()}\n"
        assert (tmp_path / "endpoint.pid").read_text() == f"{process.pid}\n"
        assert (tmp_path / "ca.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")
        result = subprocess.run(
            [sys.executable, "-m", "winrm_endpoint.control", "--state-dir", str(tmp_path),
             "phase", "change", "--host", "web03"],
            env=env, capture_output=True, text=True, timeout=30, check=False,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {"phase": "change", "hosts": ["web03"]}
        result = subprocess.run(
            [sys.executable, "-m", "winrm_endpoint.control", "--state-dir", str(tmp_path), "health"],
            env=env, capture_output=True, text=True, timeout=30, check=False,
        )
        health = json.loads(result.stdout)
        assert health["hosts"]["web03"]["phase"] == "change"
        assert health["hosts"]["web01"]["phase"] == "initial"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    assert not (tmp_path / "endpoint.pid").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20T07:12:03.5+00:00", "2026-11-20T07:12:03.5+00:00"),
        ("2026-11-20T08:12:03+01:00", "2026-11-20T08:12:03+01:00"),
        ("2026-11-20T07:12:03.123456Z", "2026-11-20T07:12:03.123456+00:00"),
        ("2026-11-19T22:12:03.25-09:00", "2026-11-19T22:12:03.25-09:00"),
    ],
    ids=["fraction-utc", "plus-one-hour", "zulu-micro", "minus-nine"],
)
def test_boot_time_keeps_its_offset_on_the_wire(text: str, expected: str) -> None:
    from winrm_endpoint.wsman import format_cim_datetime

    spec = load_scenario({"hosts": {"h": {"boot_time": text}}}).hosts["h"]
    assert format_cim_datetime(spec.boot_time) == expected


# ---------------------------------------------------------------- one thread for every listener


MANY_HOSTS = 200


def many_hosts(count: int) -> dict[str, Any]:
    """``count`` Basic/HTTP hosts plus one host for each other auth mode."""
    hosts: dict[str, Any] = {f"h{i:03d}": {} for i in range(count)}
    hosts.update({
        "x_basic_https": {"scheme": "https"},
        "x_ntlm_http": {"auth": "ntlm"},
        "x_ntlm_https": {"auth": "ntlm", "scheme": "https"},
    })
    return {
        "name": f"many-{count}",
        "defaults": {"auth": "basic", "scheme": "http", "user": "ansible",
                     "password": "Many-Hosts-1"},
        "hosts": hosts,
    }


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    with Endpoint(many_hosts(MANY_HOSTS), state_dir=tmp_path_factory.mktemp("many")) as endpoint:
        yield endpoint


def thread_cpu_seconds(thread: threading.Thread) -> float:
    """CPU time (user + system) one thread of this process has used, from /proc."""
    stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    # Fields 14 and 15 of proc(5), counted from the pid; fields[0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def get_wsman(ep: Endpoint, host: str) -> tuple[int, str | None]:
    """A GET on a host's /wsman over a fresh connection: status and Allow header."""
    info = ep.hosts[host]
    conn: http.client.HTTPConnection
    if info.scheme == "https":
        context = ssl.create_default_context(cafile=str(ep.ca_path))
        conn = http.client.HTTPSConnection("127.0.0.1", info.port, timeout=10, context=context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", info.port, timeout=10)
    try:
        conn.request("GET", "/wsman")
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("Allow")
    finally:
        conn.close()


def closed_by_peer(sock: socket.socket, timeout: float = 2) -> bool:
    """Whether the other end has closed the connection (EOF or reset) within ``timeout``."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except (ConnectionError, ssl.SSLError):
        return True
    except TimeoutError:
        return False


def test_one_thread_serves_every_listener(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    with Endpoint(many_hosts(MANY_HOSTS), state_dir=tmp_path) as endpoint:
        serving = endpoint.serving_thread
        assert serving is not None and serving.name == "winrm-endpoint"
        assert set(threading.enumerate()) - before == {serving}
        listening = [info for info in endpoint.hosts.values() if not info.unreachable]
        assert len(listening) == MANY_HOSTS + 3
        assert get_wsman(endpoint, "h000")[0] == 405
        assert get_wsman(endpoint, "x_basic_https")[0] == 405
    assert not serving.is_alive()


def test_an_idle_endpoint_does_not_wake_up(many: Endpoint) -> None:
    serving = many.serving_thread
    assert serving is not None
    wakeups = many.loop_wakeups
    process_cpu = time.process_time()
    serving_cpu = thread_cpu_seconds(serving)
    time.sleep(1.5)
    assert many.loop_wakeups == wakeups
    assert thread_cpu_seconds(serving) - serving_cpu < 0.05
    # Measured: 0.0 s; a serve_forever thread per host, polling every 50 ms, cost 0.15 to
    # 0.18 s here for 200 hosts.
    assert time.process_time() - process_cpu < 0.1


def test_every_port_answers_at_once(many: Endpoint) -> None:
    many.clear_requests()
    names = sorted(many.hosts)
    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = dict(zip(names, pool.map(lambda name: get_wsman(many, name), names), strict=True))
    assert answers == {name: (405, "POST") for name in names}
    assert sorted(entry["host"] for entry in many.requests()) == names
    assert many.loop_wakeups > 0
    for host in ("h000", f"h{MANY_HOSTS - 1:03d}", "x_basic_https", "x_ntlm_http", "x_ntlm_https"):
        assert len(read_all(many, host)) == 1, host


def test_stop_is_prompt_and_cuts_idle_keep_alive_connections(tmp_path: Path) -> None:
    endpoint = Endpoint(many_hosts(MANY_HOSTS), state_dir=tmp_path)
    endpoint.start()
    try:
        context = ssl.create_default_context(cafile=str(endpoint.ca_path))
        kept: list[http.client.HTTPConnection] = []
        for name in [f"h{i:03d}" for i in range(0, MANY_HOSTS, 10)] + ["x_basic_https"]:
            info = endpoint.hosts[name]
            conn = (
                http.client.HTTPSConnection("127.0.0.1", info.port, timeout=10, context=context)
                if info.scheme == "https"
                else http.client.HTTPConnection("127.0.0.1", info.port, timeout=10)
            )
            conn.request("GET", "/wsman")
            response = conn.getresponse()
            response.read()
            assert (response.status, response.getheader("Connection")) == (405, None), name
            kept.append(conn)
        # Connected but silent: its handler thread waits in readline().
        silent = socket.create_connection(("127.0.0.1", endpoint.hosts["h001"].port), timeout=10)
        serving = endpoint.serving_thread
        assert serving is not None
        started = time.monotonic()
        endpoint.stop()
        elapsed = time.monotonic() - started
    finally:
        endpoint.stop()
    assert elapsed < 2
    assert not serving.is_alive()
    assert all(closed_by_peer(conn.sock) for conn in kept)
    assert closed_by_peer(silent)
    silent.close()
    for conn in kept:
        conn.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", endpoint.hosts["h000"].port), timeout=2).close()


def test_a_failed_start_closes_every_listener(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ports: list[int] = []
    real_init = server_module._HostServer.__init__

    def recording_init(self: Any, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        ports.append(self.server_address[1])

    def failing_init(self: Any, endpoint: Endpoint) -> None:
        raise OSError("no port for the control API")

    monkeypatch.setattr(server_module._HostServer, "__init__", recording_init)
    monkeypatch.setattr(server_module._ControlServer, "__init__", failing_init)
    before = set(threading.enumerate())
    endpoint = Endpoint(many_hosts(5), state_dir=tmp_path)
    with pytest.raises(OSError, match=re.escape("no port for the control API")):
        endpoint.start()
    assert set(threading.enumerate()) - before == set()
    assert endpoint.serving_thread is None
    assert len(ports) == 8
    for port in ports:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()


# ---------------------------------------------------------------- Windows reply shapes (issue 12)


def raw_enumerate(ep: Endpoint, host: str, uri: str = CLASS_URI) -> tuple[int, bytes]:
    proto = client(ep, host)
    header = proto.build_wsman_header(ENUMERATE, uri)
    header["env:Body"] = enumerate_body()
    response = post_raw(ep, host, xmltodict.unparse({"env:Envelope": header}).encode())
    return response.status, response.read()


def test_server_2008r2_success_envelope_declares_only_s_a_n_w(ep: Endpoint) -> None:
    status, body = raw_enumerate(ep, "windows_2008r2")
    assert status == 200
    envelope = body[:body.index(b">") + 1].decode()
    assert re.findall(r'xmlns:(\w+)=', envelope) == ["s", "a", "n", "w"]
    root = fromstring(body)
    (item,) = items_of(root)  # one item although MaxElements is 32000, and no EndOfSequence
    assert item.get("{http://www.w3.org/XML/1998/namespace}lang") is None
    assert root.find("s:Body/n:EnumerateResponse/w:EndOfSequence", NS) is None
    assert root.findtext("s:Body/n:EnumerateResponse/n:EnumerationContext", namespaces=NS)


def test_server_2008r2_orders_properties_case_insensitively_and_writes_zulu(ep: Endpoint) -> None:
    (item,) = read_all(ep, "windows_2008r2", OS_URI)
    names = [local(c.tag) for c in item]
    assert names == sorted(names, key=str.lower) != sorted(names)
    assert names.index("CreationClassName") < names.index("CSName")
    boot = item.find(f"{{{OS_URI}}}LastBootUpTime/cim:Datetime", NS)
    assert boot is not None and boot.text == "2026-11-20T07:12:03.5Z"


def test_an_ended_enumeration_can_carry_an_empty_context(ep: Endpoint) -> None:
    status, body = raw_enumerate(ep, "windows_2008r2_one_page")
    assert status == 200
    assert b"<n:EnumerationContext></n:EnumerationContext>" in body
    assert b"<w:EndOfSequence/>" in body


PASSTHROUGH_CASES = [
    ("provider_error_passthrough", 'Code="2147749889"', "HRESULT 0x80041001"),
    ("not_supported_passthrough_hex", 'Code="0x8004100C"', "HRESULT 0x8004100c"),
    ("class_missing_passthrough", 'Code="2147749904"', "HRESULT 0x80041010"),
    ("access_denied_passthrough", 'Code="2147942405"', "HRESULT 0x80070005"),
    ("invalid_namespace_passthrough", 'Code="2147749902"', "HRESULT 0x8004100e"),
    ("unknown_wmi_error_passthrough", 'Code="2147749894"', "HRESULT 0x80041006"),
]


@pytest.mark.parametrize(("host", "code", "hresult"), PASSTHROUGH_CASES,
                         ids=[c[0] for c in PASSTHROUGH_CASES])
def test_pass_through_hresult_faults(ep: Endpoint, host: str, code: str, hresult: str) -> None:
    status, raw = raw_enumerate(ep, host)
    body = raw.decode()
    assert status == 500
    assert body.count(code) == 2  # the outer and the provider's f:WSManFault
    assert ("The WMI service or the WMI provider returned an unknown error: " + hresult) in body
    assert "<p:ActivityId>" in body
    status_xml = body[body.index("<p:__ExtendedStatus"):]
    for part in ("<p:Operation>ExecQuery</p:Operation>",
                 "<p:ParameterInfo>select * from MSiSCSI_MMIPSECStats</p:ParameterInfo>",
                 "<p:ProviderName>WinMgmt</p:ProviderName>", '<p:Description xsi:nil="true"/>'):
        assert part in status_xml
    assert ep.requests(host)[-1]["fault"] == host


def test_provider_fault_with_the_dmtf_extended_status(ep: Endpoint) -> None:
    status, raw = raw_enumerate(ep, "provider_error_dmtf")
    body = raw.decode()
    assert status == 500
    assert ('xmlns:p="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/__ExtendedStatus"'
            in body)
    assert ('<p:Description xsi:type="cim:cimString">WDM specific return code: 4200'
            '</p:Description>') in body
    assert 'Code="2150859010"' in body


def test_a_fault_with_only_an_msft_wmierror_and_no_relates_to(ep: Endpoint) -> None:
    status, raw = raw_enumerate(ep, "wmi_error_only")
    root = fromstring(raw)
    assert status == 500
    assert root.find("s:Header/a:RelatesTo", NS) is None
    assert root.find("s:Body/s:Fault/s:Detail/f:WSManFault", NS) is None
    error = root.find("s:Body/s:Fault/s:Detail/{http://schemas.dmtf.org/wbem/wscim/1/"
                      "cim-schema/2/MSFT_WmiError}MSFT_WmiError", NS)
    assert error is not None
    assert props(error)["error_Code"] == "2147749900"
    assert props(error)["MessageID"] == "HRESULT 0x8004100c"


def test_timed_out_fault_comes_after_the_operation_timeout(ep: Endpoint) -> None:
    # A hung provider: the answer is held for the request's OperationTimeout (pywinrm: PT1S).
    proto = client(ep, "timed_out", operation_timeout_sec=1, read_timeout_sec=4)
    header = proto.build_wsman_header(ENUMERATE, CLASS_URI)
    header["env:Body"] = enumerate_body()
    assert header["env:Header"]["w:OperationTimeout"] == "PT1S"
    started = time.monotonic()
    response = post_raw(ep, "timed_out", xmltodict.unparse({"env:Envelope": header}).encode())
    status, raw = response.status, response.read()
    assert time.monotonic() - started >= 1.0
    root = fromstring(raw)
    assert status == 500
    assert root.findtext("s:Body/s:Fault/s:Code/s:Value", namespaces=NS) == "s:Receiver"
    assert root.findtext("s:Body/s:Fault/s:Code/s:Subcode/s:Value", namespaces=NS) == "w:TimedOut"
    fault = root.find("s:Body/s:Fault/s:Detail/f:WSManFault", NS)
    assert fault is not None and fault.get("Code") == "2150858793"


def test_fault_scope_pull_faults_after_the_first_page(ep: Endpoint) -> None:
    proto = client(ep, "partial_provider_error")
    root = send(proto, ENUMERATE, CLASS_URI, enumerate_body())[1]
    assert len(items_of(root)) == 1
    context = root.findtext("s:Body/n:EnumerateResponse/n:EnumerationContext", namespaces=NS)
    with pytest.raises(WSManFaultError) as info:
        send(proto, PULL, CLASS_URI, pull_body(context or ""))
    assert info.value.wsman_fault_code == 0x80041001
