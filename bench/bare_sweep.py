"""The bare sweep: every host of an endpoint inventory read over WS-Management, no Ansible.

bench_fleet.py runs it as its ``bare`` play: the collection's own client (the read of
winiscsi.ipsec.mmipsec_fleet_facts: both classes and the boot time, 32 hosts at a time in one
process) without ansible-playbook's start-up, per-host variables or facts. It is what a sweep
costs on this machine before Ansible adds anything: the floor under the ``fleet`` play.

    .venv/bin/python bench/bare_sweep.py INVENTORY [--workers 32]

Reads only the Basic-over-HTTP hosts the benchmark's endpoint serves; prints
``N of M hosts read`` and exits 1 when a host was not read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from dev_collection import make_importable  # noqa: E402  (needs tests/support on sys.path)

make_importable()

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._sweep import (  # noqa: E402
    read_concurrently,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_client import (  # noqa: E402
    collect_facts,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_read import (  # noqa: E402
    read_host,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_transport import (  # noqa: E402
    WinRMSettings,
)


def settings(variables: dict[str, object]) -> WinRMSettings:
    """A benchmark host's settings (Basic over HTTP, as the endpoint's inventory says)."""
    if (variables.get("ansible_winrm_transport"), variables.get("ansible_winrm_scheme")) != (
            "basic", "http"):
        raise SystemExit(f"bare_sweep reads Basic-over-HTTP hosts only, got {variables!r}")
    return WinRMSettings(host=str(variables["ansible_host"]), port=int(str(variables["ansible_port"])),
                         user=str(variables["ansible_user"]),
                         password=str(variables["ansible_password"]), scheme="http",
                         auth_transports=("basic",))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inventory", type=Path)
    parser.add_argument("--workers", type=int, default=32)
    args = parser.parse_args()
    inventory = yaml.safe_load(args.inventory.read_text(encoding="utf-8"))
    hosts = inventory["all"]["children"]["windows"]["hosts"]

    def reader(host_settings: WinRMSettings):  # type: ignore[no-untyped-def]
        return lambda: read_host(host_settings,
                                 lambda session: collect_facts(session, "*", False))

    results = read_concurrently({name: reader(settings(variables))
                                 for name, variables in hosts.items()}, args.workers)
    read = sum(1 for result in results.values()
               if result.get("ansible_facts", {}).get("mmipsec", {}).get("available"))
    print(f"{read} of {len(hosts)} hosts read")
    return 0 if read == len(hosts) else 1


if __name__ == "__main__":
    sys.exit(main())
