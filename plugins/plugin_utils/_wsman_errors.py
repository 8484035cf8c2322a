# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What can go wrong reading a WMI class over WS-Management: one exception per kind.

Internal to the winiscsi.ipsec collection: not a public API, may change without notice.

Each exception is built once, where what it names is known, and keeps it in named attributes;
``str()`` is the message the task fails with, ``details()`` the evidence as result keys. A
Windows fault is :class:`WSManFault` itself; ``_wsman`` reads it off the wire and classifies it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wmi_errors import (
    WMI_ERRORS,
    WmiOutcome,
)

# --- Names of the codes a fault carries (winerror.h, facility WINRM 0x33; the WMI table) ------
ERROR_NAMES: Mapping[int, str] = {
    **{error.code: error.name for error in WMI_ERRORS},
    0x80338000: "ERROR_WSMAN_RESOURCE_NOT_FOUND",
    0x80338012: "ERROR_WSMAN_DESTINATION_UNREACHABLE",
    0x8033801A: "ERROR_WSMAN_ENUMERATE_CANNOT_PROCESS_FILTER",
    0x8033801B: "ERROR_WSMAN_ENUMERATE_INVALID_ENUMERATION_CONTEXT",
    0x80338026: "ERROR_WSMAN_ENVELOPE_TOO_LARGE",
    0x80338102: "ERROR_WSMAN_WMI_PROVIDER_NOT_CAPABLE",
    0x80338103: "ERROR_WSMAN_WMI_INVALID_VALUE",
    0x80338104: "ERROR_WSMAN_WMI_SVC_ACCESS_DENIED",
    0x80338105: "ERROR_WSMAN_WMI_PROVIDER_ACCESS_DENIED",
    0x80338106: "ERROR_WSMAN_WMI_CANNOT_CONNECT_ACCESS_DENIED",
    0x80338107: "ERROR_WSMAN_INVALID_FILTER_XML",
    0x80338122: "ERROR_WSMAN_CANNOT_PROCESS_FILTER",
}
# What a fault means to the collection (``_wmi_errors``); ``_wsman.classify_fault`` decides it.
FaultOutcome = WmiOutcome


@dataclass(frozen=True)
class Target:
    """The WinRM service a request goes to; errors name it.

    Attributes:
        host: Host name or address.
        port: TCP port.
        user: The account, if any.
        url: The WS-Management URL (``a:To``).
    """

    host: str
    port: int
    user: str | None
    url: str

    def __str__(self) -> str:
        user = f" (user {self.user!r})" if self.user else ""
        return f"{self.host}:{self.port}{user}"


# --- Errors ----------------------------------------------------------------------------------
class WSManError(Exception):
    """Base of every failure of a WS-Management exchange.

    Attributes:
        target: Who was talked to, when known.
        operation: The request (``Enumerate``, ``Pull``, ``Release``), when known.
    """

    def __init__(self, *, target: Target | None = None, operation: str | None = None) -> None:
        super().__init__()
        self.target = target
        self.operation = operation

    @property
    def unreachable(self) -> bool:
        """True when the host could not be talked to at all (Ansible's ``unreachable``)."""
        return False

    @property
    def where(self) -> str:
        """``host:port (user 'name')``, or ``the host`` when not known."""
        return str(self.target) if self.target else "the host"

    def details(self) -> dict[str, Any]:
        """The evidence as task result keys (the user, never the password)."""
        target = self.target
        return {
            "wsman_host": target.host if target else None,
            "wsman_port": target.port if target else None,
            "wsman_user": target.user if target else None,
            "wsman_operation": self.operation,
        }


class WSManResponseError(WSManError):
    """The reply cannot be used: not XML, refused XML, not the expected message, too large.

    Attributes:
        problem: What is wrong with the reply.
    """

    def __init__(self, problem: str, *, target: Target | None = None,
                 operation: str | None = None) -> None:
        super().__init__(target=target, operation=operation)
        self.problem = problem

    def __str__(self) -> str:
        what = f" to {self.operation}" if self.operation else ""
        return f"wsman: unusable reply from {self.where}{what}: {self.problem}"


class XmlRefusedError(WSManResponseError):
    """The reply carries XML the hardened parser refuses (a DTD, or nesting too deep)."""


class ResponseTooLargeError(WSManResponseError):
    """The reply is larger than :data:`MAX_RESPONSE_BYTES`.

    Attributes:
        limit: The bound in bytes.
        size: The size seen (the Content-Length, or the bytes read when the bound was passed).
    """

    def __init__(self, limit: int, size: int, *, target: Target | None = None,
                 operation: str | None = None) -> None:
        super().__init__(f"the reply is larger than the limit of {limit} bytes (at least {size} "
                         "bytes)", target=target, operation=operation)
        self.limit = limit
        self.size = size


TransportErrorKind = Literal[
    "credentials", "certificate", "tls", "timeout", "refused", "connection", "dropped", "http",
    "setup"
]
_UNREACHABLE_KINDS = frozenset({"timeout", "refused", "connection", "dropped"})


class WSManTransportError(WSManError):
    """The HTTP exchange failed before a WS-Management reply could be read.

    Attributes:
        kind: ``credentials`` (HTTP 401), ``certificate`` (TLS validation), ``tls`` (another
            TLS failure, e.g. a port that does not speak TLS), ``timeout``, ``refused``,
            ``connection`` (another network error), ``dropped`` (the connection broke
            mid-reply), ``http`` (another HTTP status), ``setup`` (the transport cannot be
            used, e.g. a missing library or a value pywinrm refuses).
        cause: The underlying error in words.
        http_status: The HTTP status, when one was received.
        auth_transports: The pywinrm transports tried.
        read_timeout_sec: The read timeout in force.
    """

    def __init__(self, kind: TransportErrorKind, cause: str, *, target: Target | None = None,
                 operation: str | None = None, http_status: int | None = None,
                 auth_transports: tuple[str, ...] = (),
                 read_timeout_sec: float | None = None) -> None:
        super().__init__(target=target, operation=operation)
        self.kind = kind
        self.cause = cause
        self.http_status = http_status
        self.auth_transports = auth_transports
        self.read_timeout_sec = read_timeout_sec

    @property
    def unreachable(self) -> bool:
        # As the winrm connection reports them: no answer at all is unreachable, the rest failed.
        return self.kind in _UNREACHABLE_KINDS

    def __str__(self) -> str:
        target = self.target
        host = f"{target.host}:{target.port}" if target else "the host"
        user = f" (user {target.user!r})" if target and target.user else ""
        url = target.url if target else host
        if self.kind == "credentials":
            who = f"user {target.user!r}" if target and target.user else "the (empty) user"
            transports = ", ".join(repr(t) for t in self.auth_transports) or "none"
            return (f"wsman: {host} rejected the credentials of {who} (HTTP 401, the server "
                    f"rejected the credentials; transport {transports}). Check ansible_user and "
                    "ansible_password, and that the host accepts that transport "
                    "(ansible_winrm_transport)")
        if self.kind == "certificate":
            name = f" {target.host!r}" if target else ""
            return (f"wsman: certificate validation failed for {url}{user}: {self.cause}. Make "
                    "the controller trust the host's certificate: set "
                    "ansible_winrm_ca_trust_path to a PEM file holding the CA certificate that "
                    f"issued it, and check that the certificate is valid for the name{name}")
        if self.kind == "tls":
            return (f"wsman: the TLS handshake with {url}{user} failed: {self.cause}. Check that "
                    "this port serves HTTPS (ansible_winrm_scheme, ansible_port)")
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
            return (f"wsman: the connection to {host}{user} broke while reading the reply: "
                    f"{self.cause}")
        if self.kind == "http":
            what = f" to {self.operation}" if self.operation else ""
            cause = f": {self.cause}" if self.cause else ""
            return f"wsman: {self.where} answered{what} with HTTP {self.http_status}{cause}"
        transports = ", ".join(repr(t) for t in self.auth_transports) or "none"
        return f"wsman: cannot talk to {self.where} with transport {transports}: {self.cause}"

    def details(self) -> dict[str, Any]:
        return {**super().details(), "wsman_error": self.kind,
                "wsman_http_status": self.http_status,
                "wsman_auth_transports": list(self.auth_transports)}


class WSManFault(WSManError):
    """A SOAP fault the host answered (SOAP 1.2 section 5.4, DSP0226 section 14, MS-WSMV).

    Attributes:
        code: The ``f:WSManFault`` Code (or the ``MSFT_WmiError`` error_Code), unsigned.
        subcode: The SOAP Subcode value, resolved to ``{uri}local``.
        reason: The SOAP Reason text.
        provider_message: The innermost ``f:Message`` text (often the provider's own words).
        extended_description: The WMI ``__ExtendedStatus`` Description.
        machine: The ``Machine`` attribute of the ``f:WSManFault``.
        outcome: How the collection reports it (see ``_wsman.classify_fault``); None for a
            plain failure.
        resource_uri: The resource URI of the request it answered.
        operation_timeout_sec: The ``w:OperationTimeout`` that request carried, if known.
    """

    def __init__(self, *, code: int | None = None, subcode: str | None = None,
                 reason: str | None = None, provider_message: str | None = None,
                 extended_description: str | None = None, machine: str | None = None,
                 outcome: FaultOutcome | None = None, resource_uri: str | None = None,
                 target: Target | None = None, operation: str | None = None,
                 operation_timeout_sec: int | None = None) -> None:
        super().__init__(target=target, operation=operation)
        self.code = code
        self.subcode = subcode
        self.reason = reason
        self.provider_message = provider_message
        self.extended_description = extended_description
        self.machine = machine
        self.outcome = outcome
        self.resource_uri = resource_uri
        self.operation_timeout_sec = operation_timeout_sec

    @property
    def hex_code(self) -> str | None:
        """The code as ``0x%08X``."""
        return None if self.code is None else f"0x{self.code:08X}"

    @property
    def name(self) -> str | None:
        """The symbolic name of the code, when known."""
        return None if self.code is None else ERROR_NAMES.get(self.code)

    @property
    def host_message(self) -> str:
        """The host's own words: the provider's message, else the reason; plus WMI's status."""
        words = self.provider_message or self.reason or "the host gave no message"
        if self.extended_description and self.extended_description not in words:
            words = f"{words.rstrip()} ({self.extended_description})"
        return words.strip()

    def __str__(self) -> str:
        fault = f"fault {self.hex_code or 'without a code'}"
        if self.name:
            fault += f" {self.name}"
        if self.subcode:
            fault += f" ({self.subcode.rpartition('}')[2]})"
        request = self.operation or "the request"
        if self.resource_uri:
            request += f" of {self.resource_uri}"
        if self.outcome == "access_denied":
            target = self.target
            who = f"user {target.user!r}" if target and target.user else "the account"
            host = f"{target.host}:{target.port}" if target else "the host"
            return (f"wsman: access denied to {who} on {host}: {request} failed with {fault}: "
                    f"{self.host_message.rstrip('. ')}. The account needs administrator rights "
                    "on root\\WMI: make it a member of the host's Administrators group, or grant "
                    "it 'Enable Account' and 'Remote Enable' on root\\WMI (WMI Control) and "
                    "access to WinRM")
        if self.outcome == "timed_out":
            within = (f" within its OperationTimeout of {self.operation_timeout_sec} s"
                      if self.operation_timeout_sec else " within its OperationTimeout")
            return (f"wsman: {self.where} did not finish {request}{within}: {fault}: "
                    f"{self.host_message.rstrip('. ')}. A WMI provider (the iSCSI adapter's WDM "
                    "driver) is hung or slow; the task fails rather than waiting. Raise "
                    "ansible_winrm_operation_timeout_sec if the provider is only slow")
        if self.outcome == "invalid_namespace":
            return (f"wsman: {self.where} answered {request} with {fault}: "
                    f"{self.host_message.rstrip('. ')}. root\\WMI always exists on Windows: the "
                    "host's WMI repository needs repair (winmgmt /verifyrepository)")
        return f"wsman: {self.where} answered {request} with {fault}: {self.host_message}"

    def details(self) -> dict[str, Any]:
        return {**super().details(), "wsman_fault_code": self.hex_code,
                "wsman_fault_name": self.name, "wsman_fault_subcode": self.subcode,
                "wsman_fault_reason": self.reason, "wsman_fault_machine": self.machine}
