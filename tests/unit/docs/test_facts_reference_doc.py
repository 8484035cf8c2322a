"""docs/facts-reference.md is generated from the counter schema and must not drift from it."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import gen_facts_doc
import pytest

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import (
    INSTANCE_KEYS,
    MEMBERS,
    SNAPSHOT_KEYS,
)

ROOT = Path(__file__).resolve().parents[3]

PAGE = ROOT / "docs" / "facts-reference.md"
# A table row whose first cell is a `key`: the cells, stripped.
ROW = re.compile(r"^\| `(?P<key>[a-z_]+)` \|(?P<rest>.*)\|$", re.MULTILINE)


def _section(text: str, heading: str) -> str:
    """The text from a '## heading' line to the next '## ' heading."""
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def _rows(section: str) -> dict[str, list[str]]:
    return {m["key"]: [cell.strip() for cell in m["rest"].split(" | ")]
            for m in ROW.finditer(section)}


def test_committed_page_is_what_the_generator_writes() -> None:
    committed = PAGE.read_text(encoding="utf-8")
    assert committed == gen_facts_doc.render(), (
        "docs/facts-reference.md is stale: run .venv/bin/python tests/support/gen_facts_doc.py")


def test_counter_table_lists_every_member_with_its_kind_and_meaning() -> None:
    rows = _rows(_section(PAGE.read_text(encoding="utf-8"), "The 21 counters"))
    assert list(rows) == [m.key for m in MEMBERS]
    for member in MEMBERS:
        wmi_name, kind, meaning = rows[member.key]
        assert (wmi_name, kind, meaning) == (f"`{member.wmi_name}`", member.kind, member.meaning)


def test_key_tables_list_every_snapshot_and_instance_key() -> None:
    keys = _section(PAGE.read_text(encoding="utf-8"), "Keys")
    instance_part = keys[keys.index("Each item of `instances`"):]
    snapshot_part = keys[:keys.index("Each item of `instances`")]
    assert list(_rows(snapshot_part)) == list(SNAPSHOT_KEYS)
    assert list(_rows(instance_part)) == list(INSTANCE_KEYS)
    for cells in [*_rows(snapshot_part).values(), *_rows(instance_part).values()]:
        kind, meaning = cells
        assert kind and len(meaning) > 20, cells


def test_generator_refuses_an_undocumented_snapshot_key(monkeypatch: pytest.MonkeyPatch) -> None:
    described = {k: v for k, v in gen_facts_doc.SNAPSHOT_DOC.items() if k != "boot_time"}
    monkeypatch.setattr(gen_facts_doc, "SNAPSHOT_DOC", described)
    expected = (f"gen_facts_doc: SNAPSHOT_KEYS is {list(SNAPSHOT_KEYS)}, but the script describes "
                f"{list(described)}: describe every key, in order")
    with pytest.raises(ValueError, match=re.escape(expected)):
        gen_facts_doc.render()


def test_check_mode_reports_a_stale_page(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "facts-reference.md"
    stale.write_text("old\n", encoding="utf-8")
    monkeypatch.setattr(gen_facts_doc, "FACTS_DOC", stale)
    monkeypatch.setattr(sys, "argv", ["gen_facts_doc.py", "--check"])
    assert gen_facts_doc.main() == 1
    assert "is stale" in capsys.readouterr().err
    assert stale.read_text(encoding="utf-8") == "old\n"
