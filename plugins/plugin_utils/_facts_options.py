# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of winiscsi.ipsec.mmipsec_facts, as the action plugin validates them.

Internal to the winiscsi.ipsec collection: not a public API, may change without notice.

The module's documentation (plugins/modules/mmipsec_facts.py) describes these options and the
PowerShell module's ``$spec`` declares them again; unit tests hold all three to the same names,
types, defaults and choices.
"""

from __future__ import annotations

from typing import Any

MODULE_NAME = "winiscsi.ipsec.mmipsec_facts"

ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "instance_name": {"type": "str", "default": "*"},
    "include_inactive": {"type": "bool", "default": False},
    "via": {"type": "str", "choices": ["module", "wsman"], "default": "module"},
}
