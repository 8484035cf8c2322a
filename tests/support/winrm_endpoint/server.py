"""HTTP side of the test endpoint: one listener per host, authentication, encryption, faults.

Test support for the winiscsi.ipsec collection, not part of the collection itself.

Each host gets a threaded HTTP/1.1 server on 127.0.0.1 (keep-alive: NTLM authenticates the TCP
connection, so its security context lives on the connection's handler). Basic is checked on
every request; NTLM and Kerberos go through pyspnego's acceptor and, over HTTP, the bodies
are WinRM encrypted (MS-WSMV 2.2.9.1.1, ``multipart/encrypted``), as pywinrm sends them by
default. Kerberos hosts need python-gssapi and a keytab holding ``HTTP/localhost`` (KRB5_KTNAME).

One thread (``_ServeLoop``) accepts for every listener, hosts and control API alike, and
sleeps in ``selectors`` until a socket is ready or ``stop()`` wakes it; each accepted
connection then gets its own handler thread (ThreadingMixIn), as with ``serve_forever``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import selectors
import socket
import ssl
import struct
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import TCPServer
from typing import Any

import spnego
import spnego.channel_bindings
import spnego.exceptions
import yaml

from . import wsman
from .scenario import (
    INITIAL_PHASE,
    QM_WMI_NAME_BY_KEY,
    TRANSPORT_FAULTS,
    WMI_NAME_BY_KEY,
    HostSpec,
    HostState,
    Scenario,
    ScenarioError,
    load_scenario,
)
from .tls import Certificates, make_certificates

# The quick-mode sibling class, served for hosts whose scenario gives it data (quick_mode).
QM_CLASS = "MSiSCSI_QMIPSECStats"
BOUNDARY = b"--Encrypted Boundary"
ENCRYPTED_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
KERBEROS_ENCRYPTED_PROTOCOL = "application/HTTP-Kerberos-session-encrypted"
# The host part of the SPN the acceptor answers for (Kerberos: HTTP/localhost@REALM).
SPN_HOSTNAME = "localhost"
SOAP_CONTENT_TYPE = "application/soap+xml;charset=UTF-8"
MAX_REQUEST_BYTES = 4 * 1024 * 1024
MAX_OPEN_ENUMERATIONS = 256
# Room left for the envelope around the items when fitting them into MaxEnvelopeSize.
ENVELOPE_OVERHEAD = 2048
PERF_RAW_NULLS = (
    "Caption", "Description", "Frequency_Object", "Frequency_PerfTime", "Frequency_Sys100NS",
    "Name", "Timestamp_Object", "Timestamp_PerfTime", "Timestamp_Sys100NS",
)
INSTALL_DATE = datetime(2025, 3, 14, 9, 26, 53, tzinfo=timezone.utc)
# A timed_out host holds its answer for the request's OperationTimeout, at most this long.
MAX_HANG_SECONDS = 5.0
# Connections accepted per readiness event before the loop looks at the other listeners.
ACCEPT_BURST = 32
STOP_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class HostInfo:
    """How a client reaches one host (what the inventory says).

    Attributes:
        name: Inventory host name.
        port: TCP port on 127.0.0.1 (nothing listens there when ``unreachable``).
        scheme: http or https.
        username: User name clients should send.
        password: The password the inventory gives clients (differs from the server's for
            a ``wrong_password`` host).
        server_password: The password the server accepts.
        transport: basic, ntlm or kerberos (pywinrm transport name).
        url: The WS-Man URL.
        unreachable: True when nothing listens on the port.
        groups: Inventory groups besides ``windows``.
    """

    name: str
    port: int
    scheme: str
    username: str
    password: str
    server_password: str
    transport: str
    url: str
    unreachable: bool
    groups: tuple[str, ...]


@dataclass
class Outcome:
    """What to answer to one WS-Man request, before encryption."""

    status: int
    body: bytes
    action: str | None = None
    resource_uri: str | None = None
    message_id: str | None = None
    fault: str | None = None
    wsman_code: int | None = None
    transport_fault: str | None = None
    filter_text: str | None = None


@dataclass
class _Enumeration:
    remaining: list[wsman.Node]
    is_class: bool


class HostRuntime:
    """One host's WS-Man service: answers decrypted SOAP requests from its live state."""

    def __init__(self, spec: HostSpec, state: HostState) -> None:
        self.spec = spec
        self.state = state
        self._lock = threading.Lock()
        self._enumerations: OrderedDict[str, _Enumeration] = OrderedDict()

    def process(self, data: bytes) -> Outcome:
        """Answer one SOAP request (the body already decrypted)."""
        try:
            request = wsman.parse_request(data)
        except wsman.WsmanFault as fault:
            return self._fault(fault, None, "")
        try:
            if request.action == wsman.ACTION_ENUMERATE:
                return self._enumerate(request)
            if request.action == wsman.ACTION_PULL:
                return self._pull(request)
            if request.action == wsman.ACTION_RELEASE:
                return self._release(request)
            raise wsman.action_not_supported(request.action, request.resource_uri)
        except wsman.WsmanFault as fault:
            return self._fault(fault, request, request.message_id)

    def _fault(self, fault: wsman.WsmanFault, request: wsman.Request | None, relates: str) -> Outcome:
        return Outcome(
            500, wsman.fault_response(fault, relates, self.spec.machine),
            action=request.action if request else None,
            resource_uri=request.resource_uri if request else None,
            message_id=request.message_id if request else None,
            fault=fault.name, wsman_code=fault.wsman_code,
            filter_text=request.filter_text if request else None,
        )

    def _scenario_fault(self, is_class: bool, target: wsman.Target | None,
                        operation: str = "Enumerate",
                        operation_timeout: float | None = None) -> str | None:
        """The host's fault when it applies to this request (raising the SOAP ones).

        ``fault_scope: pull`` fires on Pulls of the class only: the enumeration faults after
        its first page arrived (a partial enumeration).
        """
        fault = self.state.current_fault()
        scope = self.spec.fault_scope
        if fault is None or not (is_class or scope == "all"):
            return None
        if scope == "pull" and operation != "Pull":
            return None
        if fault in TRANSPORT_FAULTS:
            return fault
        target = target or wsman.Target("root/wmi", wsman.ISCSI_CLASS, False)
        if fault == "class_missing":
            raise _named(wsman.class_missing(target, "wql" if target.via_wql else "uri"), fault)
        if fault == "class_missing_wql":
            raise _named(wsman.class_missing(target, "wql"), fault)
        if fault == "class_missing_uri":
            raise _named(wsman.class_missing(target, "uri"), fault)
        if fault == "provider_error":
            raise _named(wsman.provider_error(target), fault)
        if fault == "provider_error_dmtf":
            raise _named(wsman.provider_error(target, extended_namespace="dmtf"), fault)
        if fault == "access_denied":
            raise _named(wsman.access_denied(), fault)
        if fault in wsman.PASSTHROUGH_FAULTS:
            raise wsman.passthrough(fault, target)
        if fault == "wmi_error_only":
            raise wsman.wmi_error_only(target)
        if fault == "timed_out":
            # A hung provider: WinRM answers w:TimedOut once the request's OperationTimeout
            # has passed.
            time.sleep(min(operation_timeout or 0.0, MAX_HANG_SECONDS))
            raise wsman.timed_out()
        return None

    def _enumerate(self, request: wsman.Request) -> Outcome:
        if request.body is None or request.body.find(f"{{{wsman.NS_N}}}Enumerate") is None:
            raise wsman.missing_enumerate()
        target = wsman.resolve_target(request)
        is_class = (
            target.namespace == "root/wmi" and target.class_name.lower() == wsman.ISCSI_CLASS.lower()
        )
        transport_fault = self._scenario_fault(is_class, target,
                                               operation_timeout=request.operation_timeout)
        nodes = self._instances(target)
        shapes = self.spec.shapes
        # Server 2008 R2 answers an optimized Enumerate with one item and no EndOfSequence
        # whatever MaxElements says, so a Pull always follows.
        limit = 1 if "first_page_one" in shapes else self._limit(request.max_elements)
        budget = max(request.max_envelope_size - ENVELOPE_OVERHEAD, 1)
        first = wsman.items_within(nodes, limit, budget) if request.optimize else []
        rest = nodes[len(first):]
        context = wsman.new_uuid()
        end = request.optimize and not rest and "first_page_one" not in shapes
        if not end:
            with self._lock:
                self._enumerations[context] = _Enumeration(list(rest), is_class)
                while len(self._enumerations) > MAX_OPEN_ENUMERATIONS:
                    self._enumerations.popitem(last=False)
        body = wsman.enumerate_response(request.message_id, context, first, end, request.optimize,
                                        shapes)
        return self._ok(request, body, transport_fault)

    def _pull(self, request: wsman.Request) -> Outcome:
        with self._lock:
            enumeration = self._enumerations.get(request.context or "")
        if enumeration is None:
            raise wsman.invalid_context(request.context)
        transport_fault = self._scenario_fault(enumeration.is_class, None, "Pull",
                                               request.operation_timeout)
        limit = self._limit(request.max_elements)
        budget = max(request.max_envelope_size - ENVELOPE_OVERHEAD, 1)
        items = wsman.items_within(enumeration.remaining, limit, budget)
        with self._lock:
            del enumeration.remaining[:len(items)]
            end = not enumeration.remaining
            if end:
                self._enumerations.pop(request.context or "", None)
        body = wsman.pull_response(request.message_id, request.context, items, end,
                                   self.spec.shapes)
        return self._ok(request, body, transport_fault)

    def _release(self, request: wsman.Request) -> Outcome:
        with self._lock:
            enumeration = self._enumerations.pop(request.context or "", None)
        if enumeration is None:
            raise wsman.invalid_context(request.context)
        return self._ok(request, wsman.release_response(request.message_id), None)

    def open_enumerations(self) -> int:
        """How many enumeration contexts the host holds (for tests of Release)."""
        with self._lock:
            return len(self._enumerations)

    def _ok(self, request: wsman.Request, body: bytes, transport_fault: str | None) -> Outcome:
        return Outcome(
            200, body, request.action, request.resource_uri, request.message_id,
            fault=transport_fault, transport_fault=transport_fault, filter_text=request.filter_text,
        )

    def _limit(self, max_elements: int | None) -> int:
        # DSP0226: MaxElements defaults to 1; page_size caps it (1 forces an item per message).
        limit = max(max_elements or 1, 1)
        if self.spec.page_size:
            limit = min(limit, self.spec.page_size)
        return limit

    def _instances(self, target: wsman.Target) -> list[wsman.Node]:
        name = target.class_name.lower()
        if target.namespace == "root/wmi" and name == wsman.ISCSI_CLASS.lower():
            instances = self.state.snapshot()[2]
            return [
                wsman.instance_node("root/wmi", wsman.ISCSI_CLASS, self._iscsi_properties(*i),
                                    self.spec.shapes)
                for i in instances
            ]
        if target.namespace == "root/wmi" and name == QM_CLASS.lower():
            quick_mode = self.state.quick_mode()
            if quick_mode is not None:  # else: this host has no such class, as below
                return [
                    wsman.instance_node("root/wmi", QM_CLASS, self._iscsi_properties(*i))
                    for i in quick_mode
                ]
        if target.namespace == "root/cimv2" and name == wsman.OS_CLASS.lower():
            return [wsman.instance_node("root/cimv2", wsman.OS_CLASS, self._os_properties(),
                                        self.spec.shapes)]
        if target.namespace in ("root/wmi", "root/cimv2"):
            raise wsman.class_missing(target, "wql" if target.via_wql else "uri")
        raise wsman.destination_unreachable(
            f"The CIM namespace {target.namespace} is invalid. ",
            extended={"Description": None, "Operation": "ExecQuery",
                      "ParameterInfo": target.namespace, "ProviderName": "WinMgmt",
                      "StatusCode": None},
        )

    @staticmethod
    def _iscsi_properties(name: str, active: bool, counters: Mapping[str, int]) -> dict[str, Any]:
        # The counters say the class: the quick-mode keys are all but key_additions its own.
        names = QM_WMI_NAME_BY_KEY if "active_sa" in counters else WMI_NAME_BY_KEY
        props: dict[str, Any] = {names[k]: v for k, v in counters.items()}
        props.update(dict.fromkeys(PERF_RAW_NULLS))
        props["InstanceName"] = name
        props["Active"] = active
        return props

    def _os_properties(self) -> dict[str, Any]:
        boot_time = self.state.snapshot()[1]
        machine = self.spec.machine
        caption = "Microsoft Windows Server 2022 Standard"
        return {
            "BootDevice": "\\Device\\HarddiskVolume1",
            "BuildNumber": "20348",
            "BuildType": "Multiprocessor Free",
            "CSCreationClassName": "Win32_ComputerSystem",
            "CSDVersion": None,
            "CSName": machine,
            "Caption": caption,
            "CodeSet": "1252",
            "CountryCode": "1",
            "CreationClassName": "Win32_OperatingSystem",
            "CurrentTimeZone": 0,
            "Description": "",
            "FreePhysicalMemory": 2097152,
            "InstallDate": INSTALL_DATE,
            "LastBootUpTime": boot_time,
            "LocalDateTime": datetime.now(timezone.utc),
            "Locale": "0409",
            "MUILanguages": ["en-US"],
            "Manufacturer": "Microsoft Corporation",
            "Name": f"{caption}|C:\\Windows|\\Device\\Harddisk0\\Partition2",
            "NumberOfProcesses": 118,
            "OSArchitecture": "64-bit",
            "OSLanguage": 1033,
            "OSType": 18,
            "Primary": True,
            "SerialNumber": "00454-60000-00001-AA000",
            "Status": "OK",
            "SystemDirectory": "C:\\Windows\\system32",
            "Version": "10.0.20348",
            "WindowsDirectory": "C:\\Windows",
        }


def _named(fault: wsman.WsmanFault, name: str) -> wsman.WsmanFault:
    fault.name = name
    return fault


# ---------------------------------------------------------------- transport-level faults


def junk_500() -> bytes:
    """What a broken proxy or crashed service might send: not XML at all."""
    # Valid UTF-8 (pywinrm decodes error bodies strictly) but nothing like XML.
    return b"<html><body><h1>500 Internal Server Error</h1>\x1b[0m junk & <unclosed </body>"


def malformed(body: bytes) -> bytes:
    """A well-begun but truncated envelope (cut inside an element)."""
    return body[: max(len(body) // 2, 40)] + b"<p:Broken attr='"


def entity_bomb() -> bytes:
    """A billion-laughs document: a DOCTYPE with entities nested ten levels deep."""
    lines = ['<?xml version="1.0" encoding="utf-8"?>', "<!DOCTYPE s:Envelope ["]
    lines.append('  <!ENTITY lol0 "lol">')
    for level in range(1, 10):
        ref = f"&lol{level - 1};" * 10
        lines.append(f'  <!ENTITY lol{level} "{ref}">')
    lines.append("]>")
    lines.append(
        f'<s:Envelope xmlns:s="{wsman.NS_S}"><s:Header/><s:Body><s:Text>&lol9;</s:Text>'
        "</s:Body></s:Envelope>"
    )
    return "\n".join(lines).encode("utf-8")


def oversized(body: bytes, size: int) -> bytes:
    """The real answer padded past ``size`` bytes with a comment just before the end."""
    missing = size + 1 - len(body)
    if missing <= 0:
        return body
    close = b"</s:Envelope>"
    head = body[: -len(close)] if body.endswith(close) else body
    pad = b"<!--" + b"padding " * (missing // 8 + 1) + b"-->"
    return head + pad + (close if body.endswith(close) else b"")


# ---------------------------------------------------------------- HTTP


class _HostServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        runtime: HostRuntime,
        endpoint: Endpoint,
        tls: ssl.SSLContext | None,
        bindings: spnego.channel_bindings.GssChannelBindings | None,
    ) -> None:
        self.runtime = runtime
        self.endpoint = endpoint
        self.tls = tls
        self.bindings = bindings
        self.stopping = threading.Event()
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _WsmanHandler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # TLS handshake here, in the connection's thread, so a silent client cannot stall
        # the accept loop.
        if self.tls is not None:
            request.settimeout(10)
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        with self._open_lock:
            self._open.add(request)
        try:
            super().finish_request(request, client_address)
        finally:
            with self._open_lock:
                self._open.discard(request)

    def close_connections(self) -> None:
        """Cut every open client connection (used on stop)."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _WsmanHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    timeout = 120
    # Buffered writes plus TCP_NODELAY: headers and body leave in one segment, so a client's
    # delayed ACK cannot add 40 ms to every answer.
    wbufsize = -1
    server: _HostServer

    def setup(self) -> None:
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.auth_context: Any = None  # spnego context, per TCP connection
        self.auth_user: str | None = None
        self.encrypted_protocol = ENCRYPTED_PROTOCOL  # answers echo the request's protocol

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        return  # The request log replaces http.server's stderr lines.

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._read_body()
        self._log(status=405, fault="MethodNotAllowed")
        self._send(405, b"", {"Allow": "POST"})

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        runtime = self.server.runtime
        body = self._read_body()
        if body is None:
            return
        if self.path.split("?", 1)[0].lower() != "/wsman":
            self._log(status=404, fault="NotFound")
            self._send(404, b"", {})
            return
        user = self._authenticate()
        if user is None:
            return
        encrypted = self.headers.get("Content-Type", "").lower().startswith("multipart/encrypted")
        if encrypted:
            if self.auth_context is None:
                self._log(status=400, user=user, fault="EncryptionWithoutContext")
                self._send(400, b"", {})
                return
            if KERBEROS_ENCRYPTED_PROTOCOL.lower() in self.headers.get("Content-Type", "").lower():
                self.encrypted_protocol = KERBEROS_ENCRYPTED_PROTOCOL
            try:
                body = self._unwrap(body)
            except (ValueError, spnego.exceptions.SpnegoError) as exc:
                self._log(status=400, user=user, fault=f"BadEncryptedBody: {exc}")
                self._send(400, b"", {})
                return
        elif (
            body and runtime.spec.auth != "basic" and runtime.spec.scheme == "http"
            and not runtime.spec.allow_unencrypted
        ):
            # WinRM's default AllowUnencrypted=false: cleartext bodies over HTTP are refused.
            self._log(status=400, user=user, fault="UnencryptedRefused")
            self._send(400, b"", {})
            return
        if not body:
            # pywinrm's empty POST that sets up the encrypted session.
            self._log(status=200, user=user, encrypted=encrypted)
            self._send(200, b"", {}, token_header=True)
            return
        outcome = runtime.process(body)
        self._answer(outcome, user, encrypted)

    # ------------------------------------------------------------ auth

    def _authenticate(self) -> str | None:
        spec = self.server.runtime.spec
        header = self.headers.get("Authorization", "")
        scheme, dummy, token = header.partition(" ")
        if spec.auth == "basic":
            if scheme.lower() == "basic":
                try:
                    user, dummy, password = base64.b64decode(token).decode("utf-8").partition(":")
                except (ValueError, UnicodeDecodeError):
                    user, password = "", ""
                if user.lower() == spec.user.lower() and hmac.compare_digest(
                    password.encode(), spec.password.encode()
                ):
                    return user
                self._challenge({"WWW-Authenticate": 'Basic realm="WSMAN"'}, user, "InvalidCredentials")
                return None
            self._challenge({"WWW-Authenticate": 'Basic realm="WSMAN"'}, None, None)
            return None
        schemes = ("negotiate", "kerberos") if spec.auth == "kerberos" else ("negotiate", "ntlm")
        if scheme.lower() in schemes and token:
            return self._spnego_step(scheme, token)
        if self.auth_context is not None and self.auth_context.complete:
            return self.auth_user
        self._challenge({"WWW-Authenticate": "Negotiate"}, None, None)
        return None

    def _spnego_step(self, scheme: str, token: str) -> str | None:
        try:
            raw = base64.b64decode(token)
        except ValueError:
            self._challenge({"WWW-Authenticate": "Negotiate"}, None, "BadAuthorizationHeader")
            return None
        if self.auth_context is None or self.auth_context.complete:
            self.auth_context = spnego.server(
                protocol="negotiate", channel_bindings=self.server.bindings,
                hostname=SPN_HOSTNAME, service="HTTP",
            )
            self.auth_user = None
        try:
            out = self.auth_context.step(raw)
        except spnego.exceptions.SpnegoError:
            self.auth_context = None
            self._challenge({"WWW-Authenticate": "Negotiate"}, None, "InvalidCredentials")
            return None
        if not self.auth_context.complete:
            value = f"{scheme} {base64.b64encode(out or b'').decode()}"
            self._challenge({"WWW-Authenticate": value}, None, None)
            return None
        spec = self.server.runtime.spec
        user = self.auth_context.client_principal
        # Negotiate offers both mechanisms: a host takes only its own, and a Kerberos host
        # only its user's tickets (NTLM users are checked by NTLM_USER_FILE).
        refused = "WrongMechanism" if self.auth_context.negotiated_protocol != spec.auth else (
            "WrongPrincipal" if spec.auth == "kerberos" and user != spec.user else None
        )
        if refused:
            self.auth_context = None
            self._challenge({"WWW-Authenticate": "Negotiate"}, user, refused)
            return None
        self.auth_user = user
        self._final_token = f"{scheme} {base64.b64encode(out).decode()}" if out else None
        return self.auth_user

    def _challenge(self, headers: dict[str, str], user: str | None, fault: str | None) -> None:
        self._log(status=401, user=user, fault=fault)
        self._send(401, b"", headers)

    # ------------------------------------------------------------ encryption

    def _unwrap(self, body: bytes) -> bytes:
        """Decrypt an MS-WSMV 2.2.9.1.1 multipart/encrypted body."""
        parts = [p for p in body.split(BOUNDARY + b"\r\n") if p]
        if len(parts) < 2:
            raise ValueError(f"expected 2 MIME parts, got {len(parts)}")
        header, payload = parts[0], parts[1]
        try:
            length = int(header.split(b"Length=")[1].split(b"\r\n")[0])
        except (IndexError, ValueError):
            raise ValueError("no OriginalContent Length in the first part") from None
        if payload.endswith(BOUNDARY + b"--\r\n"):
            payload = payload[: -len(BOUNDARY + b"--\r\n")]
        prefix = b"\tContent-Type: application/octet-stream\r\n"
        if not payload.startswith(prefix):
            raise ValueError("second part is not application/octet-stream")
        data = payload[len(prefix):]
        sig_len = struct.unpack("<I", data[:4])[0]
        plain = self.auth_context.unwrap_winrm(data[4:4 + sig_len], data[4 + sig_len:])
        if len(plain) != length:
            raise ValueError(f"decrypted {len(plain)} bytes, the header says {length}")
        return bytes(plain)

    def _wrap(self, body: bytes) -> bytes:
        wrapped = self.auth_context.wrap_winrm(body)
        return (
            BOUNDARY + b"\r\n"
            + f"\tContent-Type: {self.encrypted_protocol}\r\n".encode()
            + f"\tOriginalContent: type={SOAP_CONTENT_TYPE};Length={len(body)}\r\n".encode()
            + BOUNDARY + b"\r\n"
            + b"\tContent-Type: application/octet-stream\r\n"
            + struct.pack("<I", len(wrapped.header)) + wrapped.header + wrapped.data
            + BOUNDARY + b"--\r\n"
        )

    # ------------------------------------------------------------ answers

    def _answer(self, outcome: Outcome, user: str | None, encrypted: bool) -> None:
        runtime = self.server.runtime
        kind = outcome.transport_fault
        body = outcome.body
        if kind == "http_500_junk":
            self._log_outcome(outcome, user, encrypted, 500)
            self._send(500, junk_500(), {"Content-Type": "text/html"})
            return
        if kind == "malformed_xml":
            body = malformed(body)
        elif kind == "entity_bomb":
            body = entity_bomb()
        elif kind == "oversized":
            body = oversized(body, runtime.spec.oversized_bytes)
        elif kind == "slow":
            if self.server.stopping.wait(runtime.spec.slow_seconds):
                return
        payload, content_type = (self._wrap(body), self._encrypted_type()) if encrypted else (
            body, SOAP_CONTENT_TYPE
        )
        if kind == "drop":
            self._log_outcome(outcome, user, encrypted, outcome.status)
            self._drop(outcome.status, payload, content_type)
            return
        # Logged before answering, so a client that got its answer finds it in the log.
        self._log_outcome(outcome, user, encrypted, outcome.status)
        try:
            # Kerberos mutual auth: the first answer carries the acceptor's final token.
            self._send(outcome.status, payload, {"Content-Type": content_type},
                       token_header=runtime.spec.auth == "kerberos")
        except OSError:
            self.close_connection = True  # The client gave up (a slow answer, usually).

    def _encrypted_type(self) -> str:
        return f'multipart/encrypted;protocol="{self.encrypted_protocol}";boundary="Encrypted Boundary"'

    def _drop(self, status: int, payload: bytes, content_type: str) -> None:
        """Promise the whole body, send half of it, and cut the connection."""
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    def _send(self, status: int, body: bytes, headers: Mapping[str, str], token_header: bool = False) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        final = getattr(self, "_final_token", None)
        if token_header and final:
            self.send_header("WWW-Authenticate", final)
        self._final_token = None
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)
        self.wfile.flush()

    def _read_body(self) -> bytes | None:
        length_text = self.headers.get("Content-Length", "0")
        try:
            length = int(length_text)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_REQUEST_BYTES:
            self.close_connection = True
            self._log(status=413 if length > 0 else 400, fault="BadContentLength")
            self._send(413 if length > 0 else 400, b"", {"Connection": "close"})
            return None
        return self.rfile.read(length) if length else b""

    # ------------------------------------------------------------ log

    def _log_outcome(self, outcome: Outcome, user: str | None, encrypted: bool, status: int) -> None:
        self._log(
            status=status, user=user, encrypted=encrypted, action=outcome.action,
            resource_uri=outcome.resource_uri, message_id=outcome.message_id,
            fault=outcome.fault, wsman_code=outcome.wsman_code, filter_text=outcome.filter_text,
        )

    def _log(
        self,
        status: int,
        user: str | None = None,
        fault: str | None = None,
        encrypted: bool = False,
        action: str | None = None,
        resource_uri: str | None = None,
        message_id: str | None = None,
        wsman_code: int | None = None,
        filter_text: str | None = None,
    ) -> None:
        runtime = self.server.runtime
        self.server.endpoint.record({
            "time": datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "host": runtime.spec.name,
            "phase": runtime.state.phase,
            "method": self.command,
            "action": action,
            "resource_uri": resource_uri,
            "filter": filter_text,
            "message_id": message_id,
            "user": user,
            "transport": runtime.spec.auth,
            "scheme": runtime.spec.scheme,
            "encrypted": encrypted,
            "status": status,
            "fault": fault,
            "wsman_code": wsman_code,
        })


# ---------------------------------------------------------------- the accept loop


class _ServeLoop:
    """One thread that accepts connections for many listening servers.

    A ``serve_forever`` thread per host polls its socket (20 times a second at
    ``poll_interval=0.05``), so 1,000 idle hosts kept 0.5 to 0.8 of a core busy. Here a single
    selector watches every listening socket plus the read end of a socket pair: the thread
    sleeps until a client connects or ``stop`` writes to the pair. Accepting and dispatching
    is what ``BaseServer._handle_request_noblock`` does, through the server's public hooks,
    so ThreadingMixIn still gives each connection its own handler thread (where the TLS
    handshake happens).

    Args:
        name: Name of the serving thread.
    """

    def __init__(self, name: str) -> None:
        self._selector = selectors.DefaultSelector()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._wake_writer.setblocking(False)
        self._selector.register(self._wake_reader, selectors.EVENT_READ, None)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._closed = False
        # Times select() returned; tests check that an idle loop does not wake at all.
        self.wakeups = 0

    @property
    def thread(self) -> threading.Thread:
        """The serving thread."""
        return self._thread

    def add(self, server: TCPServer) -> None:
        """Watch a server's listening socket (call before ``start``).

        The socket becomes non-blocking: a client that resets its connection between the
        readiness event and accept() must not block the loop that serves every host.
        """
        server.socket.setblocking(False)
        self._selector.register(server.socket, selectors.EVENT_READ, server)

    def start(self) -> None:
        """Start the serving thread."""
        self._thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Wake the thread, wait for it to leave the loop, and release the selector.

        Listening sockets stay open (their servers' ``server_close`` closes them); once this
        returns no new connection is accepted.

        Raises:
            RuntimeError: The thread did not leave the loop within ``timeout`` seconds.
        """
        if self._closed:
            return
        self._stop.set()
        try:
            self._wake_writer.send(b"\0")
        except OSError:
            pass  # Buffer full: a wake-up is already pending, which is all that is needed.
        if self._thread.ident is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError(
                    f"winrm_endpoint: serving thread {self._thread.name!r} still running "
                    f"{timeout} s after stop was requested"
                )
        self._closed = True
        self._selector.close()
        self._wake_reader.close()
        self._wake_writer.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            # No timeout: only a connecting client or stop() ends the wait.
            events = self._selector.select()
            self.wakeups += 1
            for key, dummy in events:
                if self._stop.is_set():
                    return
                if key.data is None:
                    self._drain_wake_ups()
                else:
                    _accept(key.data)

    def _drain_wake_ups(self) -> None:
        try:
            while self._wake_reader.recv(4096):
                pass
        except OSError:
            pass  # BlockingIOError once empty.


def _accept(server: TCPServer) -> None:
    """Accept the connections waiting on a server and hand each to it, as serve_forever does."""
    for dummy in range(ACCEPT_BURST):
        try:
            request, client_address = server.get_request()
        except (BlockingIOError, InterruptedError):
            return  # Nothing (more) waiting.
        except ConnectionError:
            continue  # The client gave up before we accepted: look at the next one.
        except OSError:
            return  # As serve_forever: skip this round (e.g. out of descriptors).
        try:
            # Whether an accepted socket inherits non-blocking mode from the listener is
            # platform-dependent; handlers expect blocking sockets with their own timeouts.
            request.setblocking(True)
            if not server.verify_request(request, client_address):
                server.shutdown_request(request)
                continue
            server.process_request(request, client_address)
        except Exception:  # noqa: BLE001 - as BaseServer: report, drop the connection, go on
            server.handle_error(request, client_address)
            server.shutdown_request(request)


# ---------------------------------------------------------------- control API


class _ControlServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        super().__init__(("127.0.0.1", 0), _ControlHandler)


class _ControlHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ControlServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        return

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        path, dummy, query = self.path.partition("?")
        endpoint = self.server.endpoint
        if path == "/health":
            self._json(200, {
                "status": "ok",
                "hosts": {
                    name: {"port": info.port, "phase": endpoint.phase(name),
                           "unreachable": info.unreachable}
                    for name, info in endpoint.hosts.items()
                },
            })
        elif path == "/requests":
            hosts = urllib.parse.parse_qs(query).get("host", [])
            self._json(200, endpoint.requests(hosts[0] if hosts else None))
        else:
            self._json(404, {"error": f"unknown path {path!r}: use /health, /requests or POST /phase"})

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        length = int(self.headers.get("Content-Length", "0") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path != "/phase":
            self._json(404, {"error": f"unknown path {self.path!r}: POST /phase"})
            return
        try:
            data = json.loads(raw or b"{}")
            if not isinstance(data, dict) or not isinstance(data.get("phase"), str):
                raise ValueError(f'expected {{"phase": NAME, "hosts": [..]}}, got {data!r}')
            self.server.endpoint.set_phase(data["phase"], data.get("hosts"))
        except (ValueError, KeyError) as exc:
            self._json(400, {"error": str(exc)})
            return
        self._json(200, {"phase": data["phase"], "hosts": data.get("hosts")})

    def _json(self, status: int, value: Any) -> None:
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


# ---------------------------------------------------------------- the endpoint


class Endpoint:
    """All hosts of a scenario, each on its own port of 127.0.0.1, plus a control API.

    Use as a context manager: ``with Endpoint("fleet.yml", state_dir=tmp) as ep: ...``.

    Args:
        scenario: Path of a scenario file, a parsed mapping, or a Scenario.
        state_dir: Directory for the inventory, CA, NTLM user file and request log.
        clock: Source of seconds for counter growth (tests may pass a fake).
        control: Whether to start the HTTP control API (control.json names its URL).
    """

    def __init__(
        self,
        scenario: str | Path | Mapping[str, Any] | Scenario,
        state_dir: str | Path,
        *,
        clock: Callable[[], float] = time.time,
        control: bool = True,
    ) -> None:
        self.scenario = load_scenario(scenario)
        self.state_dir = Path(state_dir)
        self.inventory_path = self.state_dir / "inventory.yml"
        self.ca_path = self.state_dir / "ca.pem"
        self.requests_path = self.state_dir / "requests.jsonl"
        self.control_path = self.state_dir / "control.json"
        self.control_url: str | None = None
        self.hosts: dict[str, HostInfo] = {}
        self.runtimes: dict[str, HostRuntime] = {}
        self._clock = clock
        self._want_control = control
        self._servers: list[_HostServer] = []
        # The unreachable hosts' ports: bound, never listening, so a connection is refused and
        # no other server (another test's endpoint, run alongside) can take the port meanwhile.
        self._refusing: list[socket.socket] = []
        self._loop: _ServeLoop | None = None
        self._control: _ControlServer | None = None
        self._log: list[dict[str, Any]] = []
        self._log_lock = threading.Lock()
        self._previous_user_file: str | None = None
        self._started = False

    def __enter__(self) -> Endpoint:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Create the state files and start every host and the control API."""
        if self._started:
            raise RuntimeError("winrm_endpoint: Endpoint.start() called twice")
        self._started = True
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.requests_path.write_text("", encoding="utf-8")
        certs = make_certificates(self.state_dir)
        if any(spec.auth == "kerberos" for spec in self.scenario.hosts.values()):
            _check_kerberos_acceptor()
        self._install_ntlm_users()
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(certs.cert_path, certs.key_path)
        bindings = _channel_bindings(certs)
        self._loop = _ServeLoop("winrm-endpoint")
        try:
            for spec in self.scenario.hosts.values():
                state = HostState(spec, self._clock)
                runtime = HostRuntime(spec, state)
                self.runtimes[spec.name] = runtime
                if spec.unreachable:
                    refusing = _refusing_socket()
                    self._refusing.append(refusing)
                    port = int(refusing.getsockname()[1])
                else:
                    server = _HostServer(
                        runtime, self, tls if spec.scheme == "https" else None,
                        bindings if spec.scheme == "https" else None,
                    )
                    port = server.server_address[1]
                    self._servers.append(server)
                    self._loop.add(server)
                self.hosts[spec.name] = HostInfo(
                    name=spec.name, port=port, scheme=spec.scheme, username=spec.user,
                    password=spec.inventory_password, server_password=spec.password,
                    transport=spec.auth, url=f"{spec.scheme}://127.0.0.1:{port}/wsman",
                    unreachable=spec.unreachable, groups=spec.groups,
                )
            self._write_inventory()
            if self._want_control:
                self._control = _ControlServer(self)
                self._loop.add(self._control)
                self.control_url = f"http://127.0.0.1:{self._control.server_address[1]}"
                self.control_path.write_text(json.dumps({"url": self.control_url}) + "\n")
            # Listening sockets queue connections already; they are served from here on.
            self._loop.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every listener and cut open connections (idempotent)."""
        servers: list[ThreadingHTTPServer] = list(self._servers)
        if self._control is not None:
            servers.append(self._control)
        for host_server in self._servers:
            host_server.stopping.set()  # Ends the ``slow`` faults' waits.
        loop, self._loop = self._loop, None
        try:
            # Not server.shutdown(): it waits for a serve_forever that never runs here.
            if loop is not None:
                loop.stop()
        finally:
            for server in servers:
                server.server_close()
            for host_server in self._servers:
                host_server.close_connections()
            for refusing in self._refusing:
                refusing.close()
            self._servers, self._control, self._refusing = [], None, []
            self._restore_ntlm_users()

    @property
    def serving_thread(self) -> threading.Thread | None:
        """The one thread that accepts for every listener (None when not started)."""
        return self._loop.thread if self._loop is not None else None

    @property
    def loop_wakeups(self) -> int:
        """How many times the serving thread has woken up (0 when not started)."""
        return self._loop.wakeups if self._loop is not None else 0

    # ------------------------------------------------------------ phases and log

    def set_phase(self, name: str, hosts: Iterable[str] | None = None) -> None:
        """Switch hosts (all by default) to a scenario phase.

        Raises:
            ValueError: Unknown phase or host name.
        """
        names = self.scenario.phase_names()
        if name not in names:
            raise ValueError(f"winrm_endpoint: unknown phase {name!r}; expected one of {list(names)}")
        if isinstance(hosts, str):
            hosts = [hosts]
        targets = list(hosts) if hosts is not None else list(self.runtimes)
        for host in targets:
            if host not in self.runtimes:
                raise ValueError(
                    f"winrm_endpoint: unknown host {host!r}; expected some of {sorted(self.runtimes)}"
                )
        overrides = self.scenario.phases.get(name, {})
        for host in targets:
            self.runtimes[host].state.apply(name, None if name == INITIAL_PHASE else overrides.get(host))
        self.record({
            "time": datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "host": None, "phase": name, "method": "CONTROL", "action": "set_phase",
            "resource_uri": None, "filter": None, "message_id": None, "user": None,
            "transport": None, "scheme": None, "encrypted": False, "status": 200,
            "fault": None, "wsman_code": None, "hosts": targets,
        })

    def phase(self, host: str) -> str:
        """The phase a host is in now."""
        return self.runtimes[host].state.phase

    def record(self, entry: dict[str, Any]) -> None:
        """Append an entry to the request log (memory and requests.jsonl)."""
        with self._log_lock:
            self._log.append(entry)
            with self.requests_path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry) + "\n")

    def requests(self, host: str | None = None) -> list[dict[str, Any]]:
        """The request log, oldest first.

        Args:
            host: Only this host's entries. Without it, phase switches (``method`` CONTROL,
                ``host`` None) are included too.
        """
        with self._log_lock:
            entries = [dict(e) for e in self._log]
        if host is None:
            return entries
        return [e for e in entries if e["host"] == host]

    def clear_requests(self) -> None:
        """Forget the request log (tests use it between cases)."""
        with self._log_lock:
            self._log.clear()
            self.requests_path.write_text("", encoding="utf-8")

    # ------------------------------------------------------------ files

    def _install_ntlm_users(self) -> None:
        """Write the NTLM acceptor's user file and point NTLM_USER_FILE at it.

        pyspnego reads the file named by the environment variable at authentication time, so
        the variable is process-wide; an Endpoint already running in this process keeps
        working because its lines are appended after ours.
        """
        lines = []
        for spec in self.scenario.hosts.values():
            if spec.auth != "ntlm":
                continue
            domain, dummy, user = spec.user.rpartition("\\")
            line = f"{domain}:{user}:{spec.password}"
            if line not in lines:
                lines.append(line)
        self._previous_user_file = os.environ.get("NTLM_USER_FILE")
        if self._previous_user_file and Path(self._previous_user_file).is_file():
            lines.extend(Path(self._previous_user_file).read_text(encoding="utf-8").splitlines())
        path = self.state_dir / "ntlm_users"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        os.environ["NTLM_USER_FILE"] = str(path)
        self._user_file = str(path)

    def _restore_ntlm_users(self) -> None:
        if os.environ.get("NTLM_USER_FILE") != getattr(self, "_user_file", None):
            return  # Someone else changed it since: leave theirs alone.
        if self._previous_user_file is None:
            os.environ.pop("NTLM_USER_FILE", None)
        else:
            os.environ["NTLM_USER_FILE"] = self._previous_user_file

    def _write_inventory(self) -> None:
        hostvars: dict[str, dict[str, Any]] = {}
        for name, info in self.hosts.items():
            spec = self.scenario.hosts[name]
            entry: dict[str, Any] = {
                "ansible_host": "127.0.0.1",
                "ansible_port": info.port,
                "ansible_user": info.username,
                "ansible_password": info.password,
                "ansible_connection": "winrm",
                "ansible_winrm_transport": info.transport,
                "ansible_winrm_scheme": info.scheme,
                "ansible_winrm_server_cert_validation": "validate",
                "ansible_winrm_ca_trust_path": str(self.ca_path.resolve()),
                "ansible_winrm_message_encryption": "auto",
            }
            if spec.auth == "kerberos":
                entry["ansible_winrm_kerberos_hostname_override"] = SPN_HOSTNAME
            if spec.read_timeout_sec is not None:
                entry["ansible_winrm_read_timeout_sec"] = spec.read_timeout_sec
            if spec.operation_timeout_sec is not None:
                entry["ansible_winrm_operation_timeout_sec"] = spec.operation_timeout_sec
            hostvars[name] = entry
        children: dict[str, Any] = {"windows": {"hosts": hostvars}}
        for group, members in self.scenario.groups.items():
            children[group] = {"hosts": {m: None for m in members}}
        document = {"all": {"children": children}}
        header = (
            f"# Written by winrm_endpoint for scenario {self.scenario.name!r}; "
            "regenerated at every start.\n"
        )
        self.inventory_path.write_text(header + yaml.safe_dump(document, sort_keys=False))


def _refusing_socket() -> socket.socket:
    """A socket bound to a free port and never listening: connections to it are refused.

    Held for as long as the endpoint runs: a port merely found free and released could be
    taken by another server before a test connects to it.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def _check_kerberos_acceptor() -> None:
    """Fail early, and clearly, when Kerberos hosts cannot accept anything."""
    try:
        spnego.server(protocol="kerberos", hostname=SPN_HOSTNAME, service="HTTP")
    except Exception as exc:  # noqa: BLE001 - missing gssapi or keytab: say which
        raise RuntimeError(
            "winrm_endpoint: kerberos hosts need python-gssapi and a keytab holding "
            f"HTTP/{SPN_HOSTNAME}@REALM (KRB5_KTNAME, KRB5_CONFIG): {exc}"
        ) from exc


def _channel_bindings(certs: Certificates) -> spnego.channel_bindings.GssChannelBindings:
    # RFC 5929 tls-server-end-point: SHA-256 of the DER certificate (its signature uses SHA-256).
    digest = hashlib.sha256(certs.server_cert_der).digest()
    return spnego.channel_bindings.GssChannelBindings(
        application_data=b"tls-server-end-point:" + digest
    )


__all__ = ["Endpoint", "HostInfo", "ScenarioError", "load_scenario"]
