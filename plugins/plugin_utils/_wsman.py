# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""WS-Management messages for reading a WMI class: requests, replies, faults.

Internal to the winiscsi.ipsec collection: not a public API, may change without notice.

Objects in, bytes out, and bytes in, objects out: nothing here touches the network, so every
function runs on recorded Windows replies. The errors are in ``_wsman_errors``; the transport
and the snapshot in ``_wsman_client``.

Specifications cited below:

- DSP0226: DMTF WS-Management 1.1/1.2 (addressing in section 5, headers in section 6,
  enumeration in section 8, faults in section 14).
- WS-Addressing 2004/08 and WS-Enumeration 2004/09 (W3C member submissions).
- SOAP 1.2 part 1 (the Fault element, section 5.4).
- MS-WSMV: Microsoft's WS-Management extensions (DataLocale, the ``f:WSManFault`` detail and
  its numeric codes, the WMI plugin's resource URIs).
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast
from xml.parsers import expat

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wmi_errors import classify_hresult
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_errors import (
    FaultOutcome,
    ResponseTooLargeError,
    Target,
    WSManFault,
    WSManResponseError,
    XmlRefusedError,
)

# --- Namespaces (matched by URI, never by prefix: the prefixes are what Windows writes) -------
NS_SOAP = "http://www.w3.org/2003/05/soap-envelope"
NS_ADDRESSING = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
NS_ENUMERATION = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
NS_WSMAN = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
NS_MS_WSMAN = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
NS_WSMAN_FAULT = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS_CIM = "http://schemas.dmtf.org/wbem/wscim/1/common"
NS_XML = "http://www.w3.org/XML/1998/namespace"

# A dict because ElementTree's find() takes one; never changed.
NAMESPACES: dict[str, str] = {
    "s": NS_SOAP,  # SOAP 1.2
    "a": NS_ADDRESSING,  # WS-Addressing 2004/08
    "n": NS_ENUMERATION,  # WS-Enumeration 2004/09
    "w": NS_WSMAN,  # DSP0226
    "p": NS_MS_WSMAN,  # MS-WSMV headers
    "f": NS_WSMAN_FAULT,  # MS-WSMV fault detail
    "xsi": NS_XSI,
    "cim": NS_CIM,  # DSP0230 cim:Datetime
    "xml": NS_XML,
}

# --- Actions (WS-Enumeration section 3; DSP0226 sections 8.2 Enumerate, 8.4 Pull, 8.5 Release) --
ACTION_ENUMERATE = NS_ENUMERATION + "/Enumerate"
ACTION_ENUMERATE_RESPONSE = NS_ENUMERATION + "/EnumerateResponse"
ACTION_PULL = NS_ENUMERATION + "/Pull"
ACTION_PULL_RESPONSE = NS_ENUMERATION + "/PullResponse"
ACTION_RELEASE = NS_ENUMERATION + "/Release"
ACTION_RELEASE_RESPONSE = NS_ENUMERATION + "/ReleaseResponse"
# WS-Addressing 2004/08 section 2.1: the reply comes back on the same HTTP connection.
ADDRESS_ANONYMOUS = NS_ADDRESSING + "/role/anonymous"

Operation = Literal["Enumerate", "Pull", "Release"]

# MS-WSMV: the WMI plugin maps resource URIs to WMI namespaces and classes.
WMI_URI_BASE = "http://schemas.microsoft.com/wbem/wsman/1/wmi/"
STATS_CLASS_URI = WMI_URI_BASE + "root/wmi/MSiSCSI_MMIPSECStats"
OS_CLASS_URI = WMI_URI_BASE + "root/cimv2/Win32_OperatingSystem"

# pywinrm's values, which WinRM accepts out of the box (DSP0226 section 6.2: a service may
# refuse less than 8192 octets; Windows' own MaxEnvelopeSizekb default is 500).
MAX_ENVELOPE_SIZE = 153600
LOCALE = "en-US"
# WS-Enumeration Enumerate/Pull: the items one reply may carry. The service sends fewer when
# they do not fit in MaxEnvelopeSize, and the client pulls the rest.
MAX_ELEMENTS = 32000
# A MSiSCSI_MMIPSECStats instance is about 2 KiB: 4 MiB holds thousands of adapters, and keeps
# a hostile reply from filling the controller's memory.
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
# A reply nests about ten deep (Envelope, Body, EnumerateResponse, Items, instance, property,
# cim:Datetime; a fault's Detail a few more). Deeper is an attack on whatever walks the tree.
MAX_DEPTH = 64

# --- WinRM's own codes for WMI outcomes (winerror.h facility WINRM 0x33). The WMI HRESULTs
# themselves (passed through by WinRM, or in an MSFT_WmiError) are in ``_wmi_errors``.
_ACCESS_DENIED_CODES = frozenset({
    0x80338104,  # ERROR_WSMAN_WMI_SVC_ACCESS_DENIED
    0x80338105,  # ERROR_WSMAN_WMI_PROVIDER_ACCESS_DENIED
    0x80338106,  # ERROR_WSMAN_WMI_CANNOT_CONNECT_ACCESS_DENIED
})
_PROVIDER_NOT_CAPABLE_CODE = 0x80338102  # ERROR_WSMAN_WMI_PROVIDER_NOT_CAPABLE
_CLASS_NOT_FOUND_CODES = frozenset({
    0x8033801A,  # ERROR_WSMAN_ENUMERATE_CANNOT_PROCESS_FILTER (WQL form)
    0x80338122,  # ERROR_WSMAN_CANNOT_PROCESS_FILTER
    0x80338000,  # ERROR_WSMAN_RESOURCE_NOT_FOUND (class URI form)
})
_SUBCODE_CANNOT_PROCESS_FILTER = frozenset({
    f"{{{NS_ENUMERATION}}}CannotProcessFilter", f"{{{NS_WSMAN}}}CannotProcessFilter",
})
_SUBCODE_DESTINATION_UNREACHABLE = f"{{{NS_ADDRESSING}}}DestinationUnreachable"
_SUBCODE_ACCESS_DENIED = f"{{{NS_WSMAN}}}AccessDenied"
# DSP0226 section 14.6: the service did not finish within the request's OperationTimeout.
_SUBCODE_TIMED_OUT = f"{{{NS_WSMAN}}}TimedOut"
_HRESULT_TEXT = re.compile(r"HRESULT\s+(0x[0-9A-Fa-f]{8})")
# DSP0226 section 14.6 (master list of faults): the detail URI for an unknown resource URI.
FAULT_DETAIL_INVALID_RESOURCE_URI = (
    "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/InvalidResourceURI"
)
# An ``__ExtendedStatus`` Description such as "WDM specific return code: 4200" (inferred from
# the WMI provider for WDM classes; 4200 is ERROR_WMI_GUID_NOT_FOUND, the class is not served).
_WDM_RETURN_CODE = re.compile(r"WDM specific return code:\s*(\d+)", re.IGNORECASE)

# SOAP 1.2 part 1 section 5.4.6: the text of s:Code/s:Value and s:Subcode/s:Value is a QName,
# whose prefix means something only where it was declared. The parser records the resolved
# ``{uri}local`` in this attribute.
QNAME_ATTRIBUTE = "{urn:winiscsi-ipsec:parser}qname"


def _tag(qname: str) -> str:
    """``s:Envelope`` -> ``{http://www.w3.org/2003/05/soap-envelope}Envelope``."""
    prefix, local = qname.split(":")
    return f"{{{NAMESPACES[prefix]}}}{local}"


# --- Who a request goes to, and the request -------------------------------------------------
@dataclass(frozen=True)
class Request:
    """One request: its common headers (DSP0226 sections 5 and 6), and what its reply must match.

    Attributes:
        target: Where it goes (``a:To`` is its URL).
        resource_uri: ``w:ResourceURI``, the class.
        message_id: ``a:MessageID`` (``uuid:...``); the reply's ``a:RelatesTo`` must equal it.
        operation_timeout_sec: ``w:OperationTimeout`` (DSP0226 section 6.1).
    """

    target: Target
    resource_uri: str
    message_id: str
    operation_timeout_sec: int = 20


# --- Hardened parsing ------------------------------------------------------------------------
_SOAP_VALUE = _tag("s:Value")
_FEED_BYTES = 64 * 1024


class _PrologEnd(Exception):
    """The probe reached the root element: no document type declaration can follow it."""


def _refuse_doctype(data: bytes, request: Request | None, operation: str | None) -> None:
    """Refuse a document type declaration as soon as it starts, before anything in it is read.

    Entities (the "billion laughs" bomb, external entities) can only be declared in a DTD, and
    a DTD can only come before the root element (XML 1.0 section 2.8). So a probe reads the
    prolog alone: pyexpat stops the parse as soon as a handler raises. ElementTree's parser is
    the same expat (it imports pyexpat's C API), so both read the same prolog.
    """
    def doctype(name: str, *_: Any) -> None:
        raise XmlRefusedError(f"it contains a document type declaration (<!DOCTYPE {name}>), "
                              "which a WS-Management reply never has",
                              target=request.target if request else None, operation=operation)

    def root(*_: Any) -> None:
        raise _PrologEnd

    probe = expat.ParserCreate()
    probe.StartDoctypeDeclHandler = doctype
    probe.StartElementHandler = root
    try:
        probe.Parse(data, True)
    except (_PrologEnd, expat.ExpatError):
        pass  # A malformed prolog is reported by the parse that follows, in its words.


def parse_xml(data: bytes, *, request: Request | None = None,
              operation: str | None = None) -> ET.Element:
    """Parse a reply as untrusted input: bounded size, no DTD, bounded depth.

    Elements whose text is a QName (SOAP ``Value``) get the resolved name in
    :data:`QNAME_ATTRIBUTE`.

    Args:
        data: The reply body.
        request: The request it answers (its target is named in errors), if known.
        operation: That request's operation, named in errors.

    Returns:
        The root element.

    Raises:
        ResponseTooLargeError: ``data`` is longer than :data:`MAX_RESPONSE_BYTES`.
        XmlRefusedError: ``data`` has a document type declaration, or nests too deep.
        WSManResponseError: ``data`` is not well-formed XML.
    """
    target = request.target if request else None
    if len(data) > MAX_RESPONSE_BYTES:
        raise ResponseTooLargeError(MAX_RESPONSE_BYTES, len(data), target=target,
                                    operation=operation)
    _refuse_doctype(data, request, operation)
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start-ns", "start", "end"))
    in_scope: dict[str, list[str]] = {"xml": [NS_XML]}  # prefix -> URIs, innermost last
    declared: list[list[str]] = []  # the prefixes each open element declared
    pending: list[str] = []
    root: ET.Element | None = None

    def walk() -> None:
        nonlocal pending, root
        # A "start-ns" event carries (prefix, uri), "start" and "end" an element.
        for event, item in cast(Iterator[tuple[str, Any]], parser.read_events()):
            if event == "start-ns":
                prefix, uri = item
                in_scope.setdefault(prefix, []).append(uri)
                pending.append(prefix)
            elif event == "start":
                declared.append(pending)
                pending = []
                if len(declared) > MAX_DEPTH:
                    raise XmlRefusedError(f"it nests elements more than {MAX_DEPTH} deep, which "
                                          "a WS-Management reply never does", target=target,
                                          operation=operation)
                root = item if root is None else root
            else:
                if item.tag == _SOAP_VALUE and item.text:
                    prefix, sep, local = item.text.strip().rpartition(":")
                    uris = in_scope.get(prefix if sep else "")
                    if uris:
                        item.set(QNAME_ATTRIBUTE, f"{{{uris[-1]}}}{local}")
                for prefix in declared.pop():
                    in_scope[prefix].pop()

    try:
        # Fed in pieces, so a depth attack stops early instead of after the whole tree is built.
        for start in range(0, len(data), _FEED_BYTES):
            parser.feed(data[start:start + _FEED_BYTES])
            walk()
        parser.close()
        walk()
    except ET.ParseError as e:
        line, column = e.position
        raise WSManResponseError(f"it is not well-formed XML ({expat.ErrorString(e.code)} at "
                                 f"line {line}, column {column})", target=target,
                                 operation=operation) from None
    if root is None:  # pragma: no cover - close() raises "no element found" first
        raise WSManResponseError("it has no root element", target=target, operation=operation)
    return root


# --- Requests --------------------------------------------------------------------------------
def _sub(parent: ET.Element, qname: str, text: str | None = None,
         attrs: Mapping[str, str] | None = None) -> ET.Element:
    element = ET.SubElement(parent, _tag(qname), dict(attrs or {}))
    element.text = text
    return element


def _envelope(request: Request, action: str) -> tuple[ET.Element, ET.Element]:
    """The envelope with the common headers; returns (envelope, body)."""
    must = {_tag("s:mustUnderstand"): "true"}
    optional = {_tag("s:mustUnderstand"): "false", _tag("xml:lang"): LOCALE}
    envelope = ET.Element(_tag("s:Envelope"))
    head = _sub(envelope, "s:Header")
    _sub(head, "a:To", request.target.url)
    _sub(head, "w:ResourceURI", request.resource_uri, must)
    _sub(_sub(head, "a:ReplyTo"), "a:Address", ADDRESS_ANONYMOUS, must)
    _sub(head, "a:Action", action, must)
    _sub(head, "w:MaxEnvelopeSize", str(MAX_ENVELOPE_SIZE), must)
    _sub(head, "a:MessageID", request.message_id)
    _sub(head, "w:Locale", attrs=optional)  # DSP0226 section 6.3
    _sub(head, "p:DataLocale", attrs=optional)  # MS-WSMV
    _sub(head, "w:OperationTimeout", f"PT{request.operation_timeout_sec}S")  # xs:duration
    return envelope, _sub(envelope, "s:Body")


def _serialize(envelope: ET.Element) -> bytes:
    # Namespaces get generated prefixes (ns0, ns1...): registering ours would change
    # ElementTree's process-wide table, and a conforming service matches URIs. write() into a
    # buffer is what tostring() does, but typeshed types it as bytes.
    buffer = io.BytesIO()
    ET.ElementTree(envelope).write(buffer, encoding="utf-8", xml_declaration=True)
    return buffer.getvalue()


def build_enumerate(request: Request) -> bytes:
    """An optimized Enumerate of the class, all items inline if they fit (DSP0226 8.2.3)."""
    envelope, body = _envelope(request, ACTION_ENUMERATE)
    # n:Enumerate is mandatory even when empty: Windows faults with 0x80338041 otherwise.
    enumerate_ = _sub(body, "n:Enumerate")
    _sub(enumerate_, "w:OptimizeEnumeration")
    _sub(enumerate_, "w:MaxElements", str(MAX_ELEMENTS))
    return _serialize(envelope)


def build_pull(request: Request, context: str) -> bytes:
    """A Pull of the next items of an enumeration (DSP0226 section 8.4)."""
    envelope, body = _envelope(request, ACTION_PULL)
    pull = _sub(body, "n:Pull")
    _sub(pull, "n:EnumerationContext", context)
    _sub(pull, "n:MaxElements", str(MAX_ELEMENTS))
    return _serialize(envelope)


def build_release(request: Request, context: str) -> bytes:
    """A Release ending an enumeration early (DSP0226 section 8.5)."""
    envelope, body = _envelope(request, ACTION_RELEASE)
    _sub(_sub(body, "n:Release"), "n:EnumerationContext", context)
    return _serialize(envelope)


# --- Replies ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class EnumerationPage:
    """The items one EnumerateResponse or PullResponse carried.

    Attributes:
        context: The enumeration context to pull with next (None when the reply has none).
        items: The item elements, in order.
        end_of_sequence: True when the service has no more items.
    """

    context: str | None
    items: tuple[ET.Element, ...]
    end_of_sequence: bool


def _text(element: ET.Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip()


def _open(data: bytes, request: Request, operation: Operation, action: str) -> ET.Element:
    """Parse a reply; raise its fault if it is one; check RelatesTo and Action; return Body."""
    def bad(problem: str) -> WSManResponseError:
        return WSManResponseError(problem, target=request.target, operation=operation)

    root = parse_xml(data, request=request, operation=operation)
    if root.tag != _tag("s:Envelope"):
        raise bad(f"the root element is {root.tag}, not a SOAP 1.2 Envelope")
    body = root.find("s:Body", NAMESPACES)
    if body is None:
        raise bad("the envelope has no Body")
    relates_to = _text(root.find("s:Header/a:RelatesTo", NAMESPACES))
    fault = body.find("s:Fault", NAMESPACES)
    if fault is not None:
        # A fault about another message is not ours to interpret. Windows does not always
        # relate faults raised before it read the MessageID, so a missing RelatesTo is accepted.
        if relates_to is not None and relates_to != request.message_id:
            raise bad(f"a fault relates to {relates_to!r}, not to the request sent "
                      f"({request.message_id!r})")
        raise parse_fault(fault, request=request, operation=operation)
    # WS-Addressing 2004/08 section 3: a reply names the request it answers.
    if relates_to != request.message_id:
        raise bad(f"RelatesTo is {relates_to!r}, expected the MessageID sent "
                  f"({request.message_id!r})")
    found = _text(root.find("s:Header/a:Action", NAMESPACES))
    if found != action:
        raise bad(f"Action is {found!r}, expected {action!r}")
    if operation == "Release":
        return body
    # Items and EndOfSequence are DSP0226's in an optimized EnumerateResponse (section 8.2.3),
    # WS-Enumeration's in a PullResponse.
    container = body.find(f"n:{operation}Response", NAMESPACES)
    if container is None:
        raise bad(f"the Body has no {operation}Response")
    return container


def _page(container: ET.Element, request: Request, operation: Operation,
          items_prefix: str) -> EnumerationPage:
    context = _text(container.find("n:EnumerationContext", NAMESPACES))
    items = container.find(f"{items_prefix}:Items", NAMESPACES)
    end = container.find(f"{items_prefix}:EndOfSequence", NAMESPACES) is not None
    if not end and not context:
        raise WSManResponseError("the reply neither ends the sequence nor gives an "
                                 "EnumerationContext to pull with", target=request.target,
                                 operation=operation)
    return EnumerationPage(context or None, tuple(items) if items is not None else (), end)


def parse_enumerate_response(data: bytes, request: Request) -> EnumerationPage:
    """Read an optimized EnumerateResponse: ``w:Items``, ``w:EndOfSequence`` (DSP0226 8.2.3).

    Args:
        data: The reply body.
        request: The Enumerate it answers.

    Returns:
        The first page.

    Raises:
        WSManFault: The reply is a fault.
        WSManResponseError: The reply is not a usable EnumerateResponse to this request.
    """
    container = _open(data, request, "Enumerate", ACTION_ENUMERATE_RESPONSE)
    return _page(container, request, "Enumerate", "w")


def parse_pull_response(data: bytes, request: Request) -> EnumerationPage:
    """Read a PullResponse: ``n:Items``, ``n:EndOfSequence`` (WS-Enumeration section 3.2).

    Args and Raises as :func:`parse_enumerate_response`.
    """
    container = _open(data, request, "Pull", ACTION_PULL_RESPONSE)
    return _page(container, request, "Pull", "n")


def parse_release_response(data: bytes, request: Request) -> None:
    """Check a ReleaseResponse, whose Body is empty.

    Raises:
        WSManFault: The reply is a fault.
        WSManResponseError: The reply is not a ReleaseResponse to this request.
    """
    _open(data, request, "Release", ACTION_RELEASE_RESPONSE)


# --- Faults ----------------------------------------------------------------------------------
def _unsigned(text: str | None) -> int | None:
    """A code written as signed or unsigned decimal, or as hex; None if unreadable."""
    if not text:
        return None
    text = text.strip()
    try:
        value = int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        return None
    if -(2**31) <= value < 0:
        value += 2**32
    return value if 0 <= value < 2**32 else None


def _qname(element: ET.Element | None) -> str | None:
    if element is None:
        return None
    resolved = element.get(QNAME_ATTRIBUTE)
    return resolved if resolved is not None else _text(element)


def _local(element: ET.Element) -> str:
    return element.tag.rpartition("}")[2]


def _by_local_name(parent: ET.Element, local: str) -> ET.Element | None:
    """The first descendant (or ``parent`` itself) named ``local`` in any namespace.

    The WMI objects in a fault detail come in more than one namespace: ``__ExtendedStatus`` in
    the WMI plugin's (``.../wsman/1/wmi/root/...``) or the DMTF CIM schema's
    (``.../wscim/1/cim-schema/2/__ExtendedStatus``), ``MSFT_WmiError`` likewise.
    """
    return next((element for element in parent.iter() if _local(element) == local), None)


def _property(instance: ET.Element | None, name: str) -> str | None:
    """The text of an instance's property (a direct child, any namespace); None for nil."""
    if instance is None:
        return None
    child = next((c for c in instance if _local(c) == name), None)
    return _text(child) or None


def classify_fault(code: int | None, subcode: str | None, fault_detail: str | None,
                   extended_description: str | None) -> FaultOutcome | None:
    """How the collection reports a fault, from what the fault carries.

    - A WMI HRESULT (WinRM's pass-through, or an ``MSFT_WmiError`` code): the one table of
      ``_wmi_errors``, which the PowerShell module shares.
    - ``access_denied``: WinRM's 0x80338104/5/6, or an AccessDenied subcode.
    - ``timed_out``: subcode TimedOut (0x80338029 is in the table).
    - ``provider_error``: the class is registered but its provider cannot serve it
      (0x80338102, or a WDM return code in the extended status).
    - ``class_not_found``: the class is not registered. WQL form: subcode CannotProcessFilter,
      code 0x8033801A (or 0x80338122); class URI form: code 0x80338000, or subcode
      DestinationUnreachable with detail InvalidResourceURI.

    Args:
        code: The fault's code, unsigned.
        subcode: The SOAP Subcode value as ``{uri}local``.
        fault_detail: The DSP0226 ``w:FaultDetail`` URI.
        extended_description: The WMI ``__ExtendedStatus`` Description.

    Returns:
        The outcome, or None for any other fault (a failed task naming the code).
    """
    wmi = classify_hresult(code)
    if wmi is not None:
        return wmi
    if code in _ACCESS_DENIED_CODES or subcode == _SUBCODE_ACCESS_DENIED:
        return "access_denied"
    if subcode == _SUBCODE_TIMED_OUT:
        return "timed_out"
    if code == _PROVIDER_NOT_CAPABLE_CODE or _WDM_RETURN_CODE.search(extended_description or ""):
        return "provider_error"
    if code in _CLASS_NOT_FOUND_CODES or (code is None
                                          and subcode in _SUBCODE_CANNOT_PROCESS_FILTER):
        return "class_not_found"
    if (subcode == _SUBCODE_DESTINATION_UNREACHABLE
            and fault_detail == FAULT_DETAIL_INVALID_RESOURCE_URI):
        return "class_not_found"
    return None


def parse_fault(fault: ET.Element, *, request: Request | None = None,
                operation: str | None = None) -> WSManFault:
    """Read an ``s:Fault`` element (DSP0226 section 14; MS-WSMV WSManFault).

    Args:
        fault: The ``s:Fault`` element, parsed by :func:`parse_xml`.
        request: The request it answers, if known.
        operation: That request's operation.

    Returns:
        The fault, ready to raise; absent fields are None.
    """
    subcode = _qname(fault.find("s:Code/s:Subcode/s:Value", NAMESPACES))
    code = machine = provider_message = fault_detail = extended = None
    detail = fault.find("s:Detail", NAMESPACES)
    if detail is not None:
        fault_detail = _text(detail.find("w:FaultDetail", NAMESPACES))
        outer = next(detail.iter(_tag("f:WSManFault")), None)
        if outer is not None:
            code, machine = _unsigned(outer.get("Code")), outer.get("Machine")
        # The innermost non-empty f:Message is the provider's own sentence; outer ones wrap it.
        messages = [" ".join(m.text.split()) for m in detail.iter(_tag("f:Message"))
                    if m.text and m.text.strip()]
        provider_message = messages[-1] if messages else None
        extended = _property(_by_local_name(detail, "__ExtendedStatus"), "Description")
        wmi_error = _by_local_name(detail, "MSFT_WmiError")
        if wmi_error is not None:
            # error_Code, else the (never localized) MessageID "HRESULT 0x80041010".
            if code is None:
                code = _unsigned(_property(wmi_error, "error_Code"))
            if code is None:
                found = _HRESULT_TEXT.search(_property(wmi_error, "MessageID") or "")
                code = _unsigned(found.group(1)) if found else None
            if provider_message is None:
                provider_message = _property(wmi_error, "Message")
    return WSManFault(
        code=code, subcode=subcode, reason=_text(fault.find("s:Reason/s:Text", NAMESPACES)),
        provider_message=provider_message, extended_description=extended, machine=machine,
        outcome=classify_fault(code, subcode, fault_detail, extended),
        resource_uri=request.resource_uri if request else None,
        target=request.target if request else None, operation=operation,
        operation_timeout_sec=request.operation_timeout_sec if request else None)
