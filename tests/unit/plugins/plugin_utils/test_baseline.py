"""Stored baselines: finding a post-check's baseline and vetting it (_baseline.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from health_snapshots import T0, snapshot
from input_errors import raised

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _baseline as b

FACT_CACHE = "the fact cache (ansible_facts.health_check_baseline)"


# --- stored baselines ---------------------------------------------------------------------------


def record(host: str = "web01", **changes: Any) -> dict[str, Any]:
    return {"format": 1, "host": host, "recorded_at": T0, "snapshot": snapshot(collected_at=T0),
            "window": None, "verdict": None, **changes}


def test_the_file_comes_before_the_fact_cache(tmp_path: Path) -> None:
    (tmp_path / "web01.json").write_text(json.dumps(record(recorded_at="file")))
    found, problem, warning = b.stored_baseline("web01", record(recorded_at="cache"),
                                                str(tmp_path), True)
    assert (found or {})["recorded_at"] == "file"
    assert (problem, warning) == (None, None)


def test_the_fact_cache_when_there_is_no_file(tmp_path: Path) -> None:
    found, problem, dummy = b.stored_baseline("web01", record(), str(tmp_path), True)
    assert found == record() and problem is None


@pytest.mark.parametrize(("stored", "why"), [
    pytest.param(record("web02"), "it was recorded for host web02, not web01", id="other-host"),
    pytest.param(record(format=2), "its format is 2, which this role does not read (it reads "
                 "format 1)", id="format"),
    pytest.param(record(snapshot=None), "it has no snapshot", id="no-snapshot"),
    pytest.param([1], "it is not a JSON object", id="not-an-object"),
])
def test_an_unusable_baseline_is_named_with_what_is_wrong(stored: Any, why: str) -> None:
    found, problem, dummy = b.stored_baseline("web01", stored, "", True)
    assert found is None
    assert problem == f"the baseline in {FACT_CACHE} is not usable: {why}; run the pre-check again"


def test_a_truncated_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "web01.json").write_text('{"format": 1, "ho')
    dummy, problem, dummy2 = b.stored_baseline("web01", None, str(tmp_path), True)
    assert (problem or "").startswith(f"baseline file {tmp_path}/web01.json is not valid JSON "
                                      "(truncated or empty?): ")


def test_no_baseline_fails_or_warns_naming_where_it_looked(tmp_path: Path) -> None:
    looked = f"{FACT_CACHE} and {tmp_path}/fe80%3A%3A1.json"
    dummy, problem, warning = b.stored_baseline("fe80::1", None, str(tmp_path), True)
    assert problem == (f"no pre-check baseline found in {looked}; run the role with "
                       "health_check_phase=pre first (with a persistent fact cache or "
                       "health_check_baseline_dir when pre and post are separate runs)")
    assert warning is None
    dummy, problem, warning = b.stored_baseline("fe80::1", None, str(tmp_path), False)
    assert problem is None
    assert warning == (f"no pre-check baseline found in {looked}; judging the counters since "
                       "the IPsec service started (health_check_require_baseline is false)")


# --- vetting (the role's post.yml through mmipsec_stored_baseline, and stored_baseline) --------


PATH = "/var/lib/ipsec-baselines/web01.json"


def test_vet_the_file_s_text_before_the_cached_baseline() -> None:
    vetted = b.vet_baseline("web01", json.dumps(record(recorded_at="file")), PATH,
                            record(recorded_at="cache"), True)
    assert vetted == {"baseline": record(recorded_at="file"), "state": "usable", "problem": None,
                      "warning": None}
    # Bytes, as the fleet sweep reads the file, are the same.
    assert b.vet_baseline("web01", json.dumps(record()).encode(), PATH, None, True)["state"] == (
        "usable")


def test_vet_the_cached_baseline_without_a_file() -> None:
    cached = record()
    vetted = b.vet_baseline("web01", None, PATH, cached, True)
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
        vetted = b.vet_baseline("web01", text, PATH, cached, False, cached_in=found_in)
        if why is None:
            assert vetted["state"] == "usable"
            continue
        problem = f"the baseline in {found_in} is not usable: {why}; run the pre-check again"
        assert vetted == {"baseline": None, "state": "unusable", "warning": None,
                          "problem": problem}


@pytest.mark.parametrize("text", ["", '{"format": 1, "ho', b"\xff\xfe", "[" * 100_000])
def test_vet_a_file_that_is_not_json(text: str | bytes) -> None:
    vetted = b.vet_baseline("web01", text, PATH, record(), True)
    assert (vetted["baseline"], vetted["state"], vetted["warning"]) == (None, "not_json", None)
    assert vetted["problem"].startswith(f"baseline file {PATH} is not valid JSON (truncated or "
                                        "empty?): ")


def test_vet_no_baseline_fails_or_warns_naming_where_it_looked() -> None:
    for path, looked in (("", FACT_CACHE), (PATH, f"{FACT_CACHE} and {PATH}")):
        assert b.vet_baseline("web01", None, path, None, True) == {
            "baseline": None, "state": "missing", "warning": None,
            "problem": f"no pre-check baseline found in {looked}; run the role with "
                       "health_check_phase=pre first (with a persistent fact cache or "
                       "health_check_baseline_dir when pre and post are separate runs)"}
        assert b.vet_baseline("web01", None, path, None, False) == {
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
    raised(lambda: b.vet_baseline(*args, **kwargs), field, expected, got)


def test_an_unreadable_or_oversized_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "web01.json").mkdir()  # a directory: not a file, so the fact cache is used
    found, problem, dummy = b.stored_baseline("web01", record(), str(tmp_path), True)
    assert found == record() and problem is None
    (tmp_path / "web01.json").rmdir()
    (tmp_path / "web01.json").write_bytes(b" " * (b.MAX_BASELINE_BYTES + 1))
    found, problem, dummy = b.stored_baseline("web01", record(), str(tmp_path), True)
    assert found is None
    assert problem == (f"baseline file {tmp_path}/web01.json is larger than "
                       f"{b.MAX_BASELINE_BYTES} bytes: not a baseline this role wrote")


def test_a_pre_check_record_keeps_an_empty_quick_mode_snapshot_without_the_class() -> None:
    judged = {"mmipsec": snapshot(collected_at=T0), "qmipsec": None, "window": None,
              "verdict": {"status": "ok"}}
    record_kept = b.baseline_record("web01", judged)
    assert record_kept == {"format": 1, "host": "web01", "recorded_at": T0,
                           "snapshot": judged["mmipsec"], "quick_mode_snapshot": {},
                           "window": None, "verdict": {"status": "ok"}}
    assert b.vet_baseline("web01", json.dumps(record_kept), "f", None, True)["state"] == "usable"
