"""How the playbook tests share out over pytest-xdist workers (make playbooks: -n 2).

These tests mostly wait: on ansible-playbook subprocesses, on the roles' sample pauses, on read
timeouts. Two workers overlap the waits. Every test is independent of the others: each starts
its own endpoint on ephemeral ports (or shares its module's), writes only under its own
tmp_path, and passes its settings to ansible-playbook in the environment, never in a shared
file.

With ``--dist loadscope`` xdist hands out whole modules, so that a module-scoped fixture (one
endpoint and one ansible-playbook run whose results many tests check, as in
test_wsman_playbooks.py and test_docs_examples.py) runs once, on one worker. The modules of
``ONE_BY_ONE`` have no such fixture (each test starts its own endpoint) and hold the slowest
tests, so their tests are handed out one at a time, to whichever worker is free. A module not
listed there stays whole: the safe default for a new module.

(``--dist loadgroup`` with xdist_group markers would say the same per test, but xdist 3.8 does
not see the marker's group under pytest 9: the group goes into ``item._nodeid``, while xdist
reports ``item.nodeid``.)
"""

from __future__ import annotations

from typing import Any

import pytest

ONE_BY_ONE = frozenset({
    "tests/playbooks/test_roles.py",
    "tests/playbooks/test_fleet_strategy.py",
})


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """For --dist loadscope: whole modules, but the tests of ONE_BY_ONE one at a time."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleOrTestScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return nodeid if module in ONE_BY_ONE else module

    return ModuleOrTestScheduling(config, log)
