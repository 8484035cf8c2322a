"""Benchmark: a fleet health check and the rollout role, against Ansible's own floor.

Not a timed test (timings depend on the machine): run it by hand and read the figures.

    .venv/bin/python bench/bench_fleet.py [--hosts 10 100 1000] [--rounds 3]
        [--single-round-from 1000] [--plays floor floor-data ping gather role rollout]

For each fleet size N, a local WinRM test endpoint (tests/support/winrm_endpoint, in its own
process, so its CPU time is not the controller's) serves N simulated hosts over Basic
authentication on plain HTTP, the cheapest transport for the endpoint to answer (a real fleet
uses NTLM with message encryption or HTTPS: bench_wsman.py measures what that adds per host).
The counters grow (rates as in tests/support/scenarios/fleet.yml). These plays run with
``ansible-playbook -f 20`` on the endpoint's inventory, taking turns within each round:

- ``floor``: two ansible.builtin.set_fact tasks: Ansible's floor (no module, no connection).
- ``floor-data``: the floor carrying gather's data: two set_fact tasks that set a snapshot
  and a verdict of the same shape and size as the ones ``gather`` makes (literals in the play,
  no collection code). Ansible's cost grows with the data a task returns (results are copied,
  tagged and merged into host facts in the controller's main process), so ``gather`` against
  this play is the collection's own cost.
- ``ping``: ansible.builtin.ping with the local connection (a module run per host).
- ``gather``: winiscsi.ipsec.mmipsec_facts with ``via: wsman`` and a set_fact of the
  winiscsi.ipsec.mmipsec_verdict filter: the collection's main job, in two tasks like the floor.
- ``role``: the winiscsi.ipsec.health_check role (one sample, pre phase, via wsman): the same
  job through the role, with its includes and messages (no target; shown for its cost).
- ``rollout``: the winiscsi.ipsec.rollout role, via wsman, 1 s sample windows, no settle
  pause, a no-op change: its overhead is its wall time less the pauses it ran.
- ``fleet``: the winiscsi.ipsec.health_check role with ``health_check_strategy: fleet``
  (included once; one task reads and judges every host, looped set_fact tasks give each host
  its facts) and the fleet summary with its table (no report files: writing them costs the
  same few seconds at any N): a sweep. Checked from the table, which must count every host,
  all passed.
- ``bare``: not a play: bench/bare_sweep.py reads every host with the collection's own client,
  as the ``fleet`` play's read does, in one Python process without Ansible. What a sweep costs
  on this machine before Ansible adds anything: the floor under ``fleet``.

Every play must end with every host ok (the PLAY RECAP is checked). Per play: wall time, CPU
time of ansible-playbook and all its descendants (os.wait4), peak memory of the process tree
(the sum of PSS over the tree, sampled every 0.2 s from /proc; PSS shares the pages forks share)
and the largest single process's RSS (ru_maxrss). Medians over the rounds. Linux only.

Targets (issue 7): gather <= 0.35x ping and <= 1.3x floor. Issue 13: fleet <= 0.2x floor.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_verdicts import ROOT, _machine  # noqa: E402
from bench_wsman import RunningEndpoint, endpoint_process  # noqa: E402
from health_snapshots import instance, snapshot  # noqa: E402  (bench_verdicts set the path)

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._verdict import (  # noqa: E402
    verdict,
)

ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
FORKS = 20
ROLLOUT_SAMPLE_SECONDS = 1
ALL_PLAYS = ("floor", "floor-data", "ping", "gather", "role", "rollout", "fleet", "bare")

PLAYS: dict[str, str] = {
    "floor": """\
- name: Ansible's floor, two set_fact tasks
  hosts: iscsi_hosts
  gather_facts: false
  tasks:
    - name: First
      ansible.builtin.set_fact:
        bench_first: 1
    - name: Second
      ansible.builtin.set_fact:
        bench_second: "{{ bench_first + 1 }}"
""",
    "ping": """\
- name: ansible.builtin.ping with the local connection
  hosts: iscsi_hosts
  gather_facts: false
  vars:
    # Play vars outrank the inventory's ansible_connection: winrm.
    ansible_connection: local
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Ping
      ansible.builtin.ping:
""",
    "gather": """\
- name: Gather via wsman and judge
  hosts: iscsi_hosts
  gather_facts: false
  tasks:
    - name: Gather
      winiscsi.ipsec.mmipsec_facts:
        via: wsman
    - name: Judge
      ansible.builtin.set_fact:
        bench_verdict: "{{ ansible_facts.mmipsec | winiscsi.ipsec.mmipsec_verdict }}"
""",
    "role": """\
- name: The health_check role, via wsman
  hosts: iscsi_hosts
  gather_facts: false
  roles:
    - role: winiscsi.ipsec.health_check
      health_check_via: wsman
""",
    "rollout": f"""\
- name: The rollout role, via wsman, a no-op change
  hosts: iscsi_hosts
  gather_facts: false
  roles:
    - role: winiscsi.ipsec.rollout
      rollout_via: wsman
      rollout_change_tasks: "{{{{ playbook_dir }}}}/noop.yml"
      rollout_rollback_tasks: "{{{{ playbook_dir }}}}/noop.yml"
      rollout_sample_seconds: {ROLLOUT_SAMPLE_SECONDS}
      rollout_settle_seconds: 0
      rollout_report_dir: "{{{{ playbook_dir }}}}/rollout-report"
""",
    "fleet": """\
- name: The health_check role, fleet strategy, via wsman, and the fleet report
  hosts: iscsi_hosts
  gather_facts: false
  tasks:
    - name: Sweep the batch
      ansible.builtin.include_role:
        name: winiscsi.ipsec.health_check
      run_once: true
      vars:
        health_check_strategy: fleet
        health_check_via: wsman
    - name: Report the fleet (the summary and its table; no files)
      ansible.builtin.include_role:
        name: winiscsi.ipsec.health_check
        tasks_from: report
      run_once: true
""",
}
FLOOR_DATA = """\
- name: Ansible's floor carrying the gather play's data, two set_fact tasks
  hosts: iscsi_hosts
  gather_facts: false
  tasks:
    - name: A snapshot
      ansible.builtin.set_fact:
        bench_snapshot: {snapshot}
    - name: A verdict
      ansible.builtin.set_fact:
        bench_verdict: {verdict}
"""
NOOP_TASKS = """\
- name: No change
  ansible.builtin.meta: noop
"""


# What every simulated host starts with (the endpoint lets the counters grow from there).
COUNTERS = {"acquire_heap_size": 12, "receive_heap_size": 8, "connection_list_size": 4,
            "oakley_main_mode": 1200, "oakley_quick_mode": 4800, "total_get_spi": 4810,
            "key_additions": 4800, "key_updates": 4800, "active_acquire": 1}


def floor_data_play() -> str:
    """The floor-data play: a snapshot like the endpoint's hosts give, and its verdict."""
    facts = snapshot([instance(r"ROOT\ISCSIPRT\0000_0", **COUNTERS)],
                     collected_at="2026-11-26T11:41:38.725271Z",
                     boot_time="2026-11-20T07:12:03.500000Z", source="wsman")
    # JSON is YAML: the literals go into the play as flow mappings.
    return FLOOR_DATA.format(snapshot=json.dumps(facts), verdict=json.dumps(verdict(facts)))


def scenario(hosts: int) -> dict[str, Any]:
    """N healthy hosts over Basic on HTTP, counters growing as in scenarios/fleet.yml."""
    names = [f"h{i:04d}" for i in range(1, hosts + 1)]
    return {
        "name": f"bench-fleet-{hosts}",
        "defaults": {
            "auth": "basic", "scheme": "http", "user": "ansible", "password": "Bench-Fleet-1",
            "boot_time": "2026-11-20T07:12:03.5+00:00",
            "counters": {key: value for key, value in COUNTERS.items() if key != "active_acquire"},
            "growth": {"oakley_main_mode": 0.5, "oakley_quick_mode": 2, "total_get_spi": 2,
                       "key_additions": 2, "key_updates": 2},
        },
        "hosts": {name: {} for name in names},
        "groups": {"iscsi_hosts": names},
    }


def ansible_env(workdir: Path) -> dict[str, str]:
    """The same configuration-free environment for every play."""
    config = workdir / "empty-ansible.cfg"
    config.write_text("", encoding="utf-8")
    keep = {name: value for name, value in os.environ.items()
            if not name.startswith("ANSIBLE_")}
    return {
        **keep,
        "ANSIBLE_CONFIG": str(config),
        "ANSIBLE_COLLECTIONS_PATH": os.environ.get("ANSIBLE_COLLECTIONS_PATH",
                                                   str(ROOT / "build" / "dev")),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_GATHERING": "explicit",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_LOCAL_TEMP": str(workdir / "tmp"),
        "ANSIBLE_HOME": str(workdir / "home"),
    }


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as handle:
                found.extend(int(child) for child in handle.read().split())
    except OSError:
        pass  # the process ended between two reads
    return found


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree_pss_kib(root: int) -> int:
    """PSS of ``root`` and every descendant, in KiB."""
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += _pss_kib(pid)
        todo.extend(_children(pid))
    return total


@dataclass(frozen=True)
class Run:
    """One ansible-playbook run."""

    play: str
    wall: float
    cpu: float
    peak_tree_pss_mib: float
    max_rss_mib: float
    endpoint_cpu: float
    pauses: float


def run_play(play: str, workdir: Path, inventory: Path, env: dict[str, str],
             endpoint: RunningEndpoint, hosts: int, log: Path) -> Run:
    """Run one play, check its recap, and measure it.

    Raises:
        RuntimeError: The play failed or did not reach every host ok; names the log.
    """
    command = ([sys.executable, str(HERE / "bare_sweep.py"), str(inventory)] if play == "bare"
               else [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), "-f", str(FORKS),
                     str(workdir / f"{play}.yml")])
    peak = [0]
    endpoint_start = endpoint.cpu_seconds()
    with log.open("w", encoding="utf-8") as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env,
                                   cwd=workdir)
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.2):
                peak[0] = max(peak[0], _tree_pss_kib(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        dummy, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text(encoding="utf-8", errors="replace")
    recap = re.findall(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=\d+\s+unreachable=(\d+)\s+failed=(\d+)",
                       text, re.MULTILINE)
    good = [name for name, ok, unreachable, failed in recap
            if int(ok) > 0 and unreachable == "0" and failed == "0"]
    if play == "fleet":
        # Only the first host runs tasks; the fleet table's last line says whether every host
        # was read and judged (all healthy here); it writes counts with thousands separators.
        bad = [name for name, ok, unreachable, failed in recap
               if unreachable != "0" or failed != "0"]
        counted = re.search(rf'"{hosts:,} hosts: {hosts:,} passed, 0 failed \(ok {hosts:,},', text)
        good = [] if bad or not counted else [f"h{i}" for i in range(hosts)]
    if play == "bare":
        counted = re.search(rf"^{hosts} of {hosts} hosts read$", text, re.MULTILINE)
        good = [f"h{i}" for i in range(hosts)] if counted else []
    if process.returncode != 0 or len(good) != hosts:
        raise RuntimeError(f"play {play!r} on {hosts} hosts: expected exit code 0 and {hosts} "
                           f"hosts ok, got exit code {process.returncode} and {len(good)} ok; "
                           f"see {log}")
    pauses = sum(float(s) for s in re.findall(r"Pausing for (\d+) seconds", text))
    return Run(play=play, wall=wall, cpu=usage.ru_utime + usage.ru_stime,
               peak_tree_pss_mib=peak[0] / 1024, max_rss_mib=usage.ru_maxrss / 1024,
               endpoint_cpu=endpoint.cpu_seconds() - endpoint_start, pauses=pauses)


def bench_size(hosts: int, rounds: int, plays: list[str],
               keep: Path | None) -> dict[str, list[Run]]:
    """All rounds of every play on a fleet of ``hosts``."""
    with tempfile.TemporaryDirectory(prefix=f"bench-fleet-{hosts}-") as tmp:
        workdir = keep / f"n{hosts}" if keep else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "tmp").mkdir(exist_ok=True)
        for play in set(plays) - {"bare"}:
            text = floor_data_play() if play == "floor-data" else PLAYS[play]
            (workdir / f"{play}.yml").write_text("---\n" + text, encoding="utf-8")
        (workdir / "noop.yml").write_text("---\n" + NOOP_TASKS, encoding="utf-8")
        env = ansible_env(workdir)
        runs: dict[str, list[Run]] = {play: [] for play in plays}
        started = time.perf_counter()
        with endpoint_process(scenario(hosts), workdir / "endpoint") as endpoint:
            print(f"  endpoint up in {time.perf_counter() - started:.1f} s", flush=True)
            for number in range(1, rounds + 1):
                for play in plays:
                    log = workdir / f"{play}-round{number}.log"
                    run = run_play(play, workdir, endpoint.inventory_path, env, endpoint,
                                   hosts, log)
                    runs[play].append(run)
                    print(f"  round {number} {play:8} wall {run.wall:7.2f} s  CPU "
                          f"{run.cpu:7.2f} s  peak PSS {run.peak_tree_pss_mib:7.1f} MiB  "
                          f"endpoint CPU {run.endpoint_cpu:6.2f} s", flush=True)
        return runs


def _median(runs: list[Run], attribute: str) -> float:
    return float(statistics.median(float(getattr(run, attribute)) for run in runs))


def summarise(hosts: int, runs: dict[str, list[Run]]) -> bool:
    """Print the medians and ratios for one fleet size; return whether the targets are met."""
    rounds = len(next(iter(runs.values())))
    print(f"\nN = {hosts} hosts, forks {FORKS}, {rounds} round(s), medians")
    print(f"{'play':11}{'wall s':>9}{'CPU s':>9}{'ms/host':>9}{'x floor':>9}{'x ping':>8}"
          f"{'peak PSS MiB':>14}{'max RSS MiB':>13}{'endpoint CPU s':>16}")
    wall = {play: _median(r, "wall") for play, r in runs.items()}
    cpu = {play: _median(r, "cpu") for play, r in runs.items()}
    for play, play_runs in runs.items():
        # The rollout role's pauses are what it is asked to do, not its cost.
        own = wall[play] - _median(play_runs, "pauses")
        floor = f"{own / wall['floor']:8.2f}x" if "floor" in wall else f"{'':9}"
        ping = f"{own / wall['ping']:7.2f}x" if "ping" in wall else f"{'':8}"
        label = play + ("*" if play == "rollout" else "")
        print(f"{label:11}{own:9.2f}{cpu[play]:9.2f}{own / hosts * 1e3:9.1f}{floor}{ping}"
              f"{max(r.peak_tree_pss_mib for r in play_runs):14.1f}"
              f"{max(r.max_rss_mib for r in play_runs):13.1f}"
              f"{_median(play_runs, 'endpoint_cpu'):16.2f}")
    if "rollout" in runs:
        print("* wall time less the pauses the role ran")
    met = True
    if {"gather", "ping", "floor"} <= set(wall):
        to_ping = wall["gather"] / wall["ping"]
        to_floor = wall["gather"] / wall["floor"]
        met = to_ping <= 0.35 and to_floor <= 1.3
        print(f"target gather <= 0.35x ping and <= 1.3x floor (wall): "
              f"{'met' if met else 'MISSED'} ({to_ping:.2f}x ping, {to_floor:.2f}x floor; CPU "
              f"{cpu['gather'] / cpu['ping']:.2f}x ping, {cpu['gather'] / cpu['floor']:.2f}x "
              "floor)")
    if {"fleet", "floor"} <= set(wall):
        to_floor = wall["fleet"] / wall["floor"]
        print(f"target fleet <= 0.2x floor (wall): {'met' if to_floor <= 0.2 else 'MISSED'} "
              f"({to_floor:.2f}x floor; CPU {cpu['fleet'] / cpu['floor']:.2f}x floor)")
        met = met and to_floor <= 0.2
    if {"bare", "floor"} <= set(wall):
        print(f"the bare sweep (no Ansible) against the floor: {wall['bare'] / wall['floor']:.2f}x "
              f"wall, {cpu['bare'] / cpu['floor']:.2f}x CPU: below this, no fleet play can go")
    if {"gather", "floor-data"} <= set(wall):
        print(f"gather against the floor carrying the same data: "
              f"{wall['gather'] / wall['floor-data']:.2f}x wall, "
              f"{cpu['gather'] / cpu['floor-data']:.2f}x CPU (the collection's own cost)")
    if {"rollout", "floor"} <= set(wall):
        own = wall["rollout"] - _median(runs["rollout"], "pauses")
        print(f"rollout overhead beyond its pauses: {own:.2f} s = {own / hosts * 1e3:.1f} ms "
              f"per host, {own / wall['floor']:.2f}x the floor (pauses "
              f"{_median(runs['rollout'], 'pauses'):.0f} s)")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--single-round-from", type=int, default=1000,
                        help="fleets of at least this many hosts run one round only")
    parser.add_argument("--plays", nargs="+", default=list(ALL_PLAYS), choices=ALL_PLAYS)
    parser.add_argument("--keep", type=Path, help="keep plays, logs and reports here")
    args = parser.parse_args()
    print(f"command: {shlex.join(getattr(sys, 'orig_argv', [sys.executable, *sys.argv]))}")
    version = subprocess.run([str(ANSIBLE_PLAYBOOK), "--version"], capture_output=True,
                             text=True, check=True).stdout.splitlines()[0]
    print(f"machine: {_machine()}; Python {sys.version.split()[0]}; {version}")
    print(f"forks {FORKS}, linear strategy, no fact gathering, ANSIBLE_CONFIG an empty file; "
          "the endpoint (Basic over HTTP) runs in its own process", flush=True)
    met = True
    for hosts in args.hosts:
        rounds = 1 if hosts >= args.single_round_from else args.rounds
        print(f"\nN = {hosts}: {rounds} round(s), plays {' '.join(args.plays)}", flush=True)
        met = summarise(hosts, bench_size(hosts, rounds, args.plays, args.keep)) and met
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
