"""Run the health filters and test through ansible-playbook, on an installed collection.

ANSIBLE_COLLECTIONS_PATH comes from the environment (`make` points it at the installed copy of
the built tarball); without it, build/dev (a symlink to this source tree) is used.

Two playbooks run: filters.yml (every filter and the test, plus failing cases), in normal and
in check mode, and a playbook made of the EXAMPLES of every filter and test doc, run as written
against example_context.yml, so that no documented example can go stale.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from dev_collection import source_collections_path  # noqa: E402  (needs tests/support)

ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
SIDECARS = [ROOT / "plugins" / "filter" / f"mmipsec_{name}.yml"
            for name in ("delta", "verdict", "compare", "summary", "fail_verdict",
                         "unread_verdict", "stored_baseline", "openmetrics")] + [
    ROOT / "plugins" / "test" / "mmipsec_healthy.yml"]
PASSED = '"msg": "All assertions passed"'


def _collections_path() -> str:
    return os.environ.get("ANSIBLE_COLLECTIONS_PATH") or str(source_collections_path())


def _run(playbook: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=_collections_path(), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_STDOUT_CALLBACK="default",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_RETRY_FILES_ENABLED="false")
    return subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-c", "local", str(playbook), *extra],
        cwd=HERE, env=env, capture_output=True, text=True, timeout=300, check=False)


def _asserts(tasks: list[dict[str, Any]]) -> int:
    """How many assert tasks are expected to pass (those not expected to fail)."""
    return sum(1 for t in tasks if "ansible.builtin.assert" in t and not t.get("ignore_errors"))


@pytest.mark.parametrize("mode", [pytest.param((), id="run"),
                                  pytest.param(("--check",), id="check-mode")])
def test_filters_playbook(mode: tuple[str, ...]) -> None:
    result = _run(HERE / "filters.yml", *mode)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    plays = yaml.safe_load((HERE / "filters.yml").read_text(encoding="utf-8"))
    expected = sum(_asserts(play["tasks"]) for play in plays)
    assert expected >= 8
    assert result.stdout.count(PASSED) == expected, output
    assert '"msg": "filters.yml: every assertion ran"' in result.stdout, output
    assert "failed=0" in result.stdout and "ignored=3" in result.stdout, output
    assert "Traceback" not in output


def test_documented_examples(tmp_path: Path) -> None:
    plays = []
    expected = 0
    for sidecar in SIDECARS:
        examples = yaml.safe_load(yaml.safe_load(sidecar.read_text(encoding="utf-8"))["EXAMPLES"])
        count = _asserts(examples)
        assert count >= 1, f"{sidecar.name}: its EXAMPLES assert nothing"
        for task in examples:
            that = task.get("ansible.builtin.assert", {}).get("that", [])
            for condition in that if isinstance(that, list) else [that]:
                # A bare "x == 'A: b'" is a YAML mapping, not a condition: quote or fold it.
                assert isinstance(condition, str), f"{sidecar.name}: {condition!r}"
        expected += count
        plays.append({
            "name": f"EXAMPLES of {sidecar.relative_to(ROOT)}",
            "hosts": "localhost",
            "gather_facts": False,
            "vars_files": [str(HERE / "example_context.yml")],
            "tasks": [{"name": "The host's fact is the 08:01:00 read",
                       "ansible.builtin.set_fact": {
                           "ansible_facts": {"mmipsec": "{{ mmipsec_current }}"}}},
                      *examples],
        })
    playbook = tmp_path / "examples.yml"
    playbook.write_text(yaml.safe_dump(plays, sort_keys=False), encoding="utf-8")
    result = _run(playbook)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert result.stdout.count(PASSED) == expected, output


@pytest.mark.parametrize(("kind", "names"), [
    pytest.param("filter", ("mmipsec_delta", "mmipsec_verdict", "mmipsec_compare",
                            "mmipsec_summary", "mmipsec_fail_verdict", "mmipsec_unread_verdict",
                            "mmipsec_stored_baseline", "mmipsec_openmetrics"),
                 id="filters"),
    pytest.param("test", ("mmipsec_healthy",), id="test"),
])
def test_docs_render(kind: str, names: tuple[str, ...]) -> None:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=_collections_path(), ANSIBLE_NOCOLOR="1")
    result = subprocess.run(
        [str(ANSIBLE_PLAYBOOK.with_name("ansible-doc")), "-t", kind,
         *(f"winiscsi.ipsec.{name}" for name in names)],
        env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "ERROR" not in result.stderr and "WARNING" not in result.stderr, result.stderr
    for name in names:
        assert f"winiscsi.ipsec.{name}" in result.stdout
    assert result.stdout.count("EXAMPLES") == len(names)
    assert result.stdout.count("RETURN VALUES") == len(names)
