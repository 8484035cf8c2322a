"""The fleet sweep: its pool and its per-host verdicts (plugin_utils/_sweep.py)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from health_snapshots import T0, T1, both, qm_snapshot, snapshot

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _sweep as s
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._verdict import unread_verdict, verdict


def ok(name: str) -> dict[str, Any]:
    return {"ansible_facts": {"mmipsec": snapshot(source="wsman")}, "name": name}


# --- the pool -----------------------------------------------------------------------------------


def test_every_host_comes_back_in_the_order_given_whatever_finishes_first() -> None:
    names = [f"h{i}" for i in range(12)]

    def read(name: str, delay: float) -> Any:
        def run() -> dict[str, Any]:
            time.sleep(delay)
            return ok(name)
        return run

    # The first hosts take longest, so they finish last.
    results = s.read_concurrently({n: read(n, 0.05 * (12 - i) / 12)
                                   for i, n in enumerate(names)}, workers=12)
    assert list(results) == names
    assert [r["name"] for r in results.values()] == names


@pytest.mark.parametrize("workers", [1, 3, 8])
def test_no_more_reads_run_at_once_than_workers(workers: int) -> None:
    lock = threading.Lock()
    running, peak = [0], [0]

    def run() -> dict[str, Any]:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)  # long beside starting a thread, so the pool fills up
        with lock:
            running[0] -= 1
        return ok("x")

    results = s.read_concurrently({f"h{i}": run for i in range(20)}, workers=workers)
    assert len(results) == 20
    assert peak[0] == workers


def test_a_read_that_raises_is_a_failed_host_not_a_dropped_one() -> None:
    def boom() -> dict[str, Any]:
        raise RuntimeError("the library broke")

    results = s.read_concurrently({"a": lambda: ok("a"), "b": boom, "c": lambda: ok("c")}, 4)
    assert list(results) == ["a", "b", "c"]
    assert results["b"] == {"failed": True,
                            "msg": "reading b failed: RuntimeError: the library broke"}


def test_no_hosts_no_pool() -> None:
    assert s.read_concurrently({}, 32) == {}


# --- verdicts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("read", "reason", "message"), [
    pytest.param({"unreachable": True, "msg": "wsman: connection refused"}, "Unreachable",
                 "unreachable: wsman: connection refused", id="unreachable"),
    pytest.param({"failed": True, "msg": "wsman: HTTP 401"}, "ReadFailed",
                 "not read: wsman: HTTP 401", id="failed"),
    pytest.param({"failed": True, "unreachable": False, "msg": ""}, "ReadFailed",
                 "not read: no result", id="no-message"),
])
def test_a_host_not_read_gets_the_host_strategy_s_verdict_and_fails_even_an_allowing_gate(
        read: dict[str, Any], reason: str, message: str) -> None:
    one = s.judge_host(read, None, None, None, {}, "critical", allow_unknown=True)
    assert one["mmipsec"] is None and one["window"] is None
    assert one["msg"] == f"not read: {read['msg'] or 'no result'}"
    # The verdict unreachable.yml gives (one check, reachable), from the same function.
    assert one["verdict"] == unread_verdict(read["msg"] or "no result",
                                            read.get("unreachable", False))
    v = one["verdict"]
    assert (v["status"], v["passed"], v["exit_code"]) == ("unknown", False, 3)
    assert [(c["name"], c["reason"], c["message"]) for c in v["checks"]] == [
        ("reachable", reason, message)]
    assert v["summary"] == f"UNKNOWN: {message}"


def test_a_read_host_gets_the_verdict_of_the_filter() -> None:
    first = both(snapshot(collected_at=T0, source="wsman", oakley_main_mode=10),
                 qm_snapshot(collected_at=T0))
    read = {"ansible_facts": both(snapshot(collected_at=T1, source="wsman", oakley_main_mode=70),
                                  qm_snapshot(collected_at=T1, packets_not_decrypted=5))}
    one = s.judge_host(read, first, first, None, {}, "critical", False)
    assert one["verdict"] == verdict(read["ansible_facts"], first)
    # The quick-mode class is judged too: decryption failures in the window fail the gate.
    assert not one["verdict"]["passed"]
    assert "decryption_failure_rate" in [c["name"] for c in one["verdict"]["checks"]]
    assert one["window"]["window_seconds"] == 60.0
    assert one["qmipsec"] == read["ansible_facts"]["qmipsec"]
    assert one["msg"] is None


def test_a_host_without_the_quick_mode_class_skips_its_checks() -> None:
    read = {"ansible_facts": both(snapshot(collected_at=T1, source="wsman"), {})}
    one = s.judge_host(read, None, None, None, {}, "critical", False)
    assert one["verdict"]["passed"]
    assert "decryption_failure_rate" not in [c["name"] for c in one["verdict"]["checks"]]


def test_a_baseline_problem_makes_the_host_unknown_with_the_reason() -> None:
    one = s.judge_host(ok("a"), None, None, "the baseline in x is not usable", {}, "critical",
                       False)
    assert one["verdict"]["summary"] == "UNKNOWN: no data: the baseline in x is not usable"
    assert one["mmipsec"] is not None
