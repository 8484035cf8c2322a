"""Monitoring exports: a fleet as OpenMetrics / Prometheus text (plugin_utils/_openmetrics.py)
and the Nagios performance data of a summary's host rows (plugin_utils/_fleet.py).

The output is read back with prometheus_client's own parsers (tests/requirements-dev.txt pins
it): its OpenMetrics parser for ``openmetrics`` and its Prometheus text parser for
``prometheus``, so what is tested is what a scraper reads, not what the writer meant.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from health_snapshots import T0, T1, both, instance, qm_snapshot, snapshot, unavailable
from input_errors import raised
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_prometheus

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _fleet
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import (
    COUNTER_KEYS,
    KIND_BY_KEY,
    QM,
    UINT64_MAX,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import MISSING, InputError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._openmetrics import openmetrics
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._policy import CHECK_NAMES
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._verdict import (
    fail_verdict,
    verdict,
)

ODD = 'we"b\\01\nx'  # a host name with a double quote, a backslash and a newline
INSTANCE = "ROOT\\ISCSIPRT\\0000_0"


def window(**after: int) -> dict[str, Any]:
    return verdict(snapshot(collected_at=T1, **after), snapshot(collected_at=T0))


def fleet() -> tuple[dict[str, Any], dict[str, Any]]:
    """web02 critical, ODD ok, web03 unreachable, web04 unavailable; snapshots of three."""
    summary = _fleet.summary({"web02": window(soft_associations=1), ODD: window(),
                              "web04": verdict(unavailable())},
                             hosts=["web02", ODD, "web03", "web04"])
    snapshots = {
        "web02": snapshot([instance(soft_associations=UINT64_MAX, active_acquire=1),
                           instance("ROOT\\ISCSIPRT\\0000_1", active=False)]),
        ODD: snapshot(oakley_main_mode=7),
        "web04": unavailable(),
        "web03": None,
    }
    return summary, snapshots


def families(text: str) -> dict[str, Any]:
    return {family.name: family for family in parse_openmetrics(text)}


def samples(family: Any) -> dict[tuple[tuple[str, str], ...], Any]:
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples}


def test_health_status_per_host_with_unknown_for_hosts_without_data() -> None:
    summary, snapshots = fleet()
    found = families(openmetrics(summary, snapshots))
    health = found["winiscsi_ipsec_health_status"]
    assert health.type == "gauge"
    assert samples(health) == {(("host", "web02"),): 2, (("host", ODD),): 0,
                               (("host", "web03"),): 3, (("host", "web04"),): 3}
    assert samples(found["winiscsi_ipsec_gate_passed"]) == {
        (("host", "web02"),): 0, (("host", ODD),): 1, (("host", "web03"),): 0,
        (("host", "web04"),): 0}
    # Without snapshots only the verdict families are written.
    assert set(families(openmetrics(summary))) == {
        "winiscsi_ipsec_health_status", "winiscsi_ipsec_gate_passed",
        "winiscsi_ipsec_check_status"}


def test_check_status_per_host_and_check() -> None:
    summary, dummy = fleet()
    checks = samples(families(openmetrics(summary))["winiscsi_ipsec_check_status"])
    assert checks[(("check", "cleartext_fallback"), ("host", "web02"))] == 2
    assert checks[(("check", "cleartext_fallback"), ("host", ODD))] == 0
    assert checks[(("check", "cleartext_fallback"), ("host", "web04"))] == 3
    assert {label for key in checks for name, label in key if name == "check"} <= set(
        CHECK_NAMES)
    assert not any(("host", "web03") in key for key in checks)  # no verdict, no checks


def test_a_check_named_twice_is_written_once_with_its_worst_status() -> None:
    failed = fail_verdict(window(), "ChangeFailed", "the change failed")
    failed["checks"].append({**failed["checks"][-1], "status": "ok"})
    summary = _fleet.summary({"web01": failed})
    checks = samples(families(openmetrics(summary))["winiscsi_ipsec_check_status"])
    assert checks[(("check", "rollout"), ("host", "web01"))] == 2


def test_counters_per_host_and_instance_exact_with_their_kinds() -> None:
    summary, snapshots = fleet()
    found = families(openmetrics(summary, snapshots))
    for key in COUNTER_KEYS:
        family = found[f"winiscsi_ipsec_{key}"]
        assert family.type == KIND_BY_KEY[key]
        suffix = "_total" if KIND_BY_KEY[key] == "counter" else ""
        assert {s.name for s in family.samples} == {f"winiscsi_ipsec_{key}{suffix}"}
        # Every instance of every available snapshot; web03 (null) and web04 (unavailable) none.
        assert set(samples(family)) == {
            (("host", "web02"), ("instance", INSTANCE)),
            (("host", "web02"), ("instance", "ROOT\\ISCSIPRT\\0000_1")),
            (("host", ODD), ("instance", INSTANCE))}
    soft = samples(found["winiscsi_ipsec_soft_associations"])
    value = soft[(("host", "web02"), ("instance", INSTANCE))]
    assert value == UINT64_MAX and isinstance(value, int)  # exact, not the float 2**64
    assert samples(found["winiscsi_ipsec_oakley_main_mode"])[
        (("host", ODD), ("instance", INSTANCE))] == 7
    assert samples(found["winiscsi_ipsec_snapshot_available"]) == {
        (("host", "web02"),): 1, (("host", ODD),): 1, (("host", "web04"),): 0}
    assert samples(found["winiscsi_ipsec_instance_active"]) == {
        (("host", "web02"), ("instance", INSTANCE)): 1,
        (("host", "web02"), ("instance", "ROOT\\ISCSIPRT\\0000_1")): 0,
        (("host", ODD), ("instance", INSTANCE)): 1}


def test_text_shape_help_type_escaping_and_eof() -> None:
    summary, snapshots = fleet()
    text = openmetrics(summary, snapshots)
    assert text.endswith("\n# EOF\n") and text.count("# EOF") == 1
    lines = text.splitlines()
    assert lines[:2] == [
        "# HELP winiscsi_ipsec_health_status Nagios exit code of the host's verdict: 0 ok, "
        "1 warning, 2 critical, 3 unknown (no verdict).",
        "# TYPE winiscsi_ipsec_health_status gauge"]
    assert "# TYPE winiscsi_ipsec_soft_associations counter" in lines
    assert 'winiscsi_ipsec_health_status{host="we\\"b\\\\01\\nx"} 0' in lines
    assert (f'winiscsi_ipsec_soft_associations_total{{host="web02",instance="ROOT\\\\ISCSIPRT'
            f'\\\\0000_0"}} {UINT64_MAX}') in lines
    assert all(line.startswith(("# HELP ", "# TYPE ", "# EOF", "winiscsi_ipsec_"))
               for line in lines)
    # Hosts by name, whatever the order of the summary's rows (worst first).
    health = [line for line in lines if line.startswith("winiscsi_ipsec_health_status{")]
    assert health == sorted(health, key=lambda line: line.split('"')[1])


def test_output_is_deterministic() -> None:
    summary, snapshots = fleet()
    again = {host: snapshots[host] for host in reversed(list(snapshots))}
    assert openmetrics(summary, snapshots) == openmetrics(summary, again)


def test_prometheus_text_format_reads_the_same() -> None:
    summary, snapshots = fleet()
    text = openmetrics(summary, snapshots, "prometheus")
    assert "# EOF" not in text and text.endswith("\n")
    assert "# TYPE winiscsi_ipsec_soft_associations_total counter" in text.splitlines()
    om = families(openmetrics(summary, snapshots))
    prom = {family.name: family for family in parse_prometheus(text)}
    assert set(prom) == set(om)
    for name, family in om.items():
        assert prom[name].type == family.type
        assert prom[name].documentation == family.documentation
        assert samples(prom[name]) == samples(family)
        assert {s.name for s in prom[name].samples} == {s.name for s in family.samples}
    # The Prometheus text parser reads numbers as floats: the text itself is exact.
    assert f"}} {UINT64_MAX}\n" in text


def test_a_lone_surrogate_is_written_as_its_escape() -> None:
    summary = _fleet.summary({}, hosts=["web\ud800"])
    text = openmetrics(summary)
    text.encode("utf-8")
    assert samples(families(text)["winiscsi_ipsec_health_status"]) == {
        (("host", "web\\ud800"),): 3}


def test_empty_summary_is_only_eof() -> None:
    assert openmetrics(_fleet.summary({})) == "# EOF\n"
    assert openmetrics(_fleet.summary({}), None, "prometheus") == "\n"
    assert list(parse_openmetrics("# EOF\n")) == []


def test_snapshots_of_hosts_outside_the_summary_are_not_written() -> None:
    summary = _fleet.summary({}, hosts=["web01"])
    text = openmetrics(summary, {"web09": snapshot()})
    assert "web09" not in text


@pytest.mark.parametrize(("call", "field", "expected", "got", "host"), [
    pytest.param(lambda s: openmetrics(s, None, "json"), "format",
                 "one of ['openmetrics', 'prometheus']", "json", None, id="format"),
    pytest.param(lambda s: openmetrics(s, ["web01"]), "snapshots",
                 "a mapping of host name to ansible_facts.mmipsec (or null)", ["web01"], None,
                 id="snapshots-list"),
    pytest.param(lambda s: openmetrics(s, {1: snapshot()}), "snapshots",
                 "host names (strings) as keys", 1, None, id="snapshots-key"),
    pytest.param(lambda s: openmetrics(s, {"web01": {**snapshot(), "totals": {}}}),
                 "snapshots['web01'].totals.active_acquire",
                 "an integer in 0 or more (not a bool, float or string)", MISSING, "web01",
                 id="snapshot-malformed"),
    pytest.param(lambda s: openmetrics(s, {"web01": snapshot(send_failures=UINT64_MAX + 1)}),
                 "snapshots['web01'].instances[0].counters.send_failures",
                 f"an integer in 0..{UINT64_MAX} (not a bool, float or string)",
                 UINT64_MAX + 1, "web01", id="snapshot-over-uint64"),
    pytest.param(lambda s: openmetrics({"hosts": "web01"}), "input",
                 "an mmipsec_summary result (a mapping with a 'hosts' list)", {"hosts": "web01"},
                 None, id="summary"),
    pytest.param(lambda s: openmetrics({"hosts": [{**s["hosts"][0], "passed": "false"}]}),
                 "input.hosts[0].passed", "true or false", "false", None, id="row-passed"),
    pytest.param(lambda s: openmetrics(s, {"web01": {"x": 10**5000}}), "snapshots.web01.x",
                 "an integer of at most 4300 digits", 10**5000, None, id="huge-int"),
])
def test_bad_input_is_refused(call: Any, field: str, expected: str, got: Any,
                              host: str | None) -> None:
    summary = _fleet.summary({"web01": window()})
    raised(lambda: call(summary), field, expected, got, host)


# --- Nagios perfdata of the summary rows (_fleet.perfdata) --------------------------------------

# 'label'=value[UOM];[warn];[crit];[min];[max], as the Monitoring Plugins guidelines define it.
PERF_ENTRY = re.compile(r"^(?:'((?:[^']|'')+)'|([^' =]+))=(-?[0-9.]+)([a-zA-Z%]*)"
                        r"(?:;([^; ]*))?(?:;([^; ]*))?(?:;([^; ]*))?(?:;([^; ]*))?$")


def parse_perfdata(text: str) -> dict[str, tuple[str, str, str | None, str | None]]:
    """Label -> (value, UOM, warn, crit); fails on an entry the guidelines do not allow."""
    parsed = {}
    for entry in re.findall(r"(?:'(?:[^']|'')*'|[^ '])+", text):
        match = PERF_ENTRY.match(entry)
        assert match, entry
        label = match[1].replace("''", "'") if match[1] is not None else match[2]
        parsed[label] = (match[3], match[4], match[5], match[6])
    return parsed


def test_summary_rows_carry_perfdata_for_each_judged_check() -> None:
    summary, dummy = fleet()
    rows = {row["host"]: row for row in summary["hosts"]}
    assert rows["web02"]["perfdata"] == (
        "cleartext_fallback=1;;0 malformed_traffic_rate=0.0;0.1;1 key_management_failures=0;0;10"
        " ike_transport_failures=0;0;10 ike_acquire_backlog=0;1;20 ike_receive_backlog=0;10;100"
        " ike_heap_size=0;1000")
    judged = {c["name"] for c in rows["web02"]["checks"] if c["value"] is not None}
    assert set(parse_perfdata(rows["web02"]["perfdata"])) == judged
    assert rows["web03"]["perfdata"] == ""  # no verdict
    assert rows["web04"]["perfdata"] == ""  # nothing could be judged


def test_perfdata_ratio_in_percent_and_floats_without_exponent() -> None:
    ratio = window(oakley_main_mode=99, authentication_failures=1)
    parsed = parse_perfdata(_fleet.summary({"web01": ratio})["hosts"][0]["perfdata"])
    value, uom, _warn, _crit = parsed["authentication_failure_ratio"]
    assert (float(value), uom) == (1.0, "%")
    checks = [{"name": "r", "status": "ok", "value": 1e-07, "warning": None, "critical": None},
              {"name": "big", "status": "ok", "value": UINT64_MAX, "warning": "~:0",
               "critical": "@1:5"}]
    assert _fleet.perfdata(checks) == f"r=0.0000001 big={UINT64_MAX};~:0;@1:5"


@pytest.mark.parametrize(("name", "label"), [
    ("plain_name", "plain_name"), ("two words", "'two words'"), ("a=b", "'a=b'"),
    ("it's", "'it''s'"),
])
def test_perfdata_labels_are_quoted_when_needed(name: str, label: str) -> None:
    checks = [{"name": name, "status": "warning", "value": 3, "warning": "2", "critical": None}]
    text = _fleet.perfdata(checks)
    assert text == f"{label}=3;2"
    assert parse_perfdata(text) == {name: ("3", "", "2", None)}


def test_perfdata_leaves_out_checks_without_a_numeric_value() -> None:
    failed = fail_verdict(window(), "ChangeFailed", "the change failed")
    row = _fleet.summary({"web01": failed})["hosts"][0]
    assert "rollout" not in parse_perfdata(row["perfdata"])
    checks = [{"name": n, "status": "ok", "value": v, "warning": None, "critical": None}
              for n, v in (("none", None), ("bool", True), ("nan", float("nan")), ("s", "1"))]
    assert _fleet.perfdata(checks) == ""


def test_quick_mode_counters_of_hosts_given_both_classes() -> None:
    summary, snapshots = fleet()
    snapshots["web02"] = both(snapshots["web02"],
                              qm_snapshot(packets_not_decrypted=UINT64_MAX, active_sa=3))
    snapshots[ODD] = both(snapshots[ODD], unavailable())  # no quick-mode class: no samples
    text = openmetrics(summary, snapshots)
    found = families(text)
    for member in QM.members:
        family = found[f"winiscsi_ipsec_qm_{member.key}"]
        assert family.type == member.kind
        assert set(samples(family)) == {(("host", "web02"), ("instance", INSTANCE))}
    decrypt = samples(found["winiscsi_ipsec_qm_packets_not_decrypted"])
    value = decrypt[(("host", "web02"), ("instance", INSTANCE))]
    assert value == UINT64_MAX and isinstance(value, int)
    assert samples(found["winiscsi_ipsec_qm_active_sa"]) == {
        (("host", "web02"), ("instance", INSTANCE)): 3}
    # The main-mode families are those of the main-mode snapshots, as without quick mode.
    plain = families(openmetrics(*fleet()))
    assert {k: samples(v) for k, v in found.items() if "_qm_" not in k} == {
        k: samples(v) for k, v in plain.items()}
    # Without any quick-mode data there is no quick-mode family.
    assert not [k for k in plain if "_qm_" in k]


def test_a_malformed_quick_mode_snapshot_names_its_host() -> None:
    summary, snapshots = fleet()
    bad = qm_snapshot()
    bad["instances"][0]["counters"]["re_keys"] = 1.5
    snapshots["web02"] = both(snapshots["web02"], bad)
    with pytest.raises(InputError) as info:
        openmetrics(summary, snapshots)
    assert info.value.field == (
        "snapshots['web02'].qmipsec.instances[0].counters.re_keys")
