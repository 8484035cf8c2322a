"""A hostile HTTP server on 127.0.0.1 for the ``via: wsman`` transport's tests.

One :class:`HostileServer` answers every request with a *behaviour*: a function of the request
that yields the bytes to write (a float pauses that many seconds). It listens on an ephemeral
port, serves each connection on a daemon thread, records every request, and stops by itself
after ``lifetime`` seconds (or when its ``with`` block ends). The behaviours here are what a
server the controller does not control may do: redirect, send endless or inflating bodies,
trickle a reply, echo the Authorization header, complete NTLM and then reply in cleartext,
break HTTP. Valid WS-Management replies come
from the test endpoint's own builder (tests/support/winrm_endpoint/wsman.py).

    with HostileServer(redirect("http://localhost:1/wsman")) as server:
        ...  # server.url, server.requests
"""

from __future__ import annotations

import base64
import gzip
import os
import socketserver
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import spnego
from winrm_endpoint import wsman
from winrm_endpoint.scenario import WMI_NAME_BY_KEY

Output = Iterable["bytes | float"]
Behaviour = Callable[["Exchange"], Output]
STATS = "MSiSCSI_MMIPSECStats"
SOAP = "application/soap+xml;charset=UTF-8"
BOOT_TIME = datetime(2026, 11, 20, 7, 12, 3, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Exchange:
    """One request as the server read it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    state: dict[str, Any]  # kept for the connection's next request (an NTLM context)

    @property
    def authorization(self) -> str:
        return next((v for k, v in self.headers.items() if k.lower() == "authorization"), "")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: HostileServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.owner = owner


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        owner = self.server.owner
        self.connection.settimeout(owner.lifetime)
        state: dict[str, Any] = {}
        try:
            while not owner.stopped.is_set():
                exchange = self._read(state)
                if exchange is None:
                    return
                owner.requests.append(exchange)
                for piece in owner.behaviour(exchange):
                    if owner.stopped.is_set():
                        return
                    if isinstance(piece, float):
                        owner.stopped.wait(piece)
                    else:
                        self.wfile.write(piece)
                        self.wfile.flush()
                if not owner.keep_alive:
                    return
        except OSError:
            return  # the client went away: what a hostile server expects

    def _read(self, state: dict[str, Any]) -> Exchange | None:
        line = self.rfile.readline(65537)
        if not line.strip():
            return None
        method, path = (line.decode("latin-1").split() + ["", ""])[:2]
        headers: dict[str, str] = {}
        while True:
            header = self.rfile.readline(65537).decode("latin-1")
            if header in ("\r\n", "\n", ""):
                break
            name, dummy, value = header.partition(":")
            headers[name.strip()] = value.strip()
        length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), 0))
        return Exchange(method, path, headers, self.rfile.read(length) if length else b"",
                        state)


class HostileServer:
    """An HTTP server on 127.0.0.1:<ephemeral> answering with ``behaviour``.

    Attributes:
        port: The port it listens on.
        url: ``http://127.0.0.1:<port>/wsman``.
        requests: Every request received, in order.
    """

    def __init__(self, behaviour: Behaviour, lifetime: float = 120.0,
                 keep_alive: bool = False) -> None:
        self.behaviour = behaviour
        self.lifetime = lifetime
        self.keep_alive = keep_alive
        self.requests: list[Exchange] = []
        self.stopped = threading.Event()
        self._server = _Server(self)
        self.port: int = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/wsman"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={
            "poll_interval": 0.1}, name=f"hostile-http-{self.port}", daemon=True)
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True

    def __enter__(self) -> HostileServer:
        self._thread.start()
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving (idempotent); handlers see ``stopped`` and end their loops."""
        if self.stopped.is_set():
            return
        self.stopped.set()
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()


# --- Building blocks ------------------------------------------------------------------------
def head(status: int, headers: dict[str, str] | None = None, close: bool = True) -> bytes:
    lines = [f"HTTP/1.1 {status} Hostile"] + (["Connection: close"] if close else [])
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def whole(status: int, body: bytes, headers: dict[str, str] | None = None,
          close: bool = True) -> bytes:
    return head(status, {"Content-Length": str(len(body)), **(headers or {})}, close) + body


def wsman_reply(exchange: Exchange, counter_text: str | None = None) -> bytes:
    """A valid EnumerateResponse for the class the request names (one instance)."""
    request = wsman.parse_request(exchange.body)
    if request.resource_uri.endswith(STATS):
        props: dict[str, Any] = {name: 0 for name in WMI_NAME_BY_KEY.values()}
        props.update({"InstanceName": "ROOT\\ISCSIPRT\\0000_0", "Active": True})
        if counter_text is not None:
            props[WMI_NAME_BY_KEY["oakley_main_mode"]] = counter_text
        node = wsman.instance_node("root/wmi", STATS, props)
    else:
        node = wsman.instance_node("root/cimv2", "Win32_OperatingSystem",
                                   {"LastBootUpTime": BOOT_TIME, "CSName": "HOSTILE"})
    return wsman.enumerate_response(request.message_id, "uuid:ctx", [node], True,
                                    request.optimize)


# --- Behaviours -----------------------------------------------------------------------------
def valid(counter_text: str | None = None) -> Behaviour:
    """A well-behaved WinRM service (Basic, no checks), optionally with one odd counter."""
    def answer(exchange: Exchange) -> Output:
        yield whole(200, wsman_reply(exchange, counter_text), {"Content-Type": SOAP})
    return answer


def redirect(location: str, status: int = 307) -> Behaviour:
    def answer(exchange: Exchange) -> Output:
        yield whole(status, b"", {"Location": location})
    return answer


def endless(status: int, headers: dict[str, str] | None = None) -> Behaviour:
    """A chunked body that never ends (until the client leaves or the server stops)."""
    def answer(exchange: Exchange) -> Iterator[bytes]:
        yield head(status, {"Transfer-Encoding": "chunked", **(headers or {})})
        chunk = b"1000\r\n" + b"x" * 4096 + b"\r\n"
        while True:
            yield chunk
    return answer


_BOMB: list[bytes] = []


def gzip_bomb(inflated: int = 64 * 1024 * 1024) -> Behaviour:
    """A small gzip body that inflates to ``inflated`` bytes."""
    def answer(exchange: Exchange) -> Output:
        if not _BOMB:
            _BOMB.append(gzip.compress(b"\0" * inflated, compresslevel=9))
        yield whole(200, _BOMB[0], {"Content-Type": SOAP, "Content-Encoding": "gzip"})
    return answer


def trickle(interval: float) -> Behaviour:
    """A valid reply, one byte every ``interval`` seconds."""
    def answer(exchange: Exchange) -> Output:
        reply = whole(200, wsman_reply(exchange), {"Content-Type": SOAP})
        split = reply.index(b"\r\n\r\n") + 4
        yield reply[:split]
        for index in range(split, len(reply)):
            yield reply[index:index + 1]
            yield interval
    return answer


def echo_authorization(code: int = 0x80070057) -> Behaviour:
    """A fault whose text is the request's Authorization header; NTLM/Negotiate challenged.

    0x80338000 makes it a class-not-found outcome: the echo lands in the fact's message.
    """
    def answer(exchange: Exchange) -> Output:
        auth = exchange.authorization
        scheme, dummy, token = auth.partition(" ")
        if not auth:
            yield whole(401, b"", {"WWW-Authenticate": "Negotiate"})
            return
        if scheme.lower() in ("negotiate", "ntlm"):
            raw = base64.b64decode(token)
            if raw[8:9] == b"\x01":  # an NTLM NEGOTIATE_MESSAGE: answer a challenge
                challenge = _ntlm_acceptor().step(raw) or b""
                value = f"{scheme} {base64.b64encode(challenge).decode()}"
                yield whole(401, b"", {"WWW-Authenticate": value})
                return
        fault = wsman.WsmanFault("s:Sender", "w:InvalidParameter",
                                 f"The header was: Authorization: {auth}", code)
        request = wsman.parse_request(exchange.body)
        yield whole(500, wsman.fault_response(fault, request.message_id, "hostile"),
                    {"Content-Type": SOAP})
    return answer


def _ntlm_acceptor(user: str = "nobody", password: str = "unused") -> Any:
    """pyspnego's NTLM acceptor, knowing ``user``'s password (it reads NTLM_USER_FILE).

    The variable is process-wide: the lines of a file it already names are kept.
    """
    line = f":{user}:{password}"
    previous = os.environ.get("NTLM_USER_FILE")
    lines = [line]
    if previous and os.path.isfile(previous):
        with open(previous, encoding="utf-8") as users:
            known = users.read().splitlines()
        if line in known:
            return spnego.server(protocol="ntlm")
        lines += known
    handle, path = tempfile.mkstemp(prefix="hostile-ntlm-users-")
    with os.fdopen(handle, "w", encoding="utf-8") as users:
        users.write("\n".join(lines) + "\n")
    os.environ["NTLM_USER_FILE"] = path
    return spnego.server(protocol="ntlm")


def ntlm_then_cleartext(user: str, password: str, content_type: str | None = SOAP,
                        ) -> Behaviour:
    """Completes NTLM (so the client turns message encryption on), then replies in clear.

    Serve it with ``keep_alive=True``: the NTLM context lives on the connection.
    """
    def answer(exchange: Exchange) -> Output:
        scheme, dummy, token = exchange.authorization.partition(" ")
        context = exchange.state.get("ntlm")
        if scheme.lower() in ("negotiate", "ntlm") and token:
            if context is None or context.complete:
                context = exchange.state["ntlm"] = _ntlm_acceptor(user, password)
            out = context.step(base64.b64decode(token))
            if not context.complete:
                value = f"{scheme} {base64.b64encode(out or b'').decode()}"
                yield whole(401, b"", {"WWW-Authenticate": value}, close=False)
                return
        if context is None or not context.complete:
            yield whole(401, b"", {"WWW-Authenticate": "Negotiate"}, close=False)
            return
        if not exchange.body:  # the POST that primes message encryption
            yield whole(200, b"", close=False)
            return
        body = b"<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'/>"
        yield whole(200, body, {"Content-Type": content_type} if content_type else {},
                    close=False)
    return answer


def garbage_status_line() -> Behaviour:
    def answer(exchange: Exchange) -> Output:
        yield b"HELLO THERE, THIS IS NOT HTTP\r\n\r\n"
    return answer


def many_headers(count: int = 150) -> Behaviour:
    def answer(exchange: Exchange) -> Output:
        extra = {f"X-Hostile-{index}": "x" for index in range(count)}
        yield whole(200, wsman_reply(exchange), {"Content-Type": SOAP, **extra})
    return answer


def cleartext(content_type: str | None = SOAP) -> Behaviour:
    """A plain SOAP reply, whatever was asked (after encryption was negotiated, say)."""
    def answer(exchange: Exchange) -> Output:
        body = b"<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'/>"
        yield whole(200, body, {"Content-Type": content_type} if content_type else {})
    return answer
