"""The winiscsi.ipsec.mmipsec_compare filter plugin: mapping, errors and documentation.

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

from ansible_collections.winiscsi.ipsec.plugins.filter.mmipsec_compare import (  # noqa: E402
    FilterModule,
    mmipsec_compare,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _health  # noqa: E402


def test_filter_is_registered() -> None:
    assert FilterModule().filters() == {"mmipsec_compare": mmipsec_compare}


def test_error_is_an_ansible_filter_error_naming_the_filter() -> None:
    message = ("winiscsi.ipsec.mmipsec_compare: input: expected an mmipsec_delta result, "
               "missing keys ['available', 'reason', 'collected_at', 'baseline_collected_at', "
               "'window_seconds', 'rate_window_seconds', 'reset_detected', 'reset_reasons', "
               "'counters', 'rates', 'gauges', 'instances']")
    with pytest.raises(AnsibleFilterError, match=re.escape(message)) as info:
        mmipsec_compare({}, {})
    assert str(info.value) == message
    assert isinstance(info.value.__cause__, _health.HealthError)


def test_documentation_matches_the_signature() -> None:
    assert signature_problems(mmipsec_compare, load_sidecar("filter", "mmipsec_compare")) == []


def test_arguments_reach_plugin_utils() -> None:
    pre = _health.delta(snapshot(), snapshot(collected_at=T0))
    post = _health.delta(snapshot(collected_at="2026-11-26T08:02:00Z", soft_associations=1),
                         snapshot())
    assert mmipsec_compare(pre, post)["regressions"][0]["check"] == "cleartext_fallback"
    relaxed = {"cleartext_fallback": {"critical": None}}
    assert mmipsec_compare(pre, post, relaxed, "critical", False) == _health.compare(
        pre, post, relaxed)
