"""The README's main command: the demo script, run against the installed collection.

`make demo` builds and installs the collection, then runs tests/demo/run_demo.sh; `make test`
has done the first part already, so this runs the script itself and checks what a user sees.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = os.environ.get("ANSIBLE_COLLECTIONS_PATH", str(ROOT / "build" / "dev"))


def test_demo_stops_the_rollout_at_the_broken_host(tmp_path: Path) -> None:
    env = {**os.environ, "VENV": str(Path(sys.executable).parent.parent),
           "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS, "DEMO_DIR": str(tmp_path / "demo")}
    run = subprocess.run(["bash", str(ROOT / "tests" / "demo" / "run_demo.sh")], env=env,
                         capture_output=True, text=True, timeout=600, check=False)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    # The canary passes, web03 breaks and is rolled back, the rest are never reached.
    assert "post-check web01: OK" in output
    # Its main mode still negotiates: the quick-mode check on decryption stops it.
    assert "post-check failed on web03: CRITICAL: " in output
    assert "packets per second failed decryption" in output
    assert re.search(r"^web03 +CRITICAL +FAILED +decryption_failure_rate ", output, re.M), output
    # The pre-check judged both classes, and skipped quick mode on app01, which lacks it.
    assert re.search(r"^web01 +OK +passed +- +OK: all 13 checks passed", output, re.M), output
    assert re.search(r"^app01 +OK +passed +- +OK: all 9 checks passed", output, re.M), output
    assert "TASK [winiscsi.ipsec.rollout : Run the rollback]" in output
    assert "not reached (6, unchanged): web02, web04, app01, app02, db01, file01" in output
    assert "ansible-playbook exit code: 2" in output
    assert "Endpoint stopped." in output
    report = tmp_path / "demo" / "reports" / "rollout.html"
    assert f"HTML report: {report}" in output
    html = report.read_text()
    assert "web03" in html and "web01" in html
    # The metrics report carries the quick-mode counters of the hosts that read them.
    prom = report.with_suffix(".prom").read_text()
    assert re.search(r'^winiscsi_ipsec_qm_packets_not_decrypted_total\{host="web03",', prom,
                     re.M), prom[-2000:]
