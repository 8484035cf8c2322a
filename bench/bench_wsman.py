"""Benchmark: one host's via=wsman collection against the same request sent with bare pywinrm.

Not a timed test (timings depend on the machine): run it by hand and read the figures.

    .venv/bin/python bench/bench_wsman.py [--iterations 150]

What is compared, per collection, against the local WinRM test endpoint (tests/support), which
runs in its own process so its CPU time is not counted here:

- ``plugin``: what the action plugin does for ``via: wsman`` once Ansible has handed it the
  host's variables: ``winrm_options`` (ansible-core's winrm connection plugin reads them),
  ``settings_from_options``, ``collect_snapshot`` (a new pywinrm transport, the Enumerate of
  MSiSCSI_MMIPSECStats, the Enumerate of Win32_OperatingSystem for the boot time, parsing,
  shaping) and ``validate_snapshot``.
- ``floor-1``: bare pywinrm (``winrm.protocol.Protocol``), a new connection, the same
  MSiSCSI_MMIPSECStats Enumerate bytes, the reply parsed with ElementTree: the least any client
  can do to read the class.
- ``floor-2``: the same, plus the Win32_OperatingSystem Enumerate: the same requests as the
  plugin, so the ratio against it is the cost of the collection's own code.

Each iteration runs the three, in turn, so a noisy neighbour slows all of them alike; the
figures are medians. Wall time (time.perf_counter) and CPU time of this process
(time.process_time). Round trips are counted in the endpoint's request log, split into
authentication legs (HTTP 401 challenges, pywinrm's empty POST that sets up encryption) and
WS-Management requests.

Targets (issue 7): plugin <= 1.2x floor in wall and CPU time; 1 round trip for the statistics
plus at most 1 for the boot time, plus authentication.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from ansible.playbook.play_context import PlayContext

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# Importing bench_verdicts puts the collection (build/dev) and tests/support on sys.path.
from bench_verdicts import ROOT, _machine  # noqa: E402

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import (  # noqa: E402
    validate_snapshot,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman import (  # noqa: E402
    OS_CLASS_URI,
    STATS_CLASS_URI,
    Request,
    build_enumerate,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_client import (  # noqa: E402
    Session,
    collect_snapshot,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_transport import (  # noqa: E402
    WinRMSettings,
    settings_from_options,
    winrm_options,
)

SUPPORT = ROOT / "tests" / "support"
# Both hosts frozen (growth 0) so every read returns the same bytes.
SCENARIO: dict[str, Any] = {
    "name": "bench-wsman",
    "defaults": {
        "scheme": "http", "user": "ansible", "password": "Bench-Wsman-1",
        "boot_time": "2026-11-20T07:12:03.5+00:00",
        "counters": {"oakley_main_mode": 1200, "oakley_quick_mode": 4800,
                     "total_get_spi": 4810, "key_additions": 4800, "key_updates": 4800},
    },
    "hosts": {"ntlm_http": {"auth": "ntlm"}, "basic_http": {"auth": "basic"}},
}


@dataclass(frozen=True)
class RunningEndpoint:
    """A winrm_endpoint process: its pid, inventory and request log."""

    pid: int
    inventory_path: Path
    requests_path: Path

    def host_vars(self, host: str) -> dict[str, Any]:
        """The inventory variables of ``host`` (group ``windows`` holds them all)."""
        inventory = yaml.safe_load(self.inventory_path.read_text(encoding="utf-8"))
        found = inventory["all"]["children"]["windows"]["hosts"][host]
        return {"inventory_hostname": host, **found}

    def log_lines(self) -> list[dict[str, Any]]:
        """Every request the endpoint has logged so far."""
        text = self.requests_path.read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the endpoint process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def endpoint_process(scenario: dict[str, Any], state_dir: Path,
                     start_timeout: float = 600.0) -> Iterator[RunningEndpoint]:
    """Run ``python -m winrm_endpoint`` in its own process until the block ends.

    Args:
        scenario: The scenario mapping (written to ``state_dir/scenario.yml``).
        state_dir: The endpoint's state directory.
        start_timeout: Seconds to wait for its ``ready`` line.

    Yields:
        The running endpoint.

    Raises:
        RuntimeError: It exited or did not say ``ready`` in time; the message has its stderr.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    scenario_path = state_dir / "scenario.yml"
    scenario_path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(SUPPORT))
    stderr_path = state_dir / "endpoint.stderr"
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "winrm_endpoint", "--scenario", str(scenario_path),
             "--state-dir", str(state_dir)],
            stdout=subprocess.PIPE, stderr=stderr, env=env, text=True)
    try:
        deadline = time.monotonic() + start_timeout
        line = ""
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if line.startswith("ready ") or not line:
                break
        if not line.startswith("ready "):
            process.kill()
            process.wait()
            raise RuntimeError(f"winrm_endpoint did not start (expected a 'ready <inventory>' "
                               f"line, got {line!r}, exit code {process.poll()}): "
                               f"{stderr_path.read_text(errors='replace')[-2000:]}")
        yield RunningEndpoint(process.pid, Path(line.split(" ", 1)[1].strip()),
                              state_dir / "requests.jsonl")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _settings(host_vars: dict[str, Any]) -> WinRMSettings:
    """The host's settings, read through ansible-core's winrm connection plugin."""
    return settings_from_options(winrm_options(PlayContext(), host_vars, {}))[0]


def _plugin(host_vars: dict[str, Any]) -> Callable[[], object]:
    """The action plugin's via=wsman work for one host, Ansible's plumbing aside."""
    def collect() -> object:
        with Session(_settings(host_vars)) as session:
            snapshot = collect_snapshot(session)
        validate_snapshot(snapshot, host_vars["inventory_hostname"])
        return snapshot
    return collect


def _floor(host_vars: dict[str, Any], uris: tuple[str, ...]) -> Callable[[], object]:
    """Bare pywinrm: a new Protocol, the same Enumerate bytes, ElementTree on each reply."""
    import winrm.protocol  # here, so that importing this module does not need pywinrm

    settings = _settings(host_vars)
    templates = []
    for uri in uris:
        request = Request(settings.target, uri, "uuid:MID", settings.operation_timeout_sec)
        templates.append(build_enumerate(request).decode("utf-8"))

    def collect() -> object:
        protocol = winrm.protocol.Protocol(
            settings.target.url,
            transport=settings.auth_transports[0],  # type: ignore[arg-type]  # from the inventory
            username=settings.user, password=settings.password,
            read_timeout_sec=settings.read_timeout_sec,
            operation_timeout_sec=settings.operation_timeout_sec,
            **settings.transport_options)
        replies = []
        try:
            for template in templates:
                message = template.replace("uuid:MID", f"uuid:{str(uuid.uuid4()).upper()}")
                replies.append(ET.fromstring(protocol.send_message(message)))
        finally:
            protocol.transport.close_session()
        return replies
    return collect


def _count(before: int, endpoint: RunningEndpoint, host: str) -> dict[str, int]:
    """Requests the endpoint logged for ``host`` after the first ``before`` log entries."""
    entries = [e for e in endpoint.log_lines()[before:] if e.get("host") == host]
    auth = sum(1 for e in entries if e["status"] == 401 or not e.get("action"))
    return {"http": len(entries), "auth": auth, "wsman": len(entries) - auth}


def measure(endpoint: RunningEndpoint, host: str, iterations: int,
            warmup: int = 5) -> dict[str, Any]:
    """Median wall and CPU seconds of each variant on ``host``, and its round trips."""
    host_vars = endpoint.host_vars(host)
    variants = {
        "plugin": _plugin(host_vars),
        "floor-1": _floor(host_vars, (STATS_CLASS_URI,)),
        "floor-2": _floor(host_vars, (STATS_CLASS_URI, OS_CLASS_URI)),
    }
    trips = {}
    for name, function in variants.items():
        before = len(endpoint.log_lines())
        function()
        trips[name] = _count(before, endpoint, host)
        for dummy in range(warmup):
            function()
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    server_cpu_start = endpoint.cpu_seconds()
    for dummy in range(iterations):
        for name, function in variants.items():
            start_cpu, start_wall = time.process_time(), time.perf_counter()
            function()
            wall[name].append(time.perf_counter() - start_wall)
            cpu[name].append(time.process_time() - start_cpu)
    return {
        "wall": {name: statistics.median(values) for name, values in wall.items()},
        "cpu": {name: statistics.median(values) for name, values in cpu.items()},
        "trips": trips,
        "server_cpu": (endpoint.cpu_seconds() - server_cpu_start) / (iterations * len(variants)),
    }


def report(host: str, figures: dict[str, Any]) -> bool:
    """Print one host's table; return whether the targets are met."""
    wall, cpu, trips = figures["wall"], figures["cpu"], figures["trips"]
    print(f"\n{host}: median per collection (endpoint CPU per collection, not counted: "
          f"{figures['server_cpu'] * 1e3:.2f} ms)")
    print(f"{'':10}{'wall':>10}{'CPU':>10}{'x floor-1':>18}{'x floor-2':>18}"
          f"{'round trips':>28}")
    for name in ("floor-1", "floor-2", "plugin"):
        ratios = "".join(
            f"{wall[name] / wall[ref]:8.2f}/{cpu[name] / cpu[ref]:<8.2f}"
            .rjust(18) for ref in ("floor-1", "floor-2"))
        t = trips[name]
        print(f"{name:10}{wall[name] * 1e3:7.2f} ms{cpu[name] * 1e3:7.2f} ms{ratios}"
              f"   {t['wsman']} WS-Man + {t['auth']} auth = {t['http']} HTTP")
    plugin_trips = trips["plugin"]["wsman"]
    ratio_wall = wall["plugin"] / wall["floor-2"]
    ratio_cpu = cpu["plugin"] / cpu["floor-2"]
    met = bool(ratio_wall <= 1.2 and ratio_cpu <= 1.2 and plugin_trips <= 2)
    print(f"target plugin <= 1.2x the same requests with bare pywinrm (floor-2), wall and CPU, "
          f"<= 2 WS-Man round trips: {'met' if met else 'MISSED'} ({ratio_wall:.2f}x wall, "
          f"{ratio_cpu:.2f}x CPU, {plugin_trips} round trips; against the single stats "
          f"Enumerate, floor-1: {wall['plugin'] / wall['floor-1']:.2f}x wall, "
          f"{cpu['plugin'] / cpu['floor-1']:.2f}x CPU)")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=150)
    parser.add_argument("--hosts", nargs="+", default=list(SCENARIO["hosts"]),
                        choices=list(SCENARIO["hosts"]))
    args = parser.parse_args()
    print(f"command: {shlex.join(getattr(sys, 'orig_argv', [sys.executable, *sys.argv]))}")
    print(f"machine: {_machine()}; Python {sys.version.split()[0]}")
    print(f"{args.iterations} iterations, the three variants in turn in each; a new connection "
          "(and authentication) per collection, as the action plugin makes one per host")
    met = True
    with tempfile.TemporaryDirectory(prefix="bench-wsman-") as tmp:
        with endpoint_process(SCENARIO, Path(tmp)) as endpoint:
            for host in args.hosts:
                met = report(host, measure(endpoint, host, args.iterations)) and met
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
