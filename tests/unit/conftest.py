"""Make ``ansible_collections.winiscsi.ipsec`` importable for the unit tests.

`make test` points WINISCSI_COLLECTIONS at the collections path where the built tarball was
installed, so the tests exercise the installed copy. Without it (a quick `pytest` while
developing), a symlink under build/dev makes the source tree importable under the same name.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _collections_path() -> Path:
    configured = os.environ.get("WINISCSI_COLLECTIONS")
    if configured:
        return Path(configured)
    dev = ROOT / "build" / "dev"
    link = dev / "ansible_collections" / "winiscsi" / "ipsec"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ROOT, target_is_directory=True)
    return dev


COLLECTIONS = _collections_path()
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
