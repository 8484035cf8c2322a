"""The fleet sweep's pool, baseline lookup and vetting, and verdicts (plugin_utils/_sweep.py)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from health_snapshots import T0, T1, both, qm_snapshot, snapshot
from input_errors import raised

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _sweep as s
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._verdict import unread_verdict, verdict

FACT_CACHE = "the fact cache (ansible_facts.health_check_baseline)"


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
    assert s.baseline_record("web01", one)["quick_mode_snapshot"] == {}


def test_a_baseline_problem_makes_the_host_unknown_with_the_reason() -> None:
    one = s.judge_host(ok("a"), None, None, "the baseline in x is not usable", {}, "critical",
                       False)
    assert one["verdict"]["summary"] == "UNKNOWN: no data: the baseline in x is not usable"
    assert one["mmipsec"] is not None


# --- stored baselines ---------------------------------------------------------------------------


def record(host: str = "web01", **changes: Any) -> dict[str, Any]:
    return {"format": 1, "host": host, "recorded_at": T0, "snapshot": snapshot(collected_at=T0),
            "window": None, "verdict": None, **changes}


def test_the_file_comes_before_the_fact_cache(tmp_path: Path) -> None:
    (tmp_path / "web01.json").write_text(json.dumps(record(recorded_at="file")))
    found, problem, warning = s.stored_baseline("web01", record(recorded_at="cache"),
                                                str(tmp_path), True)
    assert (found or {})["recorded_at"] == "file"
    assert (problem, warning) == (None, None)


def test_the_fact_cache_when_there_is_no_file(tmp_path: Path) -> None:
    found, problem, dummy = s.stored_baseline("web01", record(), str(tmp_path), True)
    assert found == record() and problem is None


@pytest.mark.parametrize(("stored", "why"), [
    pytest.param(record("web02"), "it was recorded for host web02, not web01", id="other-host"),
    pytest.param(record(format=2), "its format is 2, which this role does not read (it reads "
                 "format 1)", id="format"),
    pytest.param(record(snapshot=None), "it has no snapshot", id="no-snapshot"),
    pytest.param([1], "it is not a JSON object", id="not-an-object"),
])
def test_an_unusable_baseline_is_named_with_what_is_wrong(stored: Any, why: str) -> None:
    found, problem, dummy = s.stored_baseline("web01", stored, "", True)
    assert found is None
    assert problem == f"the baseline in {FACT_CACHE} is not usable: {why}; run the pre-check again"


def test_a_truncated_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "web01.json").write_text('{"format": 1, "ho')
    dummy, problem, dummy2 = s.stored_baseline("web01", None, str(tmp_path), True)
    assert (problem or "").startswith(f"baseline file {tmp_path}/web01.json is not valid JSON "
                                      "(truncated or empty?): ")


def test_no_baseline_fails_or_warns_naming_where_it_looked(tmp_path: Path) -> None:
    looked = f"{FACT_CACHE} and {tmp_path}/fe80%3A%3A1.json"
    dummy, problem, warning = s.stored_baseline("fe80::1", None, str(tmp_path), True)
    assert problem == (f"no pre-check baseline found in {looked}; run the role with "
                       "health_check_phase=pre first (with a persistent fact cache or "
                       "health_check_baseline_dir when pre and post are separate runs)")
    assert warning is None
    dummy, problem, warning = s.stored_baseline("fe80::1", None, str(tmp_path), False)
    assert problem is None
    assert warning == (f"no pre-check baseline found in {looked}; judging the counters since "
                       "the IPsec service started (health_check_require_baseline is false)")


# --- vetting (the role's post.yml through mmipsec_stored_baseline, and stored_baseline) --------


PATH = "/var/lib/ipsec-baselines/web01.json"


def test_vet_the_file_s_text_before_the_cached_baseline() -> None:
    vetted = s.vet_baseline("web01", json.dumps(record(recorded_at="file")), PATH,
                            record(recorded_at="cache"), True)
    assert vetted == {"baseline": record(recorded_at="file"), "state": "usable", "problem": None,
                      "warning": None}
    # Bytes, as the fleet sweep reads the file, are the same.
    assert s.vet_baseline("web01", json.dumps(record()).encode(), PATH, None, True)["state"] == (
        "usable")


def test_vet_the_cached_baseline_without_a_file() -> None:
    cached = record()
    vetted = s.vet_baseline("web01", None, PATH, cached, True)
    assert vetted == {"baseline": cached, "state": "usable", "problem": None, "warning": None}
    assert vetted["baseline"] is not cached  # a copy


@pytest.mark.parametrize(("stored", "why"), [
    pytest.param(record("web02"), "it was recorded for host web02, not web01", id="other-host"),
    pytest.param(record(format=2), "its format is 2, which this role does not read (it reads "
                 "format 1)", id="format"),
    pytest.param(record(format="1"), None, id="format-as-text"),
    pytest.param(record(format=None), "its format is None, which this role does not read (it "
                 "reads format 1)", id="format-null"),
    pytest.param({"snapshot": {}}, "it was recorded for host (none), not web01; its format is "
                 "(none), which this role does not read (it reads format 1)", id="every-key"),
    pytest.param(record(snapshot=None), "it has no snapshot", id="no-snapshot"),
    pytest.param([1], "it is not a JSON object", id="not-an-object"),
    pytest.param("web01", "it is not a JSON object", id="text"),
])
def test_vet_names_every_problem_with_where_the_baseline_came_from(
        stored: Any, why: str | None) -> None:
    for text, cached, found_in in ((json.dumps(stored), None, PATH), (None, stored, FACT_CACHE),
                                   (None, stored, "the pre-check of this run")):
        vetted = s.vet_baseline("web01", text, PATH, cached, False, cached_in=found_in)
        if why is None:
            assert vetted["state"] == "usable"
            continue
        problem = f"the baseline in {found_in} is not usable: {why}; run the pre-check again"
        assert vetted == {"baseline": None, "state": "unusable", "warning": None,
                          "problem": problem}


@pytest.mark.parametrize("text", ["", '{"format": 1, "ho', b"\xff\xfe", "[" * 100_000])
def test_vet_a_file_that_is_not_json(text: str | bytes) -> None:
    vetted = s.vet_baseline("web01", text, PATH, record(), True)
    assert (vetted["baseline"], vetted["state"], vetted["warning"]) == (None, "not_json", None)
    assert vetted["problem"].startswith(f"baseline file {PATH} is not valid JSON (truncated or "
                                        "empty?): ")


def test_vet_no_baseline_fails_or_warns_naming_where_it_looked() -> None:
    for path, looked in (("", FACT_CACHE), (PATH, f"{FACT_CACHE} and {PATH}")):
        assert s.vet_baseline("web01", None, path, None, True) == {
            "baseline": None, "state": "missing", "warning": None,
            "problem": f"no pre-check baseline found in {looked}; run the role with "
                       "health_check_phase=pre first (with a persistent fact cache or "
                       "health_check_baseline_dir when pre and post are separate runs)"}
        assert s.vet_baseline("web01", None, path, None, False) == {
            "baseline": None, "state": "missing", "problem": None,
            "warning": f"no pre-check baseline found in {looked}; judging the counters since the "
                       "IPsec service started (health_check_require_baseline is false)"}


@pytest.mark.parametrize(("args", "kwargs", "field", "expected", "got"), [
    pytest.param(("", None, "", None, True), {}, "input", "a non-empty host name string", "",
                 id="host"),
    pytest.param(("web01", None, None, None, True), {}, "path",
                 "the baseline file's path (a string, '' for none)", None, id="path"),
    pytest.param(("web01", "{}", "", None, True), {}, "text",
                 "the text of the file at path (a string, and a path), or null", "{}",
                 id="text-without-path"),
    pytest.param(("web01", {}, PATH, None, True), {}, "text",
                 "the text of the file at path (a string, and a path), or null", {},
                 id="text-not-text"),
    pytest.param(("web01", None, "", None, "yes"), {}, "require", "true or false", "yes",
                 id="require"),
    pytest.param(("web01", None, "", None, True), {"cached_in": ""}, "cached_in",
                 "a non-empty string", "", id="cached-in"),
])
def test_vet_bad_input(args: tuple[Any, ...], kwargs: dict[str, Any], field: str, expected: str,
                       got: Any) -> None:
    raised(lambda: s.vet_baseline(*args, **kwargs), field, expected, got)


def test_an_unreadable_or_oversized_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "web01.json").mkdir()  # a directory: not a file, so the fact cache is used
    found, problem, dummy = s.stored_baseline("web01", record(), str(tmp_path), True)
    assert found == record() and problem is None
    (tmp_path / "web01.json").rmdir()
    (tmp_path / "web01.json").write_bytes(b" " * (s.MAX_BASELINE_BYTES + 1))
    found, problem, dummy = s.stored_baseline("web01", record(), str(tmp_path), True)
    assert found is None
    assert problem == (f"baseline file {tmp_path}/web01.json is larger than "
                       f"{s.MAX_BASELINE_BYTES} bytes: not a baseline this role wrote")
