"""The mmipsec_fleet_facts action plugin: per-host settings, error mapping, via, docs."""

from __future__ import annotations

import copy
import re
import threading
import time
from types import SimpleNamespace
from typing import Any
from unittest.mock import MagicMock

import pytest
import yaml
from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.template import Templar
from health_snapshots import qm_snapshot, snapshot

from ansible_collections.winiscsi.ipsec.plugins.action import mmipsec_fleet_facts as plugin_file
from ansible_collections.winiscsi.ipsec.plugins.action.mmipsec_fleet_facts import (
    ARGUMENT_SPEC,
    ActionModule,
)
from ansible_collections.winiscsi.ipsec.plugins.modules.mmipsec_fleet_facts import DOCUMENTATION
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._sweep import read_concurrently
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_client import Session
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_errors import (
    WSManTransportError,
)

PASSWORD = "Fl33t-pa55!secret"
HOSTVARS = {
    "web01": {"inventory_hostname": "web01", "ansible_host": "10.0.0.1", "ansible_port": 5985,
              "ansible_user": "ops", "ansible_password": PASSWORD,
              "ansible_winrm_transport": "ntlm"},
    "web02": {"inventory_hostname": "web02", "ansible_host": "10.0.0.2", "ansible_port": 5986,
              "ansible_user": "other", "ansible_password": PASSWORD,
              "ansible_winrm_transport": "basic"},
    "dead": {"inventory_hostname": "dead", "ansible_host": "10.0.0.3", "ansible_port": 5985,
             "ansible_user": "ops", "ansible_password": PASSWORD},
}


def fleet_plugin(args: dict[str, Any]) -> ActionModule:
    task = MagicMock(Task)
    task.args = args
    task.check_mode = False
    task.async_val = 0
    task.diff = False
    task.dump_attrs.return_value = {}
    return ActionModule(task, MagicMock(), PlayContext(), loader=DataLoader(),
                        templar=Templar(loader=DataLoader()), shared_loader_obj=None)


def sweep(monkeypatch: pytest.MonkeyPatch, args: dict[str, Any],
          sessions: list[Session] | None = None) -> dict[str, Any]:
    """Run the plugin; web01 and web02 answer, dead refuses (echoing the password)."""
    def fake_collect(session: Session, instance_name: str, include_inactive: bool) -> Any:
        if sessions is not None:
            sessions.append(session)
        if session.settings.host == "10.0.0.3":
            raise WSManTransportError("connection", f"connection reset ({PASSWORD})",
                                      target=session.settings.target)
        return {"mmipsec": copy.deepcopy(snapshot(source="wsman")),
                "qmipsec": copy.deepcopy(qm_snapshot())}

    monkeypatch.setattr(plugin_file, "collect_facts", fake_collect)
    return fleet_plugin({"via": "wsman", **args}).run(task_vars={
        "inventory_hostname": "web01", "hostvars": copy.deepcopy(HOSTVARS)})


def test_each_host_is_read_with_its_own_settings_and_none_is_dropped(
        monkeypatch: pytest.MonkeyPatch) -> None:
    sessions: list[Session] = []
    result = sweep(monkeypatch, {"hosts": ["web01", "web02", "dead"]}, sessions)

    seen = sorted((s.settings.host, s.settings.port, s.settings.user, s.settings.auth_transports)
                  for s in sessions)
    assert seen == [("10.0.0.1", 5985, "ops", ("ntlm",)), ("10.0.0.2", 5986, "other", ("basic",)),
                    ("10.0.0.3", 5985, "ops", ("plaintext",))]
    assert list(result["hosts"]) == ["web01", "web02", "dead"]
    assert result["unread_hosts"] == ["dead"]
    assert result["failed_hosts"] == ["dead"]
    assert result["changed"] is False and "failed" not in result
    dead = result["hosts"]["dead"]
    assert dead["unreachable"] is True and dead["mmipsec"] is None
    assert dead["verdict"]["status"] == "unknown"
    # The password a host echoed never leaves the plugin.
    assert PASSWORD not in repr(result)
    assert "connection reset (********)" in dead["msg"]
    assert result["hosts"]["web01"]["verdict"]["status"] == "ok"


def test_via_module_is_refused_with_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AnsibleActionFail, match=re.escape(
            "winiscsi.ipsec.mmipsec_fleet_facts reads over WS-Management from the controller "
            "only, so it needs via=wsman, got via='module'")):
        sweep(monkeypatch, {"hosts": ["web01"], "via": "module"})


@pytest.mark.parametrize(("args", "message"), [
    pytest.param({"workers": 0}, "workers must be 1 to 256, got 0", id="workers"),
    pytest.param({"hosts": ["web01", "nope"]}, "hosts not in the inventory: ['nope']",
                 id="unknown-host"),
    pytest.param({"fail_on": "warning", "thresholds": {"nope": {}}}, "thresholds",
                 id="thresholds"),
    pytest.param({"instance_name": "[a"}, "instance_name", id="instance-name"),
])
def test_bad_arguments_fail_before_any_read(monkeypatch: pytest.MonkeyPatch,
                                            args: dict[str, Any], message: str) -> None:
    sessions: list[Session] = []
    with pytest.raises(AnsibleActionFail, match=re.escape(message)):
        sweep(monkeypatch, {"hosts": ["web01"], **args}, sessions)
    assert sessions == []


def test_a_window_start_gives_the_window_and_a_failed_first_sample_is_unknown(
        monkeypatch: pytest.MonkeyPatch) -> None:
    first = sweep(monkeypatch, {"hosts": ["web01", "dead"]})["hosts"]
    second = sweep(monkeypatch, {"hosts": ["web01", "dead"], "window_start": first})["hosts"]
    assert second["web01"]["window"] is not None
    assert second["web01"]["verdict"]["window_seconds"] is not None
    assert second["dead"]["verdict"]["status"] == "unknown"


def test_the_documentation_matches_the_argument_spec() -> None:
    options = yaml.safe_load(DOCUMENTATION)["options"]
    assert set(options) == set(ARGUMENT_SPEC)
    for name, spec in ARGUMENT_SPEC.items():
        documented = options[name]
        assert documented["type"] == spec["type"], name
        assert documented.get("default") == spec.get("default"), name
        assert documented.get("choices") == spec.get("choices"), name
        assert documented.get("required", False) == spec.get("required", False), name


def test_kerberos_hosts_are_read_one_at_a_time_the_others_concurrently(
        monkeypatch: pytest.MonkeyPatch) -> None:
    guard = threading.Lock()
    running = {"kerberos": 0, "ntlm": 0}
    peak = {"kerberos": 0, "ntlm": 0}

    def fake_read_host(settings: Any, read: Any, log: Any) -> dict[str, Any]:
        kind = settings.auth_transports[0]
        with guard:
            running[kind] += 1
            peak[kind] = max(peak[kind], running[kind])
        time.sleep(0.03)
        with guard:
            running[kind] -= 1
        return {"ansible_facts": {}}

    monkeypatch.setattr(plugin_file, "read_host", fake_read_host)
    kerberos = threading.Lock()
    reads = {f"{kind}{i}": plugin_file._reader(  # noqa: SLF001
        SimpleNamespace(auth_transports=(kind,)), [], None, kerberos)
        for kind in ("kerberos", "ntlm") for i in range(6)}
    assert len(read_concurrently(reads, 12)) == 12
    assert peak["kerberos"] == 1
    assert peak["ntlm"] > 1


class RecordingVars(dict[str, Any]):
    """A host's variables that record which are read, as hostvars templates each one read."""

    def __init__(self, values: dict[str, Any], read: list[str]) -> None:
        super().__init__(values)
        self.read = read

    def __getitem__(self, key: str) -> Any:
        self.read.append(key)
        return super().__getitem__(key)

    def items(self) -> Any:  # what unpacking a mapping into a dict would template
        raise AssertionError("every variable of the host was read")


def test_only_the_connection_variables_of_a_host_are_read(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # hostvars templates a variable when it is read; groups lists the whole inventory, so
    # reading every variable of every host costs O(inventory) per host (N squared a sweep).
    read: list[str] = []
    values = {**HOSTVARS["web01"], "groups": {"all": ["web01"] * 1000},
              "ansible_winrm_read_timeout_sec": 40}
    monkeypatch.setattr(plugin_file, "collect_facts",
                        lambda session, name, inactive: {"mmipsec": snapshot(source="wsman"),
                                                         "qmipsec": qm_snapshot()})
    result = fleet_plugin({"via": "wsman", "hosts": ["web01"]}).run(task_vars={
        "inventory_hostname": "web01", "hostvars": {"web01": RecordingVars(values, read)}})

    assert result["hosts"]["web01"]["verdict"]["status"] == "ok"
    assert "groups" not in read
    assert {"ansible_host", "ansible_port", "ansible_password",
            "ansible_winrm_read_timeout_sec"} <= set(read)
