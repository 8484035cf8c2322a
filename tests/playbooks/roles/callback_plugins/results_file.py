"""Test-only callback: write every task result and the play recap to a JSON file.

ansible-core 2.19 no longer ships the json stdout callback (it moved to ansible.posix), so the
playbook tests record results with this small notification callback instead. Enable it with
ANSIBLE_CALLBACK_PLUGINS=<this directory>, ANSIBLE_CALLBACKS_ENABLED=results_file and name the
output file in WINISCSI_RESULTS_FILE.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    """Record (task, host, status, result) of every task, and the recap, as JSON."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "results_file"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._records: list[dict[str, Any]] = []

    def _add(self, result: Any, status: str) -> None:
        self._records.append({
            "task": result._task.get_name(),
            "host": result._host.get_name(),
            "status": status,
            # _dump_results drops Ansible's internal keys and turns every value into JSON.
            "result": json.loads(self._dump_results(result._result)),
        })

    def v2_runner_on_ok(self, result: Any) -> None:
        self._add(result, "ok")

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._add(result, "failed")

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._add(result, "skipped")

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._add(result, "unreachable")

    def v2_playbook_on_stats(self, stats: Any) -> None:
        recap = {host: stats.summarize(host) for host in sorted(stats.processed)}
        path = os.environ["WINISCSI_RESULTS_FILE"]
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"results": self._records, "stats": recap}, handle, indent=1)
