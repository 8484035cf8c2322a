"""Tests for plugin_utils/_wsman.py: requests, hardened parsing, replies, faults."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import fields
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _wsman as w

DATA = Path(__file__).resolve().parents[2] / "test_data" / "wsman"
STATS_ID = "uuid:00000000-0000-4000-8000-000000000001"
PULL1_ID = "uuid:00000000-0000-4000-8000-000000000002"
OS_ID = "uuid:00000000-0000-4000-8000-000000000004"
RELEASE_ID = "uuid:00000000-0000-4000-8000-000000000005"
MESSAGE_ID = "uuid:11111111-2222-4333-8444-555555555555"


def load(name: str) -> bytes:
    return (DATA / name).read_bytes()


def q(namespace: str, local: str) -> str:
    return f"{{{namespace}}}{local}"


def header(uri: str = w.STATS_CLASS_URI) -> w.RequestHeader:
    return w.RequestHeader(to="https://win1:5986/wsman", resource_uri=uri, message_id=MESSAGE_ID,
                           operation_timeout_sec=20)


# --- requests ------------------------------------------------------------------------------
def check_headers(root: ET.Element, action: str, uri: str) -> None:
    must = q(w.NS_SOAP, "mustUnderstand")
    head = root.find(q(w.NS_SOAP, "Header"))
    assert head is not None
    assert head.findtext(q(w.NS_ADDRESSING, "To")) == "https://win1:5986/wsman"
    resource = head.find(q(w.NS_WSMAN, "ResourceURI"))
    assert resource is not None and resource.text == uri and resource.get(must) == "true"
    address = head.find(f"{q(w.NS_ADDRESSING, 'ReplyTo')}/{q(w.NS_ADDRESSING, 'Address')}")
    assert address is not None and address.text == w.ADDRESS_ANONYMOUS
    action_element = head.find(q(w.NS_ADDRESSING, "Action"))
    assert action_element is not None and action_element.text == action
    assert action_element.get(must) == "true"
    assert head.findtext(q(w.NS_WSMAN, "MaxEnvelopeSize")) == "153600"
    assert head.findtext(q(w.NS_ADDRESSING, "MessageID")) == MESSAGE_ID
    for namespace, local in ((w.NS_WSMAN, "Locale"), (w.NS_MS_WSMAN, "DataLocale")):
        locale = head.find(q(namespace, local))
        assert locale is not None and locale.get(q(w.NS_XML, "lang")) == "en-US"
        assert locale.get(must) == "false"
    assert head.findtext(q(w.NS_WSMAN, "OperationTimeout")) == "PT20S"


def test_enumerate_request_for_the_class_uri_has_no_filter() -> None:
    root = ET.fromstring(w.build_enumerate(header()))
    check_headers(root, w.ACTION_ENUMERATE, w.STATS_CLASS_URI)
    enumerate_ = root.find(f"{q(w.NS_SOAP, 'Body')}/{q(w.NS_ENUMERATION, 'Enumerate')}")
    assert enumerate_ is not None
    assert [child.tag for child in enumerate_] == [q(w.NS_WSMAN, "OptimizeEnumeration"),
                                                   q(w.NS_WSMAN, "MaxElements")]
    assert enumerate_.findtext(q(w.NS_WSMAN, "MaxElements")) == "32000"


def test_enumerate_request_with_wql_carries_the_filter() -> None:
    root = ET.fromstring(w.build_enumerate(header(w.STATS_WQL_URI), max_elements=7,
                                           wql=w.STATS_WQL))
    check_headers(root, w.ACTION_ENUMERATE,
                  "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/wmi/*")
    body = root.find(f"{q(w.NS_SOAP, 'Body')}/{q(w.NS_ENUMERATION, 'Enumerate')}")
    assert body is not None
    assert body.findtext(q(w.NS_WSMAN, "MaxElements")) == "7"
    filter_ = body.find(q(w.NS_WSMAN, "Filter"))
    assert filter_ is not None
    assert filter_.text == "SELECT * FROM MSiSCSI_MMIPSECStats"
    assert filter_.get("Dialect") == "http://schemas.microsoft.com/wbem/wsman/1/WQL"


def test_pull_request_carries_context_and_max_elements_in_the_enumeration_namespace() -> None:
    root = ET.fromstring(w.build_pull(header(), "uuid:CTX-1", max_elements=5))
    check_headers(root, w.ACTION_PULL, w.STATS_CLASS_URI)
    pull = root.find(f"{q(w.NS_SOAP, 'Body')}/{q(w.NS_ENUMERATION, 'Pull')}")
    assert pull is not None
    assert pull.findtext(q(w.NS_ENUMERATION, "EnumerationContext")) == "uuid:CTX-1"
    assert pull.findtext(q(w.NS_ENUMERATION, "MaxElements")) == "5"


def test_release_request_carries_the_context() -> None:
    root = ET.fromstring(w.build_release(header(), "uuid:CTX-2"))
    check_headers(root, w.ACTION_RELEASE, w.STATS_CLASS_URI)
    context = root.find(f"{q(w.NS_SOAP, 'Body')}/{q(w.NS_ENUMERATION, 'Release')}/"
                        f"{q(w.NS_ENUMERATION, 'EnumerationContext')}")
    assert context is not None and context.text == "uuid:CTX-2"


def test_request_text_is_escaped_by_elementtree() -> None:
    data = w.build_enumerate(header(), wql="SELECT * FROM X WHERE Name = '<&>'")
    assert b"&lt;&amp;&gt;" in data
    root = ET.fromstring(data)
    assert root.find(f".//{q(w.NS_WSMAN, 'Filter')}").text == "SELECT * FROM X WHERE Name = '<&>'"


# --- hardened parser -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        pytest.param("dtd_entity_bomb.xml", w.XmlRefusedError,
                     "wsman: unusable reply from the host to Enumerate: it contains a document "
                     "type declaration (<!DOCTYPE s:Envelope>), which a WS-Management reply "
                     "never has", id="billion-laughs"),
        pytest.param("external_entity.xml", w.XmlRefusedError,
                     "wsman: unusable reply from the host to Enumerate: it contains a document "
                     "type declaration (<!DOCTYPE s:Envelope>), which a WS-Management reply "
                     "never has", id="external-entity"),
        pytest.param("undefined_entity.xml", w.WSManResponseError,
                     "wsman: unusable reply from the host to Enumerate: it is not well-formed "
                     "XML (undefined entity at line 1, column 70)", id="undefined-entity"),
        pytest.param("malformed.xml", w.WSManResponseError,
                     "wsman: unusable reply from the host to Enumerate: it is not well-formed "
                     "XML (no element found at line 1, column 700)", id="truncated"),
    ],
)
def test_hostile_or_broken_xml_is_refused(name: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=re.escape(message)) as caught:
        w.parse_enumerate_response(load(name), STATS_ID)
    assert caught.type is error
    assert caught.value.operation == "Enumerate"


def test_external_dtd_reference_is_refused_without_fetching() -> None:
    data = b'<!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd"><x/>'
    with pytest.raises(w.XmlRefusedError, match=re.escape(
            "it contains a document type declaration (<!DOCTYPE x>)")):
        w.parse_xml(data)


def test_reply_over_the_bound_is_refused_before_parsing() -> None:
    data = load("enumerate_end_of_sequence.xml")
    with pytest.raises(w.ResponseTooLargeError, match=re.escape(
            f"wsman: unusable reply from the host to Enumerate: the reply is larger than the "
            f"limit of 1000 bytes (at least {len(data)} bytes)")) as caught:
        w.parse_enumerate_response(data, STATS_ID, max_bytes=1000)
    assert (caught.value.limit, caught.value.size) == (1000, len(data))


def test_soap_value_qnames_are_resolved_with_the_declarations_in_scope() -> None:
    data = (b'<s:Fault xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Code>'
            b'<s:Value>s:Sender</s:Value><s:Subcode><s:Value xmlns:x="urn:other">x:Thing'
            b'</s:Value></s:Subcode></s:Code></s:Fault>')
    info = w.parse_fault(w.parse_xml(data))
    assert info.fault_code == "{http://www.w3.org/2003/05/soap-envelope}Sender"
    assert info.subcode == "{urn:other}Thing"


def test_a_rebound_prefix_resolves_to_the_innermost_declaration_until_it_ends() -> None:
    data = (b'<r xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:x="urn:outer">'
            b'<s:Value>x:A</s:Value>'
            b'<m xmlns:x="urn:inner"><s:Value>x:B</s:Value><s:Value xmlns:x="urn:own">x:C</s:Value>'
            b'<s:Value>x:D</s:Value></m>'
            b'<s:Value>x:E</s:Value><s:Value>y:F</s:Value><s:Value>G</s:Value></r>')
    values = w.parse_xml(data).iter("{http://www.w3.org/2003/05/soap-envelope}Value")
    assert [v.get(w.QNAME_ATTRIBUTE) for v in values] == [
        "{urn:outer}A", "{urn:inner}B", "{urn:own}C", "{urn:inner}D", "{urn:outer}E", None, None]


# --- replies ---------------------------------------------------------------------------------
def test_enumerate_response_with_items_and_end_of_sequence() -> None:
    page = w.parse_enumerate_response(load("enumerate_end_of_sequence.xml"), STATS_ID)
    assert page.context == "uuid:0F3C2A11-7E55-4B8C-A0E2-1D2C3B4A5001"
    assert page.end_of_sequence is True
    names = [w.parse_instance(item, w.STATS_CLASS_URI).properties["InstanceName"]
             for item in page.items]
    assert names == ["ROOT\\ISCSIPRT\\0000_0", "ROOT\\ISCSIPRT\\0001_0"]


def test_enumerate_response_needing_pulls_has_a_context_and_no_end() -> None:
    page = w.parse_enumerate_response(load("enumerate_needs_pull.xml"), STATS_ID)
    assert (page.context, len(page.items), page.end_of_sequence) == (
        "uuid:0F3C2A11-7E55-4B8C-A0E2-1D2C3B4A5003", 1, False)


def test_pull_responses_read_items_in_the_enumeration_namespace() -> None:
    more = w.parse_pull_response(load("pull_more.xml"), PULL1_ID)
    assert (more.context, len(more.items), more.end_of_sequence) == (
        "uuid:0F3C2A11-7E55-4B8C-A0E2-1D2C3B4A5004", 1, False)
    end = w.parse_pull_response(load("pull_end_of_sequence.xml"),
                                "uuid:00000000-0000-4000-8000-000000000003")
    assert (end.context, len(end.items), end.end_of_sequence) == (None, 1, True)


def test_items_are_matched_by_namespace_uri_not_by_prefix() -> None:
    # In a PullResponse, w:Items (DSP0226 namespace) is not n:Items: nothing is read from it.
    data = load("pull_more.xml").replace(b"n:Items", b"w:Items")
    assert w.parse_pull_response(data, PULL1_ID).items == ()
    # Same document with other prefixes (and a default namespace for the instance).
    page = w.parse_enumerate_response(load("enumerate_other_prefixes.xml"), STATS_ID)
    instance = w.parse_instance(page.items[0], w.STATS_CLASS_URI)
    assert page.end_of_sequence is True
    assert instance.properties["InstanceName"] == "ROOT\\ISCSIPRT\\0000_0"
    assert instance.properties["SoftAssociations"] == "21"


def test_release_response_is_accepted() -> None:
    assert w.parse_release_response(load("release_response.xml"), RELEASE_ID) is None


@pytest.mark.parametrize(
    ("data", "message_id", "message"),
    [
        pytest.param(load("enumerate_end_of_sequence.xml"), "uuid:other",
                     "RelatesTo is 'uuid:00000000-0000-4000-8000-000000000001', expected the "
                     "MessageID sent ('uuid:other')", id="relates-to-mismatch"),
        pytest.param(re.sub(rb"<a:RelatesTo>[^<]*</a:RelatesTo>", b"",
                            load("enumerate_end_of_sequence.xml")), STATS_ID,
                     f"RelatesTo is None, expected the MessageID sent ({STATS_ID!r})",
                     id="relates-to-missing"),
        pytest.param(load("pull_more.xml").replace(PULL1_ID.encode(), STATS_ID.encode()),
                     STATS_ID, "Action is 'http://schemas.xmlsoap.org/ws/2004/09/enumeration/"
                     "PullResponse', expected 'http://schemas.xmlsoap.org/ws/2004/09/"
                     "enumeration/EnumerateResponse'", id="wrong-action"),
        pytest.param(load("fault_access_denied.xml"), "uuid:other",
                     f"a fault relates to {STATS_ID!r}, not to the request sent ('uuid:other')",
                     id="fault-for-another-message"),
        pytest.param(b'<x:Envelope xmlns:x="http://schemas.xmlsoap.org/soap/envelope/"/>',
                     STATS_ID, "the root element is {http://schemas.xmlsoap.org/soap/envelope/}"
                     "Envelope, not a SOAP 1.2 Envelope", id="soap-1.1"),
        pytest.param(load("enumerate_end_of_sequence.xml").replace(b"<w:EndOfSequence/>", b"")
                     .replace(b"<n:EnumerationContext>uuid:0F3C2A11-7E55-4B8C-A0E2-1D2C3B4A5001"
                              b"</n:EnumerationContext>", b""), STATS_ID,
                     "the reply neither ends the sequence nor gives an EnumerationContext to "
                     "pull with", id="no-context-no-end"),
    ],
)
def test_unusable_replies_are_refused(data: bytes, message_id: str, message: str) -> None:
    with pytest.raises(w.WSManResponseError, match=re.escape(
            "wsman: unusable reply from the host to Enumerate: " + message)):
        w.parse_enumerate_response(data, message_id)


def test_fault_without_relates_to_is_still_a_fault() -> None:
    data = re.sub(rb"<a:RelatesTo>[^<]*</a:RelatesTo>", b"", load("fault_access_denied.xml"))
    with pytest.raises(w.WSManFault) as caught:
        w.parse_enumerate_response(data, "uuid:whatever")
    assert caught.value.code == 0x80338104


# --- faults ----------------------------------------------------------------------------------
FAULT_CASES = [
    pytest.param("fault_cannot_process_filter.xml", "class_not_found", 0x8033801A,
                 "ERROR_WSMAN_ENUMERATE_CANNOT_PROCESS_FILTER",
                 f"{{{w.NS_ENUMERATION}}}CannotProcessFilter",
                 "The specified class does not exist in the given namespace.", None,
                 id="class-not-found-wql"),
    pytest.param("fault_invalid_resource_uri.xml", "class_not_found", 0x80338000,
                 "ERROR_WSMAN_RESOURCE_NOT_FOUND", f"{{{w.NS_ADDRESSING}}}DestinationUnreachable",
                 "The WS-Management service cannot process the request. The service cannot "
                 "find the resource identified by the resource URI and selectors.", None,
                 id="class-not-found-uri"),
    pytest.param("fault_wmierror_invalid_resource_uri.xml", "class_not_found", 0x80338000,
                 "ERROR_WSMAN_RESOURCE_NOT_FOUND", f"{{{w.NS_ADDRESSING}}}DestinationUnreachable",
                 "The WS-Management service cannot process the request. The service cannot "
                 "find the resource identified by the resource URI and selectors.", None,
                 id="class-not-found-msft-wmierror"),
    pytest.param("fault_provider_not_capable.xml", "provider_error", 0x80338102,
                 "ERROR_WSMAN_WMI_PROVIDER_NOT_CAPABLE", f"{{{w.NS_WSMAN}}}InternalError",
                 "The WS-Management service cannot process the request. The WMI service "
                 "reported that the WMI provider could not perform the requested operation. "
                 "(WDM specific return code: 4200)", 4200, id="provider-error-wdm-4200"),
    pytest.param("fault_access_denied.xml", "access_denied", 0x80338104,
                 "ERROR_WSMAN_WMI_SVC_ACCESS_DENIED", f"{{{w.NS_WSMAN}}}AccessDenied",
                 "The WS-Management service cannot process the request. The WMI service "
                 "returned an 'access denied' error.", None, id="access-denied"),
    pytest.param("fault_operation_timeout.xml", None, 0x80338029,
                 "ERROR_WSMAN_OPERATION_TIMEDOUT", f"{{{w.NS_WSMAN}}}TimedOut",
                 "The WS-Management service cannot complete the operation within the time "
                 "specified in OperationTimeout.", None, id="other-fault"),
]


@pytest.mark.parametrize(
    ("name", "outcome", "code", "symbol", "subcode", "message", "wdm"), FAULT_CASES)
def test_faults_are_parsed_and_classified(name: str, outcome: str | None, code: int,
                                          symbol: str, subcode: str, message: str,
                                          wdm: int | None) -> None:
    with pytest.raises(w.WSManFault) as caught:
        w.parse_enumerate_response(load(name), STATS_ID, resource_uri=w.STATS_CLASS_URI)
    fault = caught.value
    assert fault.outcome == outcome
    assert fault.code == code
    assert fault.hex_code == "0x%08X" % code
    assert fault.name == symbol
    assert fault.subcode == subcode
    assert fault.host_message == message
    assert fault.info.wdm_return_code == wdm
    assert fault.operation == "Enumerate"
    assert fault.resource_uri == w.STATS_CLASS_URI


def test_fault_fields_from_the_wsmanfault_detail() -> None:
    with pytest.raises(w.WSManFault) as caught:
        w.parse_enumerate_response(load("fault_cannot_process_filter.xml"), STATS_ID)
    info = caught.value.info
    assert info.machine == caught.value.machine == "win-iscsi01.example.test"
    assert info.provider == "WMIv1 plugin for Windows Remote Management"
    assert info.fault_code == f"{{{w.NS_SOAP}}}Sender"
    assert caught.value.reason == ("The data source could not process the filter. The filter "
                                   "might be missing or it might be invalid. Change the filter "
                                   "and try the request again.")


@pytest.mark.parametrize(("code", "symbol"), [
    pytest.param(2150859012, "ERROR_WSMAN_WMI_SVC_ACCESS_DENIED", id="0x80338104"),
    pytest.param(2150859013, "ERROR_WSMAN_WMI_PROVIDER_ACCESS_DENIED", id="0x80338105"),
    pytest.param(2150859014, "ERROR_WSMAN_WMI_CANNOT_CONNECT_ACCESS_DENIED", id="0x80338106"),
])
def test_every_access_denied_code_says_administrator_rights_are_needed(code: int,
                                                                       symbol: str) -> None:
    data = load("fault_access_denied.xml").replace(b'Code="2150859012"', f'Code="{code}"'.encode())
    with pytest.raises(w.WSManFault) as caught:
        w.parse_enumerate_response(data, STATS_ID, resource_uri=w.STATS_CLASS_URI)
    fault = caught.value
    fault.set_target("win1", 5986, "ops")
    assert fault.outcome == "access_denied"
    assert str(fault) == (
        f"wsman: access denied to user 'ops' on win1:5986: Enumerate of {w.STATS_CLASS_URI} "
        f"failed with fault {'0x%08X' % code} {symbol} (AccessDenied): The WS-Management "
        "service cannot process the request. The WMI service returned an 'access denied' "
        "error. The account needs administrator rights on root\\WMI: make it a member of the "
        "host's Administrators group, or grant it 'Enable Account' and 'Remote Enable' on "
        "root\\WMI (WMI Control) and access to WinRM")
    assert fault.details() == {
        "wsman_host": "win1", "wsman_port": 5986, "wsman_user": "ops",
        "wsman_operation": "Enumerate", "wsman_fault_code": "0x%08X" % code,
        "wsman_fault_name": symbol, "wsman_fault_subcode": f"{{{w.NS_WSMAN}}}AccessDenied",
        "wsman_fault_reason": "The WS-Management service cannot process the request. The WMI "
                              "service returned an 'access denied' error.",
        "wsman_fault_machine": "win-iscsi01.example.test",
    }


@pytest.mark.parametrize(("info", "outcome"), [
    pytest.param(w.FaultInfo(subcode=f"{{{w.NS_ENUMERATION}}}CannotProcessFilter"),
                 "class_not_found", id="subcode-cannot-process-filter-without-code"),
    pytest.param(w.FaultInfo(subcode=f"{{{w.NS_ADDRESSING}}}DestinationUnreachable",
                             fault_detail=w.FAULT_DETAIL_INVALID_RESOURCE_URI),
                 "class_not_found", id="destination-unreachable-invalid-resource-uri"),
    pytest.param(w.FaultInfo(subcode=f"{{{w.NS_ADDRESSING}}}DestinationUnreachable"), None,
                 id="destination-unreachable-alone"),
    pytest.param(w.FaultInfo(code=0x80338122), "class_not_found", id="wsman-cannot-process-filter"),
    pytest.param(w.FaultInfo(code=0x80338003, wdm_return_code=4200), "provider_error",
                 id="wdm-return-code"),
    pytest.param(w.FaultInfo(code=0x80041003), "access_denied", id="wbem-access-denied"),
    pytest.param(w.FaultInfo(subcode="{urn:not-wsman}CannotProcessFilter"), None,
                 id="same-local-name-other-namespace"),
    pytest.param(w.FaultInfo(), None, id="empty"),
])
def test_classify_fault(info: w.FaultInfo, outcome: str | None) -> None:
    assert w.classify_fault(info) == outcome


def test_plain_fault_message_names_the_target_request_and_code() -> None:
    with pytest.raises(w.WSManFault) as caught:
        w.parse_enumerate_response(load("fault_operation_timeout.xml"), STATS_ID,
                                   resource_uri=w.STATS_CLASS_URI)
    caught.value.set_target("win1", 5985, None)
    assert str(caught.value) == (
        f"wsman: win1:5985 answered Enumerate of {w.STATS_CLASS_URI} with fault 0x80338029 "
        "ERROR_WSMAN_OPERATION_TIMEDOUT (TimedOut): The WS-Management service cannot complete "
        "the operation within the time specified in OperationTimeout.")


def test_scrub_removes_secrets_from_fault_text() -> None:
    data = load("fault_operation_timeout.xml").replace(b"OperationTimeout.  </f:Message>",
                                                       b"OperationTimeout hunter2 </f:Message>")
    with pytest.raises(w.WSManFault) as caught:
        w.parse_enumerate_response(data, STATS_ID)
    assert "hunter2" in str(caught.value)
    caught.value.scrub(["hunter2", ""])
    assert "hunter2" not in str(caught.value) + repr(caught.value.info)
    assert "OperationTimeout ********" in caught.value.host_message


def test_scrub_redacts_every_text_field_and_keeps_the_codes() -> None:
    texts = {f.name: f"{f.name} hunter2 end" for f in fields(w.FaultInfo)
             if f.type == "str | None"}
    info = w.FaultInfo(code=0x80338029, wdm_return_code=5, **texts)
    fault = w.WSManFault(info, operation="Enumerate")
    fault.scrub(["hunter2"])
    assert fault.info == w.FaultInfo(
        code=0x80338029, wdm_return_code=5,
        **{name: f"{name} ******** end" for name in texts})
    # The test covers every field: the text ones above, and the two codes.
    assert len(texts) + 2 == len(fields(w.FaultInfo))


@pytest.mark.parametrize(("text", "value"), [
    pytest.param("0x80338104", 0x80338104, id="hex"),
    pytest.param("-2144108284", 0x80338104, id="signed"),
    pytest.param("2150859012", 0x80338104, id="unsigned"),
    pytest.param("x", None, id="junk"),
    pytest.param("4294967296", None, id="too-big"),
])
def test_fault_codes_in_any_notation(text: str, value: int | None) -> None:
    assert w._unsigned(text) == value


# --- transport errors ------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "kwargs", "message", "unreachable"), [
    pytest.param("credentials", {"auth_transports": ("ntlm", "basic"), "http_status": 401},
                 "wsman: win1:5986 rejected the credentials of user 'ops' (HTTP 401, the server "
                 "rejected the credentials; transport 'ntlm', 'basic'). Check ansible_user and "
                 "ansible_password, and that the host accepts that transport "
                 "(ansible_winrm_transport)", False, id="credentials"),
    pytest.param("certificate", {"endpoint": "https://win1:5986/wsman"},
                 "wsman: certificate validation failed for https://win1:5986/wsman (user 'ops'): "
                 "CAUSE. Make the controller trust the host's certificate: set "
                 "ansible_winrm_ca_trust_path to a PEM file holding the CA certificate that "
                 "issued it, and check that the certificate is valid for the name 'win1'",
                 False, id="certificate"),
    pytest.param("tls", {"endpoint": "https://win1:5986/wsman"},
                 "wsman: the TLS handshake with https://win1:5986/wsman (user 'ops') failed: "
                 "CAUSE. Check that this port serves HTTPS (ansible_winrm_scheme, ansible_port)",
                 False, id="tls"),
    pytest.param("dropped", {}, "wsman: the connection to win1:5986 (user 'ops') broke while "
                 "reading the reply: CAUSE", True, id="dropped"),
    pytest.param("timeout", {"read_timeout_sec": 30},
                 "wsman: win1:5986 did not answer within 30 s (user 'ops'): CAUSE (raise "
                 "ansible_winrm_read_timeout_sec / ansible_winrm_connection_timeout if the host "
                 "is slow)", True, id="timeout"),
    pytest.param("refused", {}, "wsman: cannot connect to win1:5986 (user 'ops'): connection "
                 "refused; check that WinRM listens on that port (ansible_port, "
                 "ansible_winrm_scheme)", True, id="refused"),
    pytest.param("connection", {}, "wsman: cannot connect to win1:5986 (user 'ops'): CAUSE",
                 True, id="connection"),
    pytest.param("http", {"http_status": 404, "operation": "Enumerate"},
                 "wsman: win1:5986 (user 'ops') answered to Enumerate with HTTP 404: CAUSE",
                 False, id="http"),
    pytest.param("setup", {"auth_transports": ("kerberos",)},
                 "wsman: cannot talk to win1:5986 (user 'ops') with transport 'kerberos': CAUSE",
                 False, id="setup"),
])
def test_transport_error_messages(kind: str, kwargs: dict, message: str,
                                  unreachable: bool) -> None:
    error = w.WSManTransportError(kind, "CAUSE", **kwargs)  # type: ignore[arg-type]
    error.set_target("win1", 5986, "ops")
    assert str(error) == message
    assert error.unreachable is unreachable
    assert error.details()["wsman_error"] == kind


# --- instances and datetimes -----------------------------------------------------------------
def test_parse_instance_reads_nil_arrays_and_nested_values() -> None:
    data = (f'<p:Thing xmlns:p="{w.WMI_URI_BASE}root/cimv2/Thing" xmlns:xsi="{w.NS_XSI}" '
            f'xmlns:cim="{w.NS_CIM}" xmlns:o="urn:other"><p:A xsi:nil="true"/><p:B>1</p:B>'
            '<p:B>2</p:B><p:C></p:C><p:D><cim:Datetime>2026-01-01T00:00:00Z</cim:Datetime>'
            '</p:D><o:E>ignored</o:E></p:Thing>').encode()
    instance = w.parse_instance(w.parse_xml(data), f"{w.WMI_URI_BASE}root/cimv2/Thing")
    assert instance.class_name == "Thing"
    assert {k: v for k, v in instance.properties.items() if k != "D"} == {
        "A": None, "B": ["1", "2"], "C": ""}
    assert w.parse_cim_datetime(instance.properties["D"]) == datetime(2026, 1, 1,
                                                                      tzinfo=timezone.utc)


def test_parse_instance_ignores_other_classes() -> None:
    page = w.parse_enumerate_response(load("enumerate_end_of_sequence.xml"), STATS_ID)
    assert w.parse_instance(page.items[0], w.OS_CLASS_URI) is None


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("2026-11-20T09:12:03.5+02:00", datetime(2026, 11, 20, 7, 12, 3, 500000,
                                                         tzinfo=timezone.utc), id="offset"),
    pytest.param("2026-11-20T07:12:03Z", datetime(2026, 11, 20, 7, 12, 3, tzinfo=timezone.utc),
                 id="zulu"),
    pytest.param("2026-11-20T01:42:03.1234567-05:30", datetime(2026, 11, 20, 7, 12, 3, 123456,
                                                               tzinfo=timezone.utc),
                 id="seven-digit-fraction-negative-offset"),
])
def test_cim_datetime_to_utc(text: str, expected: datetime) -> None:
    assert w.parse_cim_datetime(text) == expected


@pytest.mark.parametrize(("value", "message"), [
    pytest.param("2026-11-20T07:12:03", "expected an xs:dateTime with a time-zone offset, got "
                 "'2026-11-20T07:12:03'", id="no-offset"),
    pytest.param(None, "expected a cim:Datetime, got None", id="nil"),
])
def test_cim_datetime_refuses_what_it_cannot_place_in_time(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        w.parse_cim_datetime(value)
