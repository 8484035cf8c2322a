"""Unit tests for the counter schema and snapshot validation."""

from __future__ import annotations

import copy
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _counters as c

# CI and developers have the project's shared/ folder beside the checkout.
REFERENCE = Path(__file__).resolve().parents[4].parent / "shared" / "reference" / "counters.md"


def make_snapshot(**overrides: Any) -> dict[str, Any]:
    """A valid two-instance snapshot (one inactive) with distinct values per key."""
    first = {key: index + 1 for index, key in enumerate(c.COUNTER_KEYS)}
    second = {key: 1000 for key in c.COUNTER_KEYS}
    snapshot: dict[str, Any] = {
        "available": True,
        "reason": None,
        "message": None,
        "source": "cim",
        "collected_at": "2026-11-26T08:00:00.1234567Z",
        "boot_time": "2026-11-20T07:12:03Z",
        "instances": [
            {"instance_name": "ROOT\\ISCSIPRT\\0000_0", "active": True, "counters": first},
            {"instance_name": "ROOT\\ISCSIPRT\\0001_0", "active": False, "counters": second},
        ],
        "totals": dict(first),
    }
    snapshot.update(overrides)
    return snapshot


UNAVAILABLE = {
    "available": False,
    "reason": "class_not_found",
    "message": "Invalid class",
    "source": "wsman",
    "collected_at": "2026-11-26T08:00:00Z",
    "boot_time": None,
    "instances": [],
    "totals": {},
}


def test_schema_has_21_unique_members() -> None:
    assert len(c.MEMBERS) == 21
    assert len(set(c.COUNTER_KEYS)) == 21
    assert len({m.wmi_name for m in c.MEMBERS}) == 21
    assert set(c.CUMULATIVE_KEYS) | set(c.GAUGE_KEYS) == set(c.COUNTER_KEYS)
    assert set(c.GAUGE_KEYS) == {
        "active_acquire", "active_receive", "acquire_heap_size", "receive_heap_size",
        "connection_list_size",
    }


def test_schema_matches_the_reference_table() -> None:
    """The reference table (shared/reference/counters.md) lists member, key and kind."""
    if not REFERENCE.exists():
        pytest.fail(f"reference table not found at {REFERENCE}")
    rows = re.findall(r"^\| (\d+) \| (\w+) \| (\w+) \| (counter|gauge) \|", REFERENCE.read_text(),
                      re.MULTILINE)
    assert [(wmi, key, kind) for _number, wmi, key, kind in rows] == [
        (m.wmi_name, m.key, m.kind) for m in c.MEMBERS
    ]


@pytest.mark.parametrize("snapshot", [make_snapshot(), UNAVAILABLE], ids=["available", "unavailable"])
def test_valid_snapshot_is_returned_unchanged(snapshot: dict[str, Any]) -> None:
    before = copy.deepcopy(snapshot)
    assert c.validate_snapshot(snapshot, "web01") is snapshot
    assert snapshot == before


def test_uint64_edges_are_valid_and_totals_may_exceed_uint64() -> None:
    snapshot = make_snapshot()
    for instance in snapshot["instances"]:
        instance["active"] = True
        instance["counters"]["soft_associations"] = c.UINT64_MAX
    snapshot["totals"] = c.sum_active(snapshot["instances"])
    assert snapshot["totals"]["soft_associations"] == 2 * c.UINT64_MAX
    c.validate_snapshot(snapshot)


def _set(snapshot: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    target: Any = snapshot
    parts = path.replace("[", ".").replace("]", "").split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    if value is _DELETE:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return snapshot


_DELETE = object()
# Where the error points when it is not at the path that was broken.
FIELD_OF = {"instances[0].extra": "instances[0]", "extra": ""}

BAD = [
    ("not a mapping", None, None, "snapshot: expected a mapping (ansible_facts.mmipsec), "
     "got [] (list)", []),
    ("missing key", "boot_time", _DELETE, "boot_time: expected a value (every snapshot key is "
     "required), got nothing (the key is missing)", None),
    ("bool counter", "instances[0].counters.soft_associations", True,
     "instances[0].counters.soft_associations: expected an integer in 0..18446744073709551615 "
     "(not a bool, float or string), got True (bool)", None),
    ("string counter", "instances[0].counters.invalid_packets", "3",
     "instances[0].counters.invalid_packets: expected an integer in 0..18446744073709551615 "
     "(not a bool, float or string), got '3' (str)", None),
    ("float counter", "instances[0].counters.invalid_packets", 3.0,
     "instances[0].counters.invalid_packets: expected an integer in 0..18446744073709551615 "
     "(not a bool, float or string), got 3.0 (float)", None),
    ("negative", "instances[0].counters.key_updates", -1,
     "instances[0].counters.key_updates: expected an integer in 0..18446744073709551615 "
     "(not a bool, float or string), got -1 (int)", None),
    ("above uint64", "instances[1].counters.key_updates", 2**64,
     "instances[1].counters.key_updates: expected an integer in 0..18446744073709551615 "
     "(not a bool, float or string), got 18446744073709551616 (int)", None),
    ("missing counter", "instances[0].counters.active_acquire", _DELETE,
     "instances[0].counters.active_acquire: expected an integer in 0..18446744073709551615 "
     "(not a bool, float or string), got nothing (the key is missing)", None),
    ("unknown instance shape", "instances[0].extra", 1,
     "instances[0]: expected a mapping with exactly the keys ['instance_name', 'active', "
     "'counters'], got", None),
    ("bool total equal to 1", "totals.active_acquire", True,
     "totals.active_acquire: expected an integer in 0 or more (not a bool, float or string), "
     "got True (bool)", None),
    ("float total equal to 2", "totals.active_receive", 2.0,
     "totals.active_receive: expected an integer in 0 or more (not a bool, float or string), "
     "got 2.0 (float)", None),
    ("wrong totals", "totals.oakley_main_mode", 0,
     "totals.oakley_main_mode: expected 18, the sum over active instances, got 0 (int)", None),
    ("bad source", "source", "wmi", "source: expected one of ['cim', 'wsman'], got 'wmi' (str)",
     None),
    ("naive timestamp", "collected_at", "2026-11-26T08:00:00",
     "collected_at: expected an ISO 8601 UTC timestamp ending in 'Z', got "
     "'2026-11-26T08:00:00' (str)", None),
    ("reason while available", "reason", "no_instances",
     "reason: expected null when available is true, got 'no_instances' (str)", None),
    ("empty instances", "instances", [],
     "instances: expected a non-empty list when available is true, got [] (list)", None),
    ("duplicate instance", "instances[1].instance_name", "root\\iscsiprt\\0000_0",
     "instances[1].instance_name: expected a name used once, got 'root\\\\iscsiprt\\\\0000_0' (str)",
     None),
    ("unknown snapshot key", "extra", 1,
     "snapshot: expected only the keys ['available', 'reason', 'message', 'source', "
     "'collected_at', 'boot_time', 'instances', 'totals'], got \"unknown keys ['extra']\" (str)",
     None),
]


@pytest.mark.parametrize(("path", "value", "message", "whole"),
                         [pytest.param(*case[1:], id=case[0]) for case in BAD])
def test_malformed_snapshot_names_host_and_field(path: str | None, value: Any, message: str,
                                                 whole: Any) -> None:
    snapshot = whole if path is None else _set(make_snapshot(), path, value)
    with pytest.raises(c.SnapshotError, match=re.escape(f"host 'web01': {message}")) as info:
        c.validate_snapshot(snapshot, "web01")
    assert info.value.host == "web01"
    assert info.value.field == FIELD_OF.get(path, path or "")


@pytest.mark.parametrize(("field", "value", "message"), [
    pytest.param("reason", None, "reason: expected one of ['class_not_found', 'no_instances', "
                 "'provider_error'] when available is false, got None (NoneType)", id="no reason"),
    pytest.param("instances", [{}], "instances: expected [] when available is false, got [{}] "
                 "(list)", id="instances"),
    pytest.param("totals", {"a": 1}, "totals: expected {} when available is false, got "
                 "{'a': 1} (dict)", id="totals"),
])
def test_unavailable_snapshot_must_be_empty(field: str, value: Any, message: str) -> None:
    snapshot = dict(UNAVAILABLE, **{field: value})
    with pytest.raises(c.SnapshotError, match=re.escape(message)):
        c.validate_snapshot(snapshot)


def test_error_without_host_does_not_mention_one() -> None:
    with pytest.raises(c.SnapshotError) as info:
        c.validate_snapshot(dict(UNAVAILABLE, source=None))
    assert str(info.value) == "source: expected one of ['cim', 'wsman'], got None (NoneType)"
    assert info.value.host is None


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("2026-11-26T08:00:00Z", datetime(2026, 11, 26, 8, tzinfo=timezone.utc),
                 id="no fraction"),
    pytest.param("2026-11-26T08:00:00.1234567Z",
                 datetime(2026, 11, 26, 8, 0, 0, 123456, tzinfo=timezone.utc), id="dotnet 7 digits"),
    pytest.param("2026-11-26T08:00:00.5Z",
                 datetime(2026, 11, 26, 8, 0, 0, 500000, tzinfo=timezone.utc), id="one digit"),
])
@pytest.mark.parametrize("fast", [True, False], ids=["fromisoformat", "python-3.10-path"])
def test_parse_utc_timestamp(text: str, expected: datetime, fast: bool,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(c, "_FROMISOFORMAT_READS_Z", fast)
    assert c.parse_utc_timestamp(text) == expected


@pytest.mark.parametrize("text", ["2026-11-26T08:00:00+00:00", "2026-11-26 08:00:00Z", "", None,
                                  "2026-13-26T08:00:00Z"])
@pytest.mark.parametrize("fast", [True, False], ids=["fromisoformat", "python-3.10-path"])
def test_parse_utc_timestamp_rejects(text: Any, fast: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(c, "_FROMISOFORMAT_READS_Z", fast)
    with pytest.raises(ValueError):
        c.parse_utc_timestamp(text)


def test_format_round_trips() -> None:
    moment = datetime(2026, 11, 26, 8, 0, 0, 123456, tzinfo=timezone.utc)
    assert c.format_utc_timestamp(moment) == "2026-11-26T08:00:00.123456Z"
    assert c.parse_utc_timestamp(c.format_utc_timestamp(moment)) == moment
    with pytest.raises(ValueError, match="naive"):
        c.format_utc_timestamp(datetime(2026, 1, 1))


def test_sum_active_skips_inactive() -> None:
    snapshot = make_snapshot()
    assert c.sum_active(snapshot["instances"]) == snapshot["instances"][0]["counters"]


class OneShotValuesDict(dict):  # type: ignore[type-arg]
    """Like Ansible 2.19's lazy containers: values() can be walked once only."""

    def values(self):  # type: ignore[no-untyped-def,override]
        return (value for value in dict.values(self))


def test_counters_whose_values_can_be_walked_once() -> None:
    snapshot = make_snapshot()
    for instance in snapshot["instances"]:
        instance["counters"] = OneShotValuesDict(instance["counters"])
    snapshot["totals"] = OneShotValuesDict(snapshot["totals"])
    assert c.validate_snapshot(snapshot) is snapshot
    snapshot["instances"][0]["counters"]["key_updates"] = -1
    with pytest.raises(c.SnapshotError, match=re.escape("instances[0].counters.key_updates")):
        c.validate_snapshot(snapshot)
