"""Tests for plugin_utils/_wsman_transport.py: settings from the winrm plugin, the sender."""

from __future__ import annotations

import base64
import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3
from ansible.errors import AnsibleOptionsError
from ansible.playbook.play_context import PlayContext
from packaging.requirements import Requirement

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _wsman as w
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _wsman_transport as t
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_errors import (
    ResponseTooLargeError,
    WSManTransportError,
)

ROOT = Path(__file__).resolve().parents[4]
DATA = ROOT / "tests" / "unit" / "test_data" / "wsman"
PASSWORD = "Pa55-w0rd!secret"


def settings_of(variables: dict[str, Any], task_keys: dict[str, Any] | None = None,
                ) -> tuple[t.WinRMSettings, list[str]]:
    options = t.winrm_options(PlayContext(), {"inventory_hostname": "win1", **variables},
                              task_keys or {})
    return t.settings_from_options(options)


# --- settings: the winrm connection plugin's options ------------------------------------------
def test_defaults_are_the_winrm_connection_plugin_s() -> None:
    settings, warnings = settings_of({"ansible_user": "ops", "ansible_password": PASSWORD})
    assert settings == t.WinRMSettings(
        host="win1", port=5986, user="ops", password=PASSWORD, scheme="https", path="/wsman",
        auth_transports=("ssl",), read_timeout_sec=30, operation_timeout_sec=20)
    assert settings.target == w.Target("win1", 5986, "ops", "https://win1:5986/wsman")
    assert (warnings, PASSWORD in repr(settings)) == ([], False)


@pytest.mark.parametrize(("variables", "task_keys", "expected"), [
    pytest.param({"ansible_host": "10.0.0.5", "ansible_winrm_host": "win1.example.test"}, {},
                 {"host": "win1.example.test"}, id="last-host-alias-wins"),
    pytest.param({"ansible_port": 5985}, {}, {"port": 5985, "scheme": "http",
                                              "auth_transports": ("plaintext",)},
                 id="http-on-5985"),
    pytest.param({"ansible_port": "5985", "ansible_winrm_scheme": "https"}, {},
                 {"port": 5985, "scheme": "https"}, id="scheme-set"),
    pytest.param({"ansible_user": "ops@EXAMPLE.TEST"}, {},
                 {"user": "ops@EXAMPLE.TEST", "auth_transports": ("kerberos",)}, id="upn-kerberos"),
    pytest.param({"ansible_winrm_transport": "ntlm, basic"}, {},
                 {"auth_transports": ("ntlm", "basic")}, id="transport-string"),
    pytest.param({"ansible_winrm_transport": ["credssp"]}, {}, {"auth_transports": ("credssp",)},
                 id="transport-list"),
    pytest.param({"ansible_winrm_password": "b", "ansible_password": "a"}, {},
                 {"password": "b"}, id="last-password-alias-wins"),
    pytest.param({}, {"remote_user": "play-user", "password": "asked"},
                 {"user": "play-user", "password": "asked"}, id="play-keyword-and-ask-pass"),
    pytest.param({"ansible_user": "var-user", "ansible_password": "var"},
                 {"remote_user": "play-user", "password": "asked"},
                 {"user": "var-user", "password": "var"}, id="variables-beat-keywords"),
    pytest.param({"ansible_winrm_connection_timeout": "15"}, {},
                 {"operation_timeout_sec": 15, "read_timeout_sec": 25}, id="connection-timeout"),
    pytest.param({"ansible_winrm_read_timeout_sec": "8", "ansible_winrm_operation_timeout_sec": 4},
                 {}, {"read_timeout_sec": 8, "operation_timeout_sec": 4}, id="pywinrm-timeouts"),
    pytest.param({"ansible_winrm_path": "/other", "ansible_host": "fe80::1"}, {},
                 {"host": "fe80::1", "path": "/other"}, id="path-and-ipv6"),
])
def test_options_come_from_the_plugin(variables: dict[str, Any], task_keys: dict[str, Any],
                                      expected: dict[str, Any]) -> None:
    settings = settings_of(variables, task_keys)[0]
    assert {name: getattr(settings, name) for name in expected} == expected


def test_an_ipv6_address_is_bracketed_in_the_url() -> None:
    settings = settings_of({"ansible_host": "fe80::1", "ansible_port": 5985})[0]
    assert settings.target.url == "http://[fe80::1]:5985/wsman"


def test_extras_pass_through_to_pywinrm_and_unknown_ones_warn() -> None:
    settings, warnings = settings_of({
        "ansible_winrm_server_cert_validation": "ignore", "ansible_winrm_ca_trust_path": "/ca",
        "ansible_winrm_message_encryption": "never", "ansible_winrm_send_cbt": False,
        "ansible_winrm_kerberos_hostname_override": "h", "ansible_winrm_proxy": None,
        "ansible_winrm_read_timeout_sec": 40, "ansible_winrm_no_such_thing": 1,
    })
    assert settings.transport_options == {
        "server_cert_validation": "ignore", "ca_trust_path": "/ca", "message_encryption": "never",
        "send_cbt": False, "kerberos_hostname_override": "h", "proxy": None}
    assert warnings == ["ansible_winrm_no_such_thing unsupported by pywinrm (is an up-to-date "
                        "version of pywinrm installed?)"]


@pytest.mark.parametrize(("variables", "message"), [
    pytest.param({"ansible_winrm_transport": "ntlm, smoke"}, "ansible_winrm_transport: expected "
                 "transports the installed pywinrm supports (basic, certificate, ntlm, kerberos, "
                 "plaintext, ssl, credssp), got ['ntlm', 'smoke'] (list)", id="transport"),
    pytest.param({"ansible_winrm_operation_timeout_sec": 30}, "ansible_winrm_operation_timeout_"
                 "sec: expected at least 1 and less than ansible_winrm_read_timeout_sec (30), "
                 "got 30 (int)", id="operation-not-below-read"),
    pytest.param({"ansible_winrm_read_timeout_sec": "soon"}, "ansible_winrm_read_timeout_sec: "
                 "expected a whole number of seconds, got 'soon' (str)", id="read-timeout-word"),
])
def test_bad_settings_name_the_variable(variables: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        settings_of(variables)


# ansible-core words these itself, differently in 2.16 and 2.19; both name the option.
PORT_REFUSED = (r"(Config 'port' for 'winrm' connection plugin from 'var: ansible_port' has an "
                r"invalid value|Invalid type for configuration option .*winrm setting: port "
                r"\(from var: ansible_port\))")


@pytest.mark.parametrize(("variables", "pattern"), [
    pytest.param({"ansible_port": "abc"}, PORT_REFUSED, id="port"),
    pytest.param({"ansible_winrm_scheme": "ftp"}, r"Invalid value .ftp. for config.* 'winrm' "
                 r"connection plugin|Invalid value \"ftp\" for configuration option .*winrm "
                 r"setting: scheme", id="scheme"),
])
def test_the_plugin_refuses_what_it_refuses(variables: dict[str, Any], pattern: str) -> None:
    with pytest.raises(AnsibleOptionsError, match=pattern):
        settings_of(variables)


def test_values_are_templated_before_use() -> None:
    rendered = {"{{ secret }}": PASSWORD, "{{ ca }}": "/ca"}
    options = t.winrm_options(PlayContext(), {"inventory_hostname": "win1",
                                              "ansible_password": "{{ secret }}",
                                              "ansible_winrm_ca_trust_path": "{{ ca }}"},
                              {}, lambda value: rendered.get(value, value))
    assert (options["remote_password"], options["_extras"]) == (
        PASSWORD, {"ansible_winrm_ca_trust_path": "/ca"})


# --- requirements: the installed versions lie in the ranges requirements.txt declares ---------
def _pins(path: Path) -> dict[str, Requirement]:
    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    return {(r := Requirement(line)).name.lower(): r for line in lines if line}


@pytest.mark.parametrize("name", sorted(_pins(ROOT / "requirements.txt")))
def test_runtime_requirements_are_bounded_and_met(name: str) -> None:
    declared = _pins(ROOT / "requirements.txt")[name]
    assert any(spec.operator == "<" for spec in declared.specifier), f"{declared}: no upper bound"
    assert version(name) in declared.specifier, f"installed {name} {version(name)} is not {declared}"
    tested = _pins(ROOT / "tests" / "requirements-dev.txt")[name]
    pinned = next(iter(tested.specifier)).version
    assert pinned in declared.specifier, f"tests pin {tested}, outside {declared}"


# --- the sender, over a real local HTTP server ----------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    """Answers like WinRM over HTTP with Basic auth; the test sets ``server.respond``."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        server: Any = self.server
        server.seen.append((self.headers.get("Authorization"), body))
        expected = "Basic " + base64.b64encode(f"ops:{PASSWORD}".encode()).decode()
        if server.check_auth and self.headers.get("Authorization") != expected:
            self._reply(401, b"", {"WWW-Authenticate": 'Basic realm="WSMAN"'})
            return
        status, payload, headers = server.respond(body)
        self._reply(status, payload, headers)

    def _reply(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/soap+xml;charset=UTF-8")
        if "Transfer-Encoding" not in headers:
            self.send_header("Content-Length", str(len(payload)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        try:
            if headers.get("Transfer-Encoding") == "chunked":
                for start in range(0, len(payload), 4096):
                    chunk = payload[start:start + 4096]
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.wfile.write(payload)
        except OSError:
            pass  # the client stopped reading at its bound

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        pass


@pytest.fixture
def server() -> Iterator[Any]:
    httpd: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.seen, httpd.check_auth = [], True
    httpd.respond = lambda body: (200, (DATA / "release_response.xml").read_bytes(), {})
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def http_settings(port: int, **kwargs: Any) -> t.WinRMSettings:
    values: dict[str, Any] = {"host": "127.0.0.1", "port": port, "user": "ops",
                              "password": PASSWORD, "scheme": "http",
                              "auth_transports": ("basic",)}
    values.update(kwargs)
    return t.WinRMSettings(**values)


def send(settings: t.WinRMSettings, message: bytes = b"<hello/>") -> t.Reply:
    sender = t.PywinrmSender(settings)
    try:
        return sender.send(message, "Enumerate")
    finally:
        sender.close()


def test_sends_with_basic_over_http(server: Any) -> None:
    sender = t.PywinrmSender(http_settings(server.server_port))
    reply = sender.send(b"<one/>", "Enumerate")
    assert reply == t.Reply(200, (DATA / "release_response.xml").read_bytes())
    sender.send(b"<two/>", "Enumerate")
    sender.close()
    # Basic is pre-emptive: no extra authentication round trip.
    assert [body for dummy, body in server.seen] == [b"<one/>", b"<two/>"]
    assert (sender.auth_transport, sender.auth_transports) == ("basic", ("basic",))


def test_falls_back_to_the_next_transport_after_a_401(server: Any) -> None:
    sender = t.PywinrmSender(http_settings(server.server_port, auth_transports=("ntlm", "basic")))
    assert sender.send(b"<x/>", "Enumerate").status == 200
    assert (sender.auth_transport, sender.auth_transports) == ("basic", ("ntlm", "basic"))
    sender.close()


def test_rejected_credentials_name_user_host_and_port(server: Any) -> None:
    settings = http_settings(server.server_port, password="wrong-" + PASSWORD,
                             auth_transports=("ntlm", "basic"))
    with pytest.raises(WSManTransportError, match=re.escape(
            f"wsman: 127.0.0.1:{server.server_port} rejected the credentials of user 'ops' "
            "(HTTP 401, the server rejected the credentials; transport 'ntlm', 'basic')")
    ) as caught:
        send(settings)
    error = caught.value
    assert (error.kind, error.http_status, error.unreachable) == ("credentials", 401, False)
    assert (error.operation, error.target) == ("Enumerate", settings.target)


def test_an_error_status_comes_back_with_its_body(server: Any) -> None:
    server.respond = lambda body: (500, b"<fault/>", {})
    assert send(http_settings(server.server_port)) == t.Reply(500, b"<fault/>")


@pytest.mark.parametrize(("status", "chunked"), [
    pytest.param(200, False, id="200-content-length"),
    pytest.param(200, True, id="200-chunked"),
    pytest.param(500, True, id="500-chunked"),
    pytest.param(401, False, id="401-not-read-at-all"),
])
def test_replies_over_the_bound_are_not_read_whole(server: Any, status: int,
                                                   chunked: bool) -> None:
    payload = b"<s:Envelope>" + b" " * (w.MAX_RESPONSE_BYTES + 10_000)
    server.check_auth = False
    server.respond = lambda body: (status, payload, {"Transfer-Encoding": "chunked"}
                                   if chunked else {})
    expected: type[Exception] = WSManTransportError if status == 401 else ResponseTooLargeError
    with pytest.raises(expected) as caught:
        send(http_settings(server.server_port))
    if isinstance(caught.value, ResponseTooLargeError):
        assert caught.value.limit == w.MAX_RESPONSE_BYTES
        # Chunked, it stops at the first 4 KiB chunk past the bound; else at Content-Length.
        assert caught.value.size == (4096 * 1025 if chunked else len(payload))
        assert caught.value.operation == "Enumerate"


def test_the_priming_post_of_message_encryption_is_bounded_too(server: Any) -> None:
    # NTLM over HTTP encrypts: pywinrm primes the context with an empty POST before anything.
    server.check_auth = False
    server.respond = lambda body: (200, b" " * (w.MAX_RESPONSE_BYTES + 1), {})
    with pytest.raises(ResponseTooLargeError):
        send(http_settings(server.server_port, auth_transports=("ntlm",)))
    assert server.seen == [(None, b"")]


def test_a_refused_priming_post_is_an_http_failure(server: Any) -> None:
    server.check_auth = False
    server.respond = lambda body: (403, b"", {})
    with pytest.raises(WSManTransportError, match=re.escape("answered to Enumerate with HTTP 403")):
        send(http_settings(server.server_port, auth_transports=("ntlm",)))


def test_refused_connection_is_unreachable() -> None:
    # Bound and never listening, for the whole test: refused, and no other server can take it.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        with pytest.raises(WSManTransportError, match=re.escape(
                f"wsman: cannot connect to 127.0.0.1:{port} (user 'ops'): connection refused; "
                "check that WinRM listens on that port (ansible_port, ansible_winrm_scheme)")) \
                as caught:
            send(http_settings(port))
    assert (caught.value.kind, caught.value.unreachable) == ("refused", True)


def _raise(error: Exception) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise error
    return fail


def test_certificate_validation_is_on_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []

    def record(session: requests.Session, *args: Any, **kwargs: Any) -> Any:
        seen.append(session.verify)
        raise requests.exceptions.ConnectionError("stop here")

    monkeypatch.setattr(requests.Session, "send", record)
    with pytest.raises(WSManTransportError):
        send(t.WinRMSettings(host="win1", user="ops", password=PASSWORD))
    assert seen and seen[0] is not False


def test_certificate_failure_says_how_to_fix_it(monkeypatch: pytest.MonkeyPatch) -> None:
    cause = ssl.SSLCertVerificationError(
        1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate "
           "in certificate chain (_ssl.c:1006)")
    wrapped = urllib3.exceptions.MaxRetryError(
        None, "/wsman", urllib3.exceptions.SSLError(cause))  # type: ignore[arg-type]
    monkeypatch.setattr(requests.Session, "send",
                        _raise(requests.exceptions.SSLError(wrapped)))
    with pytest.raises(WSManTransportError, match=re.escape(
            "wsman: certificate validation failed for https://win1:5986/wsman (user 'ops'): "
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate "
            "in certificate chain (_ssl.c:1006). Make the controller trust the host's "
            "certificate: set ansible_winrm_ca_trust_path to a PEM file holding the CA "
            "certificate that issued it, and check that the certificate is valid for the name "
            "'win1'")) as caught:
        send(t.WinRMSettings(host="win1", user="ops", password=PASSWORD))
    assert (caught.value.kind, caught.value.unreachable) == ("certificate", False)


def test_timeout_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(requests.Session, "send", _raise(requests.exceptions.ReadTimeout(
        "HTTPSConnectionPool(host='win1', port=5986): Read timed out. (read timeout=30)")))
    with pytest.raises(WSManTransportError, match=re.escape(
            "wsman: win1:5986 did not answer within 30 s (user 'ops'): HTTPSConnectionPool("
            "host='win1', port=5986): Read timed out. (read timeout=30)")) as caught:
        send(t.WinRMSettings(host="win1", user="ops", password=PASSWORD))
    assert (caught.value.kind, caught.value.unreachable) == ("timeout", True)


def test_unusable_transport_is_a_setup_failure() -> None:
    settings = t.WinRMSettings(host="win1", user="ops", password=PASSWORD, scheme="http",
                               auth_transports=("basic",),
                               transport_options={"message_encryption": "always"})
    with pytest.raises(WSManTransportError, match=re.escape(
            "wsman: cannot talk to win1:5986 (user 'ops') with transport 'basic': basic: "
            "message encryption is set to 'always' but the selected auth method basic does not "
            "support it")) as caught:
        send(settings)
    assert caught.value.kind == "setup"
