# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP replies from a server the controller does not control: bounds and refusals.

Internal to the winiscsi.ipsec collection: not a public API, may change without notice.

:class:`BoundedAdapter` is mounted on the requests session that pywinrm builds, so every
body read through it, the 401 challenges an authentication handler reads included, stops at
a byte bound (decompressed bytes counted) and at the exchange's deadline.
:func:`refuse_redirect` and :func:`refuse_cleartext` refuse what WinRM never sends: a
redirect, a cleartext reply once message encryption is on.
The exceptions here are internal; ``_wsman_transport`` turns them into the collection's errors.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

try:
    import requests
    from requests.adapters import HTTPAdapter
except ImportError:  # pragma: no cover - requests comes with pywinrm, which via=wsman requires
    # Lets the file import where pywinrm is absent (ansible-test's import test; via=module):
    # _wsman_transport refuses via=wsman there before anything here runs.
    HTTPAdapter = object  # type: ignore[assignment,misc]  # a stand-in base class

# What an encrypted WinRM reply is (MS-WSMV 2.2.9.1): a multipart body of the auth protocol.
_ENCRYPTED_TYPES = ("multipart/encrypted", "multipart/x-multi-encrypted")
_CHUNK_BYTES = 65536


class TooLarge(Exception):
    """The reply passed the byte bound after ``size`` bytes (or declared as much)."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


class Redirected(Exception):
    """The server answered with a redirect (3xx); WinRM never redirects."""

    def __init__(self, status: int, location: str | None) -> None:
        super().__init__(status, location)
        self.status = status
        self.location = location


class Deadline(Exception):
    """The exchange was still reading a reply when its deadline passed."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


class Unusable(Exception):
    """The server broke the protocol; ``problem`` says how, in words for the user."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class Budget:
    """What one exchange may still read: bytes per reply, and time until a deadline.

    Attributes:
        max_bytes: The bound on one reply's (decompressed) body.
        seconds: The time one exchange may take, authentication legs included.
        deadline: ``time.monotonic()`` value after which reading stops.
    """

    def __init__(self, max_bytes: int, seconds: float) -> None:
        self.max_bytes = max_bytes
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds


class _BoundedStream:
    """Replaces one urllib3 response's ``stream()``: stops at the byte bound and the deadline.

    The response object stays urllib3's own (requests_ntlm reads the TLS certificate for
    channel binding off it). A read blocks until its bytes arrive, whatever the per-read
    timeout, so a server that trickles a byte at a time is stopped by a timer that shuts the
    socket down.
    """

    def __init__(self, raw: Any, budget: Budget) -> None:
        self._raw = raw
        self._stream = raw.stream
        self._budget = budget

    def _cut(self, expired: threading.Event) -> None:
        expired.set()
        # The response's socket through its public fileno(): a duplicate descriptor shuts the
        # one connection down, and the blocked read returns.
        with contextlib.suppress(OSError, ValueError):
            fd = self._raw.fileno()
            with socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM) as duplicate:
                duplicate.shutdown(socket.SHUT_RDWR)

    def __call__(self, amt: int | None = _CHUNK_BYTES, decode_content: bool | None = None,
                 ) -> Iterator[bytes]:
        budget = self._budget
        declared = str(self._raw.headers.get("Content-Length", ""))
        if declared.strip().isdigit() and int(declared) > budget.max_bytes:
            raise TooLarge(int(declared))
        expired = threading.Event()
        timer = threading.Timer(max(budget.deadline - time.monotonic(), 0.0), self._cut,
                                (expired,))
        timer.daemon = True
        timer.start()
        size = 0
        try:
            # urllib3 (2.6 and later) inflates at most ``amt`` bytes per chunk.
            for chunk in self._stream(min(amt or _CHUNK_BYTES, _CHUNK_BYTES),
                                      decode_content=decode_content):
                size += len(chunk)
                if size > budget.max_bytes:
                    raise TooLarge(size)
                if expired.is_set():
                    raise Deadline(budget.seconds)
                yield chunk
        except (TooLarge, Deadline):
            raise
        except Exception:
            if expired.is_set():
                raise Deadline(budget.seconds) from None
            raise
        finally:
            timer.cancel()
        if expired.is_set():
            raise Deadline(budget.seconds)


class BoundedAdapter(HTTPAdapter):
    """requests' adapter, with every body it hands out read through :attr:`budget`."""

    def __init__(self, budget: Budget) -> None:
        super().__init__()
        self.budget = budget

    def build_response(self, req: Any, resp: Any) -> requests.Response:
        response = super().build_response(req, resp)
        # Each response carries the budget of the exchange it belongs to.
        setattr(response.raw, "stream", _BoundedStream(response.raw, self.budget))  # noqa: B010
        return response


def mount(session: requests.Session, budget: Budget) -> BoundedAdapter:
    """Route every request of ``session`` through one :class:`BoundedAdapter`."""
    adapter = session.adapters.get("https://")
    if isinstance(adapter, BoundedAdapter):
        adapter.budget = budget
        return adapter
    adapter = BoundedAdapter(budget)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return adapter


def refuse_redirect(response: requests.Response) -> None:
    """Refuse a 3xx status: WinRM never redirects, so no request follows one.

    Raises:
        Redirected: A 3xx status.
    """
    if 300 <= response.status_code < 400:
        raise Redirected(response.status_code, response.headers.get("Location"))


def refuse_cleartext(response: requests.Response) -> None:
    """Refuse a reply that is not encrypted, for a session whose messages are.

    Raises:
        Unusable: No Content-Type, or not an encrypted multipart body.
    """
    content_type = response.headers.get("Content-Type")
    if content_type is None:
        raise Unusable("the server's reply had no Content-Type, although message encryption "
                       "is on (an encrypted reply is multipart/encrypted)")
    if not content_type.strip().lower().startswith(_ENCRYPTED_TYPES):
        raise Unusable("the reply was not encrypted although message encryption is on "
                       f"(Content-Type {content_type[:200]!r}); a cleartext reply is refused")


def protocol_problem(root: BaseException) -> str | None:
    """What the server did wrong, when a connection error is a broken HTTP reply."""
    if isinstance(root, http.client.RemoteDisconnected):
        return None  # closed without a reply: a network matter
    if isinstance(root, http.client.BadStatusLine):
        return f"the server sent an invalid HTTP status line ({str(root).strip()[:200]!r})"
    if isinstance(root, http.client.LineTooLong):
        return f"the server sent an HTTP line longer than 65536 bytes ({root})"
    if isinstance(root, http.client.HTTPException) and "more than" in str(root):
        return "the server sent more than 100 headers (http.client's limit)"
    return None
