# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for winiscsi.ipsec.mmipsec_facts: choose the transport, vet the result."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import (
    SCHEMAS,
    validate_snapshot,
    with_totals,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._facts_options import (
    ARGUMENT_SPEC,
    MODULE_NAME,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_client import collect_facts
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_errors import WSManError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_read import (
    host_settings,
    read_host,
)

display = Display()

# ansible-playbook loads this action in its main process before it forks a worker per host and
# task, and the workers inherit the modules it imported. The verdict logic is imported here for
# them: a worker that imports it itself (the filters do, when a template names one) compiles each
# module from source, as collection modules get no bytecode cache: 12 ms of CPU per host for a
# task whose template judges (bench_fleet.py gather, 50 hosts: 5.68 s to 5.06 s of CPU; 0.41x to
# 0.36x a ping play; docs/performance.md, section 7).
import_module("ansible_collections.winiscsi.ipsec.plugins.plugin_utils._verdict")


class ActionModule(ActionBase):
    """Gather ``ansible_facts.mmipsec`` and ``ansible_facts.qmipsec``; refuse a malformed result."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self._supports_check_mode = True  # read-only either way
        self._supports_async = False
        if task_vars is None:
            task_vars = {}
        result = super().run(tmp, task_vars)
        del tmp  # tmp no longer has any effect

        # Raises AnsibleActionFail naming the option, the choices and the value it got.
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        if args["via"] == "wsman":
            result.update(self._read_over_wsman(args, task_vars))
        else:
            result.update(self._execute_module(module_name=MODULE_NAME,
                                               module_args=dict(self._task.args),
                                               task_vars=task_vars))
        if result.get("failed") or result.get("unreachable"):
            return result
        facts = result.get("ansible_facts")
        facts = dict(facts) if isinstance(facts, dict) else {}
        for schema in SCHEMAS:
            # Totals are summed here for both transports: exact past 2**64-1, which the
            # module's JSON cannot be (PowerShell 7 writes a [decimal] 15 as 15.0).
            facts[schema.fact] = with_totals(facts.get(schema.fact), schema)
            try:
                validate_snapshot(facts[schema.fact], task_vars.get("inventory_hostname"),
                                  schema=schema)
            except InputError as e:
                return {"failed": True, "changed": False, "field": e.field,
                        "expected": e.expected,
                        "msg": f"{MODULE_NAME} returned malformed ansible_facts.{schema.fact}, "
                               f"refused so it cannot reach a verdict: {e}"}
        result["ansible_facts"] = facts
        result["changed"] = False
        return result

    def _read_over_wsman(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        """Query the class from the controller with the host's winrm connection options."""
        try:
            settings, warnings = host_settings(self._play_context, task_vars,
                                               self._task.dump_attrs(), self._templar.template)
        except (AnsibleError, InputError) as e:
            raise AnsibleActionFail(f"{MODULE_NAME} (via=wsman): {e}") from e
        except WSManError as e:  # pywinrm is missing
            return {"failed": True, "msg": str(e), **e.details()}

        def read(session: Any) -> dict[str, Any]:
            return collect_facts(session, args["instance_name"], args["include_inactive"])

        try:
            result = read_host(settings, read, display.vvvv)
        except InputError as e:  # instance_name, refused before any request
            raise AnsibleActionFail(f"{MODULE_NAME} (via=wsman): {e}") from e
        warnings += result.pop("warnings", [])
        if warnings:
            result["warnings"] = warnings
        return {"changed": False, "invocation": {"module_args": args}, **result}
