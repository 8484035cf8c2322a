# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error type for input that is not what it should be, and how a value is shown.

Internal to the winiscsi.ipsec collection: not a public API, may change without notice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Optional

_SHOWN_CHARS = 80
# Python refuses to turn an int of more digits into text (sys.set_int_max_str_digits), so such
# an int would fail every message that shows it: input never gets that far.
MAX_INT_DIGITS = 4300
# Every input of the collection is a few levels deep (a summary's rows' checks' counters):
# deeper input is refused before anything walks it recursively.
MAX_DEPTH = 64
# The fewest bits an int of more than MAX_INT_DIGITS digits can have (log2(10) < 3.33).
_LOG10_2 = math.log10(2)


class _Missing:
    """Stands for a key that is not there at all (so ``None`` can still be a value)."""

    def __repr__(self) -> str:
        return "nothing (the key is missing)"


MISSING: Any = _Missing()


def int_digits(value: int) -> int:
    """How many decimal digits an int has (its sign left out), without turning it into text."""
    value = abs(value)
    digits = int(value.bit_length() * _LOG10_2)  # the count, or one less
    return digits + 1 if value >= 10**digits else max(digits, 1)


def safe_repr(value: Any) -> str:
    """``repr(value)``, or a stand-in when repr fails (an int too long for text, deep nesting)."""
    if isinstance(value, int) and not isinstance(value, bool) and (
            value.bit_length() > MAX_INT_DIGITS * 3 and int_digits(value) > MAX_INT_DIGITS):
        return f"an integer of {int_digits(value)} digits"
    try:
        return repr(value)
    except Exception:  # noqa: BLE001 - a repr that fails must not hide the real error
        return f"<{type(value).__name__} object>"


def describe(value: Any) -> str:
    """Show a value for an error message: its repr, shortened, and its type.

    Args:
        value: Anything; ``MISSING`` for a key that is absent.

    Returns:
        For example ``'abc' (str)``, or ``nothing (the key is missing)``.
    """
    if value is MISSING:
        return repr(value)
    text = safe_repr(value)
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


# How a value sits in its parent, for the path of an error: at a list index, under a mapping key,
# or the mapping key itself.
_INDEX, _UNDER_KEY, _THE_KEY = 0, 1, 2
# (parent trail, index or key, one of the three) or None for the argument itself.
_Trail = Optional[tuple[Any, Any, int]]


def _path(field: str, trail: _Trail) -> str:
    """The field of a value found at ``trail``: ``input.rates.x``, ``input.hosts[0]``..."""
    steps = []
    while trail is not None:
        trail, where, how = trail
        steps.append((where, how))
    path = field
    for where, how in reversed(steps):
        if how == _INDEX:
            path += f"[{where}]"
        elif isinstance(where, str) and where.isidentifier():
            path += f".{where}"
        else:
            path += f"[{safe_repr(where)}]"
        if how == _THE_KEY:
            path += " (a key)"
    return path


def check_bounds(value: Any, field: str) -> None:
    """Refuse what no check of the collection should ever have to handle, anywhere in a value.

    That is nesting deeper than ``MAX_DEPTH`` (recursive code would hit Python's recursion
    limit), an int of more than ``MAX_INT_DIGITS`` digits (no message could show it) and a
    float NaN or infinity (no count, rate or window is one). The value is walked without
    recursion, mapping keys included.

    Args:
        value: A filter's argument, as given.
        field: Its name, which starts the error's field (a path such as ``input.rates.x``).

    Raises:
        InputError: For one offending value, naming its path.
    """
    stack: list[tuple[Any, int, _Trail]] = [(value, 0, None)]
    while stack:
        item, depth, trail = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                raise InputError(_path(field, trail), "a finite number", item)
        elif isinstance(item, int):
            if item.bit_length() > MAX_INT_DIGITS * 3 and int_digits(item) > MAX_INT_DIGITS:
                raise InputError(_path(field, trail),
                                 f"an integer of at most {MAX_INT_DIGITS} digits", item)
        elif isinstance(item, (Mapping, list, tuple)):
            if depth >= MAX_DEPTH:
                raise InputError(_path(field, trail), f"at most {MAX_DEPTH} levels of nesting",
                                 item)
            # Strings and None, most of any input, are never pushed.
            if isinstance(item, Mapping):
                for key, child in item.items():
                    if not isinstance(key, str):
                        stack.append((key, depth + 1, (trail, key, _THE_KEY)))
                    if child is not None and not isinstance(child, str):
                        stack.append((child, depth + 1, (trail, key, _UNDER_KEY)))
            else:
                for index, child in enumerate(item):
                    if child is not None and not isinstance(child, str):
                        stack.append((child, depth + 1, (trail, index, _INDEX)))
