"""Unit tests for the mmipsec_facts action plugin.

The module's result is mocked the way ansible.windows tests its action plugins: a real
ActionModule with a mocked task and connection, and ``_execute_module`` monkeypatched to return a
recorded module result. For ``via: wsman`` the settings go through ansible-core's real winrm
connection plugin and only the read itself (``collect_snapshot``) is replaced;
tests/unit/support/test_wsman_endpoint.py and tests/playbooks run the whole way.
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
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.template import Templar
from dev_collection import loaded_after_importing

from ansible_collections.winiscsi.ipsec.plugins.action import mmipsec_facts
from ansible_collections.winiscsi.ipsec.plugins.action.mmipsec_facts import ActionModule
from ansible_collections.winiscsi.ipsec.plugins.modules.mmipsec_facts import DOCUMENTATION
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._facts_options import ARGUMENT_SPEC
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_client import Session
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_errors import (
    Target,
    WSManError,
    WSManFault,
    WSManTransportError,
)

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


@pytest.mark.parametrize("module_totals", [
    pytest.param(None, id="left to the controller"),
    # What PowerShell 7 (Newtonsoft) would write for a [decimal] total: a float.
    pytest.param("float", id="decimal written as a float"),
    pytest.param("wrong", id="a wrong sum"),
])
def test_totals_are_summed_on_the_controller(module_totals: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = load_result("two_instances_one_inactive")
    want = copy.deepcopy(recorded["ansible_facts"])
    active = [i for i in recorded["ansible_facts"]["qmipsec"]["instances"] if i["active"]]
    active[0]["counters"]["tunnel_bytes_sent"] = 2**64 - 1  # a sum past 2**64-1 elsewhere
    for fact in ("mmipsec", "qmipsec"):
        totals = recorded["ansible_facts"][fact]["totals"]
        recorded["ansible_facts"][fact]["totals"] = (
            None if module_totals is None
            else {k: float(v) if module_totals == "float" else v + 1 for k, v in totals.items()})
    result = run(make_plugin({}), monkeypatch, recorded)
    assert "failed" not in result, result
    want["qmipsec"]["instances"] = recorded["ansible_facts"]["qmipsec"]["instances"]
    want["qmipsec"]["totals"]["tunnel_bytes_sent"] = 2**64 - 1
    assert result["ansible_facts"] == want
    assert all(isinstance(v, int) and not isinstance(v, bool) for f in ("mmipsec", "qmipsec")
               for v in result["ansible_facts"][f]["totals"].values())


def test_a_host_without_the_quick_mode_class_is_not_a_failure(
        monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = load_result("quick_mode_class_not_found")
    result = run(make_plugin({}), monkeypatch, recorded)
    assert "failed" not in result
    assert result["ansible_facts"]["qmipsec"]["reason"] == "class_not_found"
    assert result["ansible_facts"]["mmipsec"]["available"] is True


def test_malformed_quick_mode_facts_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = load_result("one_active_instance")
    recorded["ansible_facts"]["qmipsec"]["instances"][0]["counters"]["re_keys"] = 3.0
    result = run(make_plugin({}), monkeypatch, recorded)
    assert (result["failed"], result["field"]) == (True, "instances[0].counters.re_keys")
    assert result["msg"].startswith("winiscsi.ipsec.mmipsec_facts returned malformed "
                                    "ansible_facts.qmipsec, refused so it cannot reach a verdict")
    del recorded["ansible_facts"]["qmipsec"]
    result = run(make_plugin({}), monkeypatch, recorded)
    assert result["msg"].endswith("snapshot: expected a mapping (ansible_facts.qmipsec), got "
                                  "None (NoneType)")


def test_check_mode_runs_the_read_only_module(monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = load_result("one_active_instance")
    result = run(make_plugin({}, check_mode=True), monkeypatch, recorded)
    assert result["ansible_facts"] == recorded["ansible_facts"]


def _corrupt_float(result: dict[str, Any]) -> None:
    result["ansible_facts"]["mmipsec"]["instances"][0]["counters"]["soft_associations"] = 3.0


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
    pytest.param(_drop_facts, "snapshot", "host 'iscsi01': snapshot: expected a mapping "
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


# --- via: wsman ----------------------------------------------------------------------------
PASSWORD = "Pa55-w0rd!secret"
HOST_VARS = {"inventory_hostname": "iscsi01", "ansible_host": "10.0.0.7", "ansible_user": "ops",
             "ansible_password": PASSWORD, "ansible_winrm_transport": "ntlm"}
TARGET = Target("10.0.0.7", 5986, "ops", "https://10.0.0.7:5986/wsman")


def wsman_plugin(task_args: dict[str, Any], play_context: PlayContext | None = None,
                 task_keys: dict[str, Any] | None = None) -> ActionModule:
    task = MagicMock(Task)
    task.args = {"via": "wsman", **task_args}
    task.check_mode = False
    task.async_val = 0
    task.diff = False
    task.dump_attrs.return_value = dict(task_keys or {})
    return ActionModule(task, MagicMock(), play_context or PlayContext(), loader=DataLoader(),
                        templar=Templar(loader=DataLoader()), shared_loader_obj=None)


def read(monkeypatch: pytest.MonkeyPatch, outcome: dict[str, Any] | WSManError,
         task_args: dict[str, Any] | None = None, host_vars: dict[str, Any] | None = None,
         sessions: list[Session] | None = None, warning: str | None = None,
         **plugin_kwargs: Any) -> dict[str, Any]:
    """Run the plugin with via=wsman; the read returns ``outcome`` or raises it."""
    def fake_collect(session: Session, instance_name: str, include_inactive: bool) -> Any:
        if sessions is not None:
            sessions.append(session)
        if warning:
            session.warnings.append(warning)
        if isinstance(outcome, WSManError):
            raise outcome
        return {"mmipsec": copy.deepcopy(outcome), "qmipsec": wsman_facts("qmipsec")}

    monkeypatch.setattr(mmipsec_facts, "collect_facts", fake_collect)
    plugin = wsman_plugin(task_args or {}, **plugin_kwargs)
    return plugin.run(task_vars=host_vars if host_vars is not None else dict(HOST_VARS))


def wsman_facts(fact: str = "mmipsec") -> dict[str, Any]:
    facts = copy.deepcopy(load_result("one_active_instance")["ansible_facts"][fact])
    facts["source"] = "wsman"
    return facts


def test_wsman_facts_are_returned_with_the_validated_arguments(
        monkeypatch: pytest.MonkeyPatch) -> None:
    sessions: list[Session] = []
    result = read(monkeypatch, wsman_facts(), {"instance_name": "ROOT\\*"}, sessions=sessions)
    assert result == {"changed": False, "ansible_facts": {"mmipsec": wsman_facts(),
                                                          "qmipsec": wsman_facts("qmipsec")},
                      "invocation": {"module_args": {"instance_name": "ROOT\\*",
                                                     "include_inactive": False,
                                                     "via": "wsman"}}}
    settings = sessions[0].settings
    assert (settings.target, settings.password, settings.auth_transports) == (
        TARGET, PASSWORD, ("ntlm",))


@pytest.mark.parametrize(("host_vars", "play_context", "task_keys", "user", "password"), [
    pytest.param({"inventory_hostname": "iscsi01"}, {"password": "asked"},
                 {"remote_user": "play-user"}, "play-user", "asked",
                 id="ask-pass-and-play-remote-user"),
    pytest.param({"inventory_hostname": "iscsi01", "ansible_user": "var-user",
                  "ansible_winrm_password": "var"}, {"password": "asked"},
                 {"remote_user": "play-user"}, "var-user", "var", id="variables-win"),
])
def test_ask_pass_and_the_play_s_remote_user_are_used(
        monkeypatch: pytest.MonkeyPatch, host_vars: dict[str, Any], play_context: dict[str, Any],
        task_keys: dict[str, Any], user: str, password: str) -> None:
    sessions: list[Session] = []
    context = PlayContext()
    context.password = play_context["password"]
    read(monkeypatch, wsman_facts(), host_vars=host_vars, sessions=sessions,
         play_context=context, task_keys=task_keys)
    assert (sessions[0].settings.user, sessions[0].settings.password) == (user, password)


def test_a_fault_fails_the_task_with_its_evidence(monkeypatch: pytest.MonkeyPatch) -> None:
    fault = WSManFault(code=0x80338029, reason="Too slow.", machine="iscsi01", target=TARGET,
                       operation="Enumerate")
    result = read(monkeypatch, fault, warning="could not release the enumeration")
    assert result == {
        "changed": False, "failed": True, "msg": str(fault),
        "invocation": {"module_args": {"instance_name": "*", "include_inactive": False,
                                       "via": "wsman"}},
        "warnings": ["could not release the enumeration"],
        "wsman_host": "10.0.0.7", "wsman_port": 5986, "wsman_user": "ops",
        "wsman_operation": "Enumerate", "wsman_fault_code": "0x80338029",
        "wsman_fault_name": "ERROR_WSMAN_OPERATION_TIMEDOUT", "wsman_fault_subcode": None,
        "wsman_fault_reason": "Too slow.", "wsman_fault_machine": "iscsi01",
    }


def test_no_answer_makes_the_host_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    error = WSManTransportError("timeout", "timed out", target=TARGET, read_timeout_sec=30)
    result = read(monkeypatch, error)
    assert (result.get("unreachable"), result.get("failed"), result["wsman_error"]) == (
        True, None, "timeout")
    assert result["msg"] == str(error)


def test_the_password_never_leaves_the_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    # A hostile host echoes the password into a fault; a library puts it in a warning.
    fault = WSManFault(code=0x80338029, reason=f"echo {PASSWORD}", machine=PASSWORD,
                       target=TARGET, operation="Enumerate")
    result = read(monkeypatch, fault, warning=f"saw {PASSWORD}")
    shown = json.dumps(result)
    assert PASSWORD not in shown
    assert (result["wsman_fault_reason"], result["warnings"]) == (
        "echo ********", ["saw ********"])
    facts = wsman_facts()
    facts["instances"][0]["instance_name"] = f"ROOT\\{PASSWORD}"
    facts["available"], facts["reason"], facts["message"] = False, "no_instances", PASSWORD
    facts["instances"], facts["totals"] = [], {}
    assert PASSWORD not in json.dumps(read(monkeypatch, facts))


@pytest.mark.parametrize(("task_args", "host_vars", "message"), [
    pytest.param({"instance_name": "ROOT\\[0"}, HOST_VARS,
                 "winiscsi.ipsec.mmipsec_facts (via=wsman): instance_name: expected a PowerShell "
                 "-like wildcard pattern in which every '[' is closed by ']' (write '`[' to "
                 "match a literal '['), got 'ROOT\\\\[0' (str)", id="pattern"),
    pytest.param({}, {**HOST_VARS, "ansible_winrm_operation_timeout_sec": 30},
                 "winiscsi.ipsec.mmipsec_facts (via=wsman): ansible_winrm_operation_timeout_sec: "
                 "expected at least 1 and less than ansible_winrm_read_timeout_sec (30), got 30 "
                 "(int)", id="timeouts"),
])
def test_bad_input_fails_before_anything_is_sent(task_args: dict[str, Any],
                                                 host_vars: dict[str, Any], message: str) -> None:
    with pytest.raises(AnsibleActionFail, match=re.escape(message)):
        wsman_plugin(task_args).run(task_vars=dict(host_vars))


def test_a_value_the_winrm_plugin_refuses_fails_in_its_words() -> None:
    # ansible-core words it, differently in 2.16 and 2.19; both name the option and the variable.
    with pytest.raises(AnsibleActionFail, match=r"^winiscsi\.ipsec\.mmipsec_facts \(via=wsman\): "
                       r".*port.*ansible_port"):
        wsman_plugin({}).run(task_vars={**HOST_VARS, "ansible_port": "https"})


def test_unknown_winrm_variables_warn_as_the_winrm_connection_does(
        monkeypatch: pytest.MonkeyPatch) -> None:
    result = read(monkeypatch, wsman_facts(), host_vars={**HOST_VARS, "ansible_winrm_colour": 1})
    assert result["warnings"] == ["ansible_winrm_colour unsupported by pywinrm (is an "
                                  "up-to-date version of pywinrm installed?)"]


def test_loading_the_action_loads_the_verdict_logic_for_the_forked_workers() -> None:
    # ansible-playbook loads the action in its main process before forking a worker per host;
    # what the action imported, the workers need not compile again when a filter judges.
    loaded = loaded_after_importing(["ansible_collections.winiscsi.ipsec.plugins.action.mmipsec_facts"],
                                    "ansible_collections.winiscsi.ipsec.plugins.plugin_utils.")
    prefix = "ansible_collections.winiscsi.ipsec.plugins.plugin_utils."
    assert {prefix + name for name in ("_verdict", "_policy", "_window", "_nagios")} <= set(loaded)
