"""Synthetic ``ansible_facts.mmipsec`` snapshots for the health tests and the benchmark.

Not shipped (tests/ support code). Values are built from a plain ``{key: int}`` mapping so a
test states only the counters it is about; every other counter is zero.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import (
    COUNTER_KEYS,
    sum_active,
)

INSTANCE = "ROOT\\ISCSIPRT\\0000_0"
BOOT = "2026-11-20T07:12:03Z"
T0 = "2026-11-26T08:00:00Z"
T1 = "2026-11-26T08:01:00Z"  # 60 s after T0


def counters(**values: int) -> dict[str, int]:
    """All 21 counter keys, zero unless given (an idle host has active_acquire 1)."""
    unknown = set(values) - set(COUNTER_KEYS)
    if unknown:
        raise KeyError(f"not counter keys: {sorted(unknown)}")
    result = dict.fromkeys(COUNTER_KEYS, 0)
    result.update(values)
    return result


def instance(name: str = INSTANCE, active: bool = True, **values: int) -> dict[str, Any]:
    """One instance entry."""
    return {"instance_name": name, "active": active, "counters": counters(**values)}


def snapshot(instances: Sequence[Mapping[str, Any]] | None = None, *,
             collected_at: str = T1, boot_time: str | None = BOOT, source: str = "cim",
             **values: int) -> dict[str, Any]:
    """An available snapshot: one active instance with ``values``, or the given instances."""
    if instances is None:
        instances = [instance(**values)]
    elif values:
        raise ValueError("give counter values or instances, not both")
    items = copy.deepcopy(list(instances))
    return {
        "available": True, "reason": None, "message": None, "source": source,
        "collected_at": collected_at, "boot_time": boot_time,
        "instances": items, "totals": sum_active(items),
    }


def unavailable(reason: str = "class_not_found", message: str | None = "Invalid class",
                collected_at: str = T1) -> dict[str, Any]:
    """A snapshot of a host without the class (available false)."""
    return {
        "available": False, "reason": reason, "message": message, "source": "cim",
        "collected_at": collected_at, "boot_time": BOOT, "instances": [], "totals": {},
    }


def unavailable_pairs() -> list[tuple[dict[str, Any], dict[str, Any], str]]:
    """(current, baseline, the window's reason) for every way a window can lack data."""
    return [
        (unavailable(), snapshot(collected_at=T0),
         "current not available (class_not_found): Invalid class"),
        (snapshot(), unavailable("provider_error", None, T0),
         "baseline not available (provider_error)"),
        ({}, snapshot(collected_at=T0), "current is empty (no facts gathered)"),
        (snapshot(), {}, "baseline is empty (no facts gathered)"),
    ]


UNAVAILABLE_IDS = ["current-no-class", "baseline-provider-error", "current-empty",
                   "baseline-empty"]


# --- the quick-mode class (ansible_facts.qmipsec) ---------------------------------------------
def qm_snapshot(*, collected_at: str = T1, boot_time: str | None = BOOT, active: bool = True,
                **values: int) -> dict[str, Any]:
    """An available quick-mode snapshot: one instance with ``values``, every other key zero."""
    from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import QM

    unknown = set(values) - set(QM.keys)
    if unknown:
        raise KeyError(f"not quick-mode keys: {sorted(unknown)}")
    items = [{"instance_name": INSTANCE, "active": active,
              "counters": {**dict.fromkeys(QM.keys, 0), **values}}]
    return {
        "available": True, "reason": None, "message": None, "source": "cim",
        "collected_at": collected_at, "boot_time": boot_time,
        "instances": items, "totals": sum_active(items, QM),
    }


def both(mm: Mapping[str, Any], qm: Mapping[str, Any]) -> dict[str, Any]:
    """Both classes as one argument, the way ansible_facts holds them."""
    return {"mmipsec": mm, "qmipsec": qm}
