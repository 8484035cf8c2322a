# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Baselines: what a pre-check keeps, and how a post-check finds and vets it.

Internal to the winiscsi.ipsec collection: not a public API, may change without notice.

:func:`vet_baseline` is the one place that decides whether a stored baseline is usable: the
health_check role's ``post.yml`` calls it through the ``mmipsec_stored_baseline`` filter, the
fleet sweep through :func:`stored_baseline`, which reads the file first. :func:`baseline_record`
is the record a fleet pre-check keeps (the shape of the role's ``pre.yml``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._fleet import safe_file_name

# A baseline file holds one snapshot, its window and its verdict: a few tens of KiB. A file
# far larger is not one of ours and is not read whole.
MAX_BASELINE_BYTES = 4 * 1024 * 1024
BASELINE_FORMAT = "1"
FACT_CACHE = "the fact cache (ansible_facts.health_check_baseline)"


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


__all__ = ["BASELINE_FORMAT", "FACT_CACHE", "MAX_BASELINE_BYTES", "baseline_record",
           "stored_baseline", "vet_baseline"]
