"""Command-line entry: run a scenario's hosts until SIGTERM or SIGINT.

Usage: ``PYTHONPATH=tests/support python -m winrm_endpoint --scenario FILE --state-dir DIR``.
Prints ``ready <inventory path>`` once every host listens.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from .scenario import ScenarioError
from .server import Endpoint


def main(argv: Sequence[str] | None = None) -> int:
    """Start the endpoint, announce it, and wait for a stop signal.

    Args:
        argv: Command-line arguments (sys.argv[1:] when None).

    Returns:
        The process exit code.
    """
    parser = argparse.ArgumentParser(
        prog="python -m winrm_endpoint",
        description="Serve a scenario's simulated Windows hosts over WinRM on 127.0.0.1.",
    )
    parser.add_argument("--scenario", required=True, type=Path, help="scenario YAML file")
    parser.add_argument("--state-dir", required=True, type=Path, help="directory for state files")
    args = parser.parse_args(argv)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        endpoint = Endpoint(args.scenario, args.state_dir)
        endpoint.start()
    except (ScenarioError, OSError) as exc:
        print(f"winrm_endpoint: cannot start: {exc}", file=sys.stderr)
        return 2
    pid_path = args.state_dir / "endpoint.pid"
    try:
        pid_path.write_text(f"{os.getpid()}\n")
        print(f"ready {endpoint.inventory_path.resolve()}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        endpoint.stop()
        pid_path.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
