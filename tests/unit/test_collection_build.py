"""The Galaxy tarball: `ansible-galaxy collection build` accepts the metadata, ships what a user
needs and none of the development-only files."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# Paths (prefixes) that must never reach the tarball.
DEV_ONLY = (".venv/", ".ci/", ".git/", "build/", "bench/", "Makefile", "tests/unit/",
            "tests/sanity/", "tests/release/", "ruff.toml", ".mypy.ini", "tests/support/",
            "tests/playbooks/", "tests/demo/", "tests/requirements-dev.txt", ".gitignore")
# Paths a user of the collection needs.
SHIPPED = ("MANIFEST.json", "README.md", "COPYING", "meta/runtime.yml", "requirements.txt",
           "plugins/modules/mmipsec_facts.ps1", "plugins/modules/mmipsec_facts.py",
           "plugins/action/mmipsec_facts.py", "plugins/plugin_utils/_counters.py",
           # The HTML report of the health_check role, which mmipsec_report renders too.
           "roles/health_check/templates/report.html.j2",
           "changelogs/changelog.yaml", "tests/integration/targets/mmipsec_facts/aliases")


def test_tarball_has_no_dev_only_files(tmp_path: Path) -> None:
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True, text=True)
    version = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    tarball = tmp_path / f"winiscsi-ipsec-{version}.tar.gz"
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    leaked = [name for name in names for prefix in DEV_ONLY
              if name == prefix.rstrip("/") or name.startswith(prefix)]
    assert leaked == []
    assert [name for name in SHIPPED if name not in names] == []
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
