"""Hypothesis strategies for the health property tests: hosts' instances, and junk input.

Not shipped (tests/ support code).
"""

from __future__ import annotations

from typing import Any

from health_snapshots import instance
from hypothesis import strategies as st

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import (
    CUMULATIVE_KEYS,
    GAUGE_KEYS,
    UINT64_MAX,
)

# Edges are where the bugs are: small values, and values near 2**64-1.
counter_value = st.one_of(st.integers(0, 1000), st.integers(UINT64_MAX - 1000, UINT64_MAX),
                          st.integers(0, UINT64_MAX))
cumulative = st.fixed_dictionaries({key: counter_value for key in CUMULATIVE_KEYS})
any_gauges = st.fixed_dictionaries({key: st.integers(0, 2000) for key in GAUGE_KEYS})
# Gauges inside the default ok ranges, so identical snapshots must judge ok.
healthy_gauges = st.fixed_dictionaries({
    "active_acquire": st.integers(0, 1), "active_receive": st.integers(0, 10),
    "acquire_heap_size": st.integers(0, 1000), "receive_heap_size": st.integers(0, 1000),
    "connection_list_size": st.integers(0, UINT64_MAX),
})
_names = st.lists(st.sampled_from(["A", "B", "C"]), min_size=1, max_size=3, unique=True)


@st.composite
def host(draw: st.DrawFn, gauges: st.SearchStrategy[dict[str, int]] = any_gauges
         ) -> list[dict[str, Any]]:
    """A host's instances: 1-3 of them, at least one active."""
    chosen = draw(_names)
    actives = draw(st.lists(st.booleans(), min_size=len(chosen), max_size=len(chosen)))
    actives[0] = True
    return [instance(name, active, **draw(cumulative), **draw(gauges))
            for name, active in zip(chosen, actives, strict=True)]


# Junk input: any JSON-like value, nested a little. plugin_utils must raise only InputError.
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)
