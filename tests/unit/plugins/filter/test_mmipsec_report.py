"""Unit tests for the mmipsec_report and mmipsec_file_name filters (argument handling)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError
from health_snapshots import snapshot

from ansible_collections.winiscsi.ipsec.plugins.filter.mmipsec_report import (
    FilterModule,
    mmipsec_file_name,
    mmipsec_report,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _fleet
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._verdict import verdict

SUMMARY = {"hosts": [{"host": "web01", "status": "ok", "passed": True, "summary": "OK: fine"}]}


def test_filters_are_registered() -> None:
    assert FilterModule().filters() == {"mmipsec_report": mmipsec_report,
                                        "mmipsec_file_name": mmipsec_file_name}


@pytest.mark.parametrize(("fmt", "start"), [
    pytest.param("table", "fleet\n", id="table"),
    pytest.param("html", "<!DOCTYPE html>", id="html"),
    pytest.param("junit", '<?xml version="1.0" encoding="utf-8"?>', id="junit"),
])
def test_formats(fmt: str, start: str) -> None:
    assert mmipsec_report(SUMMARY, fmt, verdicts={}).startswith(start)


def test_html_is_the_role_s_template_rendered() -> None:
    summary = _fleet.summary({"web01": verdict(snapshot(soft_associations=1))}, ["web01", "web02"])
    page = mmipsec_report(summary, "html", title="change 7", generated_at="generated now",
                          pending=["web03"])
    assert page == _fleet.render_html(_fleet.report_rows(summary), "change 7", "generated now",
                                      ["web03"])
    assert '<tr data-host="web01" data-status="critical" data-failed="1" data-order="1">' in page
    assert '<tr data-host="web02" data-status="unknown" data-failed="0" data-order="2">' in page
    assert '<tr data-host="web03" data-status="pending" data-failed="0" data-order="3">' in page
    assert "<th>cleartext_fallback</th>" in page


@pytest.mark.parametrize(("kwargs", "message"), [
    pytest.param({"format": "pdf"}, "winiscsi.ipsec.mmipsec_report: format: expected one of "
                                    "table, html, junit, got 'pdf' (str)", id="bad-format"),
    pytest.param({"pending": "web02"}, "winiscsi.ipsec.mmipsec_report: pending: expected a list "
                                       "of host names, got 'web02' (str)", id="bad-pending"),
    pytest.param({"verdicts": [1]}, "winiscsi.ipsec.mmipsec_report: verdicts: expected a mapping "
                                    "of host name to verdict, got [1] (list)", id="bad-verdicts"),
])
def test_report_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(AnsibleFilterError) as info:
        mmipsec_report(SUMMARY, **kwargs)
    assert str(info.value) == message
    assert isinstance(info.value.__cause__, InputError)


def test_file_name() -> None:
    assert mmipsec_file_name("fe80::1") == "fe80%3A%3A1.json"
    assert mmipsec_file_name("web01", "") == "web01"
    with pytest.raises(AnsibleFilterError, match=re.escape(
            "winiscsi.ipsec.mmipsec_file_name: host: expected a non-empty host name string, "
            "got '' (str)")) as info:
        mmipsec_file_name("")
    assert isinstance(info.value.__cause__, InputError)
