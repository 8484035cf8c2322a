"""Tests for plugin_utils/_wsman_http.py: what a server the controller does not control may do.

Each test talks to a hostile HTTP server on 127.0.0.1 (tests/support/hostile_http.py) through
the real sender (pywinrm, requests, requests_ntlm) and the real session.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _wsman as w
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _wsman_transport as t
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_client import (
    Session,
    collect_snapshot,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_errors import (
    ResponseTooLargeError,
    WSManResponseError,
    WSManTransportError,
)

SUPPORT = Path(__file__).resolve().parents[4] / "support"
if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))

import hostile_http as h  # noqa: E402  (needs tests/support on sys.path)

PASSWORD = "Pa55-w0rd!secret"


def settings(port: int, **kwargs: Any) -> t.WinRMSettings:
    values: dict[str, Any] = {"host": "127.0.0.1", "port": port, "user": "ops",
                              "password": PASSWORD, "scheme": "http",
                              "auth_transports": ("basic",), "read_timeout_sec": 3,
                              "operation_timeout_sec": 2}
    values.update(kwargs)
    return t.WinRMSettings(**values)


def send(port: int, **kwargs: Any) -> t.Reply:
    chosen = settings(port, **kwargs)
    message = w.build_enumerate(w.Request(chosen.target, w.STATS_CLASS_URI, "uuid:1",
                                          chosen.operation_timeout_sec))
    sender = t.PywinrmSender(chosen)
    try:
        return sender.send(message, "Enumerate")
    finally:
        sender.close()


@pytest.fixture
def elsewhere() -> Iterator[h.HostileServer]:
    """The redirect target: a valid WinRM service that must never be asked."""
    with h.HostileServer(h.valid(), lifetime=30) as server:
        yield server


# --- 1. Redirects ---------------------------------------------------------------------------
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("auth", ["basic", "ntlm"])
def test_a_redirect_is_refused_and_never_followed(elsewhere: h.HostileServer, status: int,
                                                  auth: str) -> None:
    location = f"http://localhost:{elsewhere.port}/wsman"
    with h.HostileServer(h.redirect(location, status), lifetime=30) as server:
        with pytest.raises(WSManTransportError) as caught:
            send(server.port, auth_transports=(auth,))
    error = caught.value
    assert (error.kind, error.http_status, error.unreachable) == ("http", status, False)
    assert str(error) == (f"wsman: 127.0.0.1:{server.port} (user 'ops') answered to Enumerate "
                          f"with HTTP {status}: a redirect to {location}: WinRM never "
                          "redirects, so it is refused, not followed")
    assert elsewhere.requests == []
    assert len(server.requests) == 1


def test_a_redirect_loop_is_a_redirect_not_a_broken_connection() -> None:
    with h.HostileServer(h.redirect("http://127.0.0.1:1/wsman", 302), lifetime=30) as server:
        server.behaviour = h.redirect(server.url, 302)
        with pytest.raises(WSManTransportError, match="HTTP 302: a redirect to "
                           f"{re.escape(server.url)}: WinRM never redirects"):
            send(server.port)
    assert len(server.requests) == 1


# --- 2. Bodies without a bound --------------------------------------------------------------
@pytest.mark.parametrize(("status", "auth", "headers"), [
    pytest.param(302, "basic", {"Location": "http://127.0.0.1:1/"}, id="302-basic"),
    pytest.param(500, "basic", {}, id="500-basic"),
    pytest.param(401, "ntlm", {"WWW-Authenticate": "Negotiate"}, id="401-ntlm-handshake"),
])
def test_an_endless_body_is_cut_at_the_bound(status: int, auth: str,
                                             headers: dict[str, str]) -> None:
    with h.HostileServer(h.endless(status, headers), lifetime=30) as server:
        with pytest.raises(ResponseTooLargeError) as caught:
            send(server.port, auth_transports=(auth,), read_timeout_sec=20,
                 operation_timeout_sec=10)
    assert caught.value.limit == w.MAX_RESPONSE_BYTES
    assert caught.value.size <= w.MAX_RESPONSE_BYTES + 65536


def test_a_gzip_bomb_is_cut_at_the_bound_counted_inflated() -> None:
    with h.HostileServer(h.gzip_bomb(), lifetime=30) as server:
        with pytest.raises(ResponseTooLargeError) as caught:
            send(server.port, read_timeout_sec=20, operation_timeout_sec=10)
    assert w.MAX_RESPONSE_BYTES < caught.value.size <= w.MAX_RESPONSE_BYTES + 65536


# --- 3. Cleartext once message encryption is on ---------------------------------------------
@pytest.mark.parametrize(("content_type", "problem"), [
    pytest.param(h.SOAP, "the reply was not encrypted although message encryption is on",
                 id="soap"),
    pytest.param(None, "the server's reply had no Content-Type", id="no-content-type"),
])
def test_after_a_real_ntlm_handshake_cleartext_is_refused(content_type: str | None,
                                                          problem: str) -> None:
    behaviour = h.ntlm_then_cleartext("ops", PASSWORD, content_type)
    with h.HostileServer(behaviour, lifetime=30, keep_alive=True) as server:
        with pytest.raises(WSManResponseError, match=re.escape(problem)):
            send(server.port, auth_transports=("ntlm",))


# --- 4. An overall deadline -----------------------------------------------------------------
def test_a_trickled_reply_stops_at_the_exchange_deadline() -> None:
    with h.HostileServer(h.trickle(0.2), lifetime=30) as server:
        started = time.monotonic()
        with pytest.raises(WSManTransportError) as caught, \
                Session(settings(server.port, read_timeout_sec=2,
                                 operation_timeout_sec=1)) as session:
            collect_snapshot(session)
        elapsed = time.monotonic() - started
    assert 1.5 < elapsed < 6, elapsed
    error = caught.value
    assert (error.kind, error.unreachable) == ("timeout", True)
    assert str(error) == (f"wsman: 127.0.0.1:{server.port} did not answer within 2 s (user "
                          "'ops'): the reply was still arriving when the exchange's deadline "
                          "of 2 s passed (raise ansible_winrm_read_timeout_sec / "
                          "ansible_winrm_connection_timeout if the host is slow)")


def test_a_prompt_reply_is_read_whole() -> None:
    with h.HostileServer(h.valid(), lifetime=30) as server, \
            Session(settings(server.port)) as session:
        snapshot = collect_snapshot(session)
    assert snapshot["available"] is True
    assert [i["instance_name"] for i in snapshot["instances"]] == ["ROOT\\ISCSIPRT\\0000_0"]


# --- 6. Messages that say what the server did wrong -----------------------------------------
@pytest.mark.parametrize(("behaviour", "problem"), [
    pytest.param(h.garbage_status_line(), "the server sent an invalid HTTP status line "
                 "('HELLO THERE, THIS IS NOT HTTP')", id="status-line"),
    pytest.param(h.many_headers(), "the server sent more than 100 headers (http.client's "
                 "limit)", id="headers"),
])
def test_broken_http_is_the_server_s_fault(behaviour: h.Behaviour, problem: str) -> None:
    with h.HostileServer(behaviour, lifetime=30) as server:
        with pytest.raises(WSManResponseError) as caught:
            send(server.port)
    assert str(caught.value) == (f"wsman: unusable reply from 127.0.0.1:{server.port} (user "
                                 f"'ops') to Enumerate: {problem}")
    assert caught.value.unreachable is False


def test_a_counter_of_5000_digits_is_an_error_on_the_host_s_reply() -> None:
    with h.HostileServer(h.valid("9" * 5000), lifetime=30) as server, \
            Session(settings(server.port)) as session:
        with pytest.raises(WSManResponseError) as caught:
            collect_snapshot(session)
    assert str(caught.value) == (
        f"wsman: unusable reply from 127.0.0.1:{server.port} (user 'ops') to Enumerate: "
        "instance 'ROOT\\\\ISCSIPRT\\\\0000_0': OakleyMainMode is a counter value of 5000 "
        "digits: expected an unsigned 64-bit integer (at most 20 digits)")


def test_the_hostile_server_stops_by_itself() -> None:
    server = h.HostileServer(h.endless(200), lifetime=0.5)
    with server:
        time.sleep(1.0)
        assert server.stopped.is_set()
