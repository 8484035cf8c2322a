"""Static tests of the PowerShell module winiscsi.ipsec.mmipsec_facts (no pwsh needed).

The module runs only on Windows, so here it is read, not run: it must parse, its member table
must equal plugin_utils/_counters.py MEMBERS, its $spec must equal its documentation, and it
must avoid the mistakes that would corrupt uint64 counters. Each check is also run on a broken
copy, to show that it can fail. The recorded module results and the Windows integration
target's expectations are checked against the same schema.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import ps_static
import pytest
import yaml

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _counters
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError

# The collection being tested (the installed copy under `make test`, else the source tree).
COLLECTION = Path(_counters.__file__).resolve().parents[2]
MODULE = COLLECTION / "plugins" / "modules" / "mmipsec_facts.ps1"
DOC_STUB = MODULE.with_suffix(".py")
PAIRS = [(member.wmi_name, member.key) for member in _counters.MEMBERS]
QM_PAIRS = [(member.wmi_name, member.key) for member in _counters.QM_MEMBERS]
TEST_DATA = Path(__file__).resolve().parents[2] / "test_data" / "module_results"
TARGET = COLLECTION / "tests" / "integration" / "targets" / "mmipsec_facts"
POWERSHELL_FILES = sorted((COLLECTION / "plugins").rglob("*.ps1"))


def _broken_copy(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    """Write a copy of ``source`` to tmp_path (same name) with ``old`` replaced once by ``new``."""
    text = source.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} should occur once in {source.name}"
    copy = tmp_path / source.name
    copy.write_text(text.replace(old, new), encoding="utf-8")
    return copy


def _line_of(path: Path, snippet: str) -> int:
    return path.read_text(encoding="utf-8").split(snippet)[0].count("\n") + 1


# --- the real files ------------------------------------------------------------------------------


def test_module_is_found() -> None:
    assert MODULE in POWERSHELL_FILES


@pytest.mark.parametrize("path", POWERSHELL_FILES,
                         ids=[str(p.relative_to(COLLECTION)) for p in POWERSHELL_FILES])
def test_powershell_parses(path: Path) -> None:
    assert ps_static.check_syntax(path) == []


def test_member_table_equals_counters_members() -> None:
    assert ps_static.check_member_table(MODULE, PAIRS) == []


def test_member_table_is_an_ordered_literal_of_21_pairs() -> None:
    table = ps_static.member_table(MODULE)
    assert table.ordered is True
    assert list(table.items()) == PAIRS
    assert len(table) == 21


def test_quick_mode_member_table_equals_counters_qm_members() -> None:
    assert ps_static.check_member_table(MODULE, QM_PAIRS, "qmCounterMembers") == []
    table = ps_static.member_table(MODULE, "qmCounterMembers")
    assert (table.ordered, len(table)) == (True, 18)


def test_quick_mode_member_check_fails_on_a_changed_table(tmp_path: Path) -> None:
    broken = _broken_copy(tmp_path, MODULE, "ReKeys = 're_keys'", "ReKey = 're_keys'")
    assert ps_static.check_member_table(broken, QM_PAIRS, "qmCounterMembers") == [
        "mmipsec_facts.ps1: $qmCounterMembers entry 5: expected ('ReKeys', 're_keys'), got "
        "('ReKey', 're_keys')"]


def test_both_classes_are_read_with_their_own_table() -> None:
    text = MODULE.read_text(encoding="utf-8")
    assert ("Get-ClassFact -ClassName 'MSiSCSI_MMIPSECStats' -Members $counterMembers"
            in text)
    assert ("Get-ClassFact -ClassName 'MSiSCSI_QMIPSECStats' -Members $qmCounterMembers"
            in text)
    assert "$module.Result.ansible_facts = @{ mmipsec = $mm; qmipsec = $qm }" in text


def test_module_stays_thin() -> None:
    """DESIGN.md: the module is query, shape, return; one helper reads both classes.

    213 lines with both member tables and the WMI error table (DESIGN.md's "well under 150"
    predates them): it must not grow past that without a reason.
    """
    assert len(MODULE.read_text(encoding="utf-8").splitlines()) <= 213


def test_spec_equals_documentation() -> None:
    assert ps_static.check_spec_matches_doc(MODULE, DOC_STUB) == []


def test_spec_values() -> None:
    spec = ps_static.evaluate(ps_static.assignment_value(ps_static.parse(MODULE), "spec"))
    assert spec == {
        "options": {
            "instance_name": {"type": "str", "default": "*"},
            "include_inactive": {"type": "bool", "default": False},
            "via": {"type": "str", "choices": ["module", "wsman"], "default": "module"},
        },
        "supports_check_mode": True,
    }


def test_hygiene() -> None:
    assert ps_static.check_hygiene(MODULE) == []


def test_fact_skeleton_has_every_snapshot_key_in_order() -> None:
    skeleton = ps_static.evaluate(ps_static.assignment_value(ps_static.parse(MODULE), "facts"))
    assert skeleton.ordered is True
    assert tuple(skeleton) == _counters.SNAPSHOT_KEYS
    assert skeleton == {"available": False, "reason": None, "message": None, "source": "cim",
                        "collected_at": None, "boot_time": None, "instances": [], "totals": {}}


# --- broken copies: every check must be able to fail ----------------------------------------------

SYNTAX_ERRORS = [
    pytest.param("$module.ExitJson()", "$module.ExitJson(", id="unclosed-call"),
    pytest.param("if ($kept.Count -gt 0) {", "if ($kept.Count -gt 0) {{",
                 id="unbalanced-brace"),
    pytest.param("$hresult = if ([string]", "$hresult = if ((string]", id="bad-cast"),
]


@pytest.mark.parametrize(("old", "new"), SYNTAX_ERRORS)
def test_syntax_check_fails_on_a_syntax_error(tmp_path: Path, old: str, new: str) -> None:
    broken = _broken_copy(tmp_path, MODULE, old, new)
    problems = ps_static.check_syntax(broken)
    assert problems, "a syntax error must be reported"
    first_line = int(re.match(r"mmipsec_facts\.ps1: line (\d+): ", problems[0]).group(1))
    assert first_line >= _line_of(broken, new)


MEMBER_BREAKAGES = [
    pytest.param("KeyUpdates = 'key_updates'", "KeyUpdate = 'key_updates'",
                 ["mmipsec_facts.ps1: $counterMembers entry 13: expected ('KeyUpdates', "
                  "'key_updates'), got ('KeyUpdate', 'key_updates')"], id="renamed-member"),
    pytest.param("SoftAssociations = 'soft_associations'", "SoftAssociations = 'soft_association'",
                 ["mmipsec_facts.ps1: $counterMembers entry 21: expected ('SoftAssociations', "
                  "'soft_associations'), got ('SoftAssociations', 'soft_association')"],
                 id="renamed-key"),
    pytest.param("; SoftAssociations = 'soft_associations'", "",
                 ["mmipsec_facts.ps1: $counterMembers entry 21: expected ('SoftAssociations', "
                  "'soft_associations'), got None"], id="missing-member"),
    pytest.param("OakleyMainMode = 'oakley_main_mode'\n    OakleyQuickMode = 'oakley_quick_mode'",
                 "OakleyQuickMode = 'oakley_quick_mode'\n    OakleyMainMode = 'oakley_main_mode'",
                 ["mmipsec_facts.ps1: $counterMembers entry 18: expected ('OakleyMainMode', "
                  "'oakley_main_mode'), got ('OakleyQuickMode', 'oakley_quick_mode')",
                  "mmipsec_facts.ps1: $counterMembers entry 19: expected ('OakleyQuickMode', "
                  "'oakley_quick_mode'), got ('OakleyMainMode', 'oakley_main_mode')"],
                 id="swapped-order"),
    pytest.param("SoftAssociations = 'soft_associations'",
                 "SoftAssociations = 'soft_associations'; Extra = 'extra'",
                 ["mmipsec_facts.ps1: $counterMembers entry 22: expected None, got ('Extra', "
                  "'extra')"], id="extra-member"),
    pytest.param("KeyUpdates = 'key_updates'", "keyadditions = 'key_updates'",
                 ["mmipsec_facts.ps1: $counterMembers: line {line}: expected a literal (string, "
                  "number, $true/$false/$null, array or hashtable), got duplicate hashtable key "
                  "'keyadditions'"], id="duplicate-member"),
    pytest.param("$counterMembers = [ordered]@{", "$counterMembers = @{",
                 ["mmipsec_facts.ps1: $counterMembers: expected an [ordered] hashtable (fact key "
                  "order), got @{}"], id="not-ordered"),
    pytest.param("TotalGetSPI = 'total_get_spi'", "TotalGetSPI = \"total_$('get')_spi\"",
                 ["mmipsec_facts.ps1: $counterMembers: line {line}: expected a literal (string, "
                  "number, $true/$false/$null, array or hashtable), got expandable string with "
                  "substitutions '\"total_$(\\'get\\')_spi\"'"], id="computed-key"),
]


@pytest.mark.parametrize(("old", "new", "expected"), MEMBER_BREAKAGES)
def test_member_check_fails_on_a_changed_table(tmp_path: Path, old: str, new: str,
                                               expected: list[str]) -> None:
    broken = _broken_copy(tmp_path, MODULE, old, new)
    line = str(_line_of(broken, new)) if new else "?"
    assert ps_static.check_member_table(broken, PAIRS) == [
        problem.replace("{line}", line) for problem in expected]


SPEC_BREAKAGES = [
    pytest.param("instance_name = @{ type = 'str'; default = '*' }",
                 "instance_name = @{ type = 'str'; default = '?' }",
                 ["option 'instance_name' default: $spec has '?', DOCUMENTATION has '*'"],
                 id="changed-default"),
    pytest.param("choices = 'module', 'wsman'", "choices = 'module', 'winrm'",
                 ["option 'via' choices: $spec has ['module', 'winrm'], DOCUMENTATION has "
                  "['module', 'wsman']"], id="changed-choice"),
    pytest.param("include_inactive = @{ type = 'bool'; default = $false }",
                 "include_inactive = @{ type = 'str'; default = $false }",
                 ["option 'include_inactive' type: $spec has 'str', DOCUMENTATION has 'bool'"],
                 id="changed-type"),
    pytest.param("include_inactive = @{ type = 'bool'; default = $false }",
                 "include_inactive = @{ type = 'bool'; default = $false; required = $true }",
                 ["option 'include_inactive' required: $spec has True, DOCUMENTATION has False"],
                 id="made-required"),
    pytest.param("include_inactive = @{ type = 'bool'; default = $false }",
                 "include_inactive = @{ type = 'bool'; default = $false }\n"
                 "        timeout = @{ type = 'int'; default = 30 }",
                 ["option 'timeout': in $spec only"], id="undocumented-option"),
    pytest.param("include_inactive = @{ type = 'bool'; default = $false }", "",
                 ["option 'include_inactive': in DOCUMENTATION only"], id="missing-option"),
    pytest.param("supports_check_mode = $true", "supports_check_mode = $false",
                 ["supports_check_mode: $spec has False, DOCUMENTATION "
                  "attributes.check_mode.support is 'full'"], id="no-check-mode"),
]


@pytest.mark.parametrize(("old", "new", "expected"), SPEC_BREAKAGES)
def test_spec_check_fails_on_a_changed_spec(tmp_path: Path, old: str, new: str,
                                            expected: list[str]) -> None:
    broken = _broken_copy(tmp_path, MODULE, old, new)
    shutil.copy(DOC_STUB, tmp_path / DOC_STUB.name)
    assert ps_static.check_spec_matches_doc(broken, tmp_path / DOC_STUB.name) == expected


DOC_BREAKAGES = [
    pytest.param("    choices: [module, wsman]\n    default: module\n",
                 "    choices: [module, wsman]\n    default: wsman\n",
                 ["option 'via' default: $spec has 'module', DOCUMENTATION has 'wsman'"],
                 id="doc-default"),
    pytest.param("    choices: [module, wsman]\n", "    choices: [module, wsman, psrp]\n",
                 ["option 'via' choices: $spec has ['module', 'wsman'], DOCUMENTATION has "
                  "['module', 'wsman', 'psrp']"], id="doc-choices"),
    pytest.param("    type: str\n    default: '*'\n", "    default: '*'\n    type: raw\n",
                 ["option 'instance_name' type: $spec has 'str', DOCUMENTATION has 'raw'"],
                 id="doc-type"),
]


@pytest.mark.parametrize(("old", "new", "expected"), DOC_BREAKAGES)
def test_spec_check_fails_on_changed_documentation(tmp_path: Path, old: str, new: str,
                                                   expected: list[str]) -> None:
    shutil.copy(MODULE, tmp_path / MODULE.name)
    broken = _broken_copy(tmp_path, DOC_STUB, old, new)
    assert ps_static.check_spec_matches_doc(tmp_path / MODULE.name, broken) == expected


# (old, new, the text on the offending line, the problem reported for that line)
HYGIENE_BREAKAGES = [
    pytest.param("    $kept = @(foreach ($item in $matched) "
                 "{ if ($includeInactive -or [bool]$item.Active) { $item } })\n",
                 "    $kept = @()\n"
                 "    foreach ($item in $matched) "
                 "{ if ($includeInactive -or [bool]$item.Active) { $kept += $item } }\n",
                 "$kept += ", "'+=' in a loop on '$kept': build arrays with @(foreach ...)",
                 id="array-plus-equals"),
    pytest.param("                [UInt64]$sum = 0\n", "                $sum = 0\n",
                 "$sum += ", "'+=' in a loop on '$sum': build arrays with @(foreach ...)",
                 id="untyped-sum"),
    pytest.param("[UInt64]$sum = 0", "[decimal]$sum = 0",
                 "[decimal]$sum", "[decimal] would turn uint64 counters into floats",
                 id="decimal-sum"),
    pytest.param("-OperationTimeoutSec $operationTimeoutSec -ErrorAction Stop)",
                 "-OperationTimeoutSec $operationTimeoutSec)",
                 "$raw = @(Get-CimInstance",
                 "Get-CimInstance without -ErrorAction Stop (its CIM errors are non-terminating)",
                 id="no-erroraction"),
    pytest.param("-Property LastBootUpTime -OperationTimeoutSec $operationTimeoutSec -ErrorAction Stop",
                 "-Property LastBootUpTime -OperationTimeoutSec $operationTimeoutSec -ErrorAction Continue",
                 "$os = Get-CimInstance",
                 "Get-CimInstance without -ErrorAction Stop (its CIM errors are non-terminating)",
                 id="erroraction-continue"),
    pytest.param("-ClassName $className -OperationTimeoutSec $operationTimeoutSec",
                 "-ClassName $className",
                 "$raw = @(Get-CimInstance",
                 "Get-CimInstance without -OperationTimeoutSec (a hung WMI provider would block "
                 "forever)", id="no-operation-timeout"),
    pytest.param("ConvertTo-UtcTimestamp -Value $moment.UtcDateTime",
                 "ConvertTo-UtcTimestamp -Value $moment.DateTime.ToUniversalTime()",
                 "$moment.DateTime.ToUniversalTime()",
                 ".ToUniversalTime() guesses inside the repeated DST hour: use the CIM datetime's "
                 "own offset", id="to-universal-time"),
    pytest.param("'other' { $module.FailJson($failure, $record) }",
                 "'other' { $module.FailJson($failure, $_) }",
                 "'other' { $module.FailJson($failure, $_) }",
                 "$_ in a switch clause is the switched value, not the error record: save the "
                 "record before the switch", id="dollar-underscore-in-switch"),
    pytest.param("[UInt64]$Instance.($member.Key)", "[double]$Instance.($member.Key)",
                 "[double]$Instance", "[double] would turn uint64 counters into floats",
                 id="double-cast"),
    pytest.param("$facts.totals[$key] = $sum", "$facts.totals[$key] = [math]::Truncate($sum)",
                 "[math]::Truncate", "[math] would turn uint64 counters into floats",
                 id="math-call"),
    pytest.param("foreach ($fact in $facts.instances) { if ($fact.active) { $sum += $fact.counters[$key] } }",
                 "$sum = ($facts.instances | ForEach-Object { $_.counters[$key] } | Measure-Object -Sum).Sum",
                 "Measure-Object -Sum", "Measure-Object sums in [double]", id="measure-object"),
]


@pytest.mark.parametrize(("old", "new", "on_line", "expected"), HYGIENE_BREAKAGES)
def test_hygiene_check_fails_on_a_bad_habit(tmp_path: Path, old: str, new: str, on_line: str,
                                            expected: str) -> None:
    broken = _broken_copy(tmp_path, MODULE, old, new)
    line = _line_of(broken, on_line)
    assert ps_static.check_hygiene(broken) == [f"mmipsec_facts.ps1: line {line}: {expected}"]


@pytest.mark.parametrize(("old", "expected"), [
    pytest.param("#AnsibleRequires -CSharpUtil Ansible.Basic\n",
                 "mmipsec_facts.ps1: missing the line '#AnsibleRequires -CSharpUtil Ansible.Basic'",
                 id="no-requires"),
    pytest.param("#!powershell\n", "mmipsec_facts.ps1: missing the line '#!powershell'",
                 id="no-shebang"),
    pytest.param("Set-StrictMode -Version 2.0\n", "mmipsec_facts.ps1: no Set-StrictMode call",
                 id="no-strict-mode"),
])
def test_hygiene_check_fails_without_header_lines(tmp_path: Path, old: str, expected: str) -> None:
    broken = _broken_copy(tmp_path, MODULE, old, "")
    assert ps_static.check_hygiene(broken) == [expected]


def test_evaluate_rejects_a_non_literal(tmp_path: Path) -> None:
    script = tmp_path / "x.ps1"
    script.write_text("$spec = @{ options = (Get-Options) }\n", encoding="utf-8")
    with pytest.raises(ps_static.UnsupportedLiteral, match=re.escape(
            "line 1: expected a literal (string, number, $true/$false/$null, array or "
            "hashtable), got command 'Get-Options'")) as caught:
        ps_static.evaluate(ps_static.assignment_value(ps_static.parse(script), "spec"))
    assert (caught.value.node_type, caught.value.line, caught.value.text) == \
        ("command", 1, "Get-Options")


# --- documentation stub ---------------------------------------------------------------------------


def _doc_constant(name: str) -> str:
    for statement in ast.parse(DOC_STUB.read_text(encoding="utf-8")).body:
        if isinstance(statement, ast.Assign) and getattr(statement.targets[0], "id", "") == name:
            return str(ast.literal_eval(statement.value))
    raise AssertionError(f"{DOC_STUB.name} has no {name}")


def test_examples_are_yaml_tasks() -> None:
    examples = yaml.safe_load(_doc_constant("EXAMPLES"))
    assert isinstance(examples, list) and examples
    assert all(isinstance(task, dict) and task.get("name") for task in examples)
    modules = {key for task in examples for key in task if "." in key}
    assert "winiscsi.ipsec.mmipsec_facts" in modules
    assert any("ansible_facts_modules" in task.get("vars", {}) for task in examples)
    assert any("group/winiscsi.ipsec.mmipsec" in task.get("module_defaults", {})
               for task in examples)


def test_return_documents_every_key() -> None:
    facts = yaml.safe_load(_doc_constant("RETURN"))["ansible_facts"]["contains"]["mmipsec"]
    contains = facts["contains"]
    assert tuple(contains) == _counters.SNAPSHOT_KEYS
    assert tuple(contains["instances"]["contains"]) == _counters.INSTANCE_KEYS
    assert tuple(contains["instances"]["contains"]["counters"]["sample"]) == _counters.COUNTER_KEYS
    assert tuple(contains["totals"]["sample"]) == _counters.COUNTER_KEYS
    assert set(contains["reason"]["choices"]) == set(_counters.REASONS)
    assert contains["source"]["choices"] == list(_counters.SOURCES)
    assert all("sample" in entry for entry in contains.values())


# --- recorded module results and the Windows integration target -----------------------------------

# name -> (mmipsec available, reason), (qmipsec available, reason)
RESULTS = {
    "one_active_instance": ((True, None), (True, None)),
    "two_instances_one_inactive": ((True, None), (True, None)),
    "class_not_found": ((False, "class_not_found"), (False, "class_not_found")),
    "provider_error": ((False, "provider_error"), (False, "class_not_found")),
    "quick_mode_class_not_found": ((True, None), (False, "class_not_found")),
}


def test_recorded_results_are_the_expected_set() -> None:
    assert sorted(p.stem for p in TEST_DATA.glob("*.json")) == sorted(RESULTS)


@pytest.mark.parametrize("name", list(RESULTS))
def test_recorded_result_is_a_valid_module_result(name: str) -> None:
    result = json.loads((TEST_DATA / f"{name}.json").read_text(encoding="utf-8"))
    assert result["changed"] is False
    assert list(result["ansible_facts"]) == ["mmipsec", "qmipsec"]
    for schema, expected in zip(_counters.SCHEMAS, RESULTS[name], strict=True):
        facts = result["ansible_facts"][schema.fact]
        assert _counters.validate_snapshot(facts, schema=schema) is facts
        assert (facts["available"], facts["reason"], facts["source"]) == (*expected, "cim")
        assert tuple(facts) == _counters.SNAPSHOT_KEYS


def test_recorded_inactive_instance_is_left_out_of_totals() -> None:
    result = json.loads((TEST_DATA / "two_instances_one_inactive.json").read_text("utf-8"))
    active, inactive = result["ansible_facts"]["mmipsec"]["instances"]
    assert (active["active"], inactive["active"]) == (True, False)
    assert any(inactive["counters"].values())
    assert result["ansible_facts"]["mmipsec"]["totals"] == active["counters"]


def test_integration_target_expects_the_schema() -> None:
    variables = yaml.safe_load((TARGET / "vars" / "main.yml").read_text(encoding="utf-8"))
    assert tuple(variables["mmipsec_counter_keys"]) == _counters.COUNTER_KEYS
    assert tuple(variables["qmipsec_counter_keys"]) == _counters.QM_COUNTER_KEYS
    assert tuple(variables["mmipsec_snapshot_keys"]) == _counters.SNAPSHOT_KEYS
    assert tuple(variables["mmipsec_instance_keys"]) == _counters.INSTANCE_KEYS
    assert tuple(variables["mmipsec_reasons"]) == _counters.REASONS
    pattern = re.compile(variables["mmipsec_timestamp_pattern"])
    assert pattern.match("2026-11-26T08:00:00.1234567Z")
    assert not pattern.match("2026-11-26T08:00:00+00:00")


def test_return_samples_form_a_valid_snapshot() -> None:
    facts = yaml.safe_load(_doc_constant("RETURN"))["ansible_facts"]["contains"]["mmipsec"]
    snapshot = {key: entry["sample"] for key, entry in facts["contains"].items()}
    assert _counters.validate_snapshot(snapshot) is snapshot


def test_quick_mode_return_sample_is_a_valid_snapshot() -> None:
    facts = yaml.safe_load(_doc_constant("RETURN"))["ansible_facts"]["contains"]
    sample = facts["qmipsec"]["sample"]
    assert _counters.validate_snapshot(sample, schema=_counters.QM) is sample
    assert list(facts) == ["mmipsec", "qmipsec"]


# --- Both editions' serialisers (section 2 of issue 12) ---------------------------------------
# Ansible.Basic writes a module's result with JavaScriptSerializer on Windows PowerShell 5.1 and
# with Newtonsoft.Json on PowerShell 7. Their documented rules for the number types a module
# could emit: both write UInt64 as its integer digits; JavaScriptSerializer writes a Decimal
# with ToString(InvariantCulture) (15), Newtonsoft always with a decimal point (15.0).
SERIALISED = [
    pytest.param("UInt64", "18446744073709551615", "18446744073709551615", id="uint64"),
    pytest.param("Decimal", "15", "15.0", id="decimal"),
]


@pytest.mark.parametrize(("dotnet_type", "windows_powershell", "powershell_7"), SERIALISED)
def test_only_uint64_totals_survive_both_serialisers(dotnet_type: str, windows_powershell: str,
                                                     powershell_7: str) -> None:
    recorded = json.loads((TEST_DATA / "one_active_instance.json").read_text(encoding="utf-8"))
    for text in (windows_powershell, powershell_7):
        facts = recorded["ansible_facts"]["mmipsec"]
        facts["totals"]["soft_associations"] = json.loads(text)
        facts["instances"][0]["counters"]["soft_associations"] = json.loads(text)
        survives = True
        try:
            _counters.validate_snapshot(facts)
        except InputError:
            survives = False
        # A Decimal becomes a float under PowerShell 7, which the schema refuses; UInt64 is
        # exact under both: hence totals in [UInt64] (or on the controller), never [decimal].
        assert survives is (dotnet_type == "UInt64" or text == windows_powershell)
    # The module sums in [UInt64]; check_hygiene refuses a [decimal] (see decimal-sum above).
    assert "[UInt64]$sum = 0" in MODULE.read_text(encoding="utf-8")
    assert ps_static.check_hygiene(MODULE) == []
