# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fleet sweep: many hosts read concurrently from the controller, each judged.

Internal to the winiscsi.ipsec collection: not a public API, may change without notice.

What the ``mmipsec_fleet_facts`` action plugin (the health_check role's ``fleet`` strategy)
does besides reading one host: :func:`read_concurrently` runs the reads in a bounded thread
pool and keeps every host, in the order given; :func:`judge_host` turns one host's read into
its verdict, ``unknown`` for a host that could not be read (as the role's ``unreachable.yml``
judges it, with :func:`_verdict.unread_verdict`) or judged. Stored baselines: ``_baseline``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._policy import resolve_thresholds
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._verdict import (
    build_verdict,
    check_fail_on,
    judge_window,
    unread_verdict,
    verdict,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._window import delta

MAX_WORKERS = 256

Read = Callable[[], dict[str, Any]]
"""Reads one host and returns a task result (``ansible_facts``, or ``failed``/``unreachable``
with ``msg``); see ``_wsman_read.read_host``."""


def read_concurrently(reads: Mapping[str, Read], workers: int) -> dict[str, dict[str, Any]]:
    """Run every read, at most ``workers`` at a time; every host gets a result.

    A read that raises (it should not: ``read_host`` maps every WS-Man and Kerberos error)
    becomes a failed result naming the error, so no host is ever dropped.

    Args:
        reads: Host name -> its read.
        workers: Threads in the pool (1 to :data:`MAX_WORKERS`); each read's own timeouts
            bound how long it holds one.

    Returns:
        Host name -> result, in the order of ``reads``.
    """
    names = list(reads)
    if not names:
        return {}
    size = max(1, min(workers, MAX_WORKERS, len(names)))
    with ThreadPoolExecutor(max_workers=size, thread_name_prefix="mmipsec-fleet") as pool:
        futures = {name: pool.submit(reads[name]) for name in names}
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        try:
            results[name] = futures[name].result()
        except Exception as e:  # noqa: BLE001 - a host is reported, never dropped
            results[name] = {"failed": True,
                             "msg": f"reading {name} failed: {type(e).__name__}: {e}"}
    return results


def unknown_verdict(problem: str, thresholds: Any) -> dict[str, Any]:
    """The verdict of a host that was read but could not be judged: unknown, failing every gate.

    Every check is unknown with the reason ``DataUnavailable`` and ``no data: <problem>``;
    ``passed`` is false whatever ``allow_unknown`` says, as a host without any verdict counts
    in a fleet summary. A host that was not read gets :func:`_verdict.unread_verdict` instead
    (see :func:`judge_host`).
    """
    # judge_window says "no data: <reason>" in every check.
    window = {"available": False, "reason": problem, "window_seconds": None,
              "reset_detected": False}
    return build_verdict(window, judge_window(window, resolve_thresholds(thresholds)),
                         check_fail_on("critical"), False)


def judge_host(read: Mapping[str, Any], first: Mapping[str, Any] | None,
               baseline: Mapping[str, Any] | None, problem: str | None,
               thresholds: Any, fail_on: Any, allow_unknown: bool) -> dict[str, Any]:
    """One host's facts after a sweep, the same the role sets in the ``host`` strategy.

    Args:
        read: The host's (last) read result.
        first: The first sample (``{"mmipsec": ..., "qmipsec": ...}``, as the filters take
            both classes), when a sample window was read.
        baseline: What to judge against, in the same form (the first sample, or the
            post-check's stored baseline), or None for lifetime values.
        problem: Why the host cannot be judged (a stored baseline that is not usable), or None.
        thresholds: ``health_check_thresholds``.
        fail_on: ``health_check_fail_on``.
        allow_unknown: ``health_check_allow_unavailable``.

    Returns:
        ``verdict``; ``mmipsec`` and ``qmipsec`` (the newest snapshots, None when not read;
        ``qmipsec`` is {} on a host without the quick-mode class); ``window`` (the
        sample window's delta, None without one); ``msg`` (why the host was not read or
        judged, None when it was).
    """
    facts = read.get("ansible_facts", {})
    snapshot = facts.get("mmipsec")
    if snapshot is None:
        # As the host strategy judges a host it cannot read: one check, reachable, with the
        # reason (Unreachable for a refused connection or a timeout, else ReadFailed).
        why = str(read.get("msg") or "no result")
        return {"verdict": unread_verdict(why, bool(read.get("unreachable"))), "mmipsec": None,
                "qmipsec": None, "window": None, "msg": f"not read: {why}"}
    # Both classes, as the filters take them; a host without the quick-mode class has {}.
    current = {"mmipsec": snapshot, "qmipsec": facts.get("qmipsec") or {}}
    window = None
    if first is not None and first["mmipsec"].get("available") and snapshot.get("available"):
        window = delta(current, first)
    one = {"mmipsec": snapshot, "qmipsec": current["qmipsec"], "window": window, "msg": problem}
    if problem is not None:
        return {"verdict": unknown_verdict(problem, thresholds), **one}
    return {"verdict": verdict(current, baseline, thresholds, fail_on, allow_unknown), **one}


def failed_hosts(judged: Mapping[str, Mapping[str, Any]]) -> Sequence[str]:
    """The hosts whose verdict fails the gate, in order."""
    return [name for name, one in judged.items() if not one["verdict"]["passed"]]


__all__ = ["MAX_WORKERS", "failed_hosts", "judge_host", "read_concurrently", "unknown_verdict"]
