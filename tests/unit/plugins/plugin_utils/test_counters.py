"""Unit tests for the counter schema and snapshot validation."""

from __future__ import annotations

import copy
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _counters as c
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import (
    MISSING,
    InputError,
    describe,
)

# A copy of the project's reference table of the class, kept in the repository.
REFERENCE = Path(__file__).resolve().parents[2] / "test_data" / "reference" / "counters.md"


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
    """The reference table (tests/unit/test_data/reference/counters.md) lists member, key, kind."""
    rows = re.findall(r"^\| (\d+) \| (\w+) \| (\w+) \| (counter|gauge) \|",
                      REFERENCE.read_text(encoding="utf-8"), re.MULTILINE)
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
UINT64 = "an integer in 0..18446744073709551615 (not a bool, float or string)"
TOTAL = "an integer in 0 or more (not a bool, float or string)"
INSTANCE = "a mapping with exactly the keys ['instance_name', 'active', 'counters']"

# (id, path broken, value put there, error field, expected, got, whole snapshot instead)
BAD = [
    ("not a mapping", None, None, "snapshot", "a mapping (ansible_facts.mmipsec)", [], []),
    ("missing key", "boot_time", _DELETE, "boot_time",
     "a value (every snapshot key is required)", MISSING, None),
    ("bool counter", "instances[0].counters.soft_associations", True,
     "instances[0].counters.soft_associations", UINT64, True, None),
    ("string counter", "instances[0].counters.invalid_packets", "3",
     "instances[0].counters.invalid_packets", UINT64, "3", None),
    ("float counter", "instances[0].counters.invalid_packets", 3.0,
     "instances[0].counters.invalid_packets", UINT64, 3.0, None),
    ("negative", "instances[0].counters.key_updates", -1,
     "instances[0].counters.key_updates", UINT64, -1, None),
    ("above uint64", "instances[1].counters.key_updates", 2**64,
     "instances[1].counters.key_updates", UINT64, 2**64, None),
    ("missing counter", "instances[0].counters.active_acquire", _DELETE,
     "instances[0].counters.active_acquire", UINT64, MISSING, None),
    ("unknown counter key", "instances[0].counters.extra", 5, "instances[0].counters.extra",
     "no such key (only the 21 counter keys)", 5, None),
    ("unknown instance shape", "instances[0].extra", 1, "instances[0]", INSTANCE, "instance",
     None),
    ("bool total equal to 1", "totals.active_acquire", True, "totals.active_acquire", TOTAL,
     True, None),
    ("float total equal to 2", "totals.active_receive", 2.0, "totals.active_receive", TOTAL,
     2.0, None),
    ("wrong totals", "totals.oakley_main_mode", 0, "totals.oakley_main_mode",
     "18, the sum over active instances", 0, None),
    ("bad source", "source", "wmi", "source", "one of ['cim', 'wsman']", "wmi", None),
    ("naive timestamp", "collected_at", "2026-11-26T08:00:00", "collected_at",
     "an ISO 8601 UTC timestamp ending in 'Z'", "2026-11-26T08:00:00", None),
    ("bad boot time", "boot_time", "yesterday", "boot_time",
     "an ISO 8601 UTC timestamp ending in 'Z' or null", "yesterday", None),
    ("reason while available", "reason", "no_instances", "reason",
     "null when available is true", "no_instances", None),
    ("empty instances", "instances", [], "instances", "a non-empty list when available is true",
     [], None),
    ("duplicate instance", "instances[1].instance_name", "root\\iscsiprt\\0000_0",
     "instances[1].instance_name", "a name used once", "root\\iscsiprt\\0000_0", None),
    ("unknown snapshot key", "extra", 1, "extra", "no such key (only the keys ['available', "
     "'reason', 'message', 'source', 'collected_at', 'boot_time', 'instances', 'totals'])", 1,
     None),
]


@pytest.mark.parametrize(("path", "value", "field", "expected", "got", "whole"),
                         [pytest.param(*case[1:], id=case[0]) for case in BAD])
def test_malformed_snapshot_names_host_and_field(path: str | None, value: Any, field: str,
                                                 expected: str, got: Any, whole: Any) -> None:
    snapshot = whole if path is None else _set(make_snapshot(), path, value)
    if got == "instance":
        got = snapshot["instances"][0]
    with pytest.raises(InputError) as info:
        c.validate_snapshot(snapshot, "web01")
    error = info.value
    assert (error.field, error.expected, error.host) == (field, expected, "web01")
    assert error.got is got or (error.got == got and type(error.got) is type(got))
    assert str(error) == f"host 'web01': {field}: expected {expected}, got {describe(got)}"


def test_message_in_full() -> None:
    snapshot = _set(make_snapshot(), "instances[0].counters.invalid_packets", "3")
    with pytest.raises(InputError) as info:
        c.validate_snapshot(snapshot, "web01")
    assert str(info.value) == (
        "host 'web01': instances[0].counters.invalid_packets: expected an integer in "
        "0..18446744073709551615 (not a bool, float or string), got '3' (str)")


def test_argument_starts_the_field() -> None:
    snapshot = _set(make_snapshot(), "instances[0].counters.key_updates", -1)
    with pytest.raises(InputError) as info:
        c.validate_snapshot(snapshot, argument="baseline")
    assert (info.value.field, info.value.host) == ("baseline.instances[0].counters.key_updates",
                                                   None)
    with pytest.raises(InputError) as whole:
        c.validate_snapshot("x", argument="input")
    assert str(whole.value) == "input: expected a mapping (ansible_facts.mmipsec), got 'x' (str)"


@pytest.mark.parametrize(("field", "value", "expected"), [
    pytest.param("reason", None, "one of ['class_not_found', 'no_instances', 'provider_error'] "
                 "when available is false", id="no reason"),
    pytest.param("message", 3, "a string or null", id="message"),
    pytest.param("instances", [{}], "[] when available is false", id="instances"),
    pytest.param("totals", {"a": 1}, "{} when available is false", id="totals"),
])
def test_unavailable_snapshot_must_be_empty(field: str, value: Any, expected: str) -> None:
    snapshot = dict(UNAVAILABLE, **{field: value})
    with pytest.raises(InputError) as info:
        c.validate_snapshot(snapshot)
    assert (info.value.field, info.value.expected, info.value.got, info.value.host) == (
        field, expected, value, None)
    assert str(info.value) == f"{field}: expected {expected}, got {describe(value)}"


def test_error_without_host_does_not_mention_one() -> None:
    with pytest.raises(InputError) as info:
        c.validate_snapshot(dict(UNAVAILABLE, source=None))
    assert str(info.value) == "source: expected one of ['cim', 'wsman'], got None (NoneType)"
    assert (info.value.field, info.value.expected, info.value.got, info.value.host) == (
        "source", "one of ['cim', 'wsman']", None, None)


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("2026-11-26T08:00:00Z", datetime(2026, 11, 26, 8, tzinfo=timezone.utc),
                 id="no fraction"),
    pytest.param("2026-11-26T08:00:00.1234567Z",
                 datetime(2026, 11, 26, 8, 0, 0, 123456, tzinfo=timezone.utc), id="dotnet 7 digits"),
    pytest.param("2026-11-26T08:00:00.5Z",
                 datetime(2026, 11, 26, 8, 0, 0, 500000, tzinfo=timezone.utc), id="one digit"),
    pytest.param("2026-11-26T08:00:00.123456789Z",
                 datetime(2026, 11, 26, 8, 0, 0, 123456, tzinfo=timezone.utc), id="nanoseconds"),
    pytest.param("2028-02-29T23:59:59Z",
                 datetime(2028, 2, 29, 23, 59, 59, tzinfo=timezone.utc), id="leap day"),
])
def test_parse_utc_timestamp(text: str, expected: datetime) -> None:
    parsed = c.parse_utc_timestamp(text)
    assert parsed == expected
    assert parsed.tzinfo == timezone.utc


@pytest.mark.parametrize("text", ["2026-11-26T08:00:00+00:00", "2026-11-26 08:00:00Z", "", None,
                                  "2026-13-26T08:00:00Z", "2026-02-30T08:00:00Z",
                                  "2026-11-26T24:00:00Z", "2026-11-26T08:00:00.Z",
                                  "2026-11-26T08:00:00.1234567890Z", "2026-11-26T08:00:00z"])
def test_parse_utc_timestamp_rejects(text: Any) -> None:
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
    with pytest.raises(InputError) as info:
        c.validate_snapshot(snapshot)
    assert (info.value.field, info.value.got) == ("instances[0].counters.key_updates", -1)


class _TaggedInt(int):
    """Stands in for Ansible 2.19's _AnsibleTaggedInt (an int subclass)."""


def test_to_plain_keeps_bools_so_the_schema_rejects_them() -> None:
    assert c.to_plain({"a": [True, _TaggedInt(2), 1.5, None, "x"], "b": (1,)}) == {
        "a": [True, 2, 1.5, None, "x"], "b": [1]}
    assert isinstance(c.to_plain(True), bool)  # bool cannot be subclassed: exactly bool
    plain = c.to_plain(_TaggedInt(2))
    assert isinstance(plain, int) and not isinstance(plain, (bool, _TaggedInt))


def test_int_subclasses_from_ansible_are_valid() -> None:
    snapshot = make_snapshot()
    for instance in snapshot["instances"]:
        instance["counters"] = {k: _TaggedInt(v) for k, v in instance["counters"].items()}
    snapshot["totals"] = {k: _TaggedInt(v) for k, v in snapshot["totals"].items()}
    assert c.validate_snapshot(snapshot) is snapshot


# --- The quick-mode class, MSiSCSI_QMIPSECStats ----------------------------------------------
QM_REFERENCE = REFERENCE.with_name("qm_counters.md")


def make_qm_snapshot() -> dict[str, Any]:
    """A valid quick-mode snapshot: two instances (one inactive), distinct values per key."""
    first = {key: index + 1 for index, key in enumerate(c.QM_COUNTER_KEYS)}
    second = {key: 7 for key in c.QM_COUNTER_KEYS}
    return {
        "available": True, "reason": None, "message": None, "source": "wsman",
        "collected_at": "2026-11-26T08:00:00Z", "boot_time": None,
        "instances": [
            {"instance_name": "ROOT\\ISCSIPRT\\0000_0", "active": True, "counters": first},
            {"instance_name": "ROOT\\ISCSIPRT\\0001_0", "active": False, "counters": second},
        ],
        "totals": dict(first),
    }


def test_qm_schema_has_18_unique_members_and_its_own_names() -> None:
    assert len(c.QM_MEMBERS) == 18
    assert len(set(c.QM.keys)) == len({m.wmi_name for m in c.QM_MEMBERS}) == 18
    assert set(c.QM.gauge_keys) == {"active_sa", "pending_key_operations", "active_tunnels"}
    assert set(c.QM.cumulative_keys) | set(c.QM.gauge_keys) == set(c.QM.keys)
    assert (c.QM.wmi_class, c.QM.fact, c.MM.wmi_class, c.MM.fact) == (
        "MSiSCSI_QMIPSECStats", "qmipsec", "MSiSCSI_MMIPSECStats", "mmipsec")
    # The main-mode names are the MM schema's own.
    assert (c.COUNTER_KEYS, c.CUMULATIVE_KEYS, c.GAUGE_KEYS) == (
        c.MM.keys, c.MM.cumulative_keys, c.MM.gauge_keys)


def test_qm_schema_matches_the_reference_table() -> None:
    """tests/unit/test_data/reference/qm_counters.md lists number, member, key, meaning, kind."""
    rows = re.findall(r"^\| (\d+) \| (\w+) \| (\w+) \| [^|]+ \| (counter|gauge) \|$",
                      QM_REFERENCE.read_text(encoding="utf-8"), re.MULTILINE)
    assert [int(number) for number, *dummy in rows] == list(range(1, 19))
    assert [(wmi, key, kind) for dummy, wmi, key, kind in rows] == [
        (m.wmi_name, m.key, m.kind) for m in c.QM_MEMBERS
    ]


def test_valid_qm_snapshot_and_qm_sum() -> None:
    snapshot = make_qm_snapshot()
    assert c.validate_snapshot(snapshot, "web01", schema=c.QM) is snapshot
    assert c.sum_active(snapshot["instances"], c.QM) == snapshot["instances"][0]["counters"]


def test_snapshots_of_one_class_are_refused_as_the_other() -> None:
    with pytest.raises(InputError) as info:
        c.validate_snapshot(make_snapshot(), "web01", schema=c.QM)
    assert (info.value.field, info.value.expected) == (
        "instances[0].counters.active_sa", "an integer in 0..18446744073709551615 (not a bool, "
        "float or string)")
    with pytest.raises(InputError) as info:
        c.validate_snapshot(make_qm_snapshot(), "web01")
    assert info.value.field == "instances[0].counters.active_acquire"
    qm = make_qm_snapshot()
    qm["totals"]["active_acquire"] = 1
    with pytest.raises(InputError) as info:
        c.validate_snapshot(qm, schema=c.QM)
    assert (info.value.field, info.value.expected) == (
        "totals.active_acquire", "no such key (only the 18 counter keys)")
    with pytest.raises(InputError) as info:
        c.validate_snapshot([], argument="quick_mode", schema=c.QM)
    assert str(info.value) == ("quick_mode: expected a mapping (ansible_facts.qmipsec), got [] "
                               "(list)")


@pytest.mark.parametrize("schema", [c.MM, c.QM], ids=["mm", "qm"])
def test_with_totals_sums_exactly_past_uint64(schema: c.Schema) -> None:
    instance = {"instance_name": "a", "active": True,
                "counters": dict.fromkeys(schema.keys, c.UINT64_MAX)}
    snapshot = {**(make_snapshot() if schema is c.MM else make_qm_snapshot()),
                "instances": [instance, {**instance, "instance_name": "b"}]}
    del snapshot["totals"]
    completed = c.with_totals(snapshot, schema)
    assert completed["totals"] == dict.fromkeys(schema.keys, 2 * c.UINT64_MAX)
    assert "totals" not in snapshot  # a copy
    assert c.validate_snapshot(completed, schema=schema) is completed


@pytest.mark.parametrize("snapshot", [
    pytest.param(UNAVAILABLE, id="unavailable"),
    pytest.param("x", id="not a mapping"),
    pytest.param({"available": True, "instances": 3}, id="instances not a list"),
    pytest.param({"available": True, "instances": [{"active": True, "counters": {}}]},
                 id="missing counters"),
    # PowerShell 7's serialiser (Newtonsoft) writes a [decimal] 15 as 15.0: a float.
    pytest.param({"available": True, "instances": [
        {"active": True, "counters": dict.fromkeys(c.COUNTER_KEYS, 15.0)}]}, id="float"),
])
def test_with_totals_leaves_the_malformed_to_validation(snapshot: Any) -> None:
    assert c.with_totals(snapshot) is snapshot
