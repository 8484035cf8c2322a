"""The health filter plugins: mapping, errors, documentation.

mmipsec_verdict, mmipsec_delta, mmipsec_compare, mmipsec_summary, mmipsec_fail_verdict,
mmipsec_unread_verdict and mmipsec_stored_baseline are thin wrappers; their behaviour is tested on
plugin_utils (tests/unit/plugins/plugin_utils) and their documented examples run through
ansible-playbook in tests/playbooks. What is left to test here is the wrapping.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError
from health_snapshots import T0, snapshot
from plugin_docs import load_sidecar, signature_problems

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import (
    _baseline,
    _fleet,
    _verdict,
    _window,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError, describe
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._policy import DEFAULT_FAIL_ON

PACKAGE = "ansible_collections.winiscsi.ipsec.plugins"


def plugin(name: str) -> Callable[..., Any]:
    return getattr(importlib.import_module(f"{PACKAGE}.filter.{name}"), name)


def pre_post_deltas() -> tuple[dict[str, Any], dict[str, Any]]:
    pre = _window.delta(snapshot(), snapshot(collected_at=T0))
    post = _window.delta(snapshot(collected_at="2026-11-26T08:02:00Z", soft_associations=1),
                         snapshot())
    return pre, post


FILTERS = ("mmipsec_verdict", "mmipsec_delta", "mmipsec_compare", "mmipsec_summary",
           "mmipsec_fail_verdict", "mmipsec_unread_verdict", "mmipsec_stored_baseline")

# filter -> (arguments that plugin_utils refuses, the message it must carry)
BAD_INPUT: dict[str, tuple[tuple[Any, ...], dict[str, Any], str]] = {
    "mmipsec_verdict": (
        (snapshot(),), {"fail_on": "never"},
        "fail_on: expected one of ['warning', 'critical'], got 'never' (str)"),
    "mmipsec_delta": (
        ([], snapshot()), {},
        "input: expected a mapping (ansible_facts.mmipsec), got [] (list)"),
    "mmipsec_compare": (
        ({}, {}), {},
        "input: expected an mmipsec_delta result (missing the keys ['available', 'reason', "
        "'collected_at', 'baseline_collected_at', 'window_seconds', 'rate_window_seconds', "
        "'reset_detected', 'reset_reasons', 'counters', 'rates', 'gauges', 'instances']), got {} "
        "(dict)"),
    "mmipsec_summary": (
        ({},), {"hosts": "web01"},
        "hosts: expected a list of host names, got 'web01' (str)"),
    "mmipsec_fail_verdict": (
        (_verdict.verdict(snapshot()), "RolledBack", ""), {},
        "message: expected a non-empty string, got '' (str)"),
    "mmipsec_unread_verdict": (
        ("no answer",), {"unreachable": "no"},
        "unreachable: expected true or false, got 'no' (str)"),
    "mmipsec_stored_baseline": (
        ("web01",), {"require": "yes"},
        "require: expected true or false, got 'yes' (str)"),
}


@pytest.mark.parametrize("name", FILTERS)
def test_filter_is_registered(name: str) -> None:
    module = importlib.import_module(f"{PACKAGE}.filter.{name}")
    assert module.FilterModule().filters() == {name: plugin(name)}


@pytest.mark.parametrize("name", FILTERS)
def test_error_is_an_ansible_filter_error_naming_the_filter(name: str) -> None:
    args, kwargs, reason = BAD_INPUT[name]
    message = f"winiscsi.ipsec.{name}: {reason}"
    with pytest.raises(AnsibleFilterError, match=re.escape(message)) as info:
        plugin(name)(*args, **kwargs)
    assert str(info.value) == message
    assert isinstance(info.value.__cause__, InputError)


@pytest.mark.parametrize("name", FILTERS)
def test_documentation_matches_the_signature(name: str) -> None:
    assert signature_problems(plugin(name), load_sidecar("filter", name)) == []


@pytest.mark.parametrize("name", ["mmipsec_verdict", "mmipsec_compare"])
def test_fail_on_default_is_the_policy_default(name: str) -> None:
    # The filters spell the default out, as their documentation does.
    assert plugin(name).__defaults__[-2] == DEFAULT_FAIL_ON


def test_verdict_arguments_reach_plugin_utils() -> None:
    before, after = snapshot(collected_at=T0), snapshot(get_spi_failures=1)
    thresholds = {"key_management_failures": {"warning": "5"}}
    verdict = plugin("mmipsec_verdict")
    assert verdict(after, before, thresholds, "warning", True) == _verdict.verdict(
        after, before, thresholds, "warning", True)
    assert verdict(after, before)["status"] == "warning"
    assert verdict(after, before, thresholds)["status"] == "ok"


def test_delta_is_the_plugin_utils_result() -> None:
    before, after = snapshot(collected_at=T0), snapshot(oakley_main_mode=2)
    assert plugin("mmipsec_delta")(after, before) == _window.delta(after, before)


def test_compare_arguments_reach_plugin_utils() -> None:
    pre, post = pre_post_deltas()
    compare = plugin("mmipsec_compare")
    assert compare(pre, post)["regressions"][0]["check"] == "cleartext_fallback"
    relaxed = {"cleartext_fallback": {"critical": None}}
    assert compare(pre, post, relaxed, "critical", False) == _verdict.compare(pre, post, relaxed)


def test_summary_arguments_reach_plugin_utils() -> None:
    verdicts = {"web01": _verdict.verdict(snapshot())}
    result = plugin("mmipsec_summary")(verdicts, ["web01", "web02"])
    assert result == _fleet.summary(verdicts, ["web01", "web02"])
    assert result["missing_hosts"] == ["web02"]
    assert result["hosts"][1]["checks"] == verdicts["web01"]["checks"]


def test_fail_verdict_arguments_reach_plugin_utils() -> None:
    one = _verdict.verdict(snapshot())
    result = plugin("mmipsec_fail_verdict")(one, "ChangeFailed", "the change failed")
    assert result == _verdict.fail_verdict(one, "ChangeFailed", "the change failed")
    assert (result["status"], result["passed"], result["exit_code"]) == ("critical", False, 2)
    assert result["summary"] == "CRITICAL: the change failed"
    assert result["checks"][-1] == {
        "name": "rollout", "status": "critical", "counters": [], "value": None, "warning": None,
        "critical": None, "reason": "ChangeFailed", "message": "the change failed"}


def test_unread_verdict_arguments_reach_plugin_utils() -> None:
    unread = plugin("mmipsec_unread_verdict")
    assert unread("connection refused") == _verdict.unread_verdict("connection refused")
    assert unread("connection refused")["checks"][0]["reason"] == "Unreachable"
    assert unread("HTTP 401", False) == _verdict.unread_verdict("HTTP 401", unreachable=False)
    assert unread("HTTP 401", unreachable=False)["summary"] == "UNKNOWN: not read: HTTP 401"


def test_stored_baseline_arguments_reach_plugin_utils() -> None:
    stored = plugin("mmipsec_stored_baseline")
    cached = {"format": 1, "host": "web01", "snapshot": snapshot()}
    path = "/var/lib/ipsec-baselines/web01.json"
    assert stored("web01", None, path, cached) == _baseline.vet_baseline(
        "web01", None, path, cached, True)
    assert stored("web01", cached=cached)["baseline"] == cached
    other = '{"format": 1, "host": "web02", "snapshot": {}}'
    assert stored("web01", other, path, cached, False, "x") == _baseline.vet_baseline(
        "web01", other, path, cached, False, "x")
    assert stored("web01", cached=cached, cached_in="the pre-check of this run")["state"] == (
        "usable")
    assert stored("web01", require=False)["warning"] == (
        f"no pre-check baseline found in {_baseline.FACT_CACHE}; judging the counters since the "
        "IPsec service started (health_check_require_baseline is false)")


def _nested(levels: int) -> Any:
    value: Any = 1
    for dummy in range(levels):
        value = {"a": value}
    return value


def _ok_summary(**row: Any) -> dict[str, Any]:
    summary = _fleet.summary({"web01": _verdict.verdict(snapshot())})
    summary["hosts"][0].update(row)
    return summary


# Issue 15: (filter, arguments, keyword arguments, the message after "winiscsi.ipsec.<filter>: ")
HARDENED: list[Any] = [
    pytest.param("mmipsec_compare", lambda: (pre_post_deltas()[0],
                                             {**pre_post_deltas()[1], "window_seconds": NAN}),
                 {}, "post_delta.window_seconds: expected a finite number, got nan (float)",
                 id="compare-window-nan"),
    pytest.param("mmipsec_verdict", lambda: (snapshot(),),
                 {"thresholds": {"cleartext_fallback": {"warning": 10**5000}}},
                 "thresholds.cleartext_fallback.warning: expected an integer of at most 4300 "
                 "digits, got an integer of 5001 digits (int)", id="verdict-huge-threshold"),
    pytest.param("mmipsec_verdict", lambda: (snapshot(),), {"thresholds": _nested(900)},
                 "thresholds" + ".a" * 64 + ": expected at most 64 levels of nesting, got "
                 + describe(_nested(900 - 64)), id="verdict-deep-thresholds"),
    pytest.param("mmipsec_summary",
                 lambda: ({"web01": {**_verdict.verdict(snapshot()), "passed": "false"}},), {},
                 "input['web01'].passed: expected true or false, got 'false' (str)",
                 id="summary-passed-string"),
    pytest.param("mmipsec_report", lambda: (_ok_summary(passed="false"),), {},
                 "input.hosts[0].passed: expected true or false, got 'false' (str)",
                 id="report-passed-string"),
]
NAN = float("nan")


@pytest.mark.parametrize(("name", "args", "kwargs", "reason"), HARDENED)
def test_bad_input_error_names_the_filter_and_the_field(name: str, args: Any,
                                                        kwargs: dict[str, Any],
                                                        reason: str) -> None:
    with pytest.raises(AnsibleFilterError) as info:
        plugin(name)(*args(), **kwargs)
    assert str(info.value) == f"winiscsi.ipsec.{name}: {reason}"
    assert isinstance(info.value.__cause__, InputError)
