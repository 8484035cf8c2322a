"""A local WinRM (WS-Management) service that answers like Windows, for tests and the demo.

Test support for the winiscsi.ipsec collection, not part of the collection itself.
See README.md beside this file for the scenario format, the faults and the control API.
"""

from __future__ import annotations

from .scenario import Scenario, ScenarioError, load_scenario
from .server import Endpoint, HostInfo

__all__ = ["Endpoint", "HostInfo", "Scenario", "ScenarioError", "load_scenario"]
