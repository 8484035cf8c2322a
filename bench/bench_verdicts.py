"""Benchmark: mmipsec verdicts for many synthetic hosts, plus one fleet summary.

Not a timed test (timings depend on the machine): run it by hand and read the figures. Each
round runs every measured loop once, in turn, so a noisy neighbour slows all of them alike; the
figures are the best and the median round. The output names the machine and the command.

    .venv/bin/python bench/bench_verdicts.py [--hosts 10000]

Target (issue 3): at most 50 microseconds per host verdict, and no more than 3x the time
json.loads takes to decode the same snapshots (the input a verdict reads: current + baseline).
The verdicts are made through the filter functions, exactly as a playbook calls them.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from dev_collection import make_importable  # noqa: E402  (needs tests/support on sys.path)

make_importable()

from health_snapshots import instance, snapshot  # noqa: E402

from ansible_collections.winiscsi.ipsec.plugins.filter.mmipsec_summary import (  # noqa: E402
    mmipsec_summary,
)
from ansible_collections.winiscsi.ipsec.plugins.filter.mmipsec_verdict import (  # noqa: E402
    mmipsec_verdict,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import (  # noqa: E402
    validate_snapshot,
)

T0 = "2026-11-26T08:00:00.1234567Z"
T1 = "2026-11-26T08:05:00.7654321Z"


def _host(rng: random.Random) -> tuple[str, str]:
    """One host's baseline and current snapshot, as JSON text (what a fact cache holds)."""
    base = {
        "oakley_main_mode": rng.randrange(10**6), "oakley_quick_mode": rng.randrange(10**7),
        "negotiation_failures": rng.randrange(10**3), "authentication_failures": rng.randrange(50),
        "invalid_packets": rng.randrange(10**4), "total_get_spi": rng.randrange(10**7),
        "key_additions": rng.randrange(10**7), "key_updates": rng.randrange(10**7),
        "soft_associations": rng.randrange(3), "active_acquire": 1,
        "acquire_heap_size": rng.randrange(64), "receive_heap_size": rng.randrange(64),
        "connection_list_size": rng.randrange(100),
    }
    # Five minutes of a busy, mostly healthy host: SAs keep forming, failures are rare.
    grown = dict(base)
    for key in ("oakley_main_mode", "oakley_quick_mode", "total_get_spi", "key_additions",
                "key_updates"):
        grown[key] += rng.randrange(50, 500)
    grown["invalid_packets"] += rng.randrange(20)
    grown["negotiation_failures"] += rng.random() < 0.05
    grown["soft_associations"] += rng.random() < 0.01
    before = snapshot([instance(**base)], collected_at=T0)
    after = snapshot([instance(**grown)], collected_at=T1)
    return json.dumps(before), json.dumps(after)


def _rounds(loops: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """CPU seconds of each loop in each round; every round runs every loop once, in turn.

    CPU time of this process (time.process_time), not wall time: other work on the machine
    does not count, so the figures and their ratio stay comparable on a busy CI runner. Taking
    turns within a round spreads what CPU time cannot exclude (a neighbour evicting the caches,
    frequency changes) over all the loops instead of over whichever ran at the wrong moment.
    """
    times: dict[str, list[float]] = {name: [] for name in loops}
    for dummy in range(rounds):
        for name, function in loops.items():
            start = time.process_time()
            function()
            times[name].append(time.process_time() - start)
    return times


def _cpu_model() -> str:
    """The CPU model as /proc/cpuinfo names it (Linux), else what platform knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                key, sep, value = line.partition(":")
                if sep and key.strip() in ("model name", "Hardware", "cpu model"):
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _machine() -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cores = f"{os.cpu_count()} logical CPUs" + (f" ({usable} usable)" if usable is not None else "")
    return f"{_cpu_model()}, {cores}, {platform.system()} {platform.release()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    texts = [_host(rng) for dummy in range(args.hosts)]
    decoded = [(json.loads(b), json.loads(c)) for b, c in texts]
    names = [f"host{i:05d}" for i in range(args.hosts)]

    def decode() -> None:
        for baseline, current in texts:
            json.loads(baseline)
            json.loads(current)

    def judge() -> None:
        for baseline, current in decoded:
            mmipsec_verdict(current, baseline)

    def judge_lifetime() -> None:
        for _baseline, current in decoded:
            mmipsec_verdict(current)

    def validate() -> None:
        for baseline, current in decoded:
            validate_snapshot(current)
            validate_snapshot(baseline)

    gc.disable()  # a collection landing in one loop and not another skews the ratio
    try:
        times = _rounds({"decode": decode, "verdict": judge, "lifetime": judge_lifetime,
                         "validate": validate}, args.rounds)
        verdicts = {name: mmipsec_verdict(current, baseline)
                    for name, (baseline, current) in zip(names, decoded, strict=True)}
        start = time.process_time()
        fleet = mmipsec_summary(verdicts, hosts=names + ["unreachable01"])
        summary_time = time.process_time() - start
    finally:
        gc.enable()

    def micros(name: str, pick: Callable[[list[float]], float]) -> float:
        return pick(times[name]) / args.hosts * 1e6

    best = {name: micros(name, min) for name in times}
    median = {name: micros(name, statistics.median) for name in times}
    ratio = best["verdict"] / best["decode"]
    median_ratio = median["verdict"] / median["decode"]
    print(f"command: {shlex.join(getattr(sys, 'orig_argv', [sys.executable, *sys.argv]))}")
    print(f"machine: {_machine()}; Python {sys.version.split()[0]}")
    print(f"hosts: {args.hosts}, {args.rounds} rounds (the loops take turns in each round), "
          "CPU time per host")
    print(f"{'':36}{'best':>9}{'median':>9}")
    for label, name in (("json.loads of baseline + current", "decode"),
                        ("verdict with baseline", "verdict"),
                        ("  of which validate_snapshot x 2", "validate"),
                        ("lifetime verdict (no baseline)", "lifetime")):
        print(f"{label:36}{best[name]:6.1f} us{median[name]:6.1f} us")
    print(f"{'verdict / json.loads':36}{ratio:8.2f}x{median_ratio:8.2f}x")
    print(f"summary of {fleet['total']} hosts: {summary_time * 1e3:.1f} ms "
          f"(counts {fleet['counts']})")
    met = best["verdict"] <= 50 and ratio <= 3
    print(f"target <= 50 us per verdict and <= 3x json.loads (best round): "
          f"{'met' if met else 'MISSED'} ({best['verdict']:.1f} us, {ratio:.2f}x; median "
          f"{median['verdict']:.1f} us, {median_ratio:.2f}x)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
