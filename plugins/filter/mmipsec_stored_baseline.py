# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The winiscsi.ipsec.mmipsec_stored_baseline filter (documentation: mmipsec_stored_baseline.yml)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._baseline import (
    FACT_CACHE,
    vet_baseline,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError

FQCN = "winiscsi.ipsec.mmipsec_stored_baseline"


def mmipsec_stored_baseline(host: Any, text: Any = None, path: Any = "", cached: Any = None,
                            require: Any = True, cached_in: Any = FACT_CACHE) -> dict[str, Any]:
    """A post-check's stored baseline, found and vetted as the health_check role does."""
    try:
        return vet_baseline(host, text, path, cached, require, cached_in)
    except InputError as e:
        raise AnsibleFilterError(f"{FQCN}: {e}") from e


class FilterModule:
    """Ansible filter plugin."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"mmipsec_stored_baseline": mmipsec_stored_baseline}
