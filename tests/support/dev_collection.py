"""The source tree as the collection ``winiscsi.ipsec``, for tests and scripts run by hand.

`make test` exports the collections path where the built tarball was installed, and the tests
use that copy. Without it, build/dev/ansible_collections/winiscsi/ipsec, a symlink to this
checkout, stands in, so a quick `pytest` or script run uses the source under the same name.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def source_collections_path() -> Path:
    """Return build/dev, creating its symlink to the checkout if it is missing."""
    dev = ROOT / "build" / "dev"
    link = dev / "ansible_collections" / "winiscsi" / "ipsec"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ROOT, target_is_directory=True)
    return dev


def make_importable(path: Path | None = None) -> Path:
    """Put a collections path (default: the source tree's) first on sys.path; return it."""
    path = path or source_collections_path()
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
    return path


def loaded_after_importing(modules: Sequence[str], prefix: str) -> list[str]:
    """Import ``modules`` in a fresh interpreter (this one's sys.path); the loaded names under
    ``prefix``, sorted. For tests of what importing a plugin file costs."""
    code = ("import importlib, json, sys\n"
            f"for name in {list(modules)!r}:\n"
            "    importlib.import_module(name)\n"
            f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({prefix!r}))))\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, env={"PYTHONPATH": os.pathsep.join(sys.path)}).stdout
    return list(json.loads(out))
