# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Collect an mmipsec snapshot from the controller over WS-Management (``via: wsman``).

Internal to the winiscsi.ipsec collection: not a public API, may change without notice.

Three layers, each testable alone:

- :func:`settings_from_vars` turns a host's WinRM connection variables into
  :class:`WinRMSettings`, with the winrm connection plugin's names and defaults.
- :class:`PywinrmSender` sends one SOAP message through pywinrm and returns the raw reply
  (:class:`Reply`); any object with the same ``send``/``close`` methods can replace it in tests.
- :func:`collect_snapshot` enumerates the class (Enumerate, Pull until EndOfSequence, Release
  when stopping early), reads the boot time, and shapes the snapshot exactly as the module does.

No WinRS shell is opened: WS-Enumeration against the WMI plugin needs none.
"""

from __future__ import annotations

import ipaddress
import re
import ssl
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from typing import Any, Literal, Protocol
from urllib.parse import urlunsplit

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import (
    MEMBERS,
    UINT64_MAX,
    WMI_CLASS,
    WMI_NAMESPACE,
    SnapshotError,
    format_utc_timestamp,
    sum_active,
    validate_snapshot,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman import (
    DEFAULT_LOCALE,
    DEFAULT_MAX_ELEMENTS,
    DEFAULT_MAX_ENVELOPE_SIZE,
    DEFAULT_MAX_RESPONSE_BYTES,
    NS_SOAP,
    OS_CLASS_URI,
    STATS_CLASS_URI,
    STATS_WQL,
    STATS_WQL_URI,
    CimInstance,
    EnumerationPage,
    RequestHeader,
    ResponseTooLargeError,
    WSManError,
    WSManFault,
    WSManResponseError,
    WSManTransportError,
    XmlRefusedError,
    build_enumerate,
    build_pull,
    build_release,
    parse_cim_datetime,
    parse_enumerate_response,
    parse_instance,
    parse_pull_response,
    parse_release_response,
    parse_xml,
    redact,
)

try:
    import requests
    import requests.exceptions
    import winrm
    from winrm.exceptions import WinRMError
    from winrm.transport import Transport as _PywinrmTransport
except ImportError as _import_error:  # pragma: no cover - pywinrm is in the dev requirements
    PYWINRM_IMPORT_ERROR: str | None = str(_import_error)
    _PywinrmTransport = object  # type: ignore[assignment,misc]  # lets the module import
    SUPPORTED_AUTH_TRANSPORTS: tuple[str, ...] = ()
else:
    PYWINRM_IMPORT_ERROR = None
    SUPPORTED_AUTH_TRANSPORTS = tuple(getattr(
        winrm, "FEATURE_SUPPORTED_AUTHTYPES", ("plaintext", "ssl", "kerberos")))

Scheme = Literal["http", "https"]
CertValidation = Literal["validate", "ignore"]
MessageEncryption = Literal["auto", "always", "never"]
QueryForm = Literal["class", "wql"]

# The winrm connection plugin's defaults (ansible-core plugins/connection/winrm.py) and
# pywinrm's (winrm.protocol.Protocol): an inventory that works there works here.
DEFAULT_PORT = 5986
HTTP_PORT = 5985
DEFAULT_PATH = "/wsman"
DEFAULT_READ_TIMEOUT_SEC = 30
DEFAULT_OPERATION_TIMEOUT_SEC = 20
# Bounds on one enumeration: a host has a handful of iSCSI adapters, so these only stop a
# misbehaving service from keeping the controller busy.
DEFAULT_MAX_ITEMS = 4096
DEFAULT_MAX_PULLS = 64


# --- Settings --------------------------------------------------------------------------------
@dataclass(frozen=True)
class WinRMSettings:
    """How to reach one host's WinRM service; the password is never shown in repr.

    Attributes:
        host: Address (``ansible_host``); IPv6 literals are bracketed in the URL.
        port: TCP port.
        user: Account, or None (certificate authentication).
        password: Its password (excluded from repr).
        scheme: ``http`` or ``https``.
        path: URL path of the WS-Management service.
        auth_transports: pywinrm transports to try, in order.
        server_cert_validation: ``validate`` or ``ignore``.
        ca_trust_path: CA bundle (PEM file or directory); None leaves pywinrm's default.
        message_encryption: ``auto``, ``always`` or ``never``.
        read_timeout_sec: HTTP read timeout on the controller.
        operation_timeout_sec: WS-Man OperationTimeout on the host; less than the read timeout.
        cert_pem: Client certificate for ``certificate`` authentication.
        cert_key_pem: Its key.
        kerberos_delegation: Ask for a forwardable ticket.
        kerberos_hostname_override: SPN host name.
        send_cbt: Send channel binding tokens (NTLM, Kerberos over HTTPS).
        proxy: Proxy URL; None leaves pywinrm's default (environment variables).
        service: Kerberos service name.
    """

    host: str
    port: int = DEFAULT_PORT
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    scheme: Scheme = "https"
    path: str = DEFAULT_PATH
    auth_transports: tuple[str, ...] = ("ssl",)
    server_cert_validation: CertValidation = "validate"
    ca_trust_path: str | None = None
    message_encryption: MessageEncryption = "auto"
    read_timeout_sec: int = DEFAULT_READ_TIMEOUT_SEC
    operation_timeout_sec: int = DEFAULT_OPERATION_TIMEOUT_SEC
    cert_pem: str | None = None
    cert_key_pem: str | None = None
    kerberos_delegation: bool = False
    kerberos_hostname_override: str | None = None
    send_cbt: bool = True
    proxy: str | None = None
    service: str = "HTTP"

    @property
    def endpoint(self) -> str:
        """The WS-Management URL, e.g. ``https://win1:5986/wsman``."""
        host = self.host
        try:
            if ipaddress.ip_address(host).version == 6:
                host = f"[{host}]"
        except ValueError:
            pass
        return urlunsplit((self.scheme, f"{host}:{self.port}", self.path, "", ""))


_HOST_VARS = ("inventory_hostname", "ansible_host", "ansible_winrm_host")
_PORT_VARS = ("ansible_port", "ansible_winrm_port")
_USER_VARS = ("ansible_user", "ansible_winrm_user")
# ansible_ssh_pass is the legacy spelling Ansible still maps onto the connection password.
_PASSWORD_VARS = ("ansible_ssh_pass", "ansible_password", "ansible_winrm_pass",
                  "ansible_winrm_password")
_TRUE = frozenset({"y", "yes", "on", "1", "true", "t"})
_FALSE = frozenset({"n", "no", "off", "0", "false", "f"})


def _describe(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _last(host_vars: Mapping[str, Any], names: Sequence[str]) -> tuple[str | None, Any]:
    """The last of ``names`` that is set, as Ansible resolves a connection option's vars."""
    found: tuple[str | None, Any] = (None, None)
    for name in names:
        if host_vars.get(name) is not None:
            found = (name, host_vars[name])
    return found


def _string(host_vars: Mapping[str, Any], name: str, *, secret: bool = False) -> str | None:
    value = host_vars.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        got = f"a value of type {type(value).__name__}" if secret else _describe(value)
        raise ValueError(f"{name}: expected a string, got {got}")
    return str(value)


def _choice(host_vars: Mapping[str, Any], name: str, choices: Sequence[str],
            default: str) -> str:
    value = host_vars.get(name)
    if value is None:
        return default
    if not isinstance(value, str) or value.lower() not in choices:
        raise ValueError(f"{name}: expected one of {list(choices)}, got {_describe(value)}")
    return value.lower()


def _integer(name: str, value: Any, low: int, high: int) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or not low <= number <= high:
        raise ValueError(f"{name}: expected an integer in {low}..{high}, got {_describe(value)}")
    return number


def _boolean(host_vars: Mapping[str, Any], name: str, default: bool) -> bool:
    value = host_vars.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{name}: expected a boolean (true/false, yes/no, on/off, 1/0), got "
                     f"{_describe(value)}")


def settings_from_vars(host_vars: Mapping[str, Any]) -> WinRMSettings:
    """Build :class:`WinRMSettings` from a host's (already templated) connection variables.

    Names, precedence (the last listed alias that is set wins) and defaults follow
    ansible-core's winrm connection plugin: ``ansible_host`` (else ``inventory_hostname``),
    ``ansible_port`` (5986), ``ansible_user``, ``ansible_password``, ``ansible_winrm_scheme``
    (http only for port 5985), ``ansible_winrm_path`` (/wsman), ``ansible_winrm_transport``
    (a list or a comma-separated string; default kerberos for a ``user@REALM`` name, else
    ssl over https and plaintext over http), ``ansible_winrm_server_cert_validation``,
    ``ansible_winrm_ca_trust_path``, ``ansible_winrm_message_encryption``,
    ``ansible_winrm_read_timeout_sec``, ``ansible_winrm_operation_timeout_sec`` and
    ``ansible_winrm_connection_timeout`` (operation timeout = it, read timeout = it + 10).

    Args:
        host_vars: The variables, e.g. the action plugin's templated ``task_vars``.

    Returns:
        The settings.

    Raises:
        ValueError: A variable has a bad value; the message names the variable, what was
            expected and what was got (never the password's value).
    """
    host_name, host = _last(host_vars, _HOST_VARS)
    if host_name is None:
        raise ValueError(f"ansible_host: expected the address of the Windows host (one of "
                         f"{list(_HOST_VARS)}), got nothing")
    host = _string(host_vars, host_name)
    if not host or not host.strip():
        raise ValueError(f"{host_name}: expected a host name or address, got {host!r}")
    host = host.strip()

    port_name, port_value = _last(host_vars, _PORT_VARS)
    port = DEFAULT_PORT if port_name is None else _integer(port_name, port_value, 1, 65535)

    user_name = _last(host_vars, _USER_VARS)[0]
    user = _string(host_vars, user_name) if user_name else None
    password_name = _last(host_vars, _PASSWORD_VARS)[0]
    password = _string(host_vars, password_name, secret=True) if password_name else None

    scheme = _choice(host_vars, "ansible_winrm_scheme", ("http", "https"),
                     "http" if port == HTTP_PORT else "https")
    path = _string(host_vars, "ansible_winrm_path") or DEFAULT_PATH
    if not path.startswith("/"):
        raise ValueError(f"ansible_winrm_path: expected a URL path starting with '/', got "
                         f"{_describe(path)}")

    transports = _transports(host_vars.get("ansible_winrm_transport"), user, scheme)

    cert_validation = _choice(host_vars, "ansible_winrm_server_cert_validation",
                              ("validate", "ignore"), "validate")
    encryption = _choice(host_vars, "ansible_winrm_message_encryption",
                         ("auto", "always", "never"), "auto")

    read_timeout = DEFAULT_READ_TIMEOUT_SEC
    operation_timeout = DEFAULT_OPERATION_TIMEOUT_SEC
    if host_vars.get("ansible_winrm_read_timeout_sec") is not None:
        read_timeout = _integer("ansible_winrm_read_timeout_sec",
                                host_vars["ansible_winrm_read_timeout_sec"], 1, 86400)
    if host_vars.get("ansible_winrm_operation_timeout_sec") is not None:
        operation_timeout = _integer("ansible_winrm_operation_timeout_sec",
                                     host_vars["ansible_winrm_operation_timeout_sec"], 1, 86400)
    if host_vars.get("ansible_winrm_connection_timeout") is not None:
        # As the connection plugin does: it overrides both, keeping 10 s between them.
        operation_timeout = _integer("ansible_winrm_connection_timeout",
                                     host_vars["ansible_winrm_connection_timeout"], 1, 86400)
        read_timeout = operation_timeout + 10
    if operation_timeout >= read_timeout:
        raise ValueError(f"ansible_winrm_operation_timeout_sec: expected less than "
                         f"ansible_winrm_read_timeout_sec ({read_timeout}), got "
                         f"{operation_timeout}")

    return WinRMSettings(
        host=host, port=port, user=user, password=password, scheme=scheme,  # type: ignore[arg-type]
        path=path, auth_transports=transports,
        server_cert_validation=cert_validation,  # type: ignore[arg-type]  # checked by _choice
        ca_trust_path=_string(host_vars, "ansible_winrm_ca_trust_path"),
        message_encryption=encryption,  # type: ignore[arg-type]  # checked by _choice
        read_timeout_sec=read_timeout, operation_timeout_sec=operation_timeout,
        cert_pem=_string(host_vars, "ansible_winrm_cert_pem"),
        cert_key_pem=_string(host_vars, "ansible_winrm_cert_key_pem"),
        kerberos_delegation=_boolean(host_vars, "ansible_winrm_kerberos_delegation", False),
        kerberos_hostname_override=_string(host_vars, "ansible_winrm_kerberos_hostname_override"),
        send_cbt=_boolean(host_vars, "ansible_winrm_send_cbt", True),
        proxy=_string(host_vars, "ansible_winrm_proxy"),
        service=_string(host_vars, "ansible_winrm_service") or "HTTP",
    )


def _transports(value: Any, user: str | None, scheme: str) -> tuple[str, ...]:
    name = "ansible_winrm_transport"
    if value is None:
        if user and "@" in user:
            return ("kerberos",)  # a UPN is a domain account: the plugin's default
        return ("ssl",) if scheme == "https" else ("plaintext",)
    if isinstance(value, str):
        items = [item.strip() for item in value.split(",")]
    elif isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        items = [item.strip() for item in value]
    else:
        raise ValueError(f"{name}: expected a list of transport names or a comma-separated "
                         f"string, got {_describe(value)}")
    items = [item.lower() for item in items if item]
    if not items:
        raise ValueError(f"{name}: expected at least one transport, got {_describe(value)}")
    unknown = [item for item in items if item not in SUPPORTED_AUTH_TRANSPORTS]
    if unknown:
        raise ValueError(f"{name}: expected transports among {list(SUPPORTED_AUTH_TRANSPORTS)} "
                         f"(those the installed pywinrm supports), got {unknown!r}")
    return tuple(dict.fromkeys(items))


# --- Instance-name wildcards (PowerShell -like) ----------------------------------------------
class WildcardPatternError(ValueError):
    """An ``instance_name`` pattern PowerShell's WildcardPattern would refuse.

    Attributes:
        pattern: The pattern.
        problem: What is wrong with it.
    """

    def __init__(self, pattern: Any, problem: str) -> None:
        self.pattern = pattern
        self.problem = problem
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"instance_name {self.pattern!r} is not a valid wildcard pattern: {self.problem}"


def _bracket(contents: list[tuple[str, bool]], pattern: str) -> str:
    """A regex class for one ``[...]``: literal characters, ``a-z`` ranges (no negation)."""
    out = []
    index = 0
    while index < len(contents):
        if index + 2 < len(contents) and contents[index + 1][1]:
            low, high = contents[index][0], contents[index + 2][0]
            if low > high:
                raise WildcardPatternError(pattern, f"the range '{low}-{high}' runs backwards")
            out.append(f"{re.escape(low)}-{re.escape(high)}")
            index += 3
        else:
            out.append(re.escape(contents[index][0]))
            index += 1
    return "[" + "".join(out) + "]"


def compile_wildcard(pattern: str) -> re.Pattern[str]:
    """Compile a PowerShell ``-like`` pattern (case-insensitive) into a regex for fullmatch.

    Semantics of System.Management.Automation.WildcardPattern: ``*`` any run, ``?`` one
    character, ``[abc]`` one of, ``[a-z]`` a range (no negation; ``]`` right after ``[`` is
    literal), a backtick escapes the next character (a trailing one is literal). Every other
    character, backslash included, is literal.

    Args:
        pattern: The pattern.

    Returns:
        A compiled regex; use ``fullmatch``.

    Raises:
        WildcardPatternError: An unclosed ``[`` or a backwards range.
    """
    if not isinstance(pattern, str):
        raise WildcardPatternError(pattern, f"expected a string, got {type(pattern).__name__}")
    parts: list[str] = []
    contents: list[tuple[str, bool]] = []
    escaped = in_bracket = just_opened = False
    for char in pattern:
        if in_bracket:
            if char == "]" and not just_opened and not escaped:
                in_bracket = False
                parts.append(_bracket(contents, pattern))
            elif char != "`" or escaped:
                contents.append((char, char == "-" and not escaped))
            just_opened = False
        elif char == "*" and not escaped:
            parts.append(".*")
        elif char == "?" and not escaped:
            parts.append(".")
        elif char == "[" and not escaped:
            in_bracket, just_opened, contents = True, True, []
        elif char != "`" or escaped:
            parts.append(re.escape(char))
        escaped = char == "`" and not escaped
    if in_bracket:
        raise WildcardPatternError(pattern, "a '[' is never closed by ']' (write '`[' to match "
                                            "a literal '[')")
    if escaped and pattern != "`":
        parts.append(re.escape("`"))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


# --- Transport -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reply:
    """One HTTP reply: its status and (decrypted) body."""

    status: int
    body: bytes


class MessageSender(Protocol):
    """Sends one SOAP message and returns the reply (tests pass a fake)."""

    def send(self, message: bytes, operation: str) -> Reply:
        """Send ``message``; raise :class:`WSManTransportError` when no reply body came."""

    def close(self) -> None:
        """Close connections."""


class _Unauthorized(Exception):
    """HTTP 401 from the bounded transport."""


def _read_bounded(response: Any, limit: int) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.strip().isdigit() and int(declared) > limit:
        raise ResponseTooLargeError(limit, int(declared))
    chunks = []
    size = 0
    for chunk in response.iter_content(chunk_size=65536):
        size += len(chunk)
        if size > limit:
            raise ResponseTooLargeError(limit, size)
        chunks.append(chunk)
    return b"".join(chunks)


class _BoundedTransport(_PywinrmTransport):
    """pywinrm's Transport, reading replies with a size bound and keeping HTTP 500 bodies.

    Why a subclass: pywinrm 0.5's ``Transport._send_message_request`` reads every body whole
    (``response.content``) and turns HTTP 500 into ``WinRMTransportError``, whose body
    ``Protocol.send_message`` then parses with ``xml.etree.ElementTree.fromstring``, which is
    not hardened. Overriding that one method streams the body and stops at the bound, and
    returns non-401 error replies as data for our hardened parser. Authentication, message
    encryption, TLS and proxy handling stay pywinrm's. Residual: the body of a 401 challenge
    during NTLM/Kerberos negotiation is read by the auth handler, not by us.
    """

    def __init__(self, *args: Any, max_response_bytes: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_response_bytes = max_response_bytes
        self.last_status = 0

    def _send_message_request(self, session: Any, prepared_request: Any) -> Any:
        response = session.send(prepared_request, timeout=self.read_timeout_sec, stream=True)
        try:
            body = _read_bounded(response, self.max_response_bytes)
        except BaseException:
            response.close()  # unread data: the connection is closed, the rest discarded
            raise
        # Give requests the bytes so pywinrm's decryption (response.content) reads them, and
        # mark them consumed so close() returns the kept-alive connection (NTLM's security
        # context belongs to it) to the pool.
        response._content = body
        response._content_consumed = True
        response.close()
        self.last_status = response.status_code
        if response.status_code == 401:
            raise _Unauthorized()
        if response.status_code >= 400 and not body:
            raise requests.exceptions.HTTPError(f"HTTP {response.status_code}",
                                                response=response)
        return response


def _root_cause(error: BaseException) -> BaseException:
    """Follow urllib3/requests wrapping down to the error that says what happened."""
    seen = {id(error)}
    current = error
    for dummy in range(12):
        nxt: BaseException | None = None
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            nxt = reason
        elif current.args and isinstance(current.args[0], BaseException):
            nxt = current.args[0]
        else:
            nxt = current.__cause__ or current.__context__
        if nxt is None or id(nxt) in seen:
            break
        seen.add(id(nxt))
        current = nxt
    return current


def _cause_text(error: BaseException) -> str:
    root = _root_cause(error)
    text = str(root) or type(root).__name__
    # urllib3 writes "<HTTPSConnection object at 0x...>: Failed to ..."; keep the sentence.
    text = re.sub(r"^<[^>]*>:\s*", "", text)
    return text


class PywinrmSender:
    """Sends SOAP messages through pywinrm, trying the configured transports in order.

    A transport that cannot authenticate (HTTP 401) or cannot be set up is skipped for the
    next one, as the winrm connection plugin does; network and TLS errors stop at once.
    """

    def __init__(self, settings: WinRMSettings,
                 max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> None:
        if PYWINRM_IMPORT_ERROR is not None:
            raise WSManTransportError("setup", "the wsman transport needs the pywinrm Python "
                                      f"package on the controller ({PYWINRM_IMPORT_ERROR})")
        self._settings = settings
        self._max_response_bytes = max_response_bytes
        self._index = 0
        self._transport: Any = None
        self._settled = False
        self.tried: list[str] = []

    @property
    def auth_transport(self) -> str | None:
        """The pywinrm transport in use (None before the first message)."""
        return self._settings.auth_transports[self._index] if self.tried else None

    def _build(self, name: str) -> Any:
        s = self._settings
        kwargs: dict[str, Any] = {
            "endpoint": s.endpoint, "username": s.user, "password": s.password,
            "service": s.service, "cert_pem": s.cert_pem, "cert_key_pem": s.cert_key_pem,
            "read_timeout_sec": s.read_timeout_sec,
            "server_cert_validation": s.server_cert_validation,
            "kerberos_delegation": s.kerberos_delegation,
            "kerberos_hostname_override": s.kerberos_hostname_override,
            "auth_method": name, "message_encryption": s.message_encryption,
            "send_cbt": s.send_cbt,
        }
        # Unset means pywinrm's own default ('legacy_requests': environment variables).
        if s.ca_trust_path is not None:
            kwargs["ca_trust_path"] = s.ca_trust_path
        if s.proxy is not None:
            kwargs["proxy"] = s.proxy
        return _BoundedTransport(max_response_bytes=self._max_response_bytes, **kwargs)

    def _error(self, kind: Any, cause: str, operation: str,
               status: int | None = None) -> WSManTransportError:
        s = self._settings
        return WSManTransportError(
            kind, redact(cause, [s.password or ""]), http_status=status,
            auth_transports=tuple(self.tried), endpoint=s.endpoint, operation=operation,
            read_timeout_sec=s.read_timeout_sec)

    def send(self, message: bytes, operation: str) -> Reply:
        """Send one message; see :class:`MessageSender`."""
        transports = self._settings.auth_transports
        while True:
            name = transports[self._index]
            if name not in self.tried:
                self.tried.append(name)
            try:
                if self._transport is None:
                    self._transport = self._build(name)
                body = self._transport.send_message(message)
                self._settled = True
                return Reply(self._transport.last_status, body)
            except WSManError as e:
                if isinstance(e, WSManResponseError) and e.operation is None:
                    e.operation = operation
                raise
            except _Unauthorized:
                error = self._error("credentials", "the server rejected the credentials",
                                    operation, 401)
            except requests.exceptions.SSLError as e:
                # Only a failed verification is about trust; anything else (a port that does
                # not speak TLS, no shared protocol) is a wrong scheme or port.
                verify = isinstance(_root_cause(e), ssl.SSLCertVerificationError)
                raise self._error("certificate" if verify else "tls", _cause_text(e),
                                  operation) from None
            except requests.exceptions.Timeout as e:
                raise self._error("timeout", _cause_text(e), operation) from None
            except requests.exceptions.ConnectionError as e:
                root = _root_cause(e)
                kind = "refused" if isinstance(root, ConnectionRefusedError) else "connection"
                raise self._error(kind, _cause_text(e), operation) from None
            except requests.exceptions.HTTPError as e:
                status = e.response.status_code if e.response is not None else None
                raise self._error("http", "", operation, status) from None
            except requests.exceptions.RequestException as e:
                # ChunkedEncodingError and friends: the connection broke mid-reply.
                raise self._error("dropped", _cause_text(e), operation) from None
            except WinRMError as e:
                error = self._error("setup", f"{name}: {e}", operation)
            except Exception as e:  # noqa: BLE001 - a library error is reported, not hidden
                # e.g. a pyspnego or requests_ntlm error during authentication
                error = self._error("setup", f"{name}: {type(e).__name__}: {e}", operation)
            # Only before the first success may another transport be tried.
            self.close()
            if self._settled or self._index + 1 >= len(transports):
                raise error from None
            self._index += 1

    def close(self) -> None:
        """Close the HTTP connections."""
        if self._transport is not None:
            try:
                self._transport.close_session()
            finally:
                self._transport = None


# --- Enumeration -----------------------------------------------------------------------------
def _random_message_id() -> str:
    return f"uuid:{str(uuid.uuid4()).upper()}"


class _Session:
    """Enumerations over one sender, counting round trips and collecting warnings."""

    def __init__(self, sender: MessageSender, settings: WinRMSettings, *,
                 new_message_id: Callable[[], str], max_response_bytes: int,
                 max_elements: int, max_items: int, max_pulls: int) -> None:
        self.sender = sender
        self.settings = settings
        self.new_message_id = new_message_id
        self.max_response_bytes = max_response_bytes
        self.max_elements = max_elements
        self.max_items = max_items
        self.max_pulls = max_pulls
        self.round_trips = 0
        self.warnings: list[str] = []

    def describe(self, error: WSManError) -> str:
        """Name the target in ``error``, remove the password, and return its message."""
        error.set_target(self.settings.host, self.settings.port, self.settings.user)
        error.scrub([self.settings.password or ""])
        return str(error)

    def _header(self, resource_uri: str) -> RequestHeader:
        return RequestHeader(
            to=self.settings.endpoint, resource_uri=resource_uri,
            message_id=self.new_message_id(),
            operation_timeout_sec=self.settings.operation_timeout_sec,
            max_envelope_size=DEFAULT_MAX_ENVELOPE_SIZE, locale=DEFAULT_LOCALE)

    def _exchange(self, message: bytes, operation: str, parse: Callable[[bytes], Any]) -> Any:
        self.round_trips += 1
        reply = self.sender.send(message, operation)
        if reply.status == 200:
            return parse(reply.body)
        # Windows sends faults with HTTP 500 (sometimes 400): a SOAP envelope is read as one
        # (a fault, or an error saying what is wrong with it); anything else is an HTTP failure.
        if reply.body:
            try:
                root: Any = parse_xml(reply.body, max_bytes=self.max_response_bytes,
                                      operation=operation)
            except (ResponseTooLargeError, XmlRefusedError):
                raise
            except WSManResponseError:
                root = None
            if root is not None and root.tag == f"{{{NS_SOAP}}}Envelope":
                parse(reply.body)
        raise WSManTransportError("http", "the reply is not a WS-Management fault",
                                  http_status=reply.status, endpoint=self.settings.endpoint,
                                  operation=operation,
                                  auth_transports=tuple(getattr(self.sender, "tried", ())))

    def enumerate(self, resource_uri: str, wql: str | None = None) -> list[Any]:
        """All items of an enumeration: Enumerate, then Pull until EndOfSequence.

        If the enumeration stops early with a context in hand (a bad reply, a fault, too many
        items or pulls), a Release is sent first (best effort; a failure is a warning).

        Args:
            resource_uri: The class URI, or the ``/*`` URI with ``wql``.
            wql: A WQL query, or None.

        Returns:
            The item elements, in order.

        Raises:
            WSManError: The enumeration failed.
        """
        header = self._header(resource_uri)
        page: EnumerationPage = self._exchange(
            build_enumerate(header, max_elements=self.max_elements, wql=wql), "Enumerate",
            lambda body: parse_enumerate_response(body, header.message_id,
                                                  resource_uri=resource_uri,
                                                  max_bytes=self.max_response_bytes))
        items = list(page.items)
        context = page.context
        pulls = 0
        try:
            while not page.end_of_sequence:
                if len(items) > self.max_items:
                    raise WSManResponseError(f"the enumeration of {resource_uri} returned more "
                                             f"than {self.max_items} items", operation="Pull")
                if pulls >= self.max_pulls:
                    raise WSManResponseError(f"the enumeration of {resource_uri} did not end "
                                             f"after {pulls} Pull requests", operation="Pull")
                pulls += 1
                pull = self._header(resource_uri)
                if context is None:  # pragma: no cover - _page() refuses such a reply
                    raise WSManResponseError("no EnumerationContext to pull with",
                                             operation="Pull")
                page = self._exchange(
                    build_pull(pull, context, max_elements=self.max_elements), "Pull",
                    # partial() binds this Pull's message id now (a lambda would close over
                    # the loop's `pull`), and mypy can type it, unlike a lambda with a default.
                    partial(parse_pull_response, message_id=pull.message_id,
                            resource_uri=resource_uri, max_bytes=self.max_response_bytes))
                items.extend(page.items)
                context = page.context or context
        except WSManTransportError:
            raise  # the connection is gone or unusable: nothing to release it on
        except WSManError:
            self._release(resource_uri, context)
            raise
        if len(items) > self.max_items:
            raise WSManResponseError(f"the enumeration of {resource_uri} returned more than "
                                     f"{self.max_items} items", operation="Enumerate")
        return items

    def _release(self, resource_uri: str, context: str | None) -> None:
        if context is None:
            return
        header = self._header(resource_uri)
        try:
            self._exchange(build_release(header, context), "Release",
                           lambda body: parse_release_response(
                               body, header.message_id, max_bytes=self.max_response_bytes))
        except WSManError as e:
            self.warnings.append(f"could not release the enumeration of {resource_uri}: "
                                 f"{self.describe(e)}")


# --- Snapshot --------------------------------------------------------------------------------
@dataclass(frozen=True)
class CollectResult:
    """What :func:`collect_snapshot` returns.

    Attributes:
        snapshot: ``ansible_facts.mmipsec``, validated.
        warnings: Things the user should know (e.g. why ``boot_time`` is null).
        round_trips: WS-Management requests sent (authentication legs not counted).
        auth_transport: The pywinrm transport that worked, when pywinrm was used.
    """

    snapshot: dict[str, Any]
    warnings: tuple[str, ...]
    round_trips: int
    auth_transport: str | None = None


def _unavailable(reason: str, message: str, collected_at: str,
                 boot_time: str | None) -> dict[str, Any]:
    return {"available": False, "reason": reason, "message": message, "source": "wsman",
            "collected_at": collected_at, "boot_time": boot_time, "instances": [], "totals": {}}


def _stats_instance(instance: CimInstance) -> dict[str, Any]:
    """Shape one MSiSCSI_MMIPSECStats instance as the module does."""
    props = instance.properties
    name = props.get("InstanceName")
    if not isinstance(name, str) or not name:
        raise WSManResponseError(f"an instance of {WMI_CLASS} has InstanceName {name!r}, "
                                 "expected a non-empty string", operation="Enumerate")
    active_text = props.get("Active")
    active = {"true": True, "1": True, "false": False, "0": False}.get(
        active_text.strip().lower() if isinstance(active_text, str) else "")
    if active is None:
        raise WSManResponseError(f"instance {name!r}: Active is {active_text!r}, expected "
                                 "true or false", operation="Enumerate")
    counters = {}
    for member in MEMBERS:
        text = props.get(member.wmi_name)
        # ASCII digits only: str.isdigit() would also accept digits int() refuses, e.g. '\u00b2'.
        digits = text.strip() if isinstance(text, str) else ""
        value = int(digits) if digits and digits.isascii() and digits.isdigit() else None
        if value is None or value > UINT64_MAX:
            raise WSManResponseError(
                f"instance {name!r}: {member.wmi_name} is {text!r}, expected an unsigned "
                "64-bit integer", operation="Enumerate")
        counters[member.key] = value
    return {"instance_name": name, "active": active, "counters": counters}


def _read_boot_time(session: _Session) -> str | None:
    """LastBootUpTime of Win32_OperatingSystem in UTC; None and a warning if unreadable."""
    try:
        items = session.enumerate(OS_CLASS_URI)
        instances = [i for i in (parse_instance(item, OS_CLASS_URI) for item in items) if i]
        if not instances:
            raise ValueError("the host returned no Win32_OperatingSystem instance")
        return format_utc_timestamp(parse_cim_datetime(instances[0].properties.get(
            "LastBootUpTime")))
    except WSManError as e:
        problem = session.describe(e)
    except ValueError as e:
        problem = redact(str(e), [session.settings.password or ""])
    session.warnings.append(f"boot_time is null: could not read Win32_OperatingSystem."
                            f"LastBootUpTime from {session.settings.host}: {problem}")
    return None


def collect_snapshot(settings: WinRMSettings, instance_name: str = "*",
                     include_inactive: bool = False, collected_at: datetime | None = None, *,
                     query: QueryForm = "class",
                     max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
                     max_elements: int = DEFAULT_MAX_ELEMENTS,
                     max_items: int = DEFAULT_MAX_ITEMS, max_pulls: int = DEFAULT_MAX_PULLS,
                     sender: MessageSender | None = None,
                     new_message_id: Callable[[], str] | None = None) -> CollectResult:
    """Read MSiSCSI_MMIPSECStats and the boot time over WS-Management; shape the snapshot.

    Two requests when all fits in one reply: Enumerate of the class, Enumerate of
    Win32_OperatingSystem. Class not registered and provider failures are outcomes
    (``available: false``); every other failure raises.

    Args:
        settings: How to reach the host.
        instance_name: PowerShell ``-like`` pattern on InstanceName (case-insensitive).
        include_inactive: Keep instances whose ``Active`` is false.
        collected_at: The collection time (aware); now, if None.
        query: ``class`` enumerates the class URI; ``wql`` sends ``SELECT * FROM`` the class.
        max_response_bytes: Refuse larger replies.
        max_elements: MaxElements per Enumerate/Pull.
        max_items: Stop (and Release) an enumeration returning more items.
        max_pulls: Stop (and Release) an enumeration needing more Pull requests.
        sender: Sends the messages; a :class:`PywinrmSender` over ``settings`` if None.
        new_message_id: Makes MessageIDs (tests pass fixed ones).

    Returns:
        The validated snapshot, warnings and the round-trip count.

    Raises:
        WildcardPatternError: ``instance_name`` is not a valid pattern (before any request).
        ValueError: Another argument is invalid.
        WSManError: The host could not be queried; ``str()`` says what happened and to whom,
            ``unreachable`` tells unreachable from failed, ``details()`` has the evidence.
    """
    matcher = compile_wildcard(instance_name)
    if not isinstance(include_inactive, bool):
        raise ValueError(f"include_inactive: expected true or false, got "
                         f"{_describe(include_inactive)}")
    if query not in ("class", "wql"):
        raise ValueError(f"query: expected one of ['class', 'wql'], got {_describe(query)}")
    if collected_at is not None and collected_at.tzinfo is None:
        raise ValueError("collected_at: expected an aware datetime, got a naive one")

    own_sender = sender is None
    active_sender: MessageSender = sender if sender is not None else PywinrmSender(
        settings, max_response_bytes)
    session = _Session(active_sender, settings,
                       new_message_id=new_message_id or _random_message_id,
                       max_response_bytes=max_response_bytes, max_elements=max_elements,
                       max_items=max_items, max_pulls=max_pulls)
    try:
        moment = format_utc_timestamp(collected_at or datetime.now(timezone.utc))
        outcome: tuple[str, str] | None = None
        items: list[Any] = []
        try:
            if query == "wql":
                items = session.enumerate(STATS_WQL_URI, wql=STATS_WQL)
            else:
                items = session.enumerate(STATS_CLASS_URI)
        except WSManFault as fault:
            if fault.outcome not in ("class_not_found", "provider_error"):
                raise
            outcome = (str(fault.outcome), redact(fault.host_message, [settings.password or ""]))
        boot_time = _read_boot_time(session)

        if outcome is not None:
            snapshot = _unavailable(outcome[0], outcome[1], moment, boot_time)
        else:
            snapshot = _snapshot(items, matcher, instance_name, include_inactive, moment,
                                 boot_time)
        try:
            validate_snapshot(snapshot, host=settings.host)
        except SnapshotError as e:
            raise WSManResponseError(f"the host's data is not a valid snapshot: {e}",
                                     operation="Enumerate") from None
    except WSManError as e:
        session.describe(e)
        e.warnings = tuple(redact(w, [settings.password or ""]) for w in session.warnings)
        raise
    finally:
        if own_sender:
            active_sender.close()
    return CollectResult(
        snapshot=snapshot,
        warnings=tuple(redact(w, [settings.password or ""]) for w in session.warnings),
        round_trips=session.round_trips,
        auth_transport=getattr(active_sender, "auth_transport", None))


def _snapshot(items: Iterable[Any], matcher: re.Pattern[str], pattern: str,
              include_inactive: bool, moment: str, boot_time: str | None) -> dict[str, Any]:
    instances = []
    for item in items:
        instance = parse_instance(item, STATS_CLASS_URI)
        if instance is None:
            raise WSManResponseError(f"an item is {item.tag}, not an instance of {WMI_CLASS}",
                                     operation="Enumerate")
        instances.append(_stats_instance(instance))
    if not instances:
        return _unavailable("no_instances", f"{WMI_CLASS} is registered in {WMI_NAMESPACE} but "
                            "has no instances: no adapter on this host reports IPsec main-mode "
                            "statistics", moment, boot_time)
    kept = [i for i in instances
            if matcher.fullmatch(i["instance_name"]) and (include_inactive or i["active"])]
    if not kept:
        matched = [i for i in instances if matcher.fullmatch(i["instance_name"])]
        if matched:
            why = (f"all {len(matched)} instance(s) matching instance_name {pattern!r} are "
                   "inactive (set include_inactive to keep them)")
        else:
            why = f"no name matched instance_name {pattern!r}"
        return _unavailable("no_instances", f"{len(instances)} instance(s) of {WMI_CLASS} "
                            f"found, none kept: {why}", moment, boot_time)
    return {"available": True, "reason": None, "message": None, "source": "wsman",
            "collected_at": moment, "boot_time": boot_time, "instances": kept,
            "totals": sum_active(kept)}
