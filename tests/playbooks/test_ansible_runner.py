"""The shipped health check run the way AWX / Automation Controller runs a job: ansible-runner.

A private data directory with a project (a playbook that imports ``winiscsi.ipsec.health_check``,
as an AWX project would), an inventory and ``env/extravars`` (flat values, as a survey gives
them), process isolation off; the fleet summary is read back from the runner's artifacts, where
AWX reads the ``set_stats`` data that workflow nodes branch on.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SUPPORT = ROOT / "tests" / "support"
SCENARIO = Path(__file__).resolve().parent / "scenarios" / "roles.yml"
COLLECTIONS = os.environ.get("ANSIBLE_COLLECTIONS_PATH", str(ROOT / "build" / "dev"))
BIN = Path(sys.executable).parent

if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))

from winrm_endpoint import Endpoint  # noqa: E402  (needs tests/support on sys.path)


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[Endpoint]:
    with Endpoint(SCENARIO, state_dir=tmp_path / "endpoint") as ep:
        yield ep


def _private_data_dir(ep: Endpoint, base: Path, extravars: dict[str, Any]) -> Path:
    data = base / "runner"
    (data / "project").mkdir(parents=True)
    (data / "inventory").mkdir()
    (data / "env").mkdir()
    (data / "project" / "health_check.yml").write_text(
        "---\n- name: The collection's health check\n"
        "  ansible.builtin.import_playbook: winiscsi.ipsec.health_check\n", encoding="utf-8")
    shutil.copy(ep.inventory_path, data / "inventory" / "hosts.yml")
    (data / "env" / "extravars").write_text(yaml.safe_dump(extravars), encoding="utf-8")
    (data / "env" / "envvars").write_text(yaml.safe_dump({
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
        "ANSIBLE_LOCAL_TEMP": str(base / "ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1",
    }), encoding="utf-8")
    return data


def _artifact_stats(data: Path, ident: str) -> dict[str, Any]:
    """The set_stats data of the run, from the playbook_on_stats event in the artifacts."""
    events = [json.loads(p.read_text()) for p in (data / "artifacts" / ident / "job_events").glob(
        "*.json")]
    [stats] = [e for e in events if e.get("event") == "playbook_on_stats"]
    return dict(stats["event_data"]["artifact_data"])


def test_health_check_through_ansible_runner_publishes_the_summary(
        endpoint: Endpoint, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    data = _private_data_dir(endpoint, tmp_path, {
        "health_check_hosts": "single1:noclass1:gone1",
        "mmipsec_via": "wsman",
        "health_check_report_dir": str(reports),
        # Survey answers are flat: a number as text, a boolean as text, thresholds as JSON text.
        "health_check_sample_seconds": "1",
        "health_check_allow_unavailable": "true",
        "health_check_thresholds": '{"cleartext_fallback": {"critical": "0"}}',
    })
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(
        [str(BIN / "ansible-runner"), "run", str(data), "-p", "health_check.yml", "--ident", "job1"],
        capture_output=True, text=True, env=env, timeout=240, check=False)
    status = (data / "artifacts" / "job1" / "status").read_text().strip()
    rc = (data / "artifacts" / "job1" / "rc").read_text().strip()

    # gone1 is unreachable: the job fails, and the summary still reaches the artifacts.
    assert (status, rc) == ("failed", "2"), proc.stdout[-4000:] + proc.stderr[-2000:]
    summary = _artifact_stats(data, "job1")["health_check_summary"]
    assert (summary["total"], summary["passed"], summary["failed_hosts"]) == (3, 2, ["gone1"])
    rows = {row["host"]: row for row in summary["hosts"]}
    assert rows["noclass1"]["status"] == "unknown" and rows["noclass1"]["passed"] is True
    assert rows["gone1"]["summary"].startswith("UNKNOWN: unreachable: ")
    assert rows["single1"]["status"] == "ok"
    # The survey's sample window was used (a window verdict, not lifetime values).
    assert "s window" in rows["single1"]["summary"], rows["single1"]
    assert json.loads((reports / "health-check-pre.json").read_text())["summary"] == summary


def test_docs_show_the_execution_environment_definition_the_release_checks_build() -> None:
    """docs/awx.md's example definition is tests/release/execution-environment.yml (ee.sh)."""
    page = (ROOT / "docs" / "awx.md").read_text(encoding="utf-8")
    blocks = [b.split("\n", 1)[1] for b in page.split("```yaml")[1:]]
    shown = [yaml.safe_load(b.split("```", 1)[0]) for b in blocks]
    checked = yaml.safe_load((ROOT / "tests" / "release" / "execution-environment.yml").read_text())
    assert checked in shown
