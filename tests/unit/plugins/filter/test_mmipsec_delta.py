"""The winiscsi.ipsec.mmipsec_delta filter plugin: mapping, errors and documentation.

The behaviour itself is tested on plugin_utils/_health.py (tests/unit/plugins/plugin_utils);
the documented examples run through ansible-playbook in tests/playbooks.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "support"))

from health_snapshots import T0, snapshot  # noqa: E402
from plugin_docs import load_sidecar, signature_problems  # noqa: E402

from ansible_collections.winiscsi.ipsec.plugins.filter.mmipsec_delta import (  # noqa: E402
    FilterModule,
    mmipsec_delta,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _health  # noqa: E402


def test_filter_is_registered() -> None:
    assert FilterModule().filters() == {"mmipsec_delta": mmipsec_delta}


def test_error_is_an_ansible_filter_error_naming_the_filter() -> None:
    message = "winiscsi.ipsec.mmipsec_delta: input: snapshot: expected a mapping (ansible_facts.mmipsec), got [] (list)"
    with pytest.raises(AnsibleFilterError, match=re.escape(message)) as info:
        mmipsec_delta([], snapshot())
    assert str(info.value) == message
    assert isinstance(info.value.__cause__, _health.HealthError)


def test_documentation_matches_the_signature() -> None:
    assert signature_problems(mmipsec_delta, load_sidecar("filter", "mmipsec_delta")) == []


def test_result_is_the_plugin_utils_result() -> None:
    before, after = snapshot(collected_at=T0), snapshot(oakley_main_mode=2)
    assert mmipsec_delta(after, before) == _health.delta(after, before)
