"""The mmipsec_openmetrics filter: mapping, errors, documentation.

A thin wrapper: its behaviour is tested on plugin_utils (test_openmetrics.py); what is left to
test here is the wrapping, and that its output is what prometheus_client's parser reads.
"""

from __future__ import annotations

import importlib

import pytest
from ansible.errors import AnsibleFilterError
from health_snapshots import snapshot
from plugin_docs import load_sidecar, signature_problems
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _fleet, _openmetrics, _verdict
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError

MODULE = importlib.import_module("ansible_collections.winiscsi.ipsec.plugins.filter."
                                 "mmipsec_openmetrics")
FILTER = MODULE.mmipsec_openmetrics


def test_filter_is_registered() -> None:
    assert MODULE.FilterModule().filters() == {"mmipsec_openmetrics": FILTER}


def test_documentation_matches_the_signature() -> None:
    doc = load_sidecar("filter", "mmipsec_openmetrics")
    assert signature_problems(FILTER, doc) == []
    assert doc["DOCUMENTATION"]["version_added"] == "0.2.0"
    assert doc["DOCUMENTATION"]["options"]["format"]["choices"] == list(_openmetrics.FORMATS)


def test_arguments_reach_plugin_utils() -> None:
    summary = _fleet.summary({"web01": _verdict.verdict(snapshot())}, hosts=["web01", "web02"])
    snapshots = {"web01": snapshot(), "web02": None}
    text = FILTER(summary, snapshots=snapshots)
    assert text == _openmetrics.openmetrics(summary, snapshots)
    assert FILTER(summary, snapshots, "prometheus") == _openmetrics.openmetrics(
        summary, snapshots, "prometheus")
    health = {s.labels["host"]: s.value for family in text_string_to_metric_families(text)
              if family.name == "winiscsi_ipsec_health_status" for s in family.samples}
    assert health == {"web01": 0, "web02": 3}


def test_error_is_an_ansible_filter_error_naming_the_filter() -> None:
    summary = _fleet.summary({})
    with pytest.raises(AnsibleFilterError) as info:
        FILTER(summary, format="json")
    assert str(info.value) == ("winiscsi.ipsec.mmipsec_openmetrics: format: expected one of "
                               "['openmetrics', 'prometheus'], got 'json' (str)")
    assert isinstance(info.value.__cause__, InputError)
