"""The health_check role's fleet strategy under the real ansible-playbook, against the endpoint.

The scenario (scenarios/fleet_strategy.yml) mixes healthy hosts of every auth mode, a faulty
one, one without the class and three dead ones (nothing listening, credentials refused, a reply
after the read timeout). The winiscsi.ipsec.health_check playbook runs with
``health_check_strategy`` host and fleet; the verdicts come from the written reports, which
read each host's ``health_check_verdict`` fact from hostvars.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_roles import (  # the same runner and readers as the roles' tests
    Run,
    _cache_file,
    _cached_recorded_at,
    _prom_health,
    play,
    report,
)
from winrm_endpoint import Endpoint  # tests/support is on sys.path (test_roles puts it there)

SCENARIO = Path(__file__).resolve().parent / "scenarios" / "fleet_strategy.yml"
READABLE = ["basic_http", "basic_https", "ntlm_http", "ntlm_https", "cleartext", "no_class"]
DEAD = ["dead", "refusing", "timing_out"]
GATE_TASK = "Fail the hosts whose gate failed (fleet strategy)"


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[Endpoint]:
    with Endpoint(SCENARIO, state_dir=tmp_path / "endpoint") as ep:
        yield ep


def sweep(ep: Endpoint, tmp_path: Path, strategy: str, name: str, **extra: Any) -> Run:
    env = extra.pop("env", None)
    check = extra.pop("check", False)
    return play(ep, tmp_path, "health_check", {
        "target": "fleet", "report_dir": str(tmp_path / "report"),
        "health_check_strategy": strategy, "health_check_report_name": name, **extra},
        env=env, check=check)


def judged(verdict: dict[str, Any]) -> dict[str, Any]:
    """What a verdict decided: status, gate, and each check's status, value and reason."""
    return {"status": verdict["status"], "passed": verdict["passed"],
            "window_seconds": verdict["window_seconds"],
            "checks": [(c["name"], c["status"], c["value"], c["reason"])
                       for c in verdict["checks"]]}


def test_fleet_counts_every_host_and_judges_as_the_host_strategy(
        endpoint: Endpoint, tmp_path: Path) -> None:
    by_host = sweep(endpoint, tmp_path, "host", "by-host")
    endpoint.clear_requests()
    fleet = sweep(endpoint, tmp_path, "fleet", "by-fleet")

    # Unreachable hosts are failed gates in both strategies (2, not 4: never dropped).
    assert (by_host.rc, fleet.rc) == (2, 2), fleet.stdout[-4000:]
    host_data, fleet_data = report(tmp_path, "by-host"), report(tmp_path, "by-fleet")
    # Every host is counted; the dead ones are unknown with the reason, not missing.
    summary = fleet_data["summary"]
    assert (summary["total"], summary["missing_hosts"]) == (9, [])
    assert sorted(fleet_data["verdicts"]) == sorted(READABLE + DEAD)
    for name in DEAD:
        one = fleet_data["verdicts"][name]
        assert (one["status"], one["passed"]) == ("unknown", False), one
        # The verdict the host strategy gives a host it cannot read: one check, reachable.
        assert [c["name"] for c in one["checks"]] == ["reachable"], one
    for name in ("dead", "timing_out"):
        one = fleet_data["verdicts"][name]
        assert one["summary"].startswith("UNKNOWN: unreachable: wsman: "), one["summary"]
        assert judged(one) == judged(host_data["verdicts"][name]), name
    refusing = fleet_data["verdicts"]["refusing"]
    assert refusing["checks"][0]["reason"] == "ReadFailed", refusing
    assert refusing["summary"].startswith("UNKNOWN: not read: wsman: "), refusing["summary"]
    assert "401" in refusing["summary"] or "credentials" in refusing["summary"]
    assert "refused" in fleet_data["verdicts"]["dead"]["summary"]
    # The host strategy reports the dead hosts too: the unreachable ones unknown with the
    # reason; the one refusing the credentials fails its read task, so it has no verdict and
    # is listed as missing (counted as failed).
    assert host_data["summary"]["missing_hosts"] == ["refusing"]
    for name in ("dead", "timing_out"):
        assert host_data["verdicts"][name]["status"] == "unknown", name
        assert not host_data["verdicts"][name]["passed"], name
    assert "refusing" in host_data["summary"]["failed_hosts"]
    # The same data gives the same verdicts (the counters do not grow in this scenario); only
    # a lifetime verdict's messages name the seconds since the boot, which did move on.
    for name in READABLE:
        assert judged(fleet_data["verdicts"][name]) == judged(host_data["verdicts"][name]), name
    assert {n: v["status"] for n, v in fleet_data["verdicts"].items() if n in READABLE} == {
        "basic_http": "ok", "basic_https": "ok", "ntlm_http": "ok", "ntlm_https": "ok",
        "cleartext": "critical", "no_class": "unknown"}
    assert sorted(summary["failed_hosts"]) == sorted(["cleartext", "no_class", *DEAD])
    health = _prom_health(tmp_path / "report" / "by-fleet.prom")
    assert health == {**dict.fromkeys(["basic_http", "basic_https", "ntlm_http", "ntlm_https"],
                                      0.0),
                      "cleartext": 2.0, "no_class": 3.0, **dict.fromkeys(DEAD, 3.0)}

    # The gate failed exactly the hosts whose verdict failed, each with its summary.
    failed = {h: r["msg"] for h, r in fleet.results(GATE_TASK) if r["status"] == "failed"}
    assert sorted(failed) == sorted(summary["failed_hosts"])
    assert failed["cleartext"].startswith("pre-check failed on cleartext: CRITICAL: ")
    # No task ran per host but the gate: the read, the verdicts and the report ran once.
    assert fleet.task_results_of("basic_https") == [GATE_TASK]
    # Each readable host was read over its own settings, once.
    for name in READABLE:
        assert endpoint.requests(name), name


def test_fleet_strategy_with_via_module_says_what_to_set(endpoint: Endpoint,
                                                         tmp_path: Path) -> None:
    run = sweep(endpoint, tmp_path, "fleet", "module", mmipsec_via="module")

    assert run.rc != 0
    failed = [r for dummy, r in run.results("Read the first sample as module_defaults say")
              if r["status"] == "failed"]
    assert len(failed) == 1
    assert "needs via=wsman, got via='module'" in failed[0]["msg"]
    assert "health_check_strategy=host" in failed[0]["msg"]
    assert all(endpoint.requests(name) == [] for name in READABLE)


def test_fleet_read_options_as_role_variables_win_over_module_defaults(
        endpoint: Endpoint, tmp_path: Path) -> None:
    # module_defaults say module; the role variables say wsman and an instance pattern.
    run = sweep(endpoint, tmp_path, "fleet", "given", mmipsec_via="module",
                health_check_via="wsman", health_check_instance_name="NOMATCH*")

    assert run.rc == 2, run.stdout[-4000:]
    # One read task ran (the host strategy's task of the same name is skipped): the one given
    # the options; the one of module_defaults was skipped.
    ran = [r for dummy, r in run.results("Read the first sample with the options the role was "
                                         "given") if r["status"] != "skipped"]
    assert [r["status"] for r in ran] == ["ok"], ran
    assert {r["status"] for dummy, r in run.results("Read the first sample as module_defaults "
                                                    "say")} == {"skipped"}
    verdicts = report(tmp_path, "given")["verdicts"]
    for name in ("basic_http", "ntlm_https"):
        assert verdicts[name]["status"] == "unknown", verdicts[name]
        assert "'NOMATCH*'" in verdicts[name]["summary"], verdicts[name]["summary"]


def test_fleet_window_baseline_in_the_fact_cache_and_check_mode(
        endpoint: Endpoint, tmp_path: Path) -> None:
    cache = tmp_path / "facts"
    env = {"ANSIBLE_CACHE_PLUGIN": "ansible.builtin.jsonfile",
           "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(cache)}
    pre = sweep(endpoint, tmp_path, "fleet", "pre", env=env, health_check_sample_seconds=1,
                health_check_fail_host=False, target="readable")
    assert pre.rc == 0, pre.stdout[-4000:]
    verdicts = report(tmp_path, "pre")["verdicts"]
    assert verdicts["basic_http"]["window_seconds"] > 0
    recorded = _cached_recorded_at(cache, "basic_http")
    text = _cache_file(cache, "basic_http").read_text()
    assert "mmipsec" in text
    # The verdict is not cached: a later run must not see it for a host it cannot judge.
    assert "health_check_verdict" not in text

    post = sweep(endpoint, tmp_path, "fleet", "post", env=env, health_check_phase="post",
                 target="readable", health_check_fail_host=False)
    assert post.rc == 0, post.stdout[-4000:]
    post_verdicts = report(tmp_path, "post")["verdicts"]
    assert post_verdicts["basic_http"]["status"] == "ok"
    assert post_verdicts["basic_http"]["window_seconds"] > 0  # since the pre-check

    check = sweep(endpoint, tmp_path, "fleet", "checked", env=env, check=True,
                  target="readable", health_check_fail_host=False)
    assert check.rc == 0, check.stdout[-4000:]
    assert not (tmp_path / "report" / "checked.json").exists()
    assert _cached_recorded_at(cache, "basic_http") == recorded


def test_fleet_baseline_files_reach_the_next_run_and_an_unwritable_one_fails_the_host(
        endpoint: Endpoint, tmp_path: Path) -> None:
    baselines = tmp_path / "baselines"
    pre = sweep(endpoint, tmp_path, "fleet", "pre", target="readable",
                health_check_baseline_dir=str(baselines), health_check_fail_host=False)
    assert pre.rc == 0, pre.stdout[-4000:]
    assert sorted(p.name for p in baselines.iterdir()) == sorted(f"{h}.json" for h in READABLE)

    # A new run with the default (in-memory) fact cache: only the files hold the baselines.
    post = sweep(endpoint, tmp_path, "fleet", "post", target="readable",
                 health_check_phase="post", health_check_baseline_dir=str(baselines),
                 health_check_fail_host=False)
    assert post.rc == 0, post.stdout[-4000:]
    verdicts = report(tmp_path, "post")["verdicts"]
    assert verdicts["basic_http"]["status"] == "ok"
    assert verdicts["basic_http"]["window_seconds"] > 0

    # A file of another host is refused, naming the file, and the host is unknown.
    (baselines / "ntlm_http.json").write_text((baselines / "basic_http.json").read_text())
    again = sweep(endpoint, tmp_path, "fleet", "again", target="readable",
                  health_check_phase="post", health_check_baseline_dir=str(baselines),
                  health_check_fail_host=False)
    one = report(tmp_path, "again")["verdicts"]["ntlm_http"]
    assert again.rc == 0 and one["passed"] is False
    assert one["summary"] == (f"UNKNOWN: no data: the baseline in {baselines}/ntlm_http.json is "
                              "not usable: it was recorded for host basic_http, not ntlm_http; "
                              "run the pre-check again")

    # A directory that cannot be written: every read host's verdict turns critical.
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the directory should be")
    bad = sweep(endpoint, tmp_path, "fleet", "blocked", target="readable",
                health_check_baseline_dir=str(blocked / "sub"))
    checks = report(tmp_path, "blocked")["verdicts"]["basic_http"]["checks"]
    assert checks[-1]["name"] == "baseline" and checks[-1]["reason"] == "BaselineNotWritten"
    assert bad.rc == 2


def test_fleet_read_of_kerberos_hosts_each_with_its_own_ticket(tmp_path: Path) -> None:
    """Managed kinit per host (HTTP with encryption, HTTPS), and the Kerberos failures."""
    from kdc import KerberosRealm, require_kerberos
    from test_kerberos_wsman import (
        ANSIBLE_PLAYBOOK,
        COLLECTIONS,
        OTHER_PASSWORD,
        PASSWORD,
        PLAYBOOKS,
    )
    from test_kerberos_wsman import SCENARIO as KERBEROS_SCENARIO

    require_kerberos()
    with KerberosRealm(users={"ansible": PASSWORD, "mallory": OTHER_PASSWORD}) as realm, \
            realm.environment(), \
            Endpoint(KERBEROS_SCENARIO, state_dir=tmp_path / "endpoint") as ep:
        (tmp_path / "ansible.cfg").write_text("[defaults]\n", encoding="utf-8")
        environment = {k: v for k, v in os.environ.items()
                       if not k.startswith(("ANSIBLE_", "KRB5"))}
        environment.update({
            "KRB5_CONFIG": realm.env["KRB5_CONFIG"],
            "KRB5CCNAME": f"FILE:{tmp_path / 'controller-ccache'}",
            "ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
            "ANSIBLE_LOCAL_TEMP": str(tmp_path / "local-tmp"),
            "ANSIBLE_NOCOLOR": "1",
        })
        results = tmp_path / "sweep.json"
        proc = subprocess.run(
            [ANSIBLE_PLAYBOOK, "-i", str(ep.inventory_path),
             "-i", str(PLAYBOOKS / "kerberos-inventory.yml"),
             str(PLAYBOOKS / "kerberos-fleet.yml"), "-e",
             json.dumps({"results_file": str(results)})],
            capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=240,
            check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    hosts = json.loads(results.read_text())["hosts"]
    assert len(hosts) == 6
    for name in ("krb_http", "krb_https"):
        assert hosts[name]["verdict"]["status"] == "ok", hosts[name]["msg"]
        assert hosts[name]["mmipsec"]["source"] == "wsman"
    for name in ("krb_wrong_password", "krb_other_principal", "krb_manual_no_ticket",
                 "krb_no_kinit"):
        assert hosts[name]["mmipsec"] is None, name
        assert hosts[name]["verdict"]["status"] == "unknown", name
        assert hosts[name]["unreachable"] is False, name
    assert PASSWORD not in results.read_text()
