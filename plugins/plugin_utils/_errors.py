# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error type for input that is not what it should be, and how a value is shown.

Internal to the winiscsi.ipsec collection: not a public API, may change without notice.
"""

from __future__ import annotations

from typing import Any

_SHOWN_CHARS = 80


class _Missing:
    """Stands for a key that is not there at all (so ``None`` can still be a value)."""

    def __repr__(self) -> str:
        return "nothing (the key is missing)"


MISSING: Any = _Missing()


def describe(value: Any) -> str:
    """Show a value for an error message: its repr, shortened, and its type.

    Args:
        value: Anything; ``MISSING`` for a key that is absent.

    Returns:
        For example ``'abc' (str)``, or ``nothing (the key is missing)``.
    """
    if value is MISSING:
        return repr(value)
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a repr that fails must not hide the real error
        text = f"<{type(value).__name__} object>"
    if len(text) > _SHOWN_CHARS:
        text = text[: _SHOWN_CHARS - 3] + "..."
    return f"{text} ({type(value).__name__})"


class InputError(ValueError):
    """A value handed to the collection is not what it should be.

    The message always reads ``[host 'h': ]field: expected X, got <repr> (<type>)``.

    Attributes:
        field: Where the value is: an argument, a dotted path inside it, e.g.
            ``thresholds.cleartext_fallback.warning`` or ``instances[0].counters.send_failures``.
        expected: What the value should have been (valid choices or range).
        got: The offending value itself (``MISSING`` for an absent key).
        host: The inventory host the value belongs to, when known.
    """

    def __init__(self, field: str, expected: str, got: Any, host: str | None = None) -> None:
        self.field = field
        self.expected = expected
        self.got = got
        self.host = host
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"host {self.host!r}: " if self.host is not None else ""
        return f"{where}{self.field}: expected {self.expected}, got {describe(self.got)}"
