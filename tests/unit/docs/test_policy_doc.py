"""docs/policy.md is generated from the check table and must not drift from it."""

from __future__ import annotations

from pathlib import Path

import gen_policy_doc

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._policy import (
    CHECKS,
    COMMON_REASONS,
)

ROOT = Path(__file__).resolve().parents[3]


def test_committed_policy_page_is_what_the_generator_writes() -> None:
    committed = (ROOT / "docs" / "policy.md").read_text(encoding="utf-8")
    assert committed == gen_policy_doc.render(), (
        "docs/policy.md is stale: run .venv/bin/python tests/support/gen_policy_doc.py")


def test_page_lists_every_check_with_its_defaults() -> None:
    text = gen_policy_doc.render()
    for spec in CHECKS:
        assert f"### `{spec.name}`" in text
        assert f"`{spec.reason}`" in text
        assert spec.formula in text
        assert spec.rationale in text
    for reason, _status, _meaning in COMMON_REASONS:
        assert f"| `{reason}` |" in text
