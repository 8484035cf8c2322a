"""The winiscsi.ipsec.mmipsec_summary filter plugin: mapping, errors and documentation.

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

from health_snapshots import snapshot  # noqa: E402
from plugin_docs import load_sidecar, signature_problems  # noqa: E402

from ansible_collections.winiscsi.ipsec.plugins.filter.mmipsec_summary import (  # noqa: E402
    FilterModule,
    mmipsec_summary,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _health  # noqa: E402


def test_filter_is_registered() -> None:
    assert FilterModule().filters() == {"mmipsec_summary": mmipsec_summary}


def test_error_is_an_ansible_filter_error_naming_the_filter() -> None:
    message = "winiscsi.ipsec.mmipsec_summary: hosts: expected a list of host names, got 'web01' (str)"
    with pytest.raises(AnsibleFilterError, match=re.escape(message)) as info:
        mmipsec_summary({}, hosts="web01")
    assert str(info.value) == message
    assert isinstance(info.value.__cause__, _health.HealthError)


def test_documentation_matches_the_signature() -> None:
    assert signature_problems(mmipsec_summary, load_sidecar("filter", "mmipsec_summary")) == []


def test_arguments_reach_plugin_utils() -> None:
    verdicts = {"web01": _health.verdict(snapshot())}
    result = mmipsec_summary(verdicts, ["web01", "web02"])
    assert result == _health.summary(verdicts, ["web01", "web02"])
    assert result["missing_hosts"] == ["web02"]
