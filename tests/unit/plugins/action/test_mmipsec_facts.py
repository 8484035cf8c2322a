"""Unit tests for the mmipsec_facts action plugin (module transport).

The module's result is mocked the way ansible.windows tests its action plugins: a real
ActionModule with a mocked task and connection, and ``_execute_module`` monkeypatched to return a
recorded module result.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
import yaml
from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task
from dev_collection import loaded_after_importing

from ansible_collections.winiscsi.ipsec.plugins.action.mmipsec_facts import ActionModule
from ansible_collections.winiscsi.ipsec.plugins.modules.mmipsec_facts import DOCUMENTATION
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._facts_options import ARGUMENT_SPEC

DATA = Path(__file__).resolve().parents[2] / "test_data" / "module_results"


def load_result(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text())


def make_plugin(task_args: dict[str, Any], check_mode: bool = False) -> ActionModule:
    task = MagicMock(Task)
    task.args = task_args
    task.check_mode = check_mode
    task.async_val = 0
    task.diff = False
    play_context = MagicMock()
    play_context.check_mode = check_mode
    return ActionModule(task, MagicMock(), play_context, loader=None, templar=None,
                        shared_loader_obj=None)


def run(plugin: ActionModule, monkeypatch: pytest.MonkeyPatch, module_result: dict[str, Any],
        calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    def fake_execute_module(**kwargs: Any) -> dict[str, Any]:
        if calls is not None:
            calls.append(kwargs)
        return copy.deepcopy(module_result)

    monkeypatch.setattr(plugin, "_execute_module", fake_execute_module)
    return plugin.run(task_vars={"inventory_hostname": "iscsi01"})


def test_argument_spec_matches_the_documentation() -> None:
    options = yaml.safe_load(DOCUMENTATION)["options"]
    documented = {
        name: {key: value for key, value in option.items() if key in ("type", "default", "choices")}
        for name, option in options.items()
    }
    assert documented == ARGUMENT_SPEC


@pytest.mark.parametrize("name", ["one_active_instance", "two_instances_one_inactive",
                                  "class_not_found", "provider_error"])
def test_valid_module_result_is_returned(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = load_result(name)
    calls: list[dict[str, Any]] = []
    result = run(make_plugin({"instance_name": "ROOT\\ISCSIPRT\\*"}), monkeypatch, recorded, calls)
    assert result["ansible_facts"] == recorded["ansible_facts"]
    assert result["changed"] is False
    assert "failed" not in result
    # The module gets the user's own arguments, under the collection's full name.
    assert calls[0]["module_name"] == "winiscsi.ipsec.mmipsec_facts"
    assert calls[0]["module_args"] == {"instance_name": "ROOT\\ISCSIPRT\\*"}
    assert result["invocation"] == recorded["invocation"]


def test_check_mode_runs_the_read_only_module(monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = load_result("one_active_instance")
    result = run(make_plugin({}, check_mode=True), monkeypatch, recorded)
    assert result["ansible_facts"] == recorded["ansible_facts"]


def _corrupt_float(result: dict[str, Any]) -> None:
    result["ansible_facts"]["mmipsec"]["instances"][0]["counters"]["soft_associations"] = 3.0


def _corrupt_total(result: dict[str, Any]) -> None:
    result["ansible_facts"]["mmipsec"]["totals"]["soft_associations"] += 1


def _drop_facts(result: dict[str, Any]) -> None:
    del result["ansible_facts"]


def _string_counter(result: dict[str, Any]) -> None:
    result["ansible_facts"]["mmipsec"]["instances"][0]["counters"]["key_updates"] = "7"


@pytest.mark.parametrize(("corrupt", "field", "message"), [
    pytest.param(_corrupt_float, "instances[0].counters.soft_associations",
                 "host 'iscsi01': instances[0].counters.soft_associations: expected an integer in "
                 "0..18446744073709551615 (not a bool, float or string), got 3.0 (float)",
                 id="float counter"),
    pytest.param(_string_counter, "instances[0].counters.key_updates",
                 "host 'iscsi01': instances[0].counters.key_updates: expected an integer in "
                 "0..18446744073709551615 (not a bool, float or string), got '7' (str)",
                 id="string counter"),
    pytest.param(_corrupt_total, "totals.soft_associations",
                 "host 'iscsi01': totals.soft_associations: expected", id="wrong total"),
    pytest.param(_drop_facts, "", "host 'iscsi01': snapshot: expected a mapping "
                 "(ansible_facts.mmipsec), got None (NoneType)", id="no facts"),
])
def test_malformed_module_result_fails(corrupt: Any, field: str, message: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = load_result("one_active_instance")
    corrupt(recorded)
    result = run(make_plugin({}), monkeypatch, recorded)
    assert result["failed"] is True
    assert "ansible_facts" not in result
    assert result["field"] == field
    assert result["msg"].startswith(
        "winiscsi.ipsec.mmipsec_facts returned malformed ansible_facts.mmipsec, refused so it "
        "cannot reach a verdict: " + message
    )


def test_module_failure_is_passed_through(monkeypatch: pytest.MonkeyPatch) -> None:
    failure = {"failed": True, "msg": "Failed to query root\\WMI MSiSCSI_MMIPSECStats: access "
               "denied", "changed": False}
    result = run(make_plugin({}), monkeypatch, failure)
    assert result["failed"] is True
    assert result["msg"] == failure["msg"]


@pytest.mark.parametrize(("args", "pattern"), [
    # ansible-core's validator names the type "str" (2.19) or "<class 'str'>" (2.16).
    pytest.param({"include_inactive": "maybe"},
                 re.escape("argument 'include_inactive' is of type ") + r"(str|<class 'str'>)"
                 + re.escape(" and we were unable to convert to bool: The value 'maybe' is not "
                             "a valid boolean."), id="bad bool"),
    pytest.param({"via": "smb"}, re.escape("value of via must be one of: module, wsman, got: smb"),
                 id="bad choice"),
])
def test_bad_arguments_raise(args: dict[str, Any], pattern: str,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AnsibleActionFail, match=pattern):
        run(make_plugin(args), monkeypatch, load_result("one_active_instance"))


def test_unknown_argument_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = make_plugin({"namespace": "root\\cimv2"})
    plugin._task.action = "winiscsi.ipsec.mmipsec_facts"
    with pytest.raises(AnsibleActionFail, match=re.escape(
            "Invalid options for winiscsi.ipsec.mmipsec_facts: namespace")):
        run(plugin, monkeypatch, load_result("one_active_instance"))


def test_importing_the_action_plugin_loads_the_verdict_engine() -> None:
    # The controller imports the action plugin before forking its workers: _health loaded here
    # is inherited by every worker that runs a verdict filter, instead of compiled in each.
    plugins = "ansible_collections.winiscsi.ipsec.plugins"
    loaded = loaded_after_importing([f"{plugins}.action.mmipsec_facts"], f"{plugins}.plugin_utils.")
    assert f"{plugins}.plugin_utils._health" in loaded
