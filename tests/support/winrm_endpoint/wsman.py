"""WS-Management messages as a Windows WinRM service writes them: parsing and building.

Test support for the winiscsi.ipsec collection, not part of the collection itself.

Requests are parsed with defusedxml (DTDs refused). Responses are written by a tiny serializer
rather than ElementTree because Windows reuses the prefix ``p`` for two namespaces in one
document (the Microsoft WS-Man headers on the envelope, the class URI on each instance), which
ElementTree cannot reproduce. Facts and their sources: shared/reference/wsman-wmi.md.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

# DMTF DSP0226 / MS-WSMV namespaces, with the prefixes Windows writes.
NS_S = "http://www.w3.org/2003/05/soap-envelope"
NS_A = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
NS_N = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
NS_W = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
NS_P = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
NS_F = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS_CIM = "http://schemas.dmtf.org/wbem/wscim/1/common"
NS_X = "http://schemas.xmlsoap.org/ws/2004/09/transfer"

ACTION_ENUMERATE = NS_N + "/Enumerate"
ACTION_PULL = NS_N + "/Pull"
ACTION_RELEASE = NS_N + "/Release"
ACTION_FAULT_WSMAN = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
ACTION_FAULT_ADDRESSING = NS_A + "/fault"
ANONYMOUS = NS_A + "/role/anonymous"
WQL_DIALECT = "http://schemas.microsoft.com/wbem/wsman/1/WQL"
WMI_URI_PREFIX = "http://schemas.microsoft.com/wbem/wsman/1/wmi/"
FAULT_DETAIL = "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/"
WMI_PLUGIN = "WMI Provider"
WMI_PLUGIN_PATH = "%systemroot%\\system32\\WsmWmiPl.dll"
NS_DMTF_CIM_SCHEMA = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
NS_CIMBINDING = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd"
ISCSI_CLASS = "MSiSCSI_MMIPSECStats"
OS_CLASS = "Win32_OperatingSystem"
# WinRM's default MaxEnvelopeSize (KiB 150), used when a request does not say.
DEFAULT_MAX_ENVELOPE = 153600

_ENVELOPE_NS = {"s": NS_S, "a": NS_A, "n": NS_N, "w": NS_W, "p": NS_P}
# Server 2008 R2 success envelopes declare only these (txwinrm's recordings).
_BARE_ENVELOPE_NS = {"s": NS_S, "a": NS_A, "n": NS_N, "w": NS_W}
# WinRM's pass-through of a WMI error it has no mapping for: "The WMI service or the WMI
# provider returned an unknown error: HRESULT 0x...", the raw HRESULT as the WSManFault Code.
# Fault name -> (HRESULT, how the Code attribute is written).
PASSTHROUGH_FAULTS: Mapping[str, tuple[int, str]] = {
    "provider_error_passthrough": (0x80041001, "decimal"),  # WBEM_E_FAILED
    "not_supported_passthrough_hex": (0x8004100C, "hex"),  # WBEM_E_NOT_SUPPORTED
    "class_missing_passthrough": (0x80041010, "decimal"),  # WBEM_E_INVALID_CLASS
    "access_denied_passthrough": (0x80070005, "decimal"),  # E_ACCESSDENIED
    "invalid_namespace_passthrough": (0x8004100E, "decimal"),  # WBEM_E_INVALID_NAMESPACE
    "unknown_wmi_error_passthrough": (0x80041006, "decimal"),  # WBEM_E_OUT_OF_MEMORY
}
_WQL = re.compile(r"^\s*select\s+\*\s+from\s+(\w+)\s*$", re.IGNORECASE)


# ---------------------------------------------------------------- a tiny XML writer


def _escape(text: str, quote: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if quote:
        text = text.replace('"', "&quot;")
    return text


@dataclass
class Node:
    """An element with a literal qualified name (``prefix:local``) and its own declarations.

    Attributes:
        name: Qualified name as written.
        attrs: Attributes in the order written (``xmlns:...`` declarations included).
        children: Child nodes.
        text: Character content (escaped on output); None for none.
    """

    name: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)
    text: str | None = None

    def add(self, name: str, text: str | None = None, **attrs: str) -> Node:
        """Append a child and return it."""
        child = Node(name, dict(attrs), [], text)
        self.children.append(child)
        return child

    def render(self, out: list[str]) -> None:
        """Append this element's XML to ``out``."""
        attrs = "".join(f' {k}="{_escape(v, True)}"' for k, v in self.attrs.items())
        if not self.children and self.text is None:
            out.append(f"<{self.name}{attrs}/>")
            return
        out.append(f"<{self.name}{attrs}>")
        if self.text is not None:
            out.append(_escape(self.text))
        for child in self.children:
            child.render(out)
        out.append(f"</{self.name}>")

    def to_bytes(self) -> bytes:
        """The element as UTF-8 bytes (no XML declaration, as Windows sends it)."""
        out: list[str] = []
        self.render(out)
        return "".join(out).encode("utf-8")


# ---------------------------------------------------------------- requests


class WsmanFault(Exception):
    """A WS-Management fault to answer with (HTTP 500).

    Attributes:
        code: SOAP code, ``s:Sender`` or ``s:Receiver``.
        subcode: Subcode as written (``prefix:Name``; the prefix must be declared on the envelope).
        reason: The s:Reason text.
        wsman_code: The f:WSManFault Code (an HRESULT as unsigned int).
        message: The f:Message text (when there is no provider fault).
        fault_detail: Local name under the DSP0226 faultDetail URI, if any.
        provider_message: Inner message for a WMI provider fault, if any.
        extended: Fields of a ``__ExtendedStatus`` object, if any.
        name: Short name for the request log.
        addressing: True when the fault is a WS-Addressing one (other fault Action).
        code_text: How the Code attribute is written (default: unsigned decimal).
        extended_namespace: ``wmi`` (the WMI plugin's URI) or ``dmtf`` (the DMTF CIM schema's,
            properties typed ``cim:cimString``) for the ``__ExtendedStatus``.
        activity_id: Add a ``p:ActivityId`` header, as WinRM 3.0 and later do.
        relates: False to leave ``a:RelatesTo`` out.
        wmi_error: Properties of an ``MSFT_WmiError`` that replaces the ``f:WSManFault`` detail.
    """

    def __init__(
        self,
        code: str,
        subcode: str,
        reason: str,
        wsman_code: int,
        message: str | None = None,
        *,
        fault_detail: str | None = None,
        provider_message: str | None = None,
        extended: Mapping[str, str | None] | None = None,
        name: str | None = None,
        addressing: bool = False,
        code_text: str | None = None,
        extended_namespace: str = "wmi",
        activity_id: bool = False,
        relates: bool = True,
        wmi_error: Mapping[str, Any] | None = None,
    ) -> None:
        self.code_text = code_text if code_text is not None else str(wsman_code)
        self.extended_namespace = extended_namespace
        self.activity_id = activity_id
        self.relates = relates
        self.wmi_error = wmi_error
        self.code = code
        self.subcode = subcode
        self.reason = reason
        self.wsman_code = wsman_code
        self.message = message if message is not None else reason
        self.fault_detail = fault_detail
        self.provider_message = provider_message
        self.extended = extended
        self.name = name or subcode.split(":", 1)[-1]
        self.addressing = addressing
        super().__init__(f"{self.subcode} 0x{wsman_code:08X}: {reason}")


@dataclass(frozen=True)
class Request:
    """The parts of a WS-Man request the endpoint uses."""

    action: str
    resource_uri: str
    message_id: str
    max_envelope_size: int
    body: Element | None
    optimize: bool = False
    max_elements: int | None = None
    filter_text: str | None = None
    filter_dialect: str | None = None
    context: str | None = None
    operation_timeout: float | None = None


def _q(ns: str, local: str) -> str:
    return f"{{{ns}}}{local}"


def _text(parent: Element | None, ns: str, local: str) -> str | None:
    if parent is None:
        return None
    node = parent.find(_q(ns, local))
    return None if node is None else (node.text or "").strip()


def parse_request(data: bytes) -> Request:
    """Parse a SOAP request safely.

    Args:
        data: The request body (already decrypted).

    Returns:
        The request's parts.

    Raises:
        WsmanFault: The body is not a WS-Man envelope this endpoint can read.
    """
    try:
        root = fromstring(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise WsmanFault(
            "s:Sender", "w:SchemaValidationError",
            f"The SOAP XML in the message does not match the corresponding XML schema definition. "
            f"Change the XML and retry. ({exc})",
            0x8033805B, name="SchemaValidationError",
        ) from None
    if root.tag != _q(NS_S, "Envelope"):
        raise WsmanFault(
            "s:Sender", "w:InvalidBody",
            f"The WS-Management service cannot process the request because the request packet "
            f"does not have a valid SOAP body: the root element is {root.tag!r}, expected "
            f"{_q(NS_S, 'Envelope')!r}.",
            0x80338027,
        )
    header = root.find(_q(NS_S, "Header"))
    body = root.find(_q(NS_S, "Body"))
    action = _text(header, NS_A, "Action") or ""
    message_id = _text(header, NS_A, "MessageID") or ""
    resource_uri = _text(header, NS_W, "ResourceURI") or ""
    if not action or not message_id:
        raise WsmanFault(
            "s:Sender", "a:MessageInformationHeaderRequired",
            "The WS-Management service cannot process the request because a required header is "
            f"missing: a:Action is {action or 'missing'!r}, a:MessageID is {message_id or 'missing'!r}.",
            0x80338011, addressing=True,
        )
    envelope_text = _text(header, NS_W, "MaxEnvelopeSize")
    try:
        max_envelope = int(envelope_text) if envelope_text else DEFAULT_MAX_ENVELOPE
    except ValueError:
        max_envelope = DEFAULT_MAX_ENVELOPE
    fields: dict[str, Any] = {"operation_timeout": _seconds(_text(header, NS_W, "OperationTimeout"))}
    if action == ACTION_ENUMERATE and body is not None:
        enum = body.find(_q(NS_N, "Enumerate"))
        if enum is not None:
            fields["optimize"] = enum.find(_q(NS_W, "OptimizeEnumeration")) is not None
            fields["max_elements"] = _int_or_none(_text(enum, NS_W, "MaxElements"))
            filt = enum.find(_q(NS_W, "Filter"))
            if filt is not None:
                fields["filter_text"] = (filt.text or "").strip()
                fields["filter_dialect"] = filt.get("Dialect", "")
    elif action in (ACTION_PULL, ACTION_RELEASE) and body is not None:
        local = "Pull" if action == ACTION_PULL else "Release"
        node = body.find(_q(NS_N, local))
        fields["context"] = _text(node, NS_N, "EnumerationContext")
        fields["max_elements"] = _int_or_none(_text(node, NS_N, "MaxElements"))
    return Request(
        action=action, resource_uri=resource_uri, message_id=message_id,
        max_envelope_size=max_envelope, body=body, **fields,
    )


_DURATION = re.compile(r"^PT(\d+(?:\.\d+)?)S$")


def _seconds(text: str | None) -> float | None:
    """An xs:duration of seconds (``PT20S``, ``PT2.500S``), as clients send OperationTimeout."""
    match = _DURATION.match(text or "")
    return float(match.group(1)) if match else None


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


# ---------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """Which WMI class a request reads, and how it named it."""

    namespace: str  # e.g. root/wmi
    class_name: str  # as the request spelled it
    via_wql: bool


def resolve_target(request: Request) -> Target:
    """Work out the WMI namespace and class of an Enumerate request.

    Raises:
        WsmanFault: The URI or the filter is not one WinRM would accept.
    """
    uri = request.resource_uri
    if not uri.lower().startswith(WMI_URI_PREFIX):
        raise destination_unreachable(
            f"The WS-Management service cannot process the request. The resource URI {uri!r} "
            "is not a WMI resource; the test endpoint serves only WMI classes."
        )
    path = uri[len(WMI_URI_PREFIX):]
    namespace, dummy, class_name = path.rpartition("/")
    if not namespace or not class_name:
        raise invalid_resource_uri(uri)
    if request.filter_text is not None:
        if class_name != "*":
            raise cannot_process_filter(
                f"A WQL filter needs the resource URI of the namespace with the class segment "
                f"'*', e.g. {WMI_URI_PREFIX}{namespace}/*; got {uri!r}."
            )
        if request.filter_dialect != WQL_DIALECT:
            raise WsmanFault(
                "s:Sender", "n:FilterDialectRequestedUnavailable",
                "The filter dialect (the type associated with the filter) was not supported for "
                f"this resource: got {request.filter_dialect!r}, supported {WQL_DIALECT!r}.",
                0x80338019,
            )
        match = _WQL.match(request.filter_text)
        if match is None:
            raise cannot_process_filter(
                "The test endpoint understands only 'SELECT * FROM <class>' WQL; got "
                f"{request.filter_text!r}."
            )
        return Target(namespace.lower(), match.group(1), True)
    if class_name == "*":
        raise cannot_process_filter(
            f"The resource URI {uri!r} names every class of the namespace: it needs a WQL filter."
        )
    return Target(namespace.lower(), class_name, False)


# ---------------------------------------------------------------- faults


def destination_unreachable(message: str, extended: Mapping[str, str | None] | None = None) -> WsmanFault:
    """The fault Windows answers for an unknown resource (class URI that resolves to nothing)."""
    return WsmanFault(
        "s:Sender", "a:DestinationUnreachable",
        "The WS-Management service cannot process the request. The service cannot find the "
        "resource identified by the resource URI and selectors. ",
        0x80338000, message, fault_detail="InvalidResourceURI",
        provider_message=message if extended is not None else None,
        extended=extended, addressing=True,
    )


def invalid_resource_uri(uri: str) -> WsmanFault:
    """A resource URI that is not shaped like one."""
    return WsmanFault(
        "s:Sender", "w:InvalidResourceURI",
        "The WS-Management service cannot process the request. The resource URI is missing or "
        f"it has an incorrect format: {uri!r}.",
        0x8033803B,
    )


def cannot_process_filter(message: str, provider_message: str | None = None) -> WsmanFault:
    """WS-Enumeration CannotProcessFilter (0x8033801A)."""
    return WsmanFault(
        "s:Sender", "n:CannotProcessFilter",
        "The data source could not process the filter. The filter might be missing or it might "
        "be invalid. Change the filter and try the request again. ",
        0x8033801A, message, provider_message=provider_message,
    )


def class_missing(target: Target, form: str) -> WsmanFault:
    """The class is not registered, answered in the WQL or the direct-URI form."""
    inner = "The specified class does not exist in the given namespace. "
    if form == "wql":
        return cannot_process_filter(inner, provider_message=inner)
    return destination_unreachable(inner, extended={
        "Description": None,
        "Operation": "GetObject" if not target.via_wql else "ExecQuery",
        "ParameterInfo": target.class_name,
        "ProviderName": "WinMgmt",
        "StatusCode": None,
    })


def _root_wmi_status(target: Target, description: str | None) -> dict[str, str | None]:
    """The __ExtendedStatus of a root\\wmi provider fault: WinMgmt ran the class's query."""
    return {"Description": description, "Operation": "ExecQuery",
            "ParameterInfo": f"select * from {target.class_name}", "ProviderName": "WinMgmt",
            "StatusCode": None}


def provider_error(target: Target, extended_namespace: str = "wmi") -> WsmanFault:
    """The class is registered but its WDM provider cannot serve it (0x80338102)."""
    inner = ("The WS-Management service cannot process the request. The WMI service reported "
             "that the WMI provider could not perform the requested operation. ")
    return WsmanFault(
        "s:Receiver", "w:InternalError", inner, 0x80338102, inner,
        provider_message=inner,
        extended=_root_wmi_status(target, "WDM specific return code: 4200"),
        name="ProviderError", extended_namespace=extended_namespace,
    )


def passthrough(name: str, target: Target) -> WsmanFault:
    """A WMI error WinRM has no mapping for, passed through with its raw HRESULT as the Code."""
    hresult, notation = PASSTHROUGH_FAULTS[name]
    inner = ("The WS-Management service cannot process the request. The WMI service or the WMI "
             f"provider returned an unknown error: HRESULT 0x{hresult:08x} ")
    return WsmanFault(
        "s:Receiver", "w:InternalError", inner, hresult, inner, provider_message=inner,
        extended=_root_wmi_status(target, None), name=name, activity_id=True,
        code_text=f"0x{hresult:08X}" if notation == "hex" else str(hresult),
    )


def wmi_error_only(target: Target) -> WsmanFault:
    """A fault whose only detail is an MSFT_WmiError: no f:WSManFault, no a:RelatesTo."""
    hresult = 0x8004100C  # WBEM_E_NOT_SUPPORTED: a WDM class without its driver's data block
    reason = ("The WS-Management service cannot process the request. The WMI service or the WMI "
              f"provider returned an unknown error: HRESULT 0x{hresult:08x} ")
    return WsmanFault(
        "s:Receiver", "w:InternalError", reason, hresult, name="wmi_error_only",
        activity_id=True, relates=False,
        wmi_error={"CIMStatusCode": 7, "CIMStatusCodeDescription": None, "ErrorSource": None,
                   "ErrorSourceFormat": 0, "ErrorType": 0, "Message": "Not supported ",
                   "MessageID": f"HRESULT 0x{hresult:08x}", "OwningEntity": None,
                   "PerceivedSeverity": 0, "ProbableCause": 0, "error_Category": 6,
                   "error_Code": hresult, "error_Type": "HRESULT",
                   "error_WindowsErrorMessage": f"Not supported ({target.class_name}) "},
    )


def timed_out() -> WsmanFault:
    """w:TimedOut: the provider did not answer within the request's OperationTimeout."""
    text = ("The WS-Management service cannot complete the operation within the time specified "
            "in OperationTimeout.")
    return WsmanFault("s:Receiver", "w:TimedOut", text, 0x80338029, text, name="timed_out",
                      activity_id=True)


def access_denied() -> WsmanFault:
    """The WMI service said access denied (0x80338104)."""
    inner = "The WMI service returned an 'access denied' error. "
    return WsmanFault("s:Sender", "w:AccessDenied", inner, 0x80338104, inner, provider_message=inner)


def invalid_context(context: str | None) -> WsmanFault:
    """Pull or Release of an EnumerationContext the service does not hold."""
    return WsmanFault(
        "s:Receiver", "n:InvalidEnumerationContext",
        "The WS-Enumeration context in the enumeration is not valid. Enumeration may have been "
        "completed or canceled. You cannot use this enumeration context anymore. Start a new "
        f"enumeration. (context {context!r})",
        0x8033801B,
    )


def action_not_supported(action: str, resource_uri: str) -> WsmanFault:
    """Any action other than Enumerate / Pull / Release (WinRS shells included)."""
    shells = " WinRS shells are not supported by the test endpoint." if "shell" in resource_uri else ""
    return WsmanFault(
        "s:Sender", "a:ActionNotSupported",
        "The WS-Management service does not support the action specified in the request: "
        f"{action!r} on {resource_uri!r}. The test endpoint serves only WS-Enumeration "
        f"(Enumerate, Pull, Release) of WMI classes.{shells}",
        0x80338013, addressing=True,
    )


def missing_enumerate() -> WsmanFault:
    """An Enumerate request without its n:Enumerate body element."""
    return WsmanFault(
        "s:Sender", "w:SchemaValidationError",
        "The SOAP XML in the message does not match the corresponding XML schema definition. "
        "Change the XML and retry. The WS-Management service cannot process the request because "
        "the XML is missing the element titled Enumerate.",
        0x80338041,
    )


# ---------------------------------------------------------------- responses


def new_uuid() -> str:
    """A message or context id as Windows writes it."""
    return "uuid:" + str(uuid.uuid4()).upper()


def _envelope(
    action: str, relates_to: str | None, extra_ns: Mapping[str, str] | None = None,
    shapes: frozenset[str] = frozenset(), activity_id: bool = False,
) -> tuple[Node, Node]:
    attrs = {"xml:lang": "en-US"}
    declared = _BARE_ENVELOPE_NS if "bare_envelope" in shapes else _ENVELOPE_NS
    attrs.update({f"xmlns:{k}": v for k, v in {**declared, **(extra_ns or {})}.items()})
    env = Node("s:Envelope", attrs)
    header = env.add("s:Header")
    header.add("a:Action", action)
    header.add("a:MessageID", new_uuid())
    if activity_id:
        header.add("p:ActivityId", str(uuid.uuid4()).upper())
    header.add("a:To", ANONYMOUS)
    if relates_to is not None:
        header.add("a:RelatesTo", relates_to)
    body = env.add("s:Body")
    return env, body


def format_cim_datetime(moment: datetime, zulu: bool = False) -> str:
    """cim:Datetime as Windows writes it: local time with its offset, fraction without zeros.

    With ``zulu``, a zero offset is written ``Z``, as Server 2008 R2 does.
    """
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += "." + f"{moment.microsecond:06d}".rstrip("0")
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    if zulu and minutes == 0:
        return text + "Z"
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def class_uri(namespace: str, class_name: str) -> str:
    """The resource URI of a class, which is also the namespace of its instance elements."""
    return f"{WMI_URI_PREFIX}{namespace}/{class_name}"


def instance_node(namespace: str, class_name: str, properties: Mapping[str, Any],
                  shapes: frozenset[str] = frozenset(), uri: str | None = None,
                  typed: bool = False) -> Node:
    """One instance: properties in ordinal (alphabetical) order, typed as Windows writes them.

    Values: None -> xsi:nil, bool -> true/false, int -> decimal, datetime -> cim:Datetime,
    list -> the element repeated, str -> text. Shapes: ``no_xml_lang`` leaves ``xml:lang``
    off the instance, ``case_insensitive_order`` sorts ``CSName`` after ``CreationClassName``,
    ``zulu`` writes a zero offset as ``Z``. ``uri`` replaces the class URI (the DMTF schema's
    for a ``__ExtendedStatus``); ``typed`` adds ``xsi:type="cim:cimString"`` and the like.
    """
    attrs = {
        "xmlns:p": uri or class_uri(namespace, class_name),
        "xmlns:cim": NS_CIM,
        "xmlns:xsi": NS_XSI,
        "xsi:type": f"p:{class_name}_Type",
    }
    if "no_xml_lang" not in shapes:
        attrs["xml:lang"] = "en-US"
    node = Node(f"p:{class_name}", attrs)
    order = str.lower if "case_insensitive_order" in shapes else None
    for name in sorted(properties, key=order):
        for value in _as_list(properties[name]):
            types = {"xsi:type": _cim_type(value)} if typed else {}
            if value is None:
                node.add(f"p:{name}", **{"xsi:nil": "true"}, **types)
            elif isinstance(value, bool):
                node.add(f"p:{name}", "true" if value else "false", **types)
            elif isinstance(value, datetime):
                node.add(f"p:{name}").add(
                    "cim:Datetime", format_cim_datetime(value, "zulu" in shapes))
            else:
                node.add(f"p:{name}", str(value), **types)
    return node


def _cim_type(value: Any) -> str:
    if isinstance(value, bool):
        return "cim:cimBoolean"
    if isinstance(value, int):
        return "cim:cimUnsignedInt"
    return "cim:cimString"


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def enumerate_response(
    relates_to: str, context: str, items: Sequence[Node], end: bool, optimize: bool,
    shapes: frozenset[str] = frozenset(),
) -> bytes:
    """An EnumerateResponse; with optimization the first items ride inline (w:Items).

    Shapes: ``bare_envelope`` declares only s, a, n, w; ``empty_context`` writes the context of
    an ended enumeration as an empty ``<n:EnumerationContext></n:EnumerationContext>``.
    """
    env, body = _envelope(NS_N + "/EnumerateResponse", relates_to, shapes=shapes)
    resp = body.add("n:EnumerateResponse")
    resp.add("n:EnumerationContext", "" if end and "empty_context" in shapes else context)
    if optimize:
        holder = resp.add("w:Items")
        holder.children.extend(items)
        if end:
            resp.add("w:EndOfSequence")
    return env.to_bytes()


def pull_response(relates_to: str, context: str | None, items: Sequence[Node], end: bool,
                  shapes: frozenset[str] = frozenset()) -> bytes:
    """A PullResponse; Items and EndOfSequence are in the n: namespace here."""
    env, body = _envelope(NS_N + "/PullResponse", relates_to, shapes=shapes)
    resp = body.add("n:PullResponse")
    if not end and context is not None:
        resp.add("n:EnumerationContext", context)
    holder = resp.add("n:Items")
    holder.children.extend(items)
    if end:
        resp.add("n:EndOfSequence")
    return env.to_bytes()


def release_response(relates_to: str) -> bytes:
    """The empty ReleaseResponse."""
    env = _envelope(NS_N + "/ReleaseResponse", relates_to)[0]
    return env.to_bytes()


def fault_response(fault: WsmanFault, relates_to: str, machine: str) -> bytes:
    """A SOAP 1.2 fault with the f:WSManFault detail Windows adds (or an MSFT_WmiError)."""
    action = ACTION_FAULT_ADDRESSING if fault.addressing else ACTION_FAULT_WSMAN
    env, body = _envelope(action, (relates_to or new_uuid()) if fault.relates else None,
                          {"f": NS_F, "xsi": NS_XSI}, activity_id=fault.activity_id)
    node = body.add("s:Fault")
    code = node.add("s:Code")
    code.add("s:Value", fault.code)
    code.add("s:Subcode").add("s:Value", fault.subcode)
    node.add("s:Reason").add("s:Text", fault.reason, **{"xml:lang": "en-US"})
    detail = node.add("s:Detail")
    if fault.fault_detail:
        detail.add("w:FaultDetail", FAULT_DETAIL + fault.fault_detail)
    if fault.wmi_error is not None:
        error = instance_node("", "MSFT_WmiError", fault.wmi_error, frozenset({"no_xml_lang"}),
                              uri=NS_DMTF_CIM_SCHEMA + "MSFT_WmiError", typed=True)
        error.attrs = {"b:IsCIM_Error": "true", "xmlns:b": NS_CIMBINDING, **error.attrs}
        detail.children.append(error)
        return env.to_bytes()
    outer = detail.add("f:WSManFault", Code=fault.code_text, Machine=machine)
    if fault.provider_message is None:
        outer.add("f:Message", fault.message)
        return env.to_bytes()
    provider = outer.add("f:Message").add(
        "f:ProviderFault", provider=WMI_PLUGIN, path=WMI_PLUGIN_PATH
    )
    inner = provider.add("f:WSManFault", Code=fault.code_text, Machine=machine)
    inner.add("f:Message", fault.provider_message)
    if fault.extended is not None:
        dmtf = fault.extended_namespace == "dmtf"
        provider.add("f:ExtendedError").children.append(instance_node(
            "root/cimv2", "__ExtendedStatus", fault.extended,
            frozenset({"no_xml_lang"}) if dmtf else frozenset(),
            uri=NS_DMTF_CIM_SCHEMA + "__ExtendedStatus" if dmtf else None, typed=dmtf))
    return env.to_bytes()


def items_within(nodes: Iterable[Node], limit: int, envelope_budget: int) -> list[Node]:
    """Take up to ``limit`` items whose serialized size fits ``envelope_budget`` bytes.

    At least one item is always taken, as Windows does when a single item is large.
    """
    taken: list[Node] = []
    size = 0
    for node in nodes:
        if len(taken) >= limit:
            break
        length = len(node.to_bytes())
        if taken and size + length > envelope_budget:
            break
        taken.append(node)
        size += length
    return taken


def now_local() -> datetime:
    """The current time, UTC (the endpoint's hosts all run in UTC)."""
    return datetime.now(timezone.utc)
