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
sys.path.insert(0, str(ROOT / "tests" / "support"))

from dev_collection import make_importable  # noqa: E402  (needs tests/support on sys.path)

CONFIGURED = os.environ.get("WINISCSI_COLLECTIONS")
COLLECTIONS = make_importable(Path(CONFIGURED) if CONFIGURED else None)
