"""Generate docs/facts-reference.md from the counter schemas in plugins/plugin_utils/_counters.py.

    .venv/bin/python tests/support/gen_facts_doc.py          # rewrite docs/facts-reference.md
    .venv/bin/python tests/support/gen_facts_doc.py --check  # exit 1 if it is stale

tests/unit/docs/test_facts_reference_doc.py fails when the committed page differs from
what this script writes, or when the schema gains a key this script does not describe, so the
page cannot drift from the code.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

from dev_collection import make_importable
from generated_doc import write_or_check

ROOT = Path(__file__).resolve().parents[2]
FACTS_DOC = ROOT / "docs" / "facts-reference.md"

# One row per key of SNAPSHOT_KEYS: (type, meaning). render() refuses a schema whose keys
# differ from these, so a new snapshot key cannot be left undocumented.
SNAPSHOT_DOC: Mapping[str, tuple[str, str]] = {
    "available": ("bool", "Whether statistics were read. `false` when the class, its "
                  "instances or its provider are not usable; `reason` says which."),
    "reason": ("str or null", "Why there are no statistics: `class_not_found` (the class is "
               "not registered: no iSCSI initiator driver that implements it), `no_instances` "
               "(no instance, or none left after `instance_name` and `include_inactive`), "
               "`provider_error` (the WMI provider failed the query). `null` when `available` "
               "is true."),
    "message": ("str or null", "The host's own words (or which filter left nothing) when "
                "`available` is false; `null` otherwise."),
    "source": ("str", "Which transport read the data: `cim` (the PowerShell module, "
               "`via: module`) or `wsman` (the controller's query, `via: wsman`)."),
    "collected_at": ("str", "When the statistics were read: UTC, ISO 8601, ending in `Z` "
                     "(`2026-11-26T08:00:00.123456Z`; the PowerShell module writes 7 fraction "
                     "digits)."),
    "boot_time": ("str or null", "When the host last booted "
                  "(`Win32_OperatingSystem.LastBootUpTime`), UTC, ISO 8601 ending in `Z`; "
                  "`null`, with a warning, when it could not be read. A changed boot time "
                  "tells a reboot from a counter reset; it is converted with its own UTC "
                  "offset, so a DST change never reads as a reboot."),
    "instances": ("list of dict", "One entry per reported adapter instance (see below); `[]` "
                  "when `available` is false."),
    "totals": ("dict", "The 21 counter keys summed over the *active* instances (a sum may "
               "exceed 2**64-1); `{}` when `available` is false."),
}

INSTANCE_DOC: Mapping[str, tuple[str, str]] = {
    "instance_name": ("str", "The adapter's PnP instance name, the class's key, for example "
                      "`ROOT\\ISCSIPRT\\0000_0`."),
    "active": ("bool", "The instance's `Active` property. Inactive instances are reported "
               "only with `include_inactive: true` and never count towards `totals`."),
    "counters": ("dict", "The 21 counters below, each an int in 0..2**64-1."),
}

KIND_DOC: Mapping[str, str] = {
    "counter": "counts since the IPsec service started; a service restart or a reboot resets "
               "it to 0. Judge its change over a window (`mmipsec_delta`), not its value.",
    "gauge": "a current level; it goes up and down. Judge its value now.",
}


def _errors_section() -> list[str]:
    """The reasons-and-failures part, its table from plugin_utils/_wmi_errors.py (issue 12)."""
    make_importable()
    from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _wmi_errors

    lines = [
        "## Reasons, failures and partial reads",
        "",
        "Both transports classify the host's WMI errors with one table "
        "(`plugins/plugin_utils/_wmi_errors.py`; the PowerShell module carries a copy that a "
        "unit test holds equal). `via: module` finds the HRESULT in the `CimException`'s "
        "`MessageId`; `via: wsman` in the fault's `WSManFault` Code or its `MSFT_WmiError` "
        "(WinRM passes a WMI error it has no mapping for through as \"The WMI service or the "
        "WMI provider returned an unknown error: HRESULT 0x8004xxxx\", the raw HRESULT as the "
        "Code).",
        "",
        "| HRESULT | name | outcome |",
        "|---|---|---|",
    ]
    lines += [f"| `0x{e.code:08X}` | `{e.name}` | `{e.outcome}` |" for e in _wmi_errors.WMI_ERRORS]
    lines += [
        "",
        "- `class_not_found`, `provider_error`: the task succeeds with `available: false` and "
        "that `reason`; `message` is the host's own words.",
        "- `access_denied`: the task fails, saying the account needs administrator rights.",
        "- `invalid_namespace`: the task fails (`root\\WMI` always exists: WMI itself is "
        "broken).",
        "- `timed_out`: the task fails: a WMI provider (the adapter's WDM driver) did not "
        "answer in time. The module gives `Get-CimInstance` `-OperationTimeoutSec 20`, the "
        "WS-Management OperationTimeout `via: wsman` sends by default "
        "(`ansible_winrm_operation_timeout_sec` changes the latter). The host answered, so it "
        "is failed, not unreachable; a host that sends no reply at all within "
        "`ansible_winrm_read_timeout_sec` is unreachable.",
        "- Any other code: the task fails and the message names the code (fail closed).",
        "",
        "`via: wsman` also knows WinRM's own codes for the same cases: 0x8033801A and "
        "0x80338000 are `class_not_found`, 0x80338102 (or a \"WDM specific return code\" in "
        "the `__ExtendedStatus`, whichever namespace it comes in) `provider_error`, 0x80338104 "
        "to 0x80338106 access denied, the `w:TimedOut` subcode `timed_out`.",
        "",
        "**Partial reads.** An error after some instances arrived (a fault on a WS-Management "
        "Pull, or `Get-CimInstance` failing mid-enumeration) is classified as if none had: the "
        "instances already read are dropped, never reported, since a partial list would read "
        "as counters going down. `via: wsman` releases the enumeration first.",
        "",
        "**Nulls.** A null `Active` fails the task when the instance's name matches "
        "`instance_name` (whether it counts cannot be told). A null counter fails the task "
        "only in an instance that is kept (active, or inactive with `include_inactive: "
        "true`): an instance the filters leave out is not read further, so an inactive "
        "adapter's nulls matter only when you ask for it.",
        "",
        "**Boot time.** Both transports convert `LastBootUpTime` with its own UTC offset: the "
        "module reads the DMTF string from the instance's CIM-XML "
        "(`20261101013000.000000-300`), `via: wsman` the `cim:Datetime` "
        "(`2026-11-01T01:30:00-05:00`; `Z` is accepted). Neither guesses from local time, so "
        "the repeated hour of a DST change gives two instants an hour apart and never reads "
        "as a reboot.",
        "",
    ]
    return lines


def _import_counters() -> ModuleType:
    """Import the schema from the source tree (through the build/dev symlink)."""
    make_importable()
    from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _counters

    return _counters


def render() -> str:
    """The text of docs/facts-reference.md.

    Raises:
        ValueError: The schema's snapshot or instance keys differ from the ones this script
            describes.
    """
    c = _import_counters()
    for name, documented, actual in (("SNAPSHOT_KEYS", tuple(SNAPSHOT_DOC), c.SNAPSHOT_KEYS),
                                     ("INSTANCE_KEYS", tuple(INSTANCE_DOC), c.INSTANCE_KEYS)):
        if documented != tuple(actual):
            raise ValueError(f"gen_facts_doc: {name} is {list(actual)}, but the script "
                             f"describes {list(documented)}: describe every key, in order")
    out: list[str] = []
    add = out.append
    add("# Facts reference: `ansible_facts.mmipsec` and `ansible_facts.qmipsec`")
    add("")
    add("<!-- Generated by tests/support/gen_facts_doc.py from "
        "plugins/plugin_utils/_counters.py. Do not edit: change the code and run the script. -->")
    add("")
    add(f"`winiscsi.ipsec.mmipsec_facts` reads the WMI class `{c.WMI_CLASS}` in "
        f"`{c.WMI_NAMESPACE}` and sets this fact. Both transports (`via: module` and "
        "`via: wsman`) return exactly this shape; every key is always present. The action "
        "plugin validates each snapshot against the schema before it becomes a fact, so a "
        "malformed one fails the task instead of reaching a verdict.")
    add("")
    add(f"The same read sets `ansible_facts.qmipsec` from the quick-mode sibling class "
        f"`{c.QM_WMI_CLASS}` (one more WS-Management request with `via: wsman`): "
        "[the quick-mode class](#ansible_factsqmipsec-the-quick-mode-class) below.")
    add("")
    add("## Keys")
    add("")
    add("| key | type | meaning |")
    add("|---|---|---|")
    for key, (kind, meaning) in SNAPSHOT_DOC.items():
        add(f"| `{key}` | {kind} | {meaning} |")
    add("")
    add("Each item of `instances`:")
    add("")
    add("| key | type | meaning |")
    add("|---|---|---|")
    for key, (kind, meaning) in INSTANCE_DOC.items():
        add(f"| `{key}` | {kind} | {meaning} |")
    add("")
    add(f"## The {len(c.MEMBERS)} counters")
    add("")
    add("Keys are the snake_case names of the class's members, in the class's own order. Every "
        "value is an exact Python int (never a float or a string, even past 2**53). WMI marks "
        "every member the same way, so the kind is the collection's classification:")
    add("")
    for kind, meaning in KIND_DOC.items():
        add(f"- **{kind}**: {meaning}")
    add("")
    add("| key | WMI member | kind | meaning |")
    add("|---|---|---|---|")
    for m in c.MEMBERS:
        add(f"| `{m.key}` | `{m.wmi_name}` | {m.kind} | {m.meaning} |")
    add("")
    gauges = ", ".join(f"`{k}`" for k in c.GAUGE_KEYS)
    add(f"{len(c.CUMULATIVE_KEYS)} counters, {len(c.GAUGE_KEYS)} gauges ({gauges}). Which "
        "counters each health check reads: [the verdict policy](policy.md).")
    add("")
    add("## Example")
    add("")
    add("A host with two active adapters and one inactive one (the docs test reads it from the "
        "test endpoint and checks every stated value):")
    add("")
    add("<!-- docs-test: jinja host=db01 -->")
    add("```jinja")
    add("{{ ansible_facts.mmipsec.available }}")
    add("# => true")
    add("{{ ansible_facts.mmipsec.instances | map(attribute='instance_name') | list }}")
    add("# => ['ROOT\\ISCSIPRT\\0000_0', 'ROOT\\ISCSIPRT\\0001_0']")
    add("{{ ansible_facts.mmipsec.instances[1].counters.oakley_main_mode }}")
    add("# => 600")
    add("{{ ansible_facts.mmipsec.totals.oakley_main_mode }}")
    add("# => 1800")
    add("{{ ansible_facts.mmipsec.totals.authentication_failures }}")
    add("# => 3")
    add("{{ ansible_facts.mmipsec.totals | length }}")
    add("# => 21")
    add("{{ ansible_facts.mmipsec.boot_time }}")
    add("# => '2026-11-20T07:12:03.500000Z'")
    add("```")
    add("")
    add("A host without the class is not an error; the task succeeds with:")
    add("")
    add("<!-- docs-test: jinja host=no_class -->")
    add("```jinja")
    add("{{ ansible_facts.mmipsec.available }}")
    add("# => false")
    add("{{ ansible_facts.mmipsec.reason }}")
    add("# => class_not_found")
    add("{{ ansible_facts.mmipsec.message }}")
    add("# => The specified class does not exist in the given namespace.")
    add("{{ [ansible_facts.mmipsec.instances, ansible_facts.mmipsec.totals] }}")
    add("# => [[], {}]")
    add("```")
    add("")
    add("## `ansible_facts.qmipsec`: the quick-mode class")
    add("")
    add(f"`{c.QM_WMI_CLASS}` (same namespace, also from the iSCSI miniport driver, also "
        "optional) says whether the protected iSCSI traffic itself is sound: packets that "
        "failed decryption or authentication, bad SPIs, replays, and the protected bytes. Main "
        "mode says whether the peers can agree on keys. The fact has the keys, the instance "
        "shape and the `available` / `reason` rules of `ansible_facts.mmipsec` above, with "
        f"the {len(c.QM_MEMBERS)} counters below in `counters` and `totals`. A host without "
        "the class is normal: `available: false`, `reason: class_not_found`, and the "
        "verdicts skip the quick-mode checks.")
    add("")
    add("| key | WMI member | kind | meaning |")
    add("|---|---|---|---|")
    for m in c.QM_MEMBERS:
        add(f"| `{m.key}` | `{m.wmi_name}` | {m.kind} | {m.meaning} |")
    add("")
    qm_gauges = ", ".join(f"`{k}`" for k in c.QM.gauge_keys)
    add(f"{len(c.QM.cumulative_keys)} counters, {len(c.QM.gauge_keys)} gauges ({qm_gauges}).")
    add("")
    add("The same host's quick-mode fact (both active adapters carry the same values here):")
    add("")
    add("<!-- docs-test: jinja host=db01 -->")
    add("```jinja")
    add("{{ ansible_facts.qmipsec.available }}")
    add("# => true")
    add("{{ ansible_facts.qmipsec.totals.active_sa }}")
    add("# => 8")
    add("{{ ansible_facts.qmipsec.totals.confidential_bytes_sent }}")
    add("# => 162469135780")
    add("{{ ansible_facts.qmipsec.totals | length }}")
    add("# => 18")
    add("```")
    add("")
    add("And on a host without the class:")
    add("")
    add("<!-- docs-test: jinja host=web01 -->")
    add("```jinja")
    add("{{ [ansible_facts.mmipsec.available, ansible_facts.qmipsec.available] }}")
    add("# => [true, false]")
    add("{{ ansible_facts.qmipsec.reason }}")
    add("# => class_not_found")
    add("```")
    add("")
    out.extend(_errors_section())
    add("`ansible-doc winiscsi.ipsec.mmipsec_facts` documents the same keys; "
        "[the WS-Management transport](wsman-transport.md) lists what each `reason` means on "
        "the wire.")
    add("")
    return "\n".join(out)


def main() -> int:
    """Write or check the page; the exit code is 1 when --check finds it stale."""
    return write_or_check(FACTS_DOC, render, __file__, __doc__ or "")


if __name__ == "__main__":
    sys.exit(main())
