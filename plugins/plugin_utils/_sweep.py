# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fleet sweep: many hosts read concurrently from the controller, each judged.

Internal to the winiscsi.ipsec collection: not a public API, may change without notice.

What the ``mmipsec_fleet_facts`` action plugin (the health_check role's ``fleet`` strategy)
does besides reading one host: :func:`read_concurrently` runs the reads in a bounded thread
pool and keeps every host, in the order given; :func:`stored_baseline` finds a post-check's
baseline and :func:`vet_baseline` vets it (for the role's ``post.yml`` too, through the
``mmipsec_stored_baseline`` filter); :func:`judge_host` turns one host's read into its verdict,
``unknown`` for a host that could not be read (as the role's ``unreachable.yml`` judges it,
with :func:`_verdict.unread_verdict`) or judged.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._fleet import safe_file_name
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
# A baseline file holds one snapshot, its window and its verdict: a few tens of KiB. A file
# far larger is not one of ours and is not read whole.
MAX_BASELINE_BYTES = 4 * 1024 * 1024
BASELINE_FORMAT = "1"
FACT_CACHE = "the fact cache (ansible_facts.health_check_baseline)"

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


def _read_file(path: str) -> tuple[bytes | None, str | None]:
    """The bytes of a baseline file, or why it cannot be read (vet_baseline parses them)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BASELINE_BYTES + 1)
    except OSError as e:
        return None, f"cannot read the baseline: {e}"
    if len(raw) > MAX_BASELINE_BYTES:
        return None, (f"baseline file {path} is larger than {MAX_BASELINE_BYTES} bytes: not a "
                      "baseline this role wrote")
    return raw, None


def _vetted(baseline: dict[str, Any] | None, state: str, problem: str | None = None,
            warning: str | None = None) -> dict[str, Any]:
    return {"baseline": baseline, "state": state, "problem": problem, "warning": warning}


def vet_baseline(host: Any, text: Any, path: Any, cached: Any, require: Any,
                 cached_in: Any = FACT_CACHE) -> dict[str, Any]:
    """Vet a post-check's stored baseline: the one place that decides whether it is usable.

    The baseline file's text comes first (the caller read it: the role with a lookup, the fleet
    sweep with :func:`_read_file`), else the cached baseline. A baseline is used only when it is
    this host's and of format 1, with a snapshot; anything else fails the host, whatever
    ``require`` says. The texts are the role's (the messages of the post-check); the role puts
    ``post-check failed on <host>: `` before every problem but ``not_json``'s.

    Args:
        host: The inventory host name.
        text: The text (or bytes) of the host's baseline file, or None when there is no file.
        path: The file's path, named in the messages ("" when no directory is set).
        cached: The cached baseline (``ansible_facts.health_check_baseline``), or None.
        require: ``health_check_require_baseline``: no baseline at all is a problem when true,
            a warning when false.
        cached_in: Where ``cached`` comes from, as the messages name it.

    Returns:
        ``baseline`` (the usable baseline, or None); ``state``: ``usable``, ``missing`` (none
        found), ``unusable`` (not this host's, of another format, or without a snapshot) or
        ``not_json`` (the file is not JSON); ``problem`` (why the host fails, or None);
        ``warning`` (no baseline and none required, or None).

    Raises:
        InputError: An argument is not of its type (``text`` without a ``path`` too).
    """
    if not isinstance(host, str) or not host:
        raise InputError("input", "a non-empty host name string", host)
    if not isinstance(path, str):
        raise InputError("path", "the baseline file's path (a string, '' for none)", path)
    if text is not None and not (isinstance(text, (str, bytes)) and path):
        raise InputError("text", "the text of the file at path (a string, and a path), or null",
                         text)
    if not isinstance(require, bool):
        raise InputError("require", "true or false", require)
    if not isinstance(cached_in, str) or not cached_in:
        raise InputError("cached_in", "a non-empty string", cached_in)
    looked_in = FACT_CACHE + (f" and {path}" if path else "")
    if text is not None:
        try:
            found = json.loads(text)
        except (ValueError, RecursionError) as e:
            return _vetted(None, "not_json", (f"baseline file {path} is not valid JSON "
                                              f"(truncated or empty?): {e}"))
        found_in = path
    elif cached is not None:
        found, found_in = cached, cached_in
    elif require:
        return _vetted(None, "missing", problem=(
            f"no pre-check baseline found in {looked_in}; run the role with "
            "health_check_phase=pre first (with a persistent fact cache or "
            "health_check_baseline_dir when pre and post are separate runs)"))
    else:
        return _vetted(None, "missing", warning=(
            f"no pre-check baseline found in {looked_in}; judging the counters since the IPsec "
            "service started (health_check_require_baseline is false)"))
    if not isinstance(found, Mapping):
        unusable = ["it is not a JSON object"]
    else:
        unusable = []
        if found.get("host") != host:
            unusable.append(f"it was recorded for host {found.get('host', '(none)')}, "
                            f"not {host}")
        if str(found.get("format")) != BASELINE_FORMAT:
            unusable.append(f"its format is {found.get('format', '(none)')}, which this role "
                            "does not read (it reads format 1)")
        if not isinstance(found.get("snapshot"), Mapping):
            unusable.append("it has no snapshot")
    if unusable:
        return _vetted(None, "unusable", (f"the baseline in {found_in} is not usable: "
                                          f"{'; '.join(unusable)}; run the pre-check again"))
    return _vetted(dict(found), "usable")


def stored_baseline(host: str, cached: Any, baseline_dir: str,
                    require: bool) -> tuple[dict[str, Any] | None, str | None, str | None]:
    """A post-check's baseline for one host, as the role's post.yml finds and vets it.

    The file in ``baseline_dir`` first (when set and the file exists), else the fact cache;
    :func:`vet_baseline` vets it, as for the role.

    Args:
        host: The inventory host name.
        cached: ``ansible_facts.health_check_baseline`` of the host, or None.
        baseline_dir: ``health_check_baseline_dir`` ("" for none).
        require: ``health_check_require_baseline``.

    Returns:
        (the stored baseline or None, a problem that fails the host or None, a warning or None)
    """
    path = os.path.join(baseline_dir, safe_file_name(host)) if baseline_dir else ""
    text = None
    if path and os.path.isfile(path):
        text, problem = _read_file(path)
        if problem:
            return None, problem, None
    vetted = vet_baseline(host, text, path, cached, require)
    return vetted["baseline"], vetted["problem"], vetted["warning"]


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


def baseline_record(host: str, judged: Mapping[str, Any]) -> dict[str, Any]:
    """The baseline a pre-check keeps, in the shape (format 1) the role's pre.yml gives it.

    Args:
        host: The inventory host name.
        judged: What :func:`judge_host` returned for the host (it was read).
    """
    snapshot = judged["mmipsec"]
    return {"format": 1, "host": host, "recorded_at": snapshot["collected_at"],
            "snapshot": snapshot, "quick_mode_snapshot": judged["qmipsec"] or {},
            "window": judged["window"], "verdict": judged["verdict"]}


def failed_hosts(judged: Mapping[str, Mapping[str, Any]]) -> Sequence[str]:
    """The hosts whose verdict fails the gate, in order."""
    return [name for name, one in judged.items() if not one["verdict"]["passed"]]


__all__ = ["MAX_WORKERS", "baseline_record", "failed_hosts", "judge_host", "read_concurrently",
           "stored_baseline", "unknown_verdict", "vet_baseline"]
