"""Print a fleet report written by the winiscsi.ipsec roles as a table (demo helper).

Usage: python show_report.py REPORT.json [STATE_DIR [SKIP]]

With the endpoint's STATE_DIR, also prints each simulated host's phase and how many WS-Man
requests it answered (after the first SKIP lines of the request log), which shows the hosts of
a stopped rollout's later batches untouched.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path


def main(argv: list[str]) -> int:
    """Print the table (and the endpoint's view); returns the exit code."""
    if len(argv) not in (2, 3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    collections = os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep)[0]
    sys.path.insert(0, collections)
    from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._fleet import (
        render_table,
        report_rows,
    )

    path = Path(argv[1])
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = report_rows(data["summary"], data["verdicts"])
    print(render_table(rows, f"{path.stem} ({path})", data.get("pending", []), width=140))
    if len(argv) >= 3:
        state = Path(argv[2])
        skip = int(argv[3]) if len(argv) == 4 else 0
        lines = (state / "requests.jsonl").read_text(encoding="utf-8").splitlines()[skip:]
        requests = Counter(json.loads(line).get("host") for line in lines if line.strip())
        health = json.loads((state / "health.json").read_text(encoding="utf-8"))
        print("\nOn the endpoint (phase, WS-Man requests answered):")
        for host, info in health["hosts"].items():
            note = "unreachable" if info["unreachable"] else f"{requests.get(host, 0)} requests"
            print(f"  {host:8} {info['phase']:9} {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
