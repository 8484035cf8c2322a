# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Nagios plugin semantics: statuses, exit codes, and threshold ranges.

Internal to the winiscsi.ipsec collection: not a public API, may change without notice.

The syntax is the one of the Monitoring Plugins Development Guidelines, section "Threshold and
Ranges" (https://www.monitoring-plugins.org/doc/guidelines.html#THRESHOLDFORMAT):

=========  ==========================================================
``10``     alert when the value is outside 0..10 (below 0 or above 10)
``10:``    alert when the value is below 10 (outside 10..+infinity)
``~:10``   alert when the value is above 10 (outside -infinity..10)
``10:20``  alert when the value is outside 10..20
``@10:20`` alert when the value is inside 10..20 (ends included)
=========  ==========================================================

Bounds may be negative or decimal. Integral bounds stay Python ints so that uint64 counter
values compare exactly (Python compares int with float exactly too, never through a rounding).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Literal, NamedTuple, Union

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import (
    MAX_INT_DIGITS,
    int_digits,
    safe_repr,
)

Number = Union[int, float]
Status = Literal["ok", "warning", "critical", "unknown"]

# Guidelines, "Plugin Return Codes": the exit code a plugin returns for each status.
STATUSES: tuple[Status, ...] = ("ok", "warning", "critical", "unknown")
EXIT_CODES: Mapping[str, int] = MappingProxyType(
    {"ok": 0, "warning": 1, "critical": 2, "unknown": 3})
# Which status is worse: CRITICAL > UNKNOWN > WARNING > OK, the order of max_state_alt() in the
# Monitoring Plugins (lib/utils_base.c). Unknown outranks warning so that a check that could not
# be judged is never hidden behind a warning (fail closed).
SEVERITY: Mapping[str, int] = MappingProxyType(
    {"ok": 0, "warning": 1, "unknown": 2, "critical": 3})


def worst(statuses: Iterable[str]) -> Status:
    """The worst of some statuses (CRITICAL > UNKNOWN > WARNING > OK); ``ok`` for none."""
    found: Status = "ok"
    for status in statuses:
        if SEVERITY[status] > SEVERITY[found]:
            found = status  # type: ignore[assignment]  # a key of SEVERITY is a Status
    return found


_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_RANGE = re.compile(rf"^(@)?(?:(~|{_NUMBER})?:)?({_NUMBER})?$")


class RangeError(ValueError):
    """A threshold is not a valid Nagios range.

    Attributes:
        text: The offending threshold (as given).
        problem: What is wrong with it.
    """

    def __init__(self, text: object, problem: str) -> None:
        self.text = text
        self.problem = problem
        super().__init__(str(self))

    def __str__(self) -> str:
        return (f"{safe_repr(self.text)} ({type(self.text).__name__}) is not a Nagios range: "
                f"{self.problem}")


class NagiosRange(NamedTuple):
    """One parsed range. ``None`` bounds are infinite."""

    text: str
    start: Number | None
    end: Number | None
    inside: bool

    def alerts(self, value: Number) -> bool:
        """True when ``value`` raises this level's alert."""
        within = (self.start is None or value >= self.start) and (
            self.end is None or value <= self.end)
        return within if self.inside else not within


def _number(text: str) -> Number:
    # Integral text stays an int: float("18446744073709551615") would round to 2**64.
    if "." in text:
        return float(text)
    return int(text)


def parse_range(value: object) -> NagiosRange:
    """Parse a Nagios range.

    Args:
        value: The range as a string; an int or float (what YAML makes of ``10`` or ``0.5``)
            is read as its decimal text.

    Returns:
        The parsed range; its ``text`` is the normalised string form.

    Raises:
        RangeError: The value is not a string or number, or not valid range syntax, or its
            start is above its end.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise RangeError(value, "expected a string such as '10', '10:', '~:10', '10:20' or "
                                "'@10:20'")
    too_long = RangeError(value, f"expected numbers of at most {MAX_INT_DIGITS} digits")
    if isinstance(value, int) and int_digits(value) > MAX_INT_DIGITS:
        raise too_long
    text = str(value).strip()
    match = _RANGE.match(text)
    if not text or match is None or text in ("@", ":", "@:"):
        raise RangeError(value, "expected [@]start:end, where start is a number or '~' "
                                "(negative infinity) and may be left out (0), and end is a "
                                "number or left out (positive infinity)")
    inside, start_text, end_text = match.groups()
    # int() refuses to read more digits than Python's limit; float() would make infinity.
    if any(len(part) > MAX_INT_DIGITS for part in (start_text or "", end_text or "")):
        raise too_long
    has_colon = ":" in text
    if not has_colon:
        start: Number | None = 0
    elif start_text is None:
        start = 0
    elif start_text == "~":
        start = None
    else:
        start = _number(start_text)
    end = _number(end_text) if end_text is not None else None
    if start is not None and end is not None and start > end:
        raise RangeError(value, f"its start {start} is above its end {end}")
    return NagiosRange(text, start, end, inside is not None)
