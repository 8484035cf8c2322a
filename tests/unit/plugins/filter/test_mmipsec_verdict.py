"""The winiscsi.ipsec.mmipsec_verdict filter plugin: mapping, errors and documentation.

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

from ansible_collections.winiscsi.ipsec.plugins.filter.mmipsec_verdict import (  # noqa: E402
    FilterModule,
    mmipsec_verdict,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _health  # noqa: E402


def test_filter_is_registered() -> None:
    assert FilterModule().filters() == {"mmipsec_verdict": mmipsec_verdict}


def test_error_is_an_ansible_filter_error_naming_the_filter() -> None:
    message = "winiscsi.ipsec.mmipsec_verdict: fail_on: expected one of ['warning', 'critical'], got 'never' (str)"
    with pytest.raises(AnsibleFilterError, match=re.escape(message)) as info:
        mmipsec_verdict(snapshot(), fail_on="never")
    assert str(info.value) == message
    assert isinstance(info.value.__cause__, _health.HealthError)


def test_documentation_matches_the_signature() -> None:
    assert signature_problems(mmipsec_verdict, load_sidecar("filter", "mmipsec_verdict")) == []


def test_arguments_reach_plugin_utils() -> None:
    before, after = snapshot(collected_at=T0), snapshot(get_spi_failures=1)
    thresholds = {"key_management_failures": {"warning": "5"}}
    assert mmipsec_verdict(after, before, thresholds, "warning", True) == _health.verdict(
        after, before, thresholds, "warning", True)
    assert mmipsec_verdict(after, before)["status"] == "warning"
    assert mmipsec_verdict(after, before, thresholds)["status"] == "ok"
