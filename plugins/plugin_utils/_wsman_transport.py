# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How to reach one host's WinRM service from the controller: its settings and the sender.

Internal to the winiscsi.ipsec collection: not a public API, may change without notice.

- :func:`winrm_options` asks ansible-core's winrm connection plugin for a host's options, and
  :func:`settings_from_options` keeps what the client needs (:class:`WinRMSettings`): names,
  aliases, precedence and defaults are the plugin's own.
- :class:`PywinrmSender` sends one message with pywinrm's authentication, message encryption
  and TLS, and reads the reply through a byte bound, whatever its HTTP status.
"""

from __future__ import annotations

import inspect
import io
import ipaddress
import re
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlunsplit

# ansible-core ships no type information.
from ansible.plugins.loader import connection_loader  # type: ignore[import-untyped]

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import to_plain
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._kerberos import (
    KinitSettings,
    kinit_settings,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman import MAX_RESPONSE_BYTES
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_errors import (
    ResponseTooLargeError,
    Target,
    TransportErrorKind,
    WSManResponseError,
    WSManTransportError,
)

try:
    import requests
    from winrm import FEATURE_SUPPORTED_AUTHTYPES
    from winrm.encryption import Encryption
    from winrm.exceptions import WinRMError
    from winrm.protocol import Protocol as WinRMProtocol
    from winrm.transport import Transport

    from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _wsman_http as _http
except ImportError as _import_error:  # pragma: no cover - pywinrm is in the dev requirements
    PYWINRM_IMPORT_ERROR: str | None = str(_import_error)
    # Lets the module import (via=module needs no pywinrm); settings_from_options refuses.
    Transport = object  # type: ignore[assignment,misc]  # a stand-in base class
    FEATURE_SUPPORTED_AUTHTYPES = []
    _PROTOCOL_ARGS: frozenset[str] = frozenset()
else:
    PYWINRM_IMPORT_ERROR = None
    # The arguments the winrm connection plugin passes ansible_winrm_* extras on to.
    _PROTOCOL_ARGS = frozenset(inspect.signature(WinRMProtocol.__init__).parameters)


# --- Settings: the winrm connection plugin's options ----------------------------------------
WINRM_OPTIONS = ("remote_addr", "port", "remote_user", "remote_password", "scheme", "path",
                 "transport", "connection_timeout", "kerberos_mode", "kerberos_command",
                 "kinit_args", "kinit_env_vars", "_extras")
_EXTRAS_PREFIX = "ansible_winrm_"
# pywinrm's Protocol defaults (winrm/protocol.py), used when no variable sets them.
_READ_TIMEOUT_SEC = 30
_OPERATION_TIMEOUT_SEC = 20


def winrm_options(play_context: Any, variables: Mapping[str, Any], task_keys: Mapping[str, Any],
                  template: Callable[[Any], Any] = lambda value: value) -> dict[str, Any]:
    """The options ansible-core's winrm connection plugin takes for a host.

    Done as ansible-core's TaskExecutor sets a connection's options: the plugin's own variables
    and the ``ansible_winrm_*`` extras, templated, then the task's keywords.

    Args:
        play_context: The task's PlayContext (it carries ``--ask-pass``).
        variables: The host's variables (an action plugin's ``task_vars``).
        task_keys: The task's keywords (``remote_user``, ``port``; ``password`` for
            ``--ask-pass``).
        template: Templates one value (an action plugin's ``self._templar.template``).

    Returns:
        The options of :data:`WINRM_OPTIONS` (``_extras`` holds the ``ansible_winrm_*``
        variables that are no option, keyed by their full names).

    Raises:
        AnsibleError: An option has a value the plugin refuses (a port that is no integer, a
            scheme that is neither http nor https).
    """
    # The name ``ansible_connection: winrm`` resolves, so a playbook's own override applies too.
    connection = connection_loader.get("winrm", play_context, new_stdin=None)
    names = {entry["name"] for definition in connection.option_definitions.values()
             for entry in definition.get("vars") or ()}
    var_options: dict[str, Any] = {name: template(variables[name]) for name in names
                                   if name in variables}
    # Names first, then values: a host's variables may be templated on access (hostvars), and
    # templating all of them (``groups`` lists the whole inventory) costs O(inventory) per host.
    var_options["_extras"] = {name: template(variables[name]) for name in variables
                              if name.startswith(_EXTRAS_PREFIX) and name not in names}
    connection.set_options(task_keys=dict(task_keys), var_options=var_options)
    return {name: connection.get_option(name) for name in WINRM_OPTIONS}


@dataclass(frozen=True)
class WinRMSettings:
    """How to reach one host's WinRM service; the password is left out of repr.

    Attributes:
        host: Address; an IPv6 literal is bracketed in the URL.
        port: TCP port.
        user: The account, or None (certificate authentication).
        password: Its password.
        scheme: ``http`` or ``https``.
        path: URL path of the WS-Management service.
        auth_transports: pywinrm transports to try, in order.
        read_timeout_sec: HTTP read timeout on the controller.
        operation_timeout_sec: WS-Man OperationTimeout on the host; less than the read timeout.
        transport_options: Further keyword arguments of pywinrm's Transport, as the inventory
            gives them (``server_cert_validation``, ``ca_trust_path``, ``message_encryption``,
            ``proxy``, the Kerberos and CredSSP ones): pywinrm checks them.
        kinit: How to get a Kerberos ticket into a private cache first (managed kinit), or
            None (manual mode, or no Kerberos).
    """

    host: str
    port: int = 5986
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    scheme: str = "https"
    path: str = "/wsman"
    auth_transports: tuple[str, ...] = ("ssl",)
    read_timeout_sec: int = _READ_TIMEOUT_SEC
    operation_timeout_sec: int = _OPERATION_TIMEOUT_SEC
    transport_options: Mapping[str, Any] = field(default_factory=dict)
    kinit: KinitSettings | None = None

    @property
    def target(self) -> Target:
        """Who requests go to, as errors name it."""
        host = self.host
        try:
            if ipaddress.ip_address(host).version == 6:
                host = f"[{host}]"
        except ValueError:
            pass
        url = urlunsplit((self.scheme, f"{host}:{self.port}", self.path, "", ""))
        return Target(self.host, self.port, self.user, url)


def _seconds(extras: Mapping[str, Any], name: str, default: int) -> int:
    value = extras.get(_EXTRAS_PREFIX + name, default)
    try:
        return int(value)  # as pywinrm's Protocol reads it
    except (TypeError, ValueError):
        raise InputError(_EXTRAS_PREFIX + name, "a whole number of seconds",
                         to_plain(value)) from None


def settings_from_options(options: Mapping[str, Any]) -> tuple[WinRMSettings, list[str]]:
    """Keep what this client needs of the winrm connection plugin's options.

    What the plugin derives when it connects is derived the same way (``_build_winrm_kwargs``
    and ``_winrm_connect`` in ansible-core's plugins/connection/winrm.py): the scheme from the
    port, the transport from the user's form, the timeouts from ``connection_timeout``, and
    the extras pywinrm's Protocol takes passed through.

    Args:
        options: What :func:`winrm_options` returns.

    Returns:
        The settings, and warnings (extras the installed pywinrm does not take, ignored).

    Raises:
        InputError: A transport pywinrm lacks, timeouts pywinrm would refuse, or Kerberos
            options that make no sense (see :func:`._kerberos.kinit_settings`).
        WSManTransportError: pywinrm is not installed, or pykerberos is not and the
            transport is kerberos.
    """
    if PYWINRM_IMPORT_ERROR is not None:
        raise WSManTransportError("setup", "the wsman transport needs the pywinrm Python "
                                  f"package on the controller ({PYWINRM_IMPORT_ERROR})")
    port = int(options["port"])
    user, scheme = options["remote_user"], options["scheme"]
    scheme = scheme or ("http" if port == 5985 else "https")
    transports = options["transport"]
    if not transports or transports[0] is None:
        # A UPN is a domain account: Kerberos, else Basic (ansible-core 2.17 and later).
        transports = ["kerberos"] if user and "@" in user else [
            "ssl" if scheme == "https" else "plaintext"]
    unknown = [t for t in transports if t not in FEATURE_SUPPORTED_AUTHTYPES]
    if unknown:
        raise InputError("ansible_winrm_transport", "transports the installed pywinrm supports "
                         f"({', '.join(FEATURE_SUPPORTED_AUTHTYPES)})", to_plain(transports))
    if "kerberos" in transports:
        from winrm.transport import HAVE_KERBEROS  # pywinrm found pykerberos, or not
        if not HAVE_KERBEROS:
            raise WSManTransportError(
                "setup", "ansible_winrm_transport kerberos needs the pykerberos Python package "
                "on the controller: pip install pywinrm[kerberos] (it builds against the MIT "
                "krb5 development files: Debian libkrb5-dev, RHEL krb5-devel)",
                auth_transports=tuple(transports))

    extras: Mapping[str, Any] = options["_extras"] or {}
    timeout = options["connection_timeout"]
    if timeout:
        operation, read = int(timeout), int(timeout) + 10
    else:
        operation = _seconds(extras, "operation_timeout_sec", _OPERATION_TIMEOUT_SEC)
        read = _seconds(extras, "read_timeout_sec", _READ_TIMEOUT_SEC)
    if not 1 <= operation < read:  # pywinrm's Protocol refuses it too
        raise InputError(_EXTRAS_PREFIX + "operation_timeout_sec", "at least 1 and less than "
                         f"ansible_winrm_read_timeout_sec ({read})", operation)

    passed = {name[len(_EXTRAS_PREFIX):]: value for name, value in extras.items()}
    warnings = [f"{_EXTRAS_PREFIX}{name} unsupported by pywinrm (is an up-to-date version of "
                "pywinrm installed?)" for name in sorted(set(passed) - _PROTOCOL_ARGS)]
    reserved = {"self", "endpoint", "transport", "username", "password", "read_timeout_sec",
                "operation_timeout_sec"}
    settings = WinRMSettings(
        host=str(options["remote_addr"]), port=port, user=user,
        password=options["remote_password"], scheme=scheme, path=options["path"],
        auth_transports=tuple(transports), read_timeout_sec=read,
        operation_timeout_sec=operation,
        transport_options={name: value for name, value in passed.items()
                           if name in _PROTOCOL_ARGS - reserved},
        kinit=kinit_settings(options, transports, user, options["remote_password"]))
    return settings, warnings


# --- Transport -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reply:
    """One HTTP reply: its status and (decrypted) body."""

    status: int
    body: bytes


class MessageSender(Protocol):
    """Sends one SOAP message and returns the reply (tests pass a fake)."""

    auth_transports: tuple[str, ...]  # the transports tried so far, named in errors

    def send(self, message: bytes, operation: str) -> Reply:
        """Send ``message``; raise :class:`WSManTransportError` when no reply came."""

    def close(self) -> None:
        """Close connections."""


class _Unauthorized(Exception):
    """HTTP 401: the authentication handler gave up."""


class _Refused(Exception):
    """The empty POST that primes message encryption got another status than 200."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _BoundedTransport(Transport):
    """pywinrm's Transport, with every reply read through a byte bound and a deadline.

    pywinrm's ``send_message`` reads a whole body into memory and turns an HTTP 500 into an
    exception whose body ``Protocol`` parses with an unhardened parser. This class keeps what
    pywinrm does well (authentication, message encryption, TLS, proxies) through its public
    surface, ``build_session()``, ``encryption`` and :class:`winrm.encryption.Encryption`, and
    posts with ``stream=True`` itself, never following a redirect. Every body, the 401
    challenges an authentication handler reads included, goes through ``_wsman_http``'s
    adapter: at most ``max_response_bytes`` (decompressed), and one exchange (its
    authentication legs included) lasts at most ``read_timeout_sec`` while reading bodies.
    """

    def __init__(self, max_response_bytes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_response_bytes = max_response_bytes
        self._budget = self._new_budget()

    def _new_budget(self) -> _http.Budget:
        return _http.Budget(self.max_response_bytes,
                            float(self.read_timeout_sec or _READ_TIMEOUT_SEC))

    def setup_encryption(self, session: requests.Session) -> None:
        """Prime the security context with an empty POST (MS-WSMV 2.2.9.1), bounded too.

        pywinrm's ``build_session()`` calls this when it encrypts messages, and sends that POST
        through its own unbounded read.
        """
        _http.mount(session, self._budget)
        status, dummy = self._post(session, session.prepare_request(
            requests.Request("POST", self.endpoint, data=None)))
        if status != 200:
            raise _Refused(status)
        self.encryption = Encryption(session, self.auth_method)

    def exchange(self, message: bytes) -> Reply:
        """POST one message; return the status and the (decrypted) body."""
        self._budget = self._new_budget()
        session = self.build_session()
        _http.mount(session, self._budget)
        if self.encryption is not None:
            prepared = self.encryption.prepare_encrypted_request(session, self.endpoint, message)
        else:
            prepared = session.prepare_request(requests.Request("POST", self.endpoint,
                                                                data=message))
        status, response = self._post(session, prepared)
        body = response.content
        if self.encryption is not None and body:
            _http.refuse_cleartext(response)
            body = self.encryption.parse_encrypted_response(response)
        return Reply(status, body)

    def _post(self, session: requests.Session,
              prepared: requests.PreparedRequest) -> tuple[int, requests.Response]:
        response = session.send(prepared, timeout=self.read_timeout_sec, stream=True,
                                allow_redirects=False)
        try:
            if response.status_code == 401:
                raise _Unauthorized
            _http.refuse_redirect(response)
            # Bounded by the adapter; read to the end, the kept-alive connection (an NTLM
            # context lives on it) goes back to the pool.
            body = b"".join(response.iter_content(chunk_size=65536))
        finally:
            # Cut short, the connection is closed and the rest never read.
            response.close()
        # A Response that holds the bytes read, for Encryption.parse_encrypted_response.
        held = requests.Response()
        held.status_code, held.headers, held.request = (response.status_code, response.headers,
                                                        response.request)
        held.raw = io.BytesIO(body)
        return response.status_code, held


def _root_cause(error: BaseException) -> BaseException:
    """Follow urllib3/requests wrapping down to the error that says what happened."""
    seen = {id(error)}
    current = error
    for dummy in range(12):
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            nxt: BaseException | None = reason
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
    # urllib3 writes "<HTTPSConnection object at 0x...>: Failed to ..."; keep the sentence.
    return re.sub(r"^<[^>]*>:\s*", "", str(root) or type(root).__name__)


class PywinrmSender:
    """Sends SOAP messages with pywinrm, trying the configured transports in order.

    A transport that cannot authenticate (HTTP 401) or cannot be set up is skipped for the
    next one, as the winrm connection plugin does; network and TLS errors stop at once.
    """

    def __init__(self, settings: WinRMSettings) -> None:
        self._settings = settings
        self._index = 0
        self._transport: _BoundedTransport | None = None
        self._settled = False
        self.auth_transports: tuple[str, ...] = ()

    @property
    def auth_transport(self) -> str | None:
        """The pywinrm transport in use (None before the first message)."""
        return self._settings.auth_transports[self._index] if self.auth_transports else None

    def _error(self, kind: TransportErrorKind, cause: str, operation: str,
               status: int | None = None) -> WSManTransportError:
        return WSManTransportError(kind, cause, target=self._settings.target,
                                   operation=operation, http_status=status,
                                   auth_transports=self.auth_transports,
                                   read_timeout_sec=self._settings.read_timeout_sec)

    def send(self, message: bytes, operation: str) -> Reply:
        """Send one message; see :class:`MessageSender`."""
        s = self._settings
        while True:
            name = s.auth_transports[self._index]
            if name not in self.auth_transports:
                self.auth_transports += (name,)
            try:
                if self._transport is None:
                    self._transport = _BoundedTransport(
                        MAX_RESPONSE_BYTES, endpoint=s.target.url, username=s.user,
                        password=s.password, auth_method=name,
                        read_timeout_sec=s.read_timeout_sec,
                        **{"service": "HTTP", **s.transport_options})  # Protocol's default
                reply = self._transport.exchange(message)
                self._settled = True
                return reply
            except _http.TooLarge as e:
                raise ResponseTooLargeError(MAX_RESPONSE_BYTES, e.size, target=s.target,
                                            operation=operation) from None
            except _http.Unusable as e:
                raise WSManResponseError(e.problem, target=s.target,
                                         operation=operation) from None
            except _http.Redirected as e:
                raise self._error("http", f"a redirect to {e.location or '(no Location)'}: "
                                  "WinRM never redirects, so it is refused, not followed",
                                  operation, e.status) from None
            except _http.Deadline as e:
                raise self._error("timeout", f"the reply was still arriving when the "
                                  f"exchange's deadline of {e.seconds:g} s passed", operation,
                                  ) from None
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
                problem = _http.protocol_problem(_root_cause(e))
                if problem:  # the server answered, with something that is not HTTP
                    raise WSManResponseError(problem, target=s.target,
                                             operation=operation) from None
                refused = isinstance(_root_cause(e), ConnectionRefusedError)
                raise self._error("refused" if refused else "connection", _cause_text(e),
                                  operation) from None
            except _Refused as e:
                raise self._error("http", "", operation, e.status) from None
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
            if self._settled or self._index + 1 >= len(s.auth_transports):
                raise error
            self._index += 1

    def close(self) -> None:
        """Close the HTTP connections."""
        if self._transport is not None:
            self._transport.close_session()
            self._transport = None
