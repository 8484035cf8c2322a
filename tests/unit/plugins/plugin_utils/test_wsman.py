"""Tests for plugin_utils/_wsman.py: requests, hardened parsing, replies, faults."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _wsman as w
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wmi_errors import WMI_ERRORS, WmiError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_errors import (
    ResponseTooLargeError,
    Target,
    WSManFault,
    WSManResponseError,
    XmlRefusedError,
)

DATA = Path(__file__).resolve().parents[2] / "test_data" / "wsman"
STATS_ID = "uuid:00000000-0000-4000-8000-000000000001"
PULL1_ID = "uuid:00000000-0000-4000-8000-000000000002"
RELEASE_ID = "uuid:00000000-0000-4000-8000-000000000005"
MESSAGE_ID = "uuid:11111111-2222-4333-8444-555555555555"
TARGET = Target("win1", 5986, "ops", "https://win1:5986/wsman")


def load(name: str) -> bytes:
    return (DATA / name).read_bytes()


def q(namespace: str, local: str) -> str:
    return f"{{{namespace}}}{local}"


def request(message_id: str = MESSAGE_ID, uri: str = w.STATS_CLASS_URI) -> w.Request:
    return w.Request(TARGET, uri, message_id, operation_timeout_sec=20)


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
    root = ET.fromstring(w.build_enumerate(request()))
    check_headers(root, w.ACTION_ENUMERATE, w.STATS_CLASS_URI)
    enumerate_ = root.find(f"{q(w.NS_SOAP, 'Body')}/{q(w.NS_ENUMERATION, 'Enumerate')}")
    assert enumerate_ is not None
    assert [child.tag for child in enumerate_] == [q(w.NS_WSMAN, "OptimizeEnumeration"),
                                                   q(w.NS_WSMAN, "MaxElements")]
    assert enumerate_.findtext(q(w.NS_WSMAN, "MaxElements")) == "32000"


def test_pull_request_carries_context_and_max_elements_in_the_enumeration_namespace() -> None:
    root = ET.fromstring(w.build_pull(request(), "uuid:CTX-1"))
    check_headers(root, w.ACTION_PULL, w.STATS_CLASS_URI)
    pull = root.find(f"{q(w.NS_SOAP, 'Body')}/{q(w.NS_ENUMERATION, 'Pull')}")
    assert pull is not None
    assert pull.findtext(q(w.NS_ENUMERATION, "EnumerationContext")) == "uuid:CTX-1"
    assert pull.findtext(q(w.NS_ENUMERATION, "MaxElements")) == "32000"


def test_release_request_carries_the_context() -> None:
    root = ET.fromstring(w.build_release(request(), "uuid:CTX-2"))
    check_headers(root, w.ACTION_RELEASE, w.STATS_CLASS_URI)
    context = root.find(f"{q(w.NS_SOAP, 'Body')}/{q(w.NS_ENUMERATION, 'Release')}/"
                        f"{q(w.NS_ENUMERATION, 'EnumerationContext')}")
    assert context is not None and context.text == "uuid:CTX-2"


def test_request_text_is_escaped_by_elementtree() -> None:
    data = w.build_pull(request(), "uuid:<&>")
    assert b"uuid:&lt;&amp;&gt;" in data
    assert ET.fromstring(data).findtext(f".//{q(w.NS_ENUMERATION, 'EnumerationContext')}") == (
        "uuid:<&>")


# --- hardened parser -------------------------------------------------------------------------
DOCTYPE_REFUSED = ("wsman: unusable reply from win1:5986 (user 'ops') to Enumerate: it contains "
                   "a document type declaration (<!DOCTYPE s:Envelope>), which a "
                   "WS-Management reply never has")


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        pytest.param("dtd_entity_bomb.xml", XmlRefusedError, DOCTYPE_REFUSED, id="billion-laughs"),
        pytest.param("external_entity.xml", XmlRefusedError, DOCTYPE_REFUSED,
                     id="external-entity"),
        pytest.param("undefined_entity.xml", WSManResponseError,
                     "wsman: unusable reply from win1:5986 (user 'ops') to Enumerate: it is not "
                     "well-formed XML (undefined entity at line 1, column 70)",
                     id="undefined-entity"),
        pytest.param("malformed.xml", WSManResponseError,
                     "wsman: unusable reply from win1:5986 (user 'ops') to Enumerate: it is not "
                     "well-formed XML (no element found at line 1, column 700)", id="truncated"),
    ],
)
def test_hostile_or_broken_xml_is_refused(name: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=re.escape(message)) as caught:
        w.parse_enumerate_response(load(name), request(STATS_ID))
    assert caught.type is error
    assert (caught.value.operation, caught.value.target) == ("Enumerate", TARGET)


def test_a_billion_laughs_is_refused_before_any_entity_is_expanded() -> None:
    # Nine levels of ten: a billion "lol"s, about 3 GB if expanded, referenced from the body.
    entities = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    data = (f'<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY l0 "lol">{entities}]>'
            '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">&l9;</s:Envelope>'
            ).encode()
    start = time.perf_counter()
    with pytest.raises(XmlRefusedError, match=re.escape("<!DOCTYPE s:Envelope>")):
        w.parse_xml(data)
    assert time.perf_counter() - start < 0.5


def test_external_dtd_reference_is_refused_without_fetching() -> None:
    data = b'<!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd"><x/>'
    with pytest.raises(XmlRefusedError, match=re.escape(
            "wsman: unusable reply from the host: it contains a document type declaration "
            "(<!DOCTYPE x>)")):
        w.parse_xml(data)


def test_a_doctype_in_another_encoding_is_refused_too() -> None:
    # expat reads the encoding, so the check cannot be fooled by bytes that hide the DOCTYPE.
    data = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>'
    with pytest.raises(XmlRefusedError, match=re.escape("(<!DOCTYPE x>)")):
        w.parse_xml(data.encode("utf-16"))


@pytest.mark.parametrize(("depth", "refused"), [
    pytest.param(w.MAX_DEPTH, False, id="at-the-limit"),
    pytest.param(w.MAX_DEPTH + 1, True, id="one-deeper"),
    pytest.param(500_000, True, id="half-a-million-deep"),
])
def test_deep_nesting_is_refused(depth: int, refused: bool) -> None:
    data = b"<a>" * depth + b"</a>" * depth
    if not refused:
        assert w.parse_xml(data).tag == "a"
        return
    with pytest.raises(XmlRefusedError, match=re.escape(
            f"wsman: unusable reply from the host: it nests elements more than {w.MAX_DEPTH} "
            "deep, which a WS-Management reply never does")):
        w.parse_xml(data)


def test_reply_over_the_bound_is_refused_before_parsing() -> None:
    data = b"<a>" + b" " * w.MAX_RESPONSE_BYTES + b"</a>"
    with pytest.raises(ResponseTooLargeError, match=re.escape(
            f"wsman: unusable reply from win1:5986 (user 'ops') to Enumerate: the reply is "
            f"larger than the limit of {w.MAX_RESPONSE_BYTES} bytes (at least {len(data)} "
            "bytes)")) as caught:
        w.parse_enumerate_response(data, request(STATS_ID))
    assert (caught.value.limit, caught.value.size) == (w.MAX_RESPONSE_BYTES, len(data))


def test_soap_value_qnames_are_resolved_with_the_declarations_in_scope() -> None:
    data = (b'<s:Fault xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Code>'
            b'<s:Value>s:Sender</s:Value><s:Subcode><s:Value xmlns:x="urn:other">x:Thing'
            b'</s:Value></s:Subcode></s:Code></s:Fault>')
    fault = w.parse_fault(w.parse_xml(data))
    assert fault.subcode == "{urn:other}Thing"


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
    page = w.parse_enumerate_response(load("enumerate_end_of_sequence.xml"), request(STATS_ID))
    assert page.context == "uuid:0F3C2A11-7E55-4B8C-A0E2-1D2C3B4A5001"
    assert page.end_of_sequence is True
    names = [item.findtext(f"{{{w.STATS_CLASS_URI}}}InstanceName") for item in page.items]
    assert names == ["ROOT\\ISCSIPRT\\0000_0", "ROOT\\ISCSIPRT\\0001_0"]


def test_enumerate_response_needing_pulls_has_a_context_and_no_end() -> None:
    page = w.parse_enumerate_response(load("enumerate_needs_pull.xml"), request(STATS_ID))
    assert (page.context, len(page.items), page.end_of_sequence) == (
        "uuid:0F3C2A11-7E55-4B8C-A0E2-1D2C3B4A5003", 1, False)


def test_pull_responses_read_items_in_the_enumeration_namespace() -> None:
    more = w.parse_pull_response(load("pull_more.xml"), request(PULL1_ID))
    assert (more.context, len(more.items), more.end_of_sequence) == (
        "uuid:0F3C2A11-7E55-4B8C-A0E2-1D2C3B4A5004", 1, False)
    end = w.parse_pull_response(load("pull_end_of_sequence.xml"),
                                request("uuid:00000000-0000-4000-8000-000000000003"))
    assert (end.context, len(end.items), end.end_of_sequence) == (None, 1, True)


def test_items_are_matched_by_namespace_uri_not_by_prefix() -> None:
    # In a PullResponse, w:Items (DSP0226 namespace) is not n:Items: nothing is read from it.
    data = load("pull_more.xml").replace(b"n:Items", b"w:Items")
    assert w.parse_pull_response(data, request(PULL1_ID)).items == ()
    # Same document with other prefixes (and a default namespace for the instance).
    page = w.parse_enumerate_response(load("enumerate_other_prefixes.xml"), request(STATS_ID))
    assert page.end_of_sequence is True
    assert page.items[0].findtext(f"{{{w.STATS_CLASS_URI}}}InstanceName") == (
        "ROOT\\ISCSIPRT\\0000_0")


def test_release_response_is_accepted() -> None:
    assert w.parse_release_response(load("release_response.xml"), request(RELEASE_ID)) is None


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
        pytest.param(b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"/>',
                     STATS_ID, "the envelope has no Body", id="no-body"),
        pytest.param(re.sub(rb"<s:Body>.*</s:Body>", b"<s:Body/>",
                            load("enumerate_end_of_sequence.xml"), flags=re.DOTALL), STATS_ID,
                     "the Body has no EnumerateResponse", id="no-enumerate-response"),
        pytest.param(load("enumerate_end_of_sequence.xml").replace(b"<w:EndOfSequence/>", b"")
                     .replace(b"<n:EnumerationContext>uuid:0F3C2A11-7E55-4B8C-A0E2-1D2C3B4A5001"
                              b"</n:EnumerationContext>", b""), STATS_ID,
                     "the reply neither ends the sequence nor gives an EnumerationContext to "
                     "pull with", id="no-context-no-end"),
    ],
)
def test_unusable_replies_are_refused(data: bytes, message_id: str, message: str) -> None:
    with pytest.raises(WSManResponseError, match=re.escape(
            "wsman: unusable reply from win1:5986 (user 'ops') to Enumerate: " + message)):
        w.parse_enumerate_response(data, request(message_id))


def test_fault_without_relates_to_is_still_a_fault() -> None:
    data = re.sub(rb"<a:RelatesTo>[^<]*</a:RelatesTo>", b"", load("fault_access_denied.xml"))
    with pytest.raises(WSManFault) as caught:
        w.parse_enumerate_response(data, request("uuid:whatever"))
    assert caught.value.code == 0x80338104


# --- faults ----------------------------------------------------------------------------------
FAULT_CASES = [
    pytest.param("fault_cannot_process_filter.xml", "class_not_found", 0x8033801A,
                 "ERROR_WSMAN_ENUMERATE_CANNOT_PROCESS_FILTER",
                 f"{{{w.NS_ENUMERATION}}}CannotProcessFilter",
                 "The specified class does not exist in the given namespace.",
                 id="class-not-found-wql"),
    pytest.param("fault_invalid_resource_uri.xml", "class_not_found", 0x80338000,
                 "ERROR_WSMAN_RESOURCE_NOT_FOUND", f"{{{w.NS_ADDRESSING}}}DestinationUnreachable",
                 "The WS-Management service cannot process the request. The service cannot "
                 "find the resource identified by the resource URI and selectors.",
                 id="class-not-found-uri"),
    pytest.param("fault_wmierror_invalid_resource_uri.xml", "class_not_found", 0x80338000,
                 "ERROR_WSMAN_RESOURCE_NOT_FOUND", f"{{{w.NS_ADDRESSING}}}DestinationUnreachable",
                 "The WS-Management service cannot process the request. The service cannot "
                 "find the resource identified by the resource URI and selectors.",
                 id="class-not-found-msft-wmierror"),
    pytest.param("fault_provider_not_capable.xml", "provider_error", 0x80338102,
                 "ERROR_WSMAN_WMI_PROVIDER_NOT_CAPABLE", f"{{{w.NS_WSMAN}}}InternalError",
                 "The WS-Management service cannot process the request. The WMI service "
                 "reported that the WMI provider could not perform the requested operation. "
                 "(WDM specific return code: 4200)", id="provider-error-wdm-4200"),
    pytest.param("fault_access_denied.xml", "access_denied", 0x80338104,
                 "ERROR_WSMAN_WMI_SVC_ACCESS_DENIED", f"{{{w.NS_WSMAN}}}AccessDenied",
                 "The WS-Management service cannot process the request. The WMI service "
                 "returned an 'access denied' error.", id="access-denied"),
    pytest.param("fault_operation_timeout.xml", "timed_out", 0x80338029,
                 "ERROR_WSMAN_OPERATION_TIMEDOUT", f"{{{w.NS_WSMAN}}}TimedOut",
                 "The WS-Management service cannot complete the operation within the time "
                 "specified in OperationTimeout.", id="timed-out"),
    # OMI's parser test (TestTimeoutResponse): p:ActivityId header, empty xml:lang.
    pytest.param("fault_timed_out_activity_id.xml", "timed_out", 0x80338029,
                 "ERROR_WSMAN_OPERATION_TIMEDOUT", f"{{{w.NS_WSMAN}}}TimedOut",
                 "The WS-Management service cannot complete the operation within the time "
                 "specified in OperationTimeout.", id="timed-out-activity-id"),
    pytest.param("fault_passthrough_hresult.xml", "provider_error", 0x80041001,
                 "WBEM_E_FAILED", f"{{{w.NS_WSMAN}}}InternalError",
                 "The WS-Management service cannot process the request. The WMI service or the "
                 "WMI provider returned an unknown error: HRESULT 0x80041001",
                 id="pass-through-hresult"),
    pytest.param("fault_extended_status_dmtf.xml", "provider_error", 0x80338102,
                 "ERROR_WSMAN_WMI_PROVIDER_NOT_CAPABLE", f"{{{w.NS_WSMAN}}}InternalError",
                 "The WS-Management service cannot process the request. The WMI service "
                 "reported that the WMI provider could not perform the requested operation. "
                 "(WDM specific return code: 4200)", id="provider-error-dmtf-extended-status"),
    # pywinrm's MSFT_WmiError fault: no f:WSManFault, no a:RelatesTo.
    pytest.param("fault_msft_wmierror_only.xml", "provider_error", 0x8004100C,
                 "WBEM_E_NOT_SUPPORTED", f"{{{w.NS_WSMAN}}}InternalError", "Not supported",
                 id="msft-wmierror-only"),
]


@pytest.mark.parametrize(("name", "outcome", "code", "symbol", "subcode", "message"),
                         FAULT_CASES)
def test_faults_are_parsed_and_classified(name: str, outcome: str | None, code: int,
                                          symbol: str, subcode: str, message: str) -> None:
    with pytest.raises(WSManFault) as caught:
        w.parse_enumerate_response(load(name), request(STATS_ID))
    fault = caught.value
    assert fault.outcome == outcome
    assert fault.code == code
    assert fault.hex_code == "0x%08X" % code
    assert fault.name == symbol
    assert fault.subcode == subcode
    assert fault.host_message == message
    assert fault.operation == "Enumerate"
    assert fault.resource_uri == w.STATS_CLASS_URI
    assert fault.target == TARGET


def test_fault_fields_from_the_wsmanfault_detail() -> None:
    with pytest.raises(WSManFault) as caught:
        w.parse_enumerate_response(load("fault_cannot_process_filter.xml"), request(STATS_ID))
    fault = caught.value
    assert fault.machine == "win-iscsi01.example.test"
    assert fault.provider_message == "The specified class does not exist in the given namespace."
    assert fault.extended_description is None
    assert fault.reason == ("The data source could not process the filter. The filter might be "
                            "missing or it might be invalid. Change the filter and try the "
                            "request again.")


def test_the_wdm_return_code_comes_from_the_extended_status() -> None:
    with pytest.raises(WSManFault) as caught:
        w.parse_enumerate_response(load("fault_provider_not_capable.xml"), request(STATS_ID))
    assert caught.value.extended_description == "WDM specific return code: 4200"


@pytest.mark.parametrize(("code", "subcode", "fault_detail", "extended", "outcome"), [
    pytest.param(None, f"{{{w.NS_ENUMERATION}}}CannotProcessFilter", None, None,
                 "class_not_found", id="subcode-cannot-process-filter-without-code"),
    pytest.param(None, f"{{{w.NS_ADDRESSING}}}DestinationUnreachable",
                 w.FAULT_DETAIL_INVALID_RESOURCE_URI, None, "class_not_found",
                 id="destination-unreachable-invalid-resource-uri"),
    pytest.param(None, f"{{{w.NS_ADDRESSING}}}DestinationUnreachable", None, None, None,
                 id="destination-unreachable-alone"),
    pytest.param(0x80338122, None, None, None, "class_not_found",
                 id="wsman-cannot-process-filter"),
    pytest.param(0x80338003, None, None, "WDM specific return code: 4200", "provider_error",
                 id="wdm-return-code"),
    pytest.param(0x80041003, None, None, None, "access_denied", id="wbem-access-denied"),
    pytest.param(None, f"{{{w.NS_WSMAN}}}TimedOut", None, None, "timed_out",
                 id="subcode-timed-out"),
    pytest.param(0x80041006, f"{{{w.NS_WSMAN}}}InternalError", None, None, None,
                 id="unknown-wmi-hresult-fails"),
    # The WMI table wins over a subcode: a pass-through access denied is access denied.
    pytest.param(0x80070005, f"{{{w.NS_WSMAN}}}InternalError", None, None, "access_denied",
                 id="pass-through-access-denied"),
    pytest.param(None, "{urn:not-wsman}CannotProcessFilter", None, None, None,
                 id="same-local-name-other-namespace"),
    pytest.param(None, None, None, None, None, id="empty"),
])
def test_classify_fault(code: int | None, subcode: str | None, fault_detail: str | None,
                        extended: str | None, outcome: str | None) -> None:
    assert w.classify_fault(code, subcode, fault_detail, extended) == outcome


@pytest.mark.parametrize(("text", "value"), [
    pytest.param("0x80338104", 0x80338104, id="hex"),
    pytest.param("-2144108284", 0x80338104, id="signed"),
    pytest.param("2150859012", 0x80338104, id="unsigned"),
    pytest.param("x", None, id="junk"),
    pytest.param("4294967296", None, id="too-big"),
])
def test_fault_codes_in_any_notation(text: str, value: int | None) -> None:
    data = load("fault_access_denied.xml").replace(b'Code="2150859012"',
                                                   f'Code="{text}"'.encode())
    with pytest.raises(WSManFault) as caught:
        w.parse_enumerate_response(data, request(STATS_ID))
    assert caught.value.code == value


@pytest.mark.parametrize("error", WMI_ERRORS, ids=[e.name for e in WMI_ERRORS])
@pytest.mark.parametrize("notation", ["decimal", "hex", "signed"])
def test_a_pass_through_hresult_is_classified_by_the_wmi_table(
        error: WmiError, notation: str) -> None:
    # WinRM's "unknown error: HRESULT 0x8004xxxx" carries the raw HRESULT as the Code, written
    # in decimal by Windows (hex and signed accepted too).
    code = error.code
    text = {"decimal": str(code), "hex": f"0x{code:08X}", "signed": str(code - 2**32)}[notation]
    data = load("fault_passthrough_hresult.xml").replace(b'Code="2147749889"',
                                                         f'Code="{text}"'.encode())
    with pytest.raises(WSManFault) as caught:
        w.parse_enumerate_response(data, request(STATS_ID))
    assert caught.value.code == code
    assert caught.value.outcome == error.outcome
    assert caught.value.name == error.name


def test_an_unknown_pass_through_hresult_is_a_failure_naming_the_code() -> None:
    data = load("fault_passthrough_hresult.xml").replace(b'Code="2147749889"',
                                                         b'Code="2147749894"')
    with pytest.raises(WSManFault) as caught:
        w.parse_enumerate_response(data, request(STATS_ID))
    assert caught.value.outcome is None
    assert str(caught.value) == (
        f"wsman: win1:5986 (user 'ops') answered Enumerate of {w.STATS_CLASS_URI} with fault "
        "0x80041006 (InternalError): The WS-Management service cannot process the request. The "
        "WMI service or the WMI provider returned an unknown error: HRESULT 0x80041001")


def test_an_msft_wmierror_without_error_code_is_read_from_its_message_id() -> None:
    data = re.sub(rb"<p:error_Code [^>]*>\d+</p:error_Code>", b"",
                  load("fault_msft_wmierror_only.xml"))
    assert b"error_Code" not in data
    with pytest.raises(WSManFault) as caught:
        w.parse_enumerate_response(data, request(STATS_ID))
    assert caught.value.code == 0x8004100C
    assert caught.value.outcome == "provider_error"


def test_the_extended_status_is_matched_by_local_name_and_kept_in_the_message() -> None:
    with pytest.raises(WSManFault) as caught:
        w.parse_enumerate_response(load("fault_extended_status_dmtf.xml"), request(STATS_ID))
    assert caught.value.extended_description == "WDM specific return code: 4200"
    with pytest.raises(WSManFault) as caught:
        w.parse_enumerate_response(load("fault_passthrough_hresult.xml"), request(STATS_ID))
    assert caught.value.extended_description is None  # xsi:nil Description


def test_a_timed_out_fault_names_the_operation_timeout() -> None:
    with pytest.raises(WSManFault) as caught:
        w.parse_enumerate_response(load("fault_timed_out_activity_id.xml"), request(STATS_ID))
    assert caught.value.operation_timeout_sec == 20
    assert str(caught.value) == (
        f"wsman: win1:5986 (user 'ops') did not finish Enumerate of {w.STATS_CLASS_URI} within "
        "its OperationTimeout of 20 s: fault 0x80338029 ERROR_WSMAN_OPERATION_TIMEDOUT "
        "(TimedOut): The WS-Management service cannot complete the operation within the time "
        "specified in OperationTimeout. A WMI provider (the iSCSI adapter's WDM driver) is hung "
        "or slow; the task fails rather than waiting. Raise ansible_winrm_operation_timeout_sec "
        "if the provider is only slow")
