# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What happened between two snapshots of one host: deltas, rates and gauges.

Internal to the winiscsi.ipsec collection: not a public API, may change without notice.

A window is the mapping the mmipsec_delta filter returns (plugins/filter/mmipsec_delta.yml
documents it, ``DELTA_KEYS`` lists its keys). A verdict judges one; mmipsec_compare receives two
back from a playbook and checks them with :func:`check_delta`.

* Cumulative counters are judged on their delta over a window (baseline -> current); gauges on
  their current value. Without a baseline, :func:`lifetime_delta` gives the values since the
  IPsec service started, in the same shape.
* A reset (any cumulative counter of an instance seen in both snapshots went down, or the boot
  time moved) makes every delta count from zero, as Prometheus ``increase()`` does.
* Rates divide by the time the deltas cover; when nobody knows how long that is, the rate of a
  counter that moved is None.
* The quick-mode class (``ansible_facts.qmipsec``) is windowed the same way, with its own keys;
  its window rides in the main-mode window under ``quick_mode`` when the caller gave both
  classes (a mapping with ``mmipsec`` and ``qmipsec``, such as ``ansible_facts``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Optional

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import (
    MM,
    QM,
    Schema,
    is_int,
    parse_utc_timestamp,
    to_plain,
    validate_snapshot,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import (
    MISSING,
    InputError,
    check_bounds,
)

InstanceState = Literal["matched", "appeared", "vanished"]

DELTA_KEYS: tuple[str, ...] = (
    "available", "reason", "collected_at", "baseline_collected_at", "window_seconds",
    "rate_window_seconds", "reset_detected", "reset_reasons", "counters", "rates", "gauges",
    "instances",
)
INSTANCE_DELTA_KEYS: tuple[str, ...] = (
    "instance_name", "state", "active", "window_seconds", "reset_detected", "counters", "rates",
    "gauges",
)
INSTANCE_STATES: tuple[InstanceState, ...] = ("matched", "appeared", "vanished")
# The optional key of a window that holds the quick-mode window.
QUICK_MODE = "quick_mode"

# LastBootUpTime is stored at a fixed moment, but clock corrections can move the value Windows
# reports by a second or so; a real reboot moves it by at least the time the reboot took.
BOOT_TIME_TOLERANCE_SECONDS = 5.0


def check_snapshot(value: Any, argument: str, schema: Schema = MM) -> Mapping[str, Any]:
    """Validate a snapshot argument; ``{}`` is accepted as "no data".

    Args:
        value: The snapshot (``ansible_facts.mmipsec``, or ``qmipsec`` with :data:`QM`).
        argument: The argument's name (``input``, ``baseline``), which starts the error's field.
        schema: The class of the snapshot.

    Returns:
        The snapshot, unchanged (Ansible's tagged int and str subclasses pass the schema).

    Raises:
        InputError: The value is not a snapshot.
    """
    if isinstance(value, Mapping) and len(value) == 0:
        return value
    return validate_snapshot(value, argument=argument, schema=schema)


def check_facts(value: Any, argument: str) -> tuple[Mapping[str, Any], Mapping[str, Any] | None]:
    """Validate a snapshot argument that may carry both classes.

    A filter's snapshot argument is either the main-mode snapshot alone
    (``ansible_facts.mmipsec``, as since 0.1.0) or a mapping holding it under ``mmipsec`` and
    the quick-mode one under ``qmipsec`` (``ansible_facts`` itself will do: its other keys are
    ignored). A snapshot never has a key ``mmipsec``, which tells the two apart.

    Args:
        value: The argument.
        argument: Its name, which starts the error's field.

    Returns:
        The main-mode snapshot and the quick-mode one (None when the caller gave none; ``{}``
        when the mapping has ``mmipsec`` but no ``qmipsec``, as no data).

    Raises:
        InputError: Either snapshot is malformed (``<argument>.mmipsec...`` or
            ``<argument>.qmipsec...``).
    """
    if not isinstance(value, Mapping) or MM.fact not in value:
        return check_snapshot(value, argument), None
    return (check_snapshot(value[MM.fact], f"{argument}.{MM.fact}"),
            check_snapshot(value.get(QM.fact, {}), f"{argument}.{QM.fact}", QM))


def has_data(snapshot: Mapping[str, Any]) -> bool:
    """True for a validated snapshot that is neither ``{}`` nor unavailable."""
    return bool(snapshot) and bool(snapshot["available"])


def _unavailable_reason(snapshot: Mapping[str, Any], argument: str) -> str:
    if not snapshot:
        return f"{argument} is empty (no facts gathered)"
    text = f"{argument} not available ({snapshot['reason']})"
    if snapshot["message"]:
        text += f": {snapshot['message']}"
    return text


def _seconds_between(later: str, earlier: str) -> float:
    return (parse_utc_timestamp(later) - parse_utc_timestamp(earlier)).total_seconds()


def _rates(counts: Mapping[str, int], window: Optional[float]) -> dict[str, Optional[float]]:
    # A counter that did not move has a zero rate over any window, even an empty one; one
    # that moved has none when the window is unknown, empty or negative.
    if window is not None and window > 0:
        return {key: value / window if value else 0.0 for key, value in counts.items()}
    return {key: None if value else 0.0 for key, value in counts.items()}


def _gauges(counters: Mapping[str, int], schema: Schema) -> dict[str, int]:
    return {key: counters[key] for key in schema.gauge_keys}


def _instance_delta(name: str, state: InstanceState, active: bool, window: Optional[float],
                    reset: bool, counts: Mapping[str, int], rates: Mapping[str, Optional[float]],
                    gauges: Mapping[str, int]) -> dict[str, Any]:
    """One entry of a window's ``instances``."""
    return {
        "instance_name": name, "state": state, "active": active, "window_seconds": window,
        "reset_detected": reset, "counters": dict(counts), "rates": dict(rates),
        "gauges": dict(gauges),
    }


def unavailable_delta(reason: str, current: Mapping[str, Any],
                      baseline: Mapping[str, Any]) -> dict[str, Any]:
    """The window of a pair where either side has no data."""
    return {
        "available": False, "reason": reason,
        "collected_at": current.get("collected_at"),
        "baseline_collected_at": baseline.get("collected_at"),
        "window_seconds": None, "rate_window_seconds": None, "reset_detected": False,
        "reset_reasons": [], "counters": {}, "rates": {}, "gauges": {}, "instances": [],
    }


def compute_delta(current: Mapping[str, Any], baseline: Mapping[str, Any],
                  schema: Schema = MM) -> dict[str, Any]:
    """Deltas, rates and gauges between two validated snapshots (see ``DELTA_KEYS``).

    Instances are matched by name, ignoring case (Windows instance names are). An instance
    only in ``current`` counts from zero and its start is unknown; one only in ``baseline`` is
    listed as vanished and adds nothing. Totals add the deltas of the instances active now.

    Args:
        current: The later snapshot, validated (or ``{}``).
        baseline: The earlier snapshot, validated (or ``{}``).
        schema: The class of both snapshots.

    Returns:
        The window; ``available`` false when either side has no data.
    """
    cumulative_keys = schema.cumulative_keys
    if not has_data(current):
        return unavailable_delta(_unavailable_reason(current, "current"), current, baseline)
    if not has_data(baseline):
        return unavailable_delta(_unavailable_reason(baseline, "baseline"), current, baseline)

    window = _seconds_between(current["collected_at"], baseline["collected_at"])
    reasons: list[str] = []
    boot_now, boot_then = current["boot_time"], baseline["boot_time"]
    boot_moved = (boot_now is not None and boot_then is not None and boot_now != boot_then
                  and abs(_seconds_between(boot_now, boot_then)) > BOOT_TIME_TOLERANCE_SECONDS)
    if boot_moved:
        reasons.append(f"boot_time changed from {boot_then} to {boot_now}")

    before = {i["instance_name"].lower(): i for i in baseline["instances"]}
    pairs: list[tuple[Mapping[str, Any], Optional[Mapping[str, Any]], dict[str, int]]] = []
    for instance in current["instances"]:
        old = before.pop(instance["instance_name"].lower(), None)
        now_c = instance["counters"]
        if old is None:
            counts = {key: now_c[key] for key in cumulative_keys}
        else:
            old_c = old["counters"]
            counts = {key: now_c[key] - old_c[key] for key in cumulative_keys}
            went_down = [key for key in cumulative_keys if counts[key] < 0]
            if went_down:
                key = went_down[0]
                reasons.append(f"{instance['instance_name']}: {key} went down from "
                               f"{old_c[key]} to {now_c[key]}")
        pairs.append((instance, old, counts))
    reset = bool(reasons)

    # The window the deltas really cover. After a reboot the counters restarted near boot
    # time; after a reset without a boot change (IPsec service restart) nobody knows when.
    rate_window: Optional[float] = window
    if reset:
        rate_window = None
        if boot_moved:
            since_boot = _seconds_between(current["collected_at"], boot_now)
            rate_window = min(max(since_boot, 0.0), window) if window > 0 else window

    totals = dict.fromkeys(cumulative_keys, 0)
    unknown_start: set[str] = set()
    instances: list[dict[str, Any]] = []
    for instance, old, counts in pairs:
        now_c = instance["counters"]
        if reset:
            # Every instance shares one IPsec service: a reset restarted all their counters.
            counts = {key: now_c[key] for key in cumulative_keys}
        # An instance that appeared started counting at a moment nobody knows, unless a
        # reboot restarted everything anyway.
        own_window = rate_window if (old is not None or boot_moved) else None
        if instance["active"]:
            for key, value in counts.items():
                totals[key] += value
                if value and own_window is None:
                    unknown_start.add(key)
        state: InstanceState = "matched" if old is not None else "appeared"
        instances.append(_instance_delta(instance["instance_name"], state, instance["active"],
                                         window, reset, counts, _rates(counts, own_window),
                                         _gauges(now_c, schema)))
    for old in before.values():
        instances.append(_instance_delta(old["instance_name"], "vanished", old["active"], window,
                                         reset, {}, {}, {}))

    rates = _rates(totals, rate_window)
    for key in unknown_start:
        rates[key] = None
    return {
        "available": True, "reason": None,
        "collected_at": current["collected_at"],
        "baseline_collected_at": baseline["collected_at"],
        "window_seconds": window, "rate_window_seconds": rate_window,
        "reset_detected": reset, "reset_reasons": reasons,
        "counters": totals, "rates": rates,
        "gauges": _gauges(current["totals"], schema),
        "instances": instances,
    }


def lifetime_delta(current: Mapping[str, Any], schema: Schema = MM) -> dict[str, Any]:
    """The values since the IPsec service started, shaped like a window (``window_seconds`` None).

    Rates use the time since boot_time: the service starts at boot, and if it was restarted
    later the rate is an underestimate (documented in docs/policy.md).

    Args:
        current: A validated snapshot (or ``{}``).

    Returns:
        The window; ``available`` false when the snapshot has no data.
    """
    if not has_data(current):
        return unavailable_delta(_unavailable_reason(current, "current"), current, {})
    rate_window: Optional[float] = None
    if current["boot_time"] is not None:
        rate_window = _seconds_between(current["collected_at"], current["boot_time"])
    totals = current["totals"]
    counts = {key: totals[key] for key in schema.cumulative_keys}
    instances = []
    for instance in current["instances"]:
        own = {key: instance["counters"][key] for key in schema.cumulative_keys}
        instances.append(_instance_delta(instance["instance_name"], "matched", instance["active"],
                                         None, False, own, _rates(own, rate_window),
                                         _gauges(instance["counters"], schema)))
    return {
        "available": True, "reason": None, "collected_at": current["collected_at"],
        "baseline_collected_at": None, "window_seconds": None,
        "rate_window_seconds": rate_window, "reset_detected": False, "reset_reasons": [],
        "counters": counts, "rates": _rates(counts, rate_window),
        "gauges": _gauges(totals, schema),
        "instances": instances,
    }


def window_of(current: tuple[Mapping[str, Any], Mapping[str, Any] | None],
              baseline: tuple[Mapping[str, Any], Mapping[str, Any] | None] | None
              ) -> dict[str, Any]:
    """The window of validated :func:`check_facts` results; a lifetime one without baseline.

    The quick-mode window is added under ``quick_mode`` when the current value carries the
    quick-mode class; a baseline without it makes that window unavailable (no data to
    subtract), which the verdict treats as a host without the class.
    """
    mm_now, qm_now = current
    if baseline is None:
        window = lifetime_delta(mm_now)
        if qm_now is not None:
            window[QUICK_MODE] = lifetime_delta(qm_now, QM)
        return window
    mm_then, qm_then = baseline
    window = compute_delta(mm_now, mm_then)
    if qm_now is not None:
        window[QUICK_MODE] = compute_delta(qm_now, qm_then if qm_then is not None else {}, QM)
    return window


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_delta(value: Any, argument: str, schema: Schema = MM) -> dict[str, Any]:
    """Validate a window made by :func:`compute_delta`, as mmipsec_compare receives it back.

    A main-mode window may carry the quick-mode one under ``quick_mode``, checked the same way.

    Args:
        value: The window, as it came through Ansible.
        argument: The argument's name, which starts the error's field.
        schema: The class of the window.

    Returns:
        A plain copy of the window (see :func:`to_plain`).

    Raises:
        InputError: Naming the argument and the field that is wrong (NaN, infinity, too deep
            nesting and ints too long to show included: see :func:`check_bounds`).
    """
    check_bounds(value, argument)
    value = to_plain(value)
    if not isinstance(value, dict):
        raise InputError(argument, "an mmipsec_delta result (a mapping)", value)
    missing = [key for key in DELTA_KEYS if key not in value]
    if missing:
        raise InputError(argument, f"an mmipsec_delta result (missing the keys {missing})",
                         value)
    if not isinstance(value["available"], bool):
        raise InputError(f"{argument}.available", "true or false", value["available"])
    if schema is MM and QUICK_MODE in value:
        value[QUICK_MODE] = check_delta(value[QUICK_MODE], f"{argument}.{QUICK_MODE}", QM)
    if not value["available"]:
        return value
    if not isinstance(value["reset_detected"], bool):
        raise InputError(f"{argument}.reset_detected", "true or false", value["reset_detected"])
    for field in ("window_seconds", "rate_window_seconds"):
        if value[field] is not None and not _is_number(value[field]):
            raise InputError(f"{argument}.{field}", "a number or null", value[field])
    for field, keys in (("counters", schema.cumulative_keys), ("gauges", schema.gauge_keys),
                        ("rates", schema.cumulative_keys)):
        block = value[field]
        if not isinstance(block, dict):
            raise InputError(f"{argument}.{field}", "a mapping", block)
        for key in keys:
            item = block.get(key, MISSING)
            if item is MISSING:
                raise InputError(f"{argument}.{field}.{key}", "a value", MISSING)
            if field == "rates":
                if item is not None and not _is_number(item):
                    raise InputError(f"{argument}.{field}.{key}", "a number or null", item)
            elif not is_int(item) or item < 0:
                # Deltas never go below zero: a reset makes them count from zero.
                raise InputError(f"{argument}.{field}.{key}", "an integer 0 or more (not a "
                                 "bool, float or string)", item)
    instances = value["instances"]
    if not isinstance(instances, list):
        raise InputError(f"{argument}.instances", "a list", instances)
    for index, instance in enumerate(instances):
        where = f"{argument}.instances[{index}]"
        if (not isinstance(instance, dict) or instance.get("state") not in INSTANCE_STATES
                or not isinstance(instance.get("active"), bool)
                or not isinstance(instance.get("gauges"), dict)):
            raise InputError(where, "an instance delta with state, active and gauges", instance)
        if instance["state"] != "vanished":
            for key in schema.gauge_keys:
                gauge = instance["gauges"].get(key, MISSING)
                if not is_int(gauge):
                    raise InputError(f"{where}.gauges.{key}", "an integer", gauge)
    return value


def delta(current: Any, baseline: Any) -> dict[str, Any]:
    """The mmipsec_delta filter: validate both snapshots, then :func:`compute_delta`.

    Either argument may be the main-mode snapshot or a mapping of both classes (see
    :func:`check_facts`); with the quick-mode class in ``current`` the window has
    ``quick_mode``.

    Raises:
        InputError: Either snapshot is malformed (its field starts with ``input`` or
            ``baseline``).
    """
    return window_of(check_facts(current, "input"), check_facts(baseline, "baseline"))
