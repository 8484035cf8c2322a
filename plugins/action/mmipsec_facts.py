# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for winiscsi.ipsec.mmipsec_facts: choose the transport, vet the result."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

# Not used here: imported for the workers. The linear strategy imports this plugin in the
# controller's main process before forking a worker per host, and ansible-core compiles
# collection code from source on every import, so the verdict engine the filters call is
# compiled once here instead of in every worker (see CONTRIBUTING.md).
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _health  # noqa: F401  # pylint: disable=unused-import
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import (
    SnapshotError,
    validate_snapshot,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._facts_options import (
    ARGUMENT_SPEC,
    MODULE_NAME,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman import WSManError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_client import (
    collect_snapshot,
    settings_from_vars,
)

# The host variables via=wsman reads, besides every ansible_winrm_* one: the same names the
# winrm connection plugin takes, so an inventory that works with it needs nothing new.
_CONNECTION_VARS = frozenset({
    "inventory_hostname", "ansible_host", "ansible_port", "ansible_user", "ansible_password",
    "ansible_ssh_pass",
})


class ActionModule(ActionBase):
    """Gather ``ansible_facts.mmipsec`` and refuse a malformed result."""

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
        host = str(task_vars.get("inventory_hostname", "")) or None

        if args["via"] == "wsman":
            result.update(self._collect_with_wsman(args, task_vars))
        else:
            result.update(self._collect_with_module(task_vars))
        if result.get("failed") or result.get("unreachable"):
            return result
        try:
            validate_snapshot(result.get("ansible_facts", {}).get("mmipsec"), host)
        except SnapshotError as e:
            return {
                "failed": True,
                "changed": False,
                "msg": f"{MODULE_NAME} returned malformed ansible_facts.mmipsec, refused so it "
                       f"cannot reach a verdict: {e}",
                "field": e.field,
                "expected": e.expected,
            }
        result["changed"] = False
        return result

    def _collect_with_module(self, task_vars: dict[str, Any]) -> dict[str, Any]:
        """Run the PowerShell module over the play's connection, with the user's arguments."""
        return self._execute_module(
            module_name=MODULE_NAME, module_args=dict(self._task.args), task_vars=task_vars
        )

    def _collect_with_wsman(self, args: dict[str, Any],
                            task_vars: dict[str, Any]) -> dict[str, Any]:
        """Query the class from the controller with the host's WinRM settings."""
        names = [name for name in task_vars
                 if name in _CONNECTION_VARS or name.startswith("ansible_winrm_")]
        connection_vars = self._templar.template({name: task_vars[name] for name in names})
        # --ask-pass and a play's remote_user reach the play context, not the variables.
        if not any(name in connection_vars for name in
                   ("ansible_password", "ansible_ssh_pass", "ansible_winrm_pass",
                    "ansible_winrm_password")) and self._play_context.password:
            connection_vars["ansible_password"] = self._play_context.password
        if "ansible_user" not in connection_vars and self._play_context.remote_user:
            connection_vars["ansible_user"] = self._play_context.remote_user

        try:
            settings = settings_from_vars(connection_vars)
            collected = collect_snapshot(settings, args["instance_name"], args["include_inactive"])
        except WSManError as e:
            # Timeouts and refused connections make the host unreachable, as the winrm
            # connection would; everything else the host answered is a failed task.
            failure: dict[str, Any] = {"msg": str(e), **e.details()}
            failure["unreachable" if e.unreachable else "failed"] = True
            if e.warnings:
                failure["warnings"] = list(e.warnings)
            return failure
        except ValueError as e:  # a bad setting or instance_name: the user's input
            raise AnsibleActionFail(f"{MODULE_NAME} (via=wsman): {e}") from e

        result: dict[str, Any] = {
            "changed": False,
            "ansible_facts": {"mmipsec": collected.snapshot},
            "invocation": {"module_args": args},
        }
        if collected.warnings:
            result["warnings"] = list(collected.warnings)
        return result
