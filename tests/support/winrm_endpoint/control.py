"""A tiny client of the endpoint's control API, for playbooks' command tasks.

Usage::

    python -m winrm_endpoint.control --state-dir DIR phase change [--host h1 [--host h2]]
    python -m winrm_endpoint.control --state-dir DIR requests [--host h1]
    python -m winrm_endpoint.control --state-dir DIR health
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def control_url(state_dir: Path) -> str:
    """The control API's base URL, from DIR/control.json."""
    path = state_dir / "control.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return str(data["url"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RuntimeError(
            f"winrm_endpoint.control: cannot read the control URL from {path}: {exc}"
        ) from exc


def call(state_dir: Path, method: str, path: str, payload: Any = None) -> Any:
    """Send one request to the control API and return its JSON answer.

    Raises:
        RuntimeError: The endpoint is not reachable or refused the request.
    """
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(
        control_url(state_dir) + path, data=data, method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        raise RuntimeError(f"winrm_endpoint.control: {method} {path} failed: {exc.code} {detail}") from exc
    except OSError as exc:
        raise RuntimeError(f"winrm_endpoint.control: {method} {path} failed: {exc}") from exc


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; prints the API's JSON answer."""
    parser = argparse.ArgumentParser(prog="python -m winrm_endpoint.control")
    parser.add_argument("--state-dir", required=True, type=Path)
    commands = parser.add_subparsers(dest="command", required=True)
    phase = commands.add_parser("phase", help="switch hosts to a phase")
    phase.add_argument("name")
    phase.add_argument("--host", action="append", dest="hosts", help="repeat; default all hosts")
    reqs = commands.add_parser("requests", help="print the request log")
    reqs.add_argument("--host")
    commands.add_parser("health", help="print the hosts and their phases")
    args = parser.parse_args(argv)
    try:
        if args.command == "phase":
            payload: dict[str, Any] = {"phase": args.name}
            if args.hosts:
                payload["hosts"] = args.hosts
            result = call(args.state_dir, "POST", "/phase", payload)
        elif args.command == "requests":
            query = "?" + urllib.parse.urlencode({"host": args.host}) if args.host else ""
            result = call(args.state_dir, "GET", "/requests" + query)
        else:
            result = call(args.state_dir, "GET", "/health")
    except RuntimeError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
