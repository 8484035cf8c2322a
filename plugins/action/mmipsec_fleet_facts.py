# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for winiscsi.ipsec.mmipsec_fleet_facts: read and judge many hosts at once."""

from __future__ import annotations

import threading
from collections import ChainMap
from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._baseline import (
    baseline_record,
    stored_baseline,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._policy import resolve_thresholds
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._sweep import (
    MAX_WORKERS,
    failed_hosts,
    judge_host,
    read_concurrently,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._verdict import (
    check_allow_unknown,
    check_fail_on,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_client import (
    collect_facts,
    compile_wildcard,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_errors import WSManError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_read import (
    host_settings,
    read_host,
)

display = Display()

NAME = "winiscsi.ipsec.mmipsec_fleet_facts"
ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "hosts": {"type": "list", "elements": "str", "required": True},
    "workers": {"type": "int", "default": 32},
    "phase": {"type": "str", "choices": ["read", "pre", "post"], "default": "read"},
    "window_start": {"type": "dict"},
    "baseline_dir": {"type": "str", "default": ""},
    "require_baseline": {"type": "bool", "default": True},
    "thresholds": {"type": "dict", "default": {}},
    "fail_on": {"type": "str", "choices": ["warning", "critical"], "default": "critical"},
    "allow_unknown": {"type": "bool", "default": False},
    # The options of the action group winiscsi.ipsec.mmipsec, which module_defaults may set.
    "via": {"type": "str", "choices": ["module", "wsman"], "default": "module"},
    "instance_name": {"type": "str", "default": "*"},
    "include_inactive": {"type": "bool", "default": False},
}


class ActionModule(ActionBase):
    """Read both statistics classes of many hosts concurrently over WS-Management."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)
    _requires_connection = False  # only other hosts are read, over their own settings

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self._supports_check_mode = True  # read-only
        self._supports_async = False
        if task_vars is None:
            task_vars = {}
        result = super().run(tmp, task_vars)
        del tmp  # tmp no longer has any effect

        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        if args["via"] != "wsman":
            # A fallback to one task per host would silently cost what this plugin exists to
            # avoid; the PowerShell module cannot be run from here.
            raise AnsibleActionFail(
                f"{NAME} reads over WS-Management from the controller only, so it needs "
                f"via=wsman, got via={args['via']!r}: set module_defaults "
                "{group/winiscsi.ipsec.mmipsec: {via: wsman}} (the winiscsi.ipsec.health_check "
                "playbook: -e mmipsec_via=wsman) or health_check_via=wsman, or use "
                "health_check_strategy=host to run the module on each host")
        if not 1 <= args["workers"] <= MAX_WORKERS:
            raise AnsibleActionFail(f"{NAME}: workers must be 1 to {MAX_WORKERS}, got "
                                    f"{args['workers']!r}")
        try:
            compile_wildcard(args["instance_name"])
            resolve_thresholds(args["thresholds"])
            check_fail_on(args["fail_on"])
            check_allow_unknown(args["allow_unknown"])
        except InputError as e:
            raise AnsibleActionFail(f"{NAME}: {e}") from e

        hostvars = task_vars.get("hostvars", {})
        unknown = [name for name in args["hosts"] if name not in hostvars]
        if unknown:
            raise AnsibleActionFail(f"{NAME}: hosts not in the inventory: {unknown!r}")

        reads = self._reads(args, hostvars)
        results = read_concurrently(reads, args["workers"])
        result.update(self._judge(args, results, hostvars))
        return result

    def _reads(self, args: dict[str, Any], hostvars: Mapping[str, Any]) -> dict[str, Any]:
        """One read per host, each with the host's own connection settings."""
        task_keys = self._task.dump_attrs()
        # A managed kinit points KRB5CCNAME, which is process-wide, at its own cache for the
        # exchange: Kerberos hosts are read one at a time, the others concurrently.
        kerberos = threading.Lock()

        def read(session: Any) -> dict[str, Any]:
            return collect_facts(session, args["instance_name"], args["include_inactive"])

        reads = {}
        for name in args["hosts"]:
            # hostvars[name] templates a variable when it is read: read only those the
            # connection takes (unpacking it would template every one of them).
            variables = ChainMap(hostvars[name], {"ansible_host": name})
            try:
                settings, warnings = host_settings(self._play_context, variables,
                                                   dict(task_keys), self._templar.template)
            except (AnsibleError, InputError, WSManError) as e:
                reads[name] = _fixed({"failed": True, "msg": f"{NAME} ({name}): {e}"})
                continue
            reads[name] = _reader(settings, warnings, read, kerberos)
        return reads

    def _judge(self, args: dict[str, Any], results: dict[str, dict[str, Any]],
               hostvars: Mapping[str, Any]) -> dict[str, Any]:
        """Each host's facts, as the health_check role sets them in the host strategy."""
        starts = args["window_start"] or {}
        judged: dict[str, dict[str, Any]] = {}
        warnings: list[str] = []
        for name, read in results.items():
            warnings += [f"{name}: {text}" for text in read.get("warnings", [])]
            start = starts.get(name) if args["window_start"] is not None else None
            if args["window_start"] is not None and not (start or {}).get("mmipsec"):
                # The first sample failed: the host has no window, as in the host strategy,
                # where its first read would have failed it.
                read = {"failed": True, "unreachable": (start or {}).get("unreachable", False),
                        "msg": (start or {}).get("msg") or "not read in the first sample"}
            # Both classes, as the filters take them (no quick-mode class: {}, no data).
            first = ({"mmipsec": start["mmipsec"], "qmipsec": start.get("qmipsec") or {}}
                     if (start or {}).get("mmipsec") else None)
            stored, problem = None, None
            baseline = first
            if args["phase"] == "post":
                cached = hostvars[name].get("ansible_facts", {}).get("health_check_baseline")
                stored, problem, warning = stored_baseline(name, cached, args["baseline_dir"],
                                                           args["require_baseline"])
                if warning:
                    warnings.append(f"{name}: {warning}")
                baseline = ({"mmipsec": stored["snapshot"],
                             "qmipsec": stored.get("quick_mode_snapshot") or {}}
                            if stored else None)
            one = judge_host(read, first, baseline, problem, args["thresholds"],
                             args["fail_on"], args["allow_unknown"])
            one["unreachable"] = bool(read.get("unreachable"))
            if args["phase"] == "post":
                one["baseline_used"] = stored
            elif args["phase"] == "pre" and one["mmipsec"] is not None:
                one["baseline"] = baseline_record(name, one)
            judged[name] = one
        out: dict[str, Any] = {
            "changed": False,
            "hosts": judged,
            "failed_hosts": failed_hosts(judged),
            "unread_hosts": [n for n, one in judged.items() if one["mmipsec"] is None],
        }
        if warnings:
            out["warnings"] = warnings
        return out


def _fixed(result: dict[str, Any]) -> Any:
    return lambda: result


def _reader(settings: Any, warnings: list[str], read: Any, kerberos: threading.Lock) -> Any:
    """The read of one host, with its settings' warnings."""
    def run() -> dict[str, Any]:
        if "kerberos" in settings.auth_transports:
            with kerberos:
                result = read_host(settings, read, display.vvvv)
        else:
            result = read_host(settings, read, display.vvvv)
        if warnings:
            result["warnings"] = warnings + result.get("warnings", [])
        return result
    return run
