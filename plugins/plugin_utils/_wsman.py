# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""WS-Management messages for reading a WMI class: build, parse, classify faults.

Internal to the winiscsi.ipsec collection: not a public API, may change without notice.

Only bytes in, objects out (and objects in, bytes out): nothing here touches the network, so
every function can be tested with recorded Windows responses. The transport and the snapshot
built from the parsed items live in ``_wsman_client``.

Specifications cited below:

- DSP0226: DMTF WS-Management 1.1/1.2 (headers in section 6, enumeration in section 8,
  faults in section 14).
- WS-Enumeration: W3C member submission 2004/09 (Enumerate, Pull, Release).
- MS-WSMV: Microsoft's WS-Management extensions (DataLocale header, the ``f:WSManFault`` detail
  and its numeric codes, the WMI plugin's resource URIs).
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Literal
from xml.parsers import expat

# --- Namespaces -------------------------------------------------------------------------------
# Matched by URI, never by prefix: the prefixes below are only what Windows happens to write.
NS_SOAP = "http://www.w3.org/2003/05/soap-envelope"  # s: SOAP 1.2
NS_ADDRESSING = "http://schemas.xmlsoap.org/ws/2004/08/addressing"  # a: WS-Addressing 2004/08
NS_ENUMERATION = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"  # n: WS-Enumeration
NS_WSMAN = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"  # w: DSP0226
NS_MS_WSMAN = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"  # p: MS-WSMV headers
NS_WSMAN_FAULT = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"  # f: MS-WSMV fault detail
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS_CIM = "http://schemas.dmtf.org/wbem/wscim/1/common"  # cim:Datetime (DSP0230)
NS_XML = "http://www.w3.org/XML/1998/namespace"
# WinRM 3.0 and later may describe a WMI failure with an MSFT_WmiError instance in s:Detail.
NS_WMI_ERROR = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/MSFT_WmiError"

NAMESPACES: Mapping[str, str] = {
    "s": NS_SOAP, "a": NS_ADDRESSING, "n": NS_ENUMERATION, "w": NS_WSMAN, "p": NS_MS_WSMAN,
    "f": NS_WSMAN_FAULT, "xsi": NS_XSI, "cim": NS_CIM,
}

# --- Actions (WS-Enumeration section 3; DSP0226 section 8.2 Enumerate, 8.4 Pull, 8.5 Release) --
ACTION_ENUMERATE = NS_ENUMERATION + "/Enumerate"
ACTION_ENUMERATE_RESPONSE = NS_ENUMERATION + "/EnumerateResponse"
ACTION_PULL = NS_ENUMERATION + "/Pull"
ACTION_PULL_RESPONSE = NS_ENUMERATION + "/PullResponse"
ACTION_RELEASE = NS_ENUMERATION + "/Release"
ACTION_RELEASE_RESPONSE = NS_ENUMERATION + "/ReleaseResponse"

# WS-Addressing 2004/08 section 2.1: replies go back on the same HTTP connection.
ADDRESS_ANONYMOUS = NS_ADDRESSING + "/role/anonymous"
# MS-WSMV: the WQL filter dialect understood by the WMI plugin.
DIALECT_WQL = "http://schemas.microsoft.com/wbem/wsman/1/WQL"

# MS-WSMV: the WMI plugin maps resource URIs to WMI namespaces and classes.
WMI_URI_BASE = "http://schemas.microsoft.com/wbem/wsman/1/wmi/"
STATS_CLASS = "MSiSCSI_MMIPSECStats"
STATS_CLASS_URI = WMI_URI_BASE + "root/wmi/" + STATS_CLASS
STATS_WQL_URI = WMI_URI_BASE + "root/wmi/*"
STATS_WQL = "SELECT * FROM " + STATS_CLASS
OS_CLASS = "Win32_OperatingSystem"
OS_CLASS_URI = WMI_URI_BASE + "root/cimv2/" + OS_CLASS

# pywinrm's defaults, which WinRM accepts out of the box (DSP0226 section 6.2: a service may
# refuse less than 8192 octets; Windows' own default MaxEnvelopeSizekb is 500).
DEFAULT_MAX_ENVELOPE_SIZE = 153600
DEFAULT_LOCALE = "en-US"
# WS-Enumeration Enumerate/Pull: how many items one reply may carry; the service sends fewer
# when they do not fit in MaxEnvelopeSize and the client pulls the rest.
DEFAULT_MAX_ELEMENTS = 32000
# Refuse replies larger than this before parsing them (a MSiSCSI_MMIPSECStats instance is
# about 2 KiB; 4 MiB leaves room for thousands of adapters and nothing for a memory attack).
DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024

# --- WinRM error codes (winerror.h, facility WINRM 0x33; MS-WSMV WSManFault Code) ------------
ERROR_WSMAN_RESOURCE_NOT_FOUND = 0x80338000
ERROR_WSMAN_DESTINATION_UNREACHABLE = 0x80338012
ERROR_WSMAN_ENUMERATE_CANNOT_PROCESS_FILTER = 0x8033801A
ERROR_WSMAN_ENUMERATE_INVALID_ENUMERATION_CONTEXT = 0x8033801B
ERROR_WSMAN_OPERATION_TIMEDOUT = 0x80338029
ERROR_WSMAN_WMI_PROVIDER_NOT_CAPABLE = 0x80338102
ERROR_WSMAN_WMI_SVC_ACCESS_DENIED = 0x80338104
ERROR_WSMAN_WMI_PROVIDER_ACCESS_DENIED = 0x80338105
ERROR_WSMAN_WMI_CANNOT_CONNECT_ACCESS_DENIED = 0x80338106
ERROR_WSMAN_CANNOT_PROCESS_FILTER = 0x80338122

ERROR_NAMES: Mapping[int, str] = {
    0x80041003: "WBEM_E_ACCESS_DENIED",
    0x8004100E: "WBEM_E_INVALID_NAMESPACE",
    0x80041010: "WBEM_E_INVALID_CLASS",
    0x80070005: "E_ACCESSDENIED",
    ERROR_WSMAN_RESOURCE_NOT_FOUND: "ERROR_WSMAN_RESOURCE_NOT_FOUND",
    ERROR_WSMAN_DESTINATION_UNREACHABLE: "ERROR_WSMAN_DESTINATION_UNREACHABLE",
    ERROR_WSMAN_ENUMERATE_CANNOT_PROCESS_FILTER: "ERROR_WSMAN_ENUMERATE_CANNOT_PROCESS_FILTER",
    ERROR_WSMAN_ENUMERATE_INVALID_ENUMERATION_CONTEXT:
        "ERROR_WSMAN_ENUMERATE_INVALID_ENUMERATION_CONTEXT",
    0x80338026: "ERROR_WSMAN_ENVELOPE_TOO_LARGE",
    ERROR_WSMAN_OPERATION_TIMEDOUT: "ERROR_WSMAN_OPERATION_TIMEDOUT",
    ERROR_WSMAN_WMI_PROVIDER_NOT_CAPABLE: "ERROR_WSMAN_WMI_PROVIDER_NOT_CAPABLE",
    0x80338103: "ERROR_WSMAN_WMI_INVALID_VALUE",
    ERROR_WSMAN_WMI_SVC_ACCESS_DENIED: "ERROR_WSMAN_WMI_SVC_ACCESS_DENIED",
    ERROR_WSMAN_WMI_PROVIDER_ACCESS_DENIED: "ERROR_WSMAN_WMI_PROVIDER_ACCESS_DENIED",
    ERROR_WSMAN_WMI_CANNOT_CONNECT_ACCESS_DENIED: "ERROR_WSMAN_WMI_CANNOT_CONNECT_ACCESS_DENIED",
    0x80338107: "ERROR_WSMAN_INVALID_FILTER_XML",
    ERROR_WSMAN_CANNOT_PROCESS_FILTER: "ERROR_WSMAN_CANNOT_PROCESS_FILTER",
}
_ACCESS_DENIED_CODES = frozenset({
    ERROR_WSMAN_WMI_SVC_ACCESS_DENIED, ERROR_WSMAN_WMI_PROVIDER_ACCESS_DENIED,
    ERROR_WSMAN_WMI_CANNOT_CONNECT_ACCESS_DENIED, 0x80041003, 0x80070005,
})
# DSP0226 section 14.6 (master list of faults): the detail URI for an unknown resource URI.
FAULT_DETAIL_INVALID_RESOURCE_URI = (
    "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/InvalidResourceURI"
)
_SUBCODE_CANNOT_PROCESS_FILTER = frozenset({
    f"{{{NS_ENUMERATION}}}CannotProcessFilter", f"{{{NS_WSMAN}}}CannotProcessFilter",
})
_SUBCODE_DESTINATION_UNREACHABLE = f"{{{NS_ADDRESSING}}}DestinationUnreachable"
_SUBCODE_ACCESS_DENIED = f"{{{NS_WSMAN}}}AccessDenied"
# An ``__ExtendedStatus`` Description such as "WDM specific return code: 4200" (inferred from
# the WMI provider for WDM classes; 4200 is ERROR_WMI_GUID_NOT_FOUND, the class is not served).
_WDM_RETURN_CODE = re.compile(r"WDM specific return code:\s*(\d+)", re.IGNORECASE)

FaultOutcome = Literal["class_not_found", "provider_error", "access_denied"]

# Parsed documents record the resolved value of QName-valued elements (s:Value) in this
# attribute, because the prefix inside the text is only meaningful where it was declared.
QNAME_ATTRIBUTE = "{urn:winiscsi-ipsec:parser}qname"


# --- Errors ----------------------------------------------------------------------------------
class WSManError(Exception):
    """Base of every failure of the WS-Management transport.

    Attributes:
        unreachable: True when the host could not be talked to at all (Ansible's
            ``unreachable`` rather than ``failed``).
        host: The host talked to (set by the client).
        port: Its port.
        user: The account used, if any.
        warnings: What else went wrong on the way (e.g. a Release that failed), set by the
            client.
    """

    unreachable: bool = False

    def __init__(self) -> None:
        self.host: str | None = None
        self.port: int | None = None
        self.user: str | None = None
        self.warnings: tuple[str, ...] = ()
        super().__init__()

    def set_target(self, host: str, port: int, user: str | None) -> None:
        """Record who was being talked to (named in the message)."""
        self.host, self.port, self.user = host, port, user

    @property
    def where(self) -> str:
        """``host:port (user 'name')``, or ``the host`` when not known."""
        if self.host is None:
            return "the host"
        where = f"{self.host}:{self.port}"
        return f"{where} (user {self.user!r})" if self.user else where

    def __str__(self) -> str:  # pragma: no cover - every subclass overrides it
        return f"wsman: error talking to {self.where}"

    def details(self) -> dict[str, Any]:
        """Structured evidence for the task result (never the password)."""
        return {"wsman_host": self.host, "wsman_port": self.port, "wsman_user": self.user}

    def scrub(self, secrets: Iterable[str]) -> None:
        """Replace every secret in the string attributes with ``********``, in place.

        Args:
            secrets: Values that must never be shown (the password); empty ones are ignored.
        """
        values = [s for s in secrets if s]
        if not values:
            return
        for name, value in vars(self).items():
            if isinstance(value, str):
                setattr(self, name, redact(value, values))


class WSManResponseError(WSManError):
    """The reply cannot be used: not XML, refused XML, not the expected message, too large.

    Attributes:
        problem: What is wrong with the reply.
        operation: The request it answered (``Enumerate``, ``Pull``, ``Release``), if known.
    """

    def __init__(self, problem: str, *, operation: str | None = None) -> None:
        self.problem = problem
        self.operation = operation
        super().__init__()

    def __str__(self) -> str:
        what = f" to {self.operation}" if self.operation else ""
        return f"wsman: unusable reply from {self.where}{what}: {self.problem}"

    def details(self) -> dict[str, Any]:
        return {**super().details(), "wsman_operation": self.operation}


class XmlRefusedError(WSManResponseError):
    """The reply carries XML the hardened parser refuses (a DTD or an entity declaration)."""


class ResponseTooLargeError(WSManResponseError):
    """The reply is larger than the configured bound.

    Attributes:
        limit: The bound in bytes.
        size: The size seen (the Content-Length, or the bytes read when the bound was passed).
    """

    def __init__(self, limit: int, size: int, *, operation: str | None = None) -> None:
        self.limit = limit
        self.size = size
        super().__init__(f"the reply is larger than the limit of {limit} bytes (at least "
                         f"{size} bytes)", operation=operation)


TransportErrorKind = Literal[
    "credentials", "certificate", "tls", "timeout", "refused", "connection", "dropped", "http",
    "setup"
]


class WSManTransportError(WSManError):
    """The HTTP exchange failed before a WS-Management reply could be read.

    Attributes:
        kind: ``credentials`` (HTTP 401), ``certificate`` (TLS validation), ``tls`` (another
            TLS failure, e.g. a port that does not speak TLS), ``timeout``, ``refused``,
            ``connection`` (other network errors), ``dropped`` (the connection broke
            mid-reply), ``http`` (another HTTP status),
            ``setup`` (the client cannot use the transport, e.g. a missing library).
        cause: The underlying error in words (password removed).
        http_status: The HTTP status, when one was received.
        auth_transports: The pywinrm transports tried.
        endpoint: The URL.
        operation: The request being sent.
        read_timeout_sec: The read timeout in force.
    """

    def __init__(self, kind: TransportErrorKind, cause: str, *, http_status: int | None = None,
                 auth_transports: tuple[str, ...] = (), endpoint: str | None = None,
                 operation: str | None = None, read_timeout_sec: float | None = None) -> None:
        self.kind = kind
        self.cause = cause
        self.http_status = http_status
        self.auth_transports = auth_transports
        self.endpoint = endpoint
        self.operation = operation
        self.read_timeout_sec = read_timeout_sec
        super().__init__()
        # Timeouts and connection failures make the host unreachable; the rest are failures.
        self.unreachable = kind in ("timeout", "refused", "connection", "dropped")

    def __str__(self) -> str:
        host = f"{self.host}:{self.port}" if self.host else "the host"
        user = f" (user {self.user!r})" if self.user else ""
        transports = ", ".join(repr(t) for t in self.auth_transports) or "none"
        if self.kind == "credentials":
            who = f"user {self.user!r}" if self.user else "the (empty) user"
            return (f"wsman: {host} rejected the credentials of {who} (HTTP 401, the server "
                    f"rejected the credentials; transport {transports}). Check ansible_user and "
                    "ansible_password, and that the host accepts that transport "
                    "(ansible_winrm_transport)")
        if self.kind == "certificate":
            return (f"wsman: certificate validation failed for {self.endpoint or host}{user}: "
                    f"{self.cause}. Make the controller trust the host's certificate: set "
                    "ansible_winrm_ca_trust_path to a PEM file holding the CA certificate that "
                    f"issued it, and check that the certificate is valid for the name "
                    f"{self.host!r}")
        if self.kind == "tls":
            return (f"wsman: the TLS handshake with {self.endpoint or host}{user} failed: "
                    f"{self.cause}. Check that this port serves HTTPS (ansible_winrm_scheme, "
                    "ansible_port)")
        if self.kind == "timeout":
            limit = f" within {self.read_timeout_sec:g} s" if self.read_timeout_sec else ""
            return (f"wsman: {host} did not answer{limit}{user}: {self.cause} (raise "
                    "ansible_winrm_read_timeout_sec / ansible_winrm_connection_timeout if the "
                    "host is slow)")
        if self.kind == "refused":
            return (f"wsman: cannot connect to {host}{user}: connection refused; check that "
                    "WinRM listens on that port (ansible_port, ansible_winrm_scheme)")
        if self.kind == "connection":
            return f"wsman: cannot connect to {host}{user}: {self.cause}"
        if self.kind == "dropped":
            return f"wsman: the connection to {host}{user} broke while reading the reply: {self.cause}"
        if self.kind == "http":
            what = f" to {self.operation}" if self.operation else ""
            return (f"wsman: {self.where} answered{what} with HTTP {self.http_status}"
                    + (f": {self.cause}" if self.cause else ""))
        return f"wsman: cannot talk to {self.where} with transport {transports}: {self.cause}"

    def details(self) -> dict[str, Any]:
        return {**super().details(), "wsman_error": self.kind,
                "wsman_http_status": self.http_status,
                "wsman_auth_transports": list(self.auth_transports)}


@dataclass(frozen=True)
class FaultInfo:
    """The fields of a SOAP fault, as Windows fills them (DSP0226 section 14, MS-WSMV).

    Attributes:
        code: The WSManFault Code (or MSFT_WmiError error_Code) as an unsigned int, if any.
        fault_code: The SOAP Code value, resolved to ``{uri}local``.
        subcode: The SOAP Subcode value, resolved to ``{uri}local``.
        reason: The SOAP Reason text.
        provider_message: The innermost ``f:Message`` text (often the provider's own words).
        extended_description: The ``__ExtendedStatus`` Description, if any.
        wdm_return_code: The WDM return code named in that description, if any.
        fault_detail: The DSP0226 ``w:FaultDetail`` URI, if any.
        machine: The ``Machine`` attribute of the WSManFault.
        provider: The ``provider`` attribute of the ProviderFault.
    """

    code: int | None = None
    fault_code: str | None = None
    subcode: str | None = None
    reason: str | None = None
    provider_message: str | None = None
    extended_description: str | None = None
    wdm_return_code: int | None = None
    fault_detail: str | None = None
    machine: str | None = None
    provider: str | None = None


class WSManFault(WSManError):
    """A SOAP fault answered by the host.

    Attributes:
        info: The parsed fault.
        operation: The request it answered.
        resource_uri: The resource URI of that request.
    """

    def __init__(self, info: FaultInfo, *, operation: str | None = None,
                 resource_uri: str | None = None) -> None:
        self.info = info
        self.operation = operation
        self.resource_uri = resource_uri
        super().__init__()

    # Named shortcuts, so callers need not know about FaultInfo.
    @property
    def code(self) -> int | None:
        """The numeric WSMan/WMI code, unsigned."""
        return self.info.code

    @property
    def hex_code(self) -> str | None:
        """The code as ``0x%08X``."""
        return None if self.info.code is None else "0x%08X" % self.info.code

    @property
    def name(self) -> str | None:
        """The symbolic name of the code (winerror.h / wbemcli.h), when known."""
        return None if self.info.code is None else ERROR_NAMES.get(self.info.code)

    @property
    def subcode(self) -> str | None:
        """The SOAP subcode as ``{uri}local``."""
        return self.info.subcode

    @property
    def reason(self) -> str | None:
        """The SOAP Reason text."""
        return self.info.reason

    @property
    def provider_message(self) -> str | None:
        """The innermost provider message."""
        return self.info.provider_message

    @property
    def machine(self) -> str | None:
        """The host name the fault names."""
        return self.info.machine

    @property
    def outcome(self) -> FaultOutcome | None:
        """How the collection treats this fault (None: a plain failure)."""
        return classify_fault(self.info)

    @property
    def host_message(self) -> str:
        """The host's own words, for the snapshot's ``message`` or an error."""
        return host_message(self.info)

    def __str__(self) -> str:
        fault = f"fault {self.hex_code or 'without a code'}"
        if self.name:
            fault += f" {self.name}"
        if self.info.subcode:
            fault += f" ({_local_name(self.info.subcode)})"
        request = self.operation or "the request"
        if self.resource_uri:
            request += f" of {self.resource_uri}"
        if self.outcome == "access_denied":
            who = f"user {self.user!r}" if self.user else "the account"
            host = f"{self.host}:{self.port}" if self.host else "the host"
            return (f"wsman: access denied to {who} on {host}: {request} failed with {fault}: "
                    f"{self.host_message.rstrip('. ')}. The account needs administrator rights "
                    "on root\\WMI: "
                    "make it a member of the host's Administrators group, or grant it 'Enable "
                    "Account' and 'Remote Enable' on root\\WMI (WMI Control) and access to WinRM")
        return f"wsman: {self.where} answered {request} with {fault}: {self.host_message}"

    def details(self) -> dict[str, Any]:
        return {
            **super().details(),
            "wsman_operation": self.operation,
            "wsman_fault_code": self.hex_code,
            "wsman_fault_name": self.name,
            "wsman_fault_subcode": self.info.subcode,
            "wsman_fault_reason": self.info.reason,
            "wsman_fault_machine": self.info.machine,
        }

    def scrub(self, secrets: Iterable[str]) -> None:
        values = [s for s in secrets if s]
        if not values:
            return
        super().scrub(values)
        # Only the text fields can hold a secret; the int fields (codes) are kept as they are.
        # Any: mypy checks **texts against every field, int ones included, though only fields
        # that already hold a str get one.
        texts: dict[str, Any] = {name: redact(value, values)
                                 for name, value in vars(self.info).items()
                                 if isinstance(value, str)}
        self.info = replace(self.info, **texts)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each non-empty secret in ``text`` with ``********``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    return text


# --- Hardened parsing ------------------------------------------------------------------------
_SOAP_VALUE = f"{{{NS_SOAP}}}Value"  # the element whose text is a QName (SOAP 1.2 faults)


def parse_xml(data: bytes, *, max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
              operation: str | None = None) -> ET.Element:
    """Parse a reply with a parser that refuses DTDs and entity declarations.

    Built on ``xml.parsers.expat`` directly (no dependency beyond the standard library): a
    document type declaration is refused as soon as it starts, so no entity can be declared,
    expanded or fetched; external entities and parameter entities are never processed.
    Elements whose text is a QName (SOAP ``Value``) get the resolved name in
    :data:`QNAME_ATTRIBUTE`.

    Args:
        data: The reply body.
        max_bytes: Larger replies are refused before parsing.
        operation: The request this answers, named in errors.

    Returns:
        The root element.

    Raises:
        ResponseTooLargeError: ``data`` is longer than ``max_bytes``.
        XmlRefusedError: ``data`` has a DTD or declares entities.
        WSManResponseError: ``data`` is not well-formed XML.
    """
    if len(data) > max_bytes:
        raise ResponseTooLargeError(max_bytes, len(data), operation=operation)
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    # The element handlers run once per element, in Python, so they do little: a reply repeats
    # a few dozen names, each turned into ElementTree's form once, and the namespaces in scope
    # are kept per prefix (expat reports where each declaration ends) for the rare QName text.
    clark_names: dict[str, str] = {}
    namespaces: dict[str | None, list[str]] = {"xml": [NS_XML]}

    def refuse(what: str) -> None:
        raise XmlRefusedError(f"it contains {what}, which a WS-Management reply never has",
                              operation=operation)

    def doctype(name: str, *_: Any) -> None:
        refuse(f"a document type declaration (<!DOCTYPE {name}>)")

    def entity(name: str, *_: Any) -> None:
        refuse(f"an entity declaration ({name!r})")

    def external(*_: Any) -> int:
        refuse("a reference to an external entity")
        return 0  # pragma: no cover - refuse() always raises

    def ns_start(prefix: str | None, uri: str | None) -> None:
        namespaces.setdefault(prefix, []).append(uri or "")

    def ns_end(prefix: str | None) -> None:
        namespaces[prefix].pop()

    def clark(name: str) -> str:
        """Turn expat's ``uri<space>local`` into ElementTree's ``{uri}local``."""
        uri, sep, local = name.rpartition(" ")
        known = clark_names[name] = f"{{{uri}}}{local}" if sep else name
        return known

    def start(name: str, attrs: dict[str, str]) -> None:
        tag = clark_names.get(name) or clark(name)
        builder.start(tag, {clark_names.get(k) or clark(k): v for k, v in attrs.items()})

    def end(name: str) -> None:
        element = builder.end(clark_names[name])  # start() named it
        if element.tag == _SOAP_VALUE and element.text:
            prefix, sep, local = element.text.strip().rpartition(":")
            uris = namespaces.get(prefix if sep else None)
            if uris:
                element.set(QNAME_ATTRIBUTE, f"{{{uris[-1]}}}{local}")

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    parser.ExternalEntityRefHandler = external
    parser.StartNamespaceDeclHandler = ns_start
    parser.EndNamespaceDeclHandler = ns_end
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except expat.ExpatError as e:
        raise WSManResponseError(
            f"it is not well-formed XML ({expat.ErrorString(e.code)} at line {e.lineno}, "
            f"column {e.offset})", operation=operation) from None
    return builder.close()


# --- Requests --------------------------------------------------------------------------------
def _q(namespace: str, local: str) -> str:
    return f"{{{namespace}}}{local}"


def _sub(parent: ET.Element, namespace: str, local: str, text: str | None = None,
         **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, _q(namespace, local), attrs)
    if text is not None:
        element.text = text
    return element


def _seconds(value: float) -> str:
    """An xs:duration such as ``PT20S`` or ``PT1.5S``."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return f"PT{text}S"


@dataclass(frozen=True)
class RequestHeader:
    """The WS-Management headers common to every request (DSP0226 sections 5 and 6).

    Attributes:
        to: The endpoint URL (wsa:To).
        resource_uri: The class or filter URI (wsman:ResourceURI).
        message_id: ``uuid:...``; the reply's RelatesTo must equal it.
        operation_timeout_sec: wsman:OperationTimeout (DSP0226 section 6.1).
        max_envelope_size: wsman:MaxEnvelopeSize in octets (DSP0226 section 6.2).
        locale: wsman:Locale and MS-WSMV p:DataLocale (DSP0226 section 6.3).
    """

    to: str
    resource_uri: str
    message_id: str
    operation_timeout_sec: float = 20
    max_envelope_size: int = DEFAULT_MAX_ENVELOPE_SIZE
    locale: str = DEFAULT_LOCALE


def _envelope(header: RequestHeader, action: str) -> tuple[ET.Element, ET.Element]:
    """Build the envelope and its header; return (envelope, body)."""
    must = {_q(NS_SOAP, "mustUnderstand"): "true"}
    optional = {_q(NS_SOAP, "mustUnderstand"): "false", _q(NS_XML, "lang"): header.locale}
    envelope = ET.Element(_q(NS_SOAP, "Envelope"))
    head = _sub(envelope, NS_SOAP, "Header")
    _sub(head, NS_ADDRESSING, "To", header.to)
    _sub(head, NS_WSMAN, "ResourceURI", header.resource_uri, **must)
    reply_to = _sub(head, NS_ADDRESSING, "ReplyTo")
    _sub(reply_to, NS_ADDRESSING, "Address", ADDRESS_ANONYMOUS, **must)
    _sub(head, NS_ADDRESSING, "Action", action, **must)
    _sub(head, NS_WSMAN, "MaxEnvelopeSize", str(header.max_envelope_size), **must)
    _sub(head, NS_ADDRESSING, "MessageID", header.message_id)
    _sub(head, NS_WSMAN, "Locale", **optional)
    _sub(head, NS_MS_WSMAN, "DataLocale", **optional)
    _sub(head, NS_WSMAN, "OperationTimeout", _seconds(header.operation_timeout_sec))
    body = _sub(envelope, NS_SOAP, "Body")
    return envelope, body


def _serialize(envelope: ET.Element) -> bytes:
    # Namespaces are written with generated prefixes (ns0, ns1...): registering prefixes
    # would change ElementTree's process-wide table, and a conforming service matches URIs.
    # ElementTree.write() into a buffer is what tostring() does, but typeshed types tostring()
    # with an encoding other than "unicode" as returning Any, and getvalue() as bytes.
    buffer = io.BytesIO()
    ET.ElementTree(envelope).write(buffer, encoding="utf-8", xml_declaration=True)
    return buffer.getvalue()


def build_enumerate(header: RequestHeader, *, max_elements: int = DEFAULT_MAX_ELEMENTS,
                    wql: str | None = None) -> bytes:
    """An optimized Enumerate request (DSP0226 section 8.2.3).

    Args:
        header: The common headers.
        max_elements: How many items the reply may carry inline.
        wql: A WQL query; the resource URI must then end in ``/*`` (MS-WSMV).

    Returns:
        The request body, UTF-8.
    """
    envelope, body = _envelope(header, ACTION_ENUMERATE)
    # n:Enumerate is mandatory even when empty: Windows faults with 0x80338041 otherwise.
    enumerate_ = _sub(body, NS_ENUMERATION, "Enumerate")
    _sub(enumerate_, NS_WSMAN, "OptimizeEnumeration")
    _sub(enumerate_, NS_WSMAN, "MaxElements", str(max_elements))
    if wql is not None:
        _sub(enumerate_, NS_WSMAN, "Filter", wql, Dialect=DIALECT_WQL)
    return _serialize(envelope)


def build_pull(header: RequestHeader, context: str, *,
               max_elements: int = DEFAULT_MAX_ELEMENTS) -> bytes:
    """A Pull request for the next items of an enumeration (DSP0226 section 8.4)."""
    envelope, body = _envelope(header, ACTION_PULL)
    pull = _sub(body, NS_ENUMERATION, "Pull")
    _sub(pull, NS_ENUMERATION, "EnumerationContext", context)
    _sub(pull, NS_ENUMERATION, "MaxElements", str(max_elements))
    return _serialize(envelope)


def build_release(header: RequestHeader, context: str) -> bytes:
    """A Release request ending an enumeration early (DSP0226 section 8.5)."""
    envelope, body = _envelope(header, ACTION_RELEASE)
    release = _sub(body, NS_ENUMERATION, "Release")
    _sub(release, NS_ENUMERATION, "EnumerationContext", context)
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


def _local_name(clark: str) -> str:
    return clark.rpartition("}")[2]


def _open_envelope(data: bytes, *, operation: str, expected_action: str, message_id: str,
                   resource_uri: str | None, max_bytes: int) -> ET.Element:
    """Parse a reply, raise its fault if it is one, check Action and RelatesTo; return Body."""
    root = parse_xml(data, max_bytes=max_bytes, operation=operation)
    if root.tag != _q(NS_SOAP, "Envelope"):
        raise WSManResponseError(f"the root element is {root.tag}, not a SOAP 1.2 Envelope",
                                 operation=operation)
    header = root.find(_q(NS_SOAP, "Header"))
    body = root.find(_q(NS_SOAP, "Body"))
    if body is None:
        raise WSManResponseError("the envelope has no Body", operation=operation)
    relates_to = _text(header.find(_q(NS_ADDRESSING, "RelatesTo"))) if header is not None else None
    fault = body.find(_q(NS_SOAP, "Fault"))
    if fault is not None:
        # A fault about another message is not ours to interpret. Windows does not always
        # relate faults raised before it read the MessageID, so a missing RelatesTo is accepted.
        if relates_to is not None and relates_to != message_id:
            raise WSManResponseError(f"a fault relates to {relates_to!r}, not to the request "
                                     f"sent ({message_id!r})", operation=operation)
        raise WSManFault(parse_fault(fault), operation=operation, resource_uri=resource_uri)
    if header is None:
        raise WSManResponseError("the envelope has no Header", operation=operation)
    # WS-Addressing 2004/08 section 3: a reply names the request it answers.
    if relates_to != message_id:
        raise WSManResponseError(f"RelatesTo is {relates_to!r}, expected the MessageID sent "
                                 f"({message_id!r})", operation=operation)
    action = _text(header.find(_q(NS_ADDRESSING, "Action")))
    if action != expected_action:
        raise WSManResponseError(f"Action is {action!r}, expected {expected_action!r}",
                                 operation=operation)
    return body


def _page(container: ET.Element, items_ns: str, operation: str) -> EnumerationPage:
    context = _text(container.find(_q(NS_ENUMERATION, "EnumerationContext")))
    items_element = container.find(_q(items_ns, "Items"))
    items = tuple(items_element) if items_element is not None else ()
    end = container.find(_q(items_ns, "EndOfSequence")) is not None
    if not end and not context:
        raise WSManResponseError("the reply neither ends the sequence nor gives an "
                                 "EnumerationContext to pull with", operation=operation)
    return EnumerationPage(context=context or None, items=items, end_of_sequence=end)


def parse_enumerate_response(data: bytes, message_id: str, *, resource_uri: str | None = None,
                             max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> EnumerationPage:
    """Parse an (optimized) EnumerateResponse.

    With OptimizeEnumeration, ``Items`` and ``EndOfSequence`` are in the DSP0226 namespace
    (section 8.2.3).

    Args:
        data: The reply body.
        message_id: The MessageID of the request; RelatesTo must equal it.
        resource_uri: The request's resource URI, named in a fault.
        max_bytes: The size bound.

    Returns:
        The first page.

    Raises:
        WSManFault: The reply is a fault.
        WSManResponseError: The reply is not a usable EnumerateResponse.
    """
    body = _open_envelope(data, operation="Enumerate", expected_action=ACTION_ENUMERATE_RESPONSE,
                          message_id=message_id, resource_uri=resource_uri, max_bytes=max_bytes)
    container = body.find(_q(NS_ENUMERATION, "EnumerateResponse"))
    if container is None:
        raise WSManResponseError("the Body has no EnumerateResponse", operation="Enumerate")
    return _page(container, NS_WSMAN, "Enumerate")


def parse_pull_response(data: bytes, message_id: str, *, resource_uri: str | None = None,
                        max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> EnumerationPage:
    """Parse a PullResponse (``Items`` and ``EndOfSequence`` in the WS-Enumeration namespace).

    Args and Raises as :func:`parse_enumerate_response`.
    """
    body = _open_envelope(data, operation="Pull", expected_action=ACTION_PULL_RESPONSE,
                          message_id=message_id, resource_uri=resource_uri, max_bytes=max_bytes)
    container = body.find(_q(NS_ENUMERATION, "PullResponse"))
    if container is None:
        raise WSManResponseError("the Body has no PullResponse", operation="Pull")
    return _page(container, NS_ENUMERATION, "Pull")


def parse_release_response(data: bytes, message_id: str, *,
                           max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> None:
    """Check a ReleaseResponse (its body is empty).

    Raises:
        WSManFault: The reply is a fault.
        WSManResponseError: The reply is not a ReleaseResponse to this request.
    """
    _open_envelope(data, operation="Release", expected_action=ACTION_RELEASE_RESPONSE,
                   message_id=message_id, resource_uri=None, max_bytes=max_bytes)


# --- Faults ----------------------------------------------------------------------------------
def _iter_local(element: ET.Element, namespace: str, local: str) -> Iterator[ET.Element]:
    return element.iter(_q(namespace, local))


def _unsigned(text: str | None) -> int | None:
    """Parse a code written as signed or unsigned decimal, or as hex; None if unparsable."""
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


def parse_fault(fault: ET.Element) -> FaultInfo:
    """Read the fields of an ``s:Fault`` element (DSP0226 section 14; MS-WSMV WSManFault).

    Args:
        fault: The ``{soap}Fault`` element.

    Returns:
        The fault's fields; absent ones are None.
    """
    code_element = fault.find(_q(NS_SOAP, "Code"))
    fault_code = subcode = None
    if code_element is not None:
        fault_code = _qname(code_element.find(_q(NS_SOAP, "Value")))
        subcode = _qname(code_element.find(f"{_q(NS_SOAP, 'Subcode')}/{_q(NS_SOAP, 'Value')}"))
    reason = _text(fault.find(f"{_q(NS_SOAP, 'Reason')}/{_q(NS_SOAP, 'Text')}"))
    detail = fault.find(_q(NS_SOAP, "Detail"))

    code = machine = provider = provider_message = fault_detail = None
    extended_description = None
    wdm_code = None
    if detail is not None:
        fault_detail = _text(detail.find(_q(NS_WSMAN, "FaultDetail")))
        wsman_faults = list(_iter_local(detail, NS_WSMAN_FAULT, "WSManFault"))
        if wsman_faults:
            outer = wsman_faults[0]
            code = _unsigned(outer.get("Code"))
            machine = outer.get("Machine")
        for provider_fault in _iter_local(detail, NS_WSMAN_FAULT, "ProviderFault"):
            provider = (provider_fault.get("provider") or "").strip() or None
            break
        # The innermost non-empty f:Message is the provider's own sentence; outer ones wrap it.
        messages = [m for m in _iter_local(detail, NS_WSMAN_FAULT, "Message")
                    if (m.text or "").strip()]
        if messages:
            provider_message = " ".join((messages[-1].text or "").split())
        for element in detail.iter():
            local = _local_name(element.tag)
            ns = element.tag[1:].partition("}")[0] if element.tag.startswith("{") else ""
            if local == "__ExtendedStatus" and ns.startswith(WMI_URI_BASE):
                description = _text(element.find(_q(ns, "Description")))
                if description:
                    extended_description = description
                    match = _WDM_RETURN_CODE.search(description)
                    if match:
                        wdm_code = int(match.group(1))
                break
        wmi_error = detail.find(_q(NS_WMI_ERROR, "MSFT_WmiError"))
        if wmi_error is not None:
            if code is None:
                code = _unsigned(_text(wmi_error.find(_q(NS_WMI_ERROR, "error_Code"))))
            if provider_message is None:
                provider_message = _text(wmi_error.find(_q(NS_WMI_ERROR, "Message")))
    return FaultInfo(code=code, fault_code=fault_code, subcode=subcode, reason=reason,
                     provider_message=provider_message,
                     extended_description=extended_description, wdm_return_code=wdm_code,
                     fault_detail=fault_detail, machine=machine, provider=provider)


def classify_fault(info: FaultInfo) -> FaultOutcome | None:
    """Map a fault to how the collection reports it.

    - ``class_not_found``: the class is not registered. WQL form: subcode CannotProcessFilter /
      code 0x8033801A (or 0x80338122); class URI form: code 0x80338000, or subcode
      DestinationUnreachable with detail InvalidResourceURI.
    - ``provider_error``: the class is registered but its provider cannot serve it (0x80338102,
      or a WDM return code in the extended status).
    - ``access_denied``: WMI refused the account (0x80338104/5/6, or an AccessDenied subcode).

    Args:
        info: The parsed fault.

    Returns:
        The outcome, or None for any other fault (a plain failure).
    """
    code = info.code
    if code in _ACCESS_DENIED_CODES or info.subcode == _SUBCODE_ACCESS_DENIED:
        return "access_denied"
    if code == ERROR_WSMAN_WMI_PROVIDER_NOT_CAPABLE or info.wdm_return_code is not None:
        return "provider_error"
    if code in (ERROR_WSMAN_ENUMERATE_CANNOT_PROCESS_FILTER, ERROR_WSMAN_CANNOT_PROCESS_FILTER,
                ERROR_WSMAN_RESOURCE_NOT_FOUND):
        return "class_not_found"
    if code is None and info.subcode in _SUBCODE_CANNOT_PROCESS_FILTER:
        return "class_not_found"
    if (info.subcode == _SUBCODE_DESTINATION_UNREACHABLE
            and info.fault_detail == FAULT_DETAIL_INVALID_RESOURCE_URI):
        return "class_not_found"
    return None


def host_message(info: FaultInfo) -> str:
    """The host's own words about a fault: provider message, else reason; plus WMI status."""
    words = info.provider_message or info.reason or "the host gave no message"
    if info.extended_description and info.extended_description not in words:
        words = f"{words.rstrip()} ({info.extended_description})"
    return words.strip()


# --- Instances -------------------------------------------------------------------------------
@dataclass(frozen=True)
class CimInstance:
    """One WMI instance as WS-Management serializes it.

    Attributes:
        class_name: The element's local name (the WMI class).
        namespace: The element's namespace URI (the class's resource URI).
        properties: Property name -> text (``None`` for ``xsi:nil``; a list for arrays;
            the nested element for embedded values such as ``cim:Datetime``).
    """

    class_name: str
    namespace: str
    properties: Mapping[str, Any]


def parse_instance(item: ET.Element, class_uri: str) -> CimInstance | None:
    """Read one item if it is an instance of the class at ``class_uri``.

    The namespace is compared case-insensitively: WMI namespace and class names are.

    Args:
        item: An element of ``Items``.
        class_uri: The resource URI of the class, e.g. :data:`STATS_CLASS_URI`.

    Returns:
        The instance, or None when the item is something else.
    """
    if not item.tag.startswith("{"):
        return None
    namespace, dummy, local = item.tag[1:].partition("}")
    class_name = class_uri.rpartition("/")[2]
    if namespace.lower() != class_uri.lower() or local.lower() != class_name.lower():
        return None
    properties: dict[str, Any] = {}
    for child in item:
        child_ns, dummy, name = child.tag[1:].partition("}")
        if child_ns != namespace:
            continue
        if child.get(_q(NS_XSI, "nil"), "").strip() in ("true", "1"):
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
    return CimInstance(class_name=local, namespace=namespace, properties=properties)


_XS_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$"
)


def parse_cim_datetime(value: Any) -> datetime:
    """Parse a property holding ``cim:Datetime`` (xs:dateTime with an offset) into UTC.

    Args:
        value: The property as :func:`parse_instance` returns it (the element, or its text).

    Returns:
        An aware datetime in UTC (fractions beyond microseconds dropped).

    Raises:
        ValueError: Not an xs:dateTime with a time-zone offset.
    """
    text = value
    if isinstance(value, ET.Element):
        text = _text(value.find(_q(NS_CIM, "Datetime")))
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
