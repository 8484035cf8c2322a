"""The quick-mode class MSiSCSI_QMIPSECStats: the endpoint serves it, the client reads it.

A scenario host has the class when it (or one of its instances) has ``quick_mode``; without
it the host answers the class query as Windows does for a class that is not registered. The
client's :func:`collect_facts` reads both classes and the boot time in three requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.playbook.play_context import PlayContext
from winrm_endpoint import Endpoint
from winrm_endpoint.scenario import HostState, ScenarioError, load_scenario

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import (
    MM,
    QM,
    validate_snapshot,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_client import (
    Session,
    collect_facts,
    collect_snapshot,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_transport import (
    WinRMSettings,
    settings_from_options,
    winrm_options,
)

SCENARIO: dict[str, Any] = {
    "name": "quick_mode",
    "defaults": {"auth": "basic", "password": "Winiscsi-Qm-1"},
    "hosts": {
        # Host-wide quick-mode values and growth, an instance with its own values on top.
        "both": {
            "page_size": 1,
            "quick_mode": {"counters": {"active_sa": 4, "ConfidentialBytesSent": 1000},
                           "growth": {"packets_not_decrypted": 2}},
            "instances": [
                {"name": "ROOT\\ISCSIPRT\\0000_0"},
                {"name": "ROOT\\ISCSIPRT\\0001_0",
                 "quick_mode": {"counters": {"active_sa": 1, "re_keys": 2**64 - 1}}},
            ],
        },
        "main_mode_only": {},
    },
    "phases": {
        "change": {"both": {"quick_mode": {"growth": {"bad_spi_packets": 10},
                                           "counters": {"packets_not_authenticated": 5}}}},
        "reboot": {"both": {"boot_time": "now"}},
    },
}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    state = tmp_path_factory.mktemp("endpoint-qm")
    with Endpoint(SCENARIO, state_dir=state, control=False) as ep:
        yield ep


def settings_of(ep: Endpoint, host: str) -> WinRMSettings:
    document = yaml.safe_load(Path(ep.inventory_path).read_text())
    host_vars = document["all"]["children"]["windows"]["hosts"][host]
    options = winrm_options(PlayContext(), {"inventory_hostname": host, **host_vars}, {})
    return settings_from_options(options)[0]


def test_both_classes_are_read_in_one_gather(endpoint: Endpoint) -> None:
    with Session(settings_of(endpoint, "both")) as session:
        facts = collect_facts(session)
    assert list(facts) == ["mmipsec", "qmipsec"]
    assert validate_snapshot(facts["mmipsec"]) is facts["mmipsec"]
    qm = facts["qmipsec"]
    assert validate_snapshot(qm, schema=QM) is qm
    assert (qm["available"], qm["source"], qm["boot_time"], qm["collected_at"]) == (
        True, "wsman", facts["mmipsec"]["boot_time"], facts["mmipsec"]["collected_at"])
    first, second = (i["counters"] for i in qm["instances"])
    assert (first["active_sa"], first["confidential_bytes_sent"], first["re_keys"]) == (4, 1000, 0)
    assert (second["active_sa"], second["confidential_bytes_sent"]) == (1, 1000)
    # uint64 exact, and the total past 2**64-1 exact too.
    assert second["re_keys"] == 2**64 - 1
    assert qm["totals"]["re_keys"] == 2**64 - 1
    assert qm["totals"]["active_sa"] == 5
    # page_size 1: Enumerate + Pull for each class, then the boot time.
    assert session.round_trips == 5


def test_a_host_without_the_quick_mode_class(endpoint: Endpoint) -> None:
    with Session(settings_of(endpoint, "main_mode_only")) as session:
        facts = collect_facts(session)
    assert facts["mmipsec"]["available"] is True
    qm = facts["qmipsec"]
    assert validate_snapshot(qm, schema=QM) is qm
    assert (qm["available"], qm["reason"], qm["instances"], qm["totals"]) == (
        False, "class_not_found", [], {})
    assert isinstance(qm["message"], str) and qm["message"]
    assert session.round_trips == 3


def test_collect_snapshot_still_reads_the_main_mode_class_only(endpoint: Endpoint) -> None:
    with Session(settings_of(endpoint, "main_mode_only")) as session:
        snapshot = collect_snapshot(session)
    assert validate_snapshot(snapshot, schema=MM) is snapshot
    assert session.round_trips == 2


def test_collect_facts_can_read_one_class(endpoint: Endpoint) -> None:
    with Session(settings_of(endpoint, "both")) as session:
        facts = collect_facts(session, schemas=(QM,))
    assert list(facts) == ["qmipsec"]


def test_quick_mode_grows_resets_and_follows_phases() -> None:
    scenario = load_scenario(SCENARIO)
    clock = Clock()
    state = HostState(scenario.hosts["both"], clock)
    quick_mode = state.quick_mode()
    assert quick_mode is not None
    assert [c["packets_not_decrypted"] for dummy, dummy2, c in quick_mode] == [0, 0]
    clock.now += 10
    after = state.quick_mode()
    assert after is not None
    assert [c["packets_not_decrypted"] for dummy, dummy2, c in after] == [20, 20]
    state.apply("change", scenario.phases["change"]["both"])
    clock.now += 3
    changed = state.quick_mode()
    assert changed is not None
    # Continuous values, the phase's growth on top of the host's, its counters set.
    assert [(c["packets_not_decrypted"], c["bad_spi_packets"], c["packets_not_authenticated"])
            for dummy, dummy2, c in changed] == [(26, 30, 5), (26, 30, 5)]
    state.apply("reboot", scenario.phases["reboot"]["both"])
    rebooted = state.quick_mode()
    assert rebooted is not None
    # A reboot zeroes the counters and keeps the gauges.
    assert [(c["packets_not_decrypted"], c["active_sa"]) for dummy, dummy2, c in rebooted] == [
        (0, 4), (0, 1)]
    assert HostState(scenario.hosts["main_mode_only"], clock).quick_mode() is None


@pytest.mark.parametrize(("quick_mode", "where", "expected"), [
    pytest.param({"counters": {"soft_associations": 1}}, "hosts.h.quick_mode.counters."
                 "soft_associations", "a counter key or WMI member name of MSiSCSI_QMIPSECStats",
                 id="main-mode key"),
    pytest.param({"growth": {"re_keys": "x"}}, "hosts.h.quick_mode.growth.re_keys",
                 "a finite number", id="bad growth"),
    pytest.param({"rate": 1}, "hosts.h.quick_mode.rate",
                 "one of the keys ['counters', 'growth']", id="unknown key"),
])
def test_bad_quick_mode_is_refused(quick_mode: Any, where: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario({"hosts": {"h": {"quick_mode": quick_mode}}})
    assert (info.value.where, info.value.expected) == (where, expected)


def test_growth_is_exact() -> None:
    spec = load_scenario({"hosts": {"h": {"quick_mode": {"growth": {"re_keys": 0.5}}}}})
    assert spec.hosts["h"].instances[0].qm_growth == {"re_keys": Fraction(1, 2)}
