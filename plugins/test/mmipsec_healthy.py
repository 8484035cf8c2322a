# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The winiscsi.ipsec.mmipsec_healthy test (documentation: mmipsec_healthy.yml)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._verdict import healthy

FQCN = "winiscsi.ipsec.mmipsec_healthy"


def mmipsec_healthy(current: Any, baseline: Any = None, thresholds: Any = None,
                    fail_on: Any = "critical", allow_unknown: Any = False) -> bool:
    """True when the snapshot's verdict passes the gate (the verdict's ``passed``)."""
    try:
        return healthy(current, baseline, thresholds, fail_on, allow_unknown)
    except InputError as e:
        # AnsibleFilterError is what ansible-core's own Jinja tests raise on bad input too.
        raise AnsibleFilterError(f"{FQCN}: {e}") from e


class TestModule:
    """Ansible test plugin."""

    def tests(self) -> dict[str, Callable[..., Any]]:
        return {"mmipsec_healthy": mmipsec_healthy}
