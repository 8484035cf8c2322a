# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verdicts: each check of the policy judged on a window, the gate, the comparison of two, and
the verdicts of a failure no check saw and of a host that was not read.

Internal to the winiscsi.ipsec collection: not a public API, may change without notice.

The checks and their defaults are data in _policy.py; this file says how each kind of check
turns a window (_window.py) into a status, a value and a message, and how the checks make a
verdict. Unavailable or empty data gives ``unknown``, which fails a gate unless the caller
allows it (fail closed). The quick-mode checks judge the window's ``quick_mode``; a host
without the quick-mode class (or a caller that gave none) skips them: they are left out of the
verdict, neither unknown nor failed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Optional

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import (
    MISSING,
    InputError,
    check_bounds,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._nagios import (
    EXIT_CODES,
    STATUSES,
    Number,
    worst,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._policy import (
    CHECKS,
    DEFAULT_FAIL_ON,
    LEVELS,
    REASON_NO_ACTIVE_INSTANCE,
    REASON_NO_ACTIVITY_BEFORE,
    REASON_NO_ATTEMPTS,
    REASON_OK,
    REASON_RATE_WINDOW_UNKNOWN,
    REASON_UNAVAILABLE,
    REASON_WINDOW_NOT_POSITIVE,
    WINDOW_CHECKS,
    CheckSpec,
    Level,
    Ranges,
    Thresholds,
    resolve_thresholds,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._window import (
    QUICK_MODE,
    check_delta,
    check_facts,
    window_of,
)

MM_WINDOW_CHECKS: tuple[CheckSpec, ...] = tuple(c for c in WINDOW_CHECKS if not c.quick_mode)
QM_WINDOW_CHECKS: tuple[CheckSpec, ...] = tuple(c for c in WINDOW_CHECKS if c.quick_mode)

# Rank used by the gate: passed means every judged check ranks below fail_on.
GATE_RANK: Mapping[str, int] = MappingProxyType({"ok": 0, "warning": 1, "critical": 2})
# The check mmipsec_fail_verdict adds to a verdict it turns critical.
FAIL_CHECK_NAME = "rollout"
# The one check of the verdict of a host whose statistics could not be read (unread_verdict),
# and its reasons: no answer (refused, timed out), or an answer that was not the statistics.
UNREAD_CHECK_NAME = "reachable"
REASON_UNREACHABLE = "Unreachable"
REASON_READ_FAILED = "ReadFailed"


def check_fail_on(value: Any) -> Level:
    """Validate the ``fail_on`` argument.

    Raises:
        InputError: Not ``warning`` or ``critical``.
    """
    if not isinstance(value, str) or value not in LEVELS:
        raise InputError("fail_on", f"one of {list(LEVELS)}", value)
    return "warning" if value == "warning" else "critical"


def check_allow_unknown(value: Any) -> bool:
    """Validate the ``allow_unknown`` argument.

    Raises:
        InputError: Not a bool.
    """
    if not isinstance(value, bool):
        raise InputError("allow_unknown", "true or false", value)
    return value


def check_verdict(value: Any, field: str) -> Mapping[str, Any]:
    """Validate what a verdict must have for a summary or a report: status, passed, checks.

    Args:
        value: The verdict.
        field: Where it was given (``input``, ``input['web01']``), which starts the error's field.

    Returns:
        The verdict, unchanged.

    Raises:
        InputError: Naming the field that is wrong.
    """
    if not isinstance(value, Mapping):
        raise InputError(field, "a verdict (a mapping)", value)
    status = value.get("status", MISSING)
    if status not in STATUSES:
        raise InputError(f"{field}.status", f"one of {list(STATUSES)}", status)
    if not isinstance(value.get("passed"), bool):
        raise InputError(f"{field}.passed", "true or false", value.get("passed", MISSING))
    checks = value.get("checks", MISSING)
    if not isinstance(checks, list):
        raise InputError(f"{field}.checks", "a list", checks)
    for index, check in enumerate(checks):
        if (not isinstance(check, Mapping) or not isinstance(check.get("name"), str)
                or check.get("status") not in STATUSES):
            raise InputError(f"{field}.checks[{index}]", "a check with a name and a status",
                             check)
    return value


# --- one check ----------------------------------------------------------------------------------


def _fmt(number: Number) -> str:
    """A number for a message: integral values without a fraction, others to 3 digits."""
    if isinstance(number, int):
        return str(number)
    if number == int(number) and abs(number) < 1e15:
        return str(int(number))
    if abs(number) >= 100:
        return f"{number:.0f}"
    return f"{number:.3g}"


def _span(window: Mapping[str, Any]) -> str:
    """The time a window covers, for messages."""
    seconds = window["window_seconds"]
    if seconds is None:
        return "since the IPsec service started"
    text = f"in {_fmt(seconds)} s"
    if window["reset_detected"]:
        text += " (counters reset: counted from zero)"
    return text


def _result(spec: CheckSpec, ranges: Ranges, status: str, value: Optional[Number], reason: str,
            message: str) -> dict[str, Any]:
    """One entry of a verdict's ``checks``."""
    warning, critical = ranges
    return {
        "name": spec.name, "status": status, "counters": list(spec.counters), "value": value,
        "warning": warning.text if warning is not None else None,
        "critical": critical.text if critical is not None else None,
        "reason": reason, "message": message,
    }


def _judged(spec: CheckSpec, ranges: Ranges, value: Number, message: str) -> dict[str, Any]:
    """The result of a value judged against the ranges; critical is tested first."""
    warning, critical = ranges
    if critical is not None and critical.alerts(value):
        return _result(spec, ranges, "critical", value, spec.reason, message)
    if warning is not None and warning.alerts(value):
        return _result(spec, ranges, "warning", value, spec.reason, message)
    return _result(spec, ranges, "ok", value, REASON_OK, message)


def _count(spec: CheckSpec, ranges: Ranges, window: Mapping[str, Any], span: str,
           active: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    value = sum(window["counters"][key] for key in spec.counters)
    return _judged(spec, ranges, value, spec.message.format(value=value, span=span))


def _ratio(spec: CheckSpec, ranges: Ranges, window: Mapping[str, Any], span: str,
           active: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    # The first counter is the failures; the attempts are all of them added up.
    failures = window["counters"][spec.counters[0]]
    attempts = sum(window["counters"][key] for key in spec.counters)
    if attempts == 0:
        return _result(spec, ranges, "ok", None, REASON_NO_ATTEMPTS,
                       spec.idle_message.format(span=span))
    ratio = 100 * failures / attempts
    return _judged(spec, ranges, ratio, spec.message.format(
        value=_fmt(ratio), failures=failures, attempts=attempts, span=span))


def _rate(spec: CheckSpec, ranges: Ranges, window: Mapping[str, Any], span: str,
          active: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    events = sum(window["counters"][key] for key in spec.counters)
    rates = [window["rates"][key] for key in spec.counters]
    if None in rates:
        # Events, but no trustworthy window to divide by: say so, never pass silently.
        seconds = window["window_seconds"]
        if seconds is not None and seconds <= 0:
            return _result(spec, ranges, "unknown", None, REASON_WINDOW_NOT_POSITIVE,
                           f"{events} {spec.unit_noun} in a window of {_fmt(seconds)} s (the "
                           "clock went backwards?): the rate cannot be judged")
        return _result(spec, ranges, "unknown", None, REASON_RATE_WINDOW_UNKNOWN,
                       f"{events} {spec.unit_noun} {span}, but when counting started is "
                       "unknown: the rate cannot be judged")
    rate = sum(rates)
    over = window["rate_window_seconds"]
    where = f"over {_fmt(over)} s" if over is not None else span
    return _judged(spec, ranges, rate, spec.message.format(value=_fmt(rate), events=events,
                                                           where=where))


def _gauge(spec: CheckSpec, ranges: Ranges, window: Mapping[str, Any], span: str,
           active: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    # The largest current value over the active instances: summing gauges of several
    # instances would turn two idle active_acquire levels of 1 into a false backlog of 2.
    level, where = max(((instance["gauges"][key], instance["instance_name"])
                        for instance in active for key in spec.counters),
                       key=lambda pair: pair[0])
    return _judged(spec, ranges, level, spec.message.format(value=level, where=where))


_Evaluator = Callable[[CheckSpec, Ranges, Mapping[str, Any], str, Sequence[Mapping[str, Any]]],
                      dict[str, Any]]
# How each kind of window check is judged (the compare-only kind is judged by _activity).
_EVALUATORS: Mapping[str, _Evaluator] = MappingProxyType({
    "count": _count, "ratio": _ratio, "rate": _rate, "gauge": _gauge})


def _activity(spec: CheckSpec, ranges: Ranges, pre: Mapping[str, Any],
              post: Mapping[str, Any]) -> dict[str, Any]:
    """negotiation_activity_lost: SAs formed after the change, judged if some formed before."""
    if not pre["available"] or not post["available"]:
        side, reason = (("pre-change", pre["reason"]) if not pre["available"]
                        else ("post-change", post["reason"]))
        return _result(spec, ranges, "unknown", None, REASON_UNAVAILABLE,
                       f"no data for the {side} window: {reason}")
    before = sum(pre["counters"][key] for key in spec.counters)
    after = sum(post["counters"][key] for key in spec.counters)
    text = spec.message.format(value=after, span=_span(post), before=before,
                               before_span=_span(pre))
    if before == 0:
        return _result(spec, ranges, "ok", after, REASON_NO_ACTIVITY_BEFORE, text)
    return _judged(spec, ranges, after, text)


def _judge_class(window: Mapping[str, Any], specs: Sequence[CheckSpec],
                 thresholds: Thresholds) -> list[dict[str, Any]]:
    """Run the given checks, all of one class, on that class's window."""
    if not window["available"]:
        return [_result(spec, thresholds[spec.name], "unknown", None, REASON_UNAVAILABLE,
                        f"no data: {window['reason']}") for spec in specs]
    active = [i for i in window["instances"] if i["active"] and i["state"] != "vanished"]
    if not active:
        return [_result(spec, thresholds[spec.name], "unknown", None, REASON_NO_ACTIVE_INSTANCE,
                        "no data: no instance is active") for spec in specs]
    span = _span(window)
    return [_EVALUATORS[spec.kind](spec, thresholds[spec.name], window, span, active)
            for spec in specs]


def judge_window(window: Mapping[str, Any], thresholds: Thresholds) -> list[dict[str, Any]]:
    """Run every window check (all but the compare-only ones) on one window, in policy order.

    The main-mode checks always run. The quick-mode ones run on ``window['quick_mode']`` when
    it is there and available; otherwise the host has no quick-mode data and they are skipped.
    """
    checks = _judge_class(window, MM_WINDOW_CHECKS, thresholds)
    quick_mode = window.get(QUICK_MODE)
    if quick_mode is not None and quick_mode["available"]:
        checks += _judge_class(quick_mode, QM_WINDOW_CHECKS, thresholds)
    return checks


# --- the verdict --------------------------------------------------------------------------------


def passes_gate(checks: Iterable[Mapping[str, Any]], fail_on: Level, allow_unknown: bool) -> bool:
    """True when every check ranks below ``fail_on`` (an unknown one only if allowed)."""
    for check in checks:
        if check["status"] == "unknown":
            if not allow_unknown:
                return False
        elif GATE_RANK[check["status"]] >= GATE_RANK[fail_on]:
            return False
    return True


def build_verdict(window: Mapping[str, Any], checks: list[dict[str, Any]], fail_on: Level,
                  allow_unknown: bool) -> dict[str, Any]:
    """Assemble the verdict (see plugins/filter/mmipsec_verdict.yml) from judged checks."""
    status = worst(c["status"] for c in checks)
    if status == "ok":
        seconds = window["window_seconds"]
        scope = "lifetime values" if seconds is None else f"{_fmt(seconds)} s window"
        summary = f"OK: all {len(checks)} checks passed ({scope})"
    else:
        # dict.fromkeys drops repeats in order: unavailable data gives every check one message.
        summary = f"{status.upper()}: " + "; ".join(dict.fromkeys(
            c["message"] for c in checks if c["status"] == status))
    return {
        "status": status,
        "passed": passes_gate(checks, fail_on, allow_unknown),
        "exit_code": EXIT_CODES[status],
        "window_seconds": window["window_seconds"],
        "reset_detected": window["reset_detected"],
        "checks": checks,
        "summary": summary,
    }


def verdict(current: Any, baseline: Any = None, thresholds: Any = None,
            fail_on: Any = DEFAULT_FAIL_ON, allow_unknown: Any = False) -> dict[str, Any]:
    """The mmipsec_verdict filter: judge a snapshot, over a window when a baseline is given.

    Args:
        current: The snapshot to judge.
        baseline: An earlier snapshot of the same host, or None for lifetime values.
        thresholds: Per-check overrides (see :func:`resolve_thresholds`).
        fail_on: The status at which ``passed`` turns false (warning or critical).
        allow_unknown: Whether unknown checks pass the gate.

    Returns:
        The verdict.

    Raises:
        InputError: Any argument is malformed.
    """
    level = check_fail_on(fail_on)
    allow = check_allow_unknown(allow_unknown)
    ranges = resolve_thresholds(thresholds)
    now = check_facts(current, "input")
    window = window_of(now, None if baseline is None else check_facts(baseline, "baseline"))
    return build_verdict(window, judge_window(window, ranges), level, allow)


def healthy(current: Any, baseline: Any = None, thresholds: Any = None,
            fail_on: Any = DEFAULT_FAIL_ON, allow_unknown: Any = False) -> bool:
    """The mmipsec_healthy test: the verdict's ``passed``.

    Raises:
        InputError: Any argument is malformed.
    """
    return bool(verdict(current, baseline, thresholds, fail_on, allow_unknown)["passed"])


def _regression(check: Mapping[str, Any], pre_value: Any, pre_status: str) -> dict[str, Any]:
    return {
        "check": check["name"], "counters": list(check["counters"]), "pre": pre_value,
        "post": check["value"], "reason": check["reason"],
        "message": f"{check['name']} went from {pre_status.upper()} to "
                   f"{check['status'].upper()}: {check['message']}",
    }


def compare(pre_delta: Any, post_delta: Any, thresholds: Any = None,
            fail_on: Any = DEFAULT_FAIL_ON, allow_unknown: Any = False) -> dict[str, Any]:
    """The mmipsec_compare filter: judge the post-change window and list what got worse.

    A regression is a check whose status rank (ok < warning < critical) is higher after the
    change than before; a check unknown in either window is not compared (its unknown status
    already fails the gate unless allowed). A compare-only check (negotiation_activity_lost)
    that raises a level is a regression from ok.

    Args:
        pre_delta: The window before the change (an mmipsec_delta result).
        post_delta: The window after it.
        thresholds: Per-check overrides, for both windows.
        fail_on: The status at which ``passed`` turns false.
        allow_unknown: Whether unknown checks pass the gate.

    Returns:
        The verdict of the post-change window, with ``regressions``.

    Raises:
        InputError: Any argument is malformed.
    """
    level = check_fail_on(fail_on)
    allow = check_allow_unknown(allow_unknown)
    ranges = resolve_thresholds(thresholds)
    pre = check_delta(pre_delta, "input")
    post = check_delta(post_delta, "post_delta")
    before = {c["name"]: c for c in judge_window(pre, ranges)}
    checks = judge_window(post, ranges)
    regressions = []
    for check in checks:
        old = before.get(check["name"])
        # A quick-mode check the pre-change window skipped has nothing to compare with: its
        # own status still gates.
        if old is None or "unknown" in (old["status"], check["status"]):
            continue
        if GATE_RANK[check["status"]] > GATE_RANK[old["status"]]:
            regressions.append(_regression(check, old["value"], old["status"]))
    for spec in CHECKS:
        if spec.compare_only:
            check = _activity(spec, ranges[spec.name], pre, post)
            checks.append(check)
            if check["status"] in ("warning", "critical"):
                pre_value = sum(pre["counters"][key] for key in spec.counters)
                regressions.append(_regression(check, pre_value, "ok"))
    result = build_verdict(post, checks, level, allow)
    result["regressions"] = regressions
    return result


def fail_verdict(verdict: Any, reason: Any, message: Any,
                 check: Any = FAIL_CHECK_NAME) -> dict[str, Any]:
    """The mmipsec_fail_verdict filter: a verdict turned critical for a failure after a change.

    The rollout role reports a host whose change, or whose rollback, failed for a reason no
    check saw (a task error, a rollback) with the last verdict it has, turned critical.

    Args:
        verdict: The verdict to report.
        reason: A CamelCase reason code, for example ``RolledBack`` or ``ChangeFailed``.
        message: What failed, in one line.
        check: The name of the check that carries the failure (``rollout`` by default; the
            health_check role uses ``baseline`` when a baseline cannot be written).

    Returns:
        A copy of the verdict with status critical, passed false, its exit code, the summary
        ``CRITICAL: <message>`` and one more check, named ``check``, that carries the reason.

    Raises:
        InputError: The verdict has no status, passed or checks, or the reason, message or
            check is not a non-empty string.
    """
    check_bounds(verdict, "input")
    original = check_verdict(verdict, "input")
    if not isinstance(reason, str) or not reason:
        raise InputError("reason", "a reason code such as 'RolledBack' (a non-empty string)",
                         reason)
    if not isinstance(message, str) or not message:
        raise InputError("message", "a non-empty string", message)
    if not isinstance(check, str) or not check:
        raise InputError("check", "a check name (a non-empty string)", check)
    failure = _event_check(check, "critical", reason, message)
    return {
        **original,
        "status": "critical",
        "passed": False,
        "exit_code": EXIT_CODES["critical"],
        "summary": f"CRITICAL: {message}",
        "checks": [*original["checks"], failure],
    }


def unread_verdict(message: Any, unreachable: Any = True) -> dict[str, Any]:
    """The mmipsec_unread_verdict filter: the verdict of a host whose statistics were not read.

    Both strategies of the health_check role give it to such a host: ``unknown``, failing every
    gate (``passed`` is false whatever ``allow_unknown`` would say: an allowed unknown is a host
    that answered without the class, not one that was not read), with one check,
    ``reachable``, that carries the reason.

    Args:
        message: Why the host was not read, in one line (the read's ``msg``).
        unreachable: True when the host did not answer (a refused connection, a timeout): the
            reason ``Unreachable`` and the message ``unreachable: <message>``. False for a read
            that failed otherwise (credentials refused, a WS-Management fault): the reason
            ``ReadFailed`` and the message ``not read: <message>``.

    Returns:
        The verdict: status unknown, passed false, exit code 3, no window, the one check, and
        the summary ``UNKNOWN: <the check's message>``.

    Raises:
        InputError: The message is not a non-empty string, or unreachable not a bool.
    """
    if not isinstance(message, str) or not message:
        raise InputError("input", "why the host was not read (a non-empty string)", message)
    if not isinstance(unreachable, bool):
        raise InputError("unreachable", "true or false", unreachable)
    reason, text = ((REASON_UNREACHABLE, f"unreachable: {message}") if unreachable
                    else (REASON_READ_FAILED, f"not read: {message}"))
    no_window = {"window_seconds": None, "reset_detected": False}
    return build_verdict(no_window, [_event_check(UNREAD_CHECK_NAME, "unknown", reason, text)],
                         "critical", False)


def _event_check(name: str, status: str, reason: str, message: str) -> dict[str, Any]:
    """A check that no counter decides: an event (a failed change, a host not read)."""
    return {"name": name, "status": status, "counters": [], "value": None, "warning": None,
            "critical": None, "reason": reason, "message": message}
