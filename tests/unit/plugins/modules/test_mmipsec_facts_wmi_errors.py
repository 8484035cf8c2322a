"""The PowerShell module classifies WMI errors, times out and reads the boot time like via=wsman.

Static, like the other module tests: the module's copy of the WMI error table and its timeout
are read from the syntax tree and held equal to plugin_utils; its DMTF datetime pattern is run
here on the shapes Windows writes.
"""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import ps_static
import pytest

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _counters, _wmi_errors
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _wsman as w
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_transport import (
    WinRMSettings,
)

COLLECTION = Path(_counters.__file__).resolve().parents[2]
MODULE = COLLECTION / "plugins" / "modules" / "mmipsec_facts.ps1"
# The module's keys are what it extracts from CimException.MessageId, lowercased.
TABLE = [(f"0x{error.code:08x}", error.outcome) for error in _wmi_errors.WMI_ERRORS]


def test_the_module_table_equals_the_python_table() -> None:
    assert ps_static.check_member_table(MODULE, TABLE, variable="wmiErrors") == []


@pytest.mark.parametrize("error", _wmi_errors.WMI_ERRORS, ids=lambda e: e.name)
def test_both_transports_give_the_same_outcome_for_the_same_code(
        error: _wmi_errors.WmiError) -> None:
    module_table = ps_static.member_table(MODULE, "wmiErrors")
    # via=module: the module's copy, keyed by the MessageId's HRESULT.
    module_outcome = module_table[f"0x{error.code:08x}"]
    # via=wsman: the fault classifier, with the code as WinRM passes it through.
    wsman_outcome = w.classify_fault(error.code, f"{{{w.NS_WSMAN}}}InternalError", None, None)
    assert module_outcome == wsman_outcome == error.outcome


def test_a_changed_module_table_is_caught(tmp_path: Path) -> None:
    text = MODULE.read_text(encoding="utf-8")
    assert text.count("'0x8004100c' = 'provider_error'") == 1
    broken = tmp_path / MODULE.name
    broken.write_text(text.replace("'0x8004100c' = 'provider_error'",
                                   "'0x8004100c' = 'class_not_found'"), encoding="utf-8")
    assert ps_static.check_member_table(broken, TABLE, variable="wmiErrors") == [
        "mmipsec_facts.ps1: $wmiErrors entry 3: expected ('0x8004100c', 'provider_error'), "
        "got ('0x8004100c', 'class_not_found')"]


def test_the_module_timeout_is_the_wsman_operation_timeout() -> None:
    value = ps_static.evaluate(
        ps_static.assignment_value(ps_static.parse(MODULE), "operationTimeoutSec"))
    assert value == WinRMSettings(host="h", port=1, user=None,
                                  password=None).operation_timeout_sec == 20


def test_the_catch_all_is_narrowed_to_the_table() -> None:
    # A bare NativeErrorCode Failed/NotSupported (quota, transport) must not read as
    # provider_error: only the table's HRESULTs do.
    text = MODULE.read_text(encoding="utf-8")
    body = text[text.index("function Get-CimErrorKind"):text.index("function ConvertTo-InstanceFact")]
    assert "'Failed'" not in body and "'NotSupported'" not in body
    assert "$Table.Contains($hresult)" in body


# --- boot time: the DMTF string's own offset -----------------------------------------------------
def _dmtf_pattern() -> re.Pattern[str]:
    """The pattern ConvertFrom-DmtfDateTime matches with (.NET and Python agree on it)."""
    found = re.search(r"\$Text -notmatch '([^']+)'", MODULE.read_text(encoding="utf-8"))
    assert found is not None
    return re.compile(found.group(1))


def _as_the_module_computes(text: str) -> datetime:
    """The module's arithmetic: local fields, plus ticks, minus the offset in minutes."""
    match = _dmtf_pattern().match(text)
    assert match is not None, text
    local = datetime.strptime(match.group(1), "%Y%m%d%H%M%S")
    local += timedelta(microseconds=int(match.group(2)))
    return (local - timedelta(minutes=int(match.group(3)))).replace(tzinfo=timezone.utc)


@pytest.mark.parametrize(("dmtf", "xs_datetime"), [
    pytest.param("20261120091203.500000+120", "2026-11-20T09:12:03.5+02:00", id="east"),
    pytest.param("20261101013000.000000-240", "2026-11-01T01:30:00-04:00",
                 id="repeated-hour-daylight"),
    pytest.param("20261101013000.000000-300", "2026-11-01T01:30:00-05:00",
                 id="repeated-hour-standard"),
    pytest.param("20130410161723.500000+000", "2013-04-10T16:17:23.5Z", id="utc"),
])
def test_the_module_reads_the_boot_time_as_the_wsman_path_does(
        dmtf: str, xs_datetime: str) -> None:
    from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_client import (
        parse_cim_datetime,
    )
    assert _as_the_module_computes(dmtf) == parse_cim_datetime(xs_datetime)


def test_the_repeated_hour_gives_two_instants_not_one() -> None:
    first = _as_the_module_computes("20261101013000.000000-240")
    second = _as_the_module_computes("20261101013000.000000-300")
    assert second - first == timedelta(hours=1)


@pytest.mark.parametrize("text", ["20261120091203.500000", "2026-11-20T09:12:03Z",
                                  "20261120091203.******+000"])
def test_the_dmtf_pattern_refuses_what_it_cannot_place(text: str) -> None:
    assert _dmtf_pattern().match(text) is None


def test_a_module_without_the_table_is_caught(tmp_path: Path) -> None:
    broken = tmp_path / MODULE.name
    shutil.copy(MODULE, broken)
    text = broken.read_text(encoding="utf-8").replace("$wmiErrors = [ordered]@{", "$wmiErrorz = [ordered]@{")
    broken.write_text(text, encoding="utf-8")
    assert ps_static.check_member_table(broken, TABLE, variable="wmiErrors") == [
        "mmipsec_facts.ps1: $wmiErrors: expected exactly one assignment '$wmiErrors = ...', "
        "found 0"]


def test_nulls_are_judged_only_where_via_wsman_judges_them() -> None:
    # A null Active fails for a matched instance, before the inactive ones are filtered out;
    # null counters are looked for only in the kept instances (ConvertTo-InstanceFact).
    text = MODULE.read_text(encoding="utf-8")
    matched = text.index("$matched = @(")
    active_check = text.index("if ($null -eq $item.Active)")
    kept = text.index("$kept = @(")
    assert matched < active_check < kept
    assert "foreach ($item in $kept) { ConvertTo-InstanceFact" in text
