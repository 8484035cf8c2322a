"""Unit tests for the mmipsec_report and mmipsec_file_name filters (argument handling)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.winiscsi.ipsec.plugins.filter.mmipsec_report import (
    FilterModule,
    mmipsec_file_name,
    mmipsec_report,
)

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


@pytest.mark.parametrize(("kwargs", "message"), [
    pytest.param({"format": "pdf"}, "winiscsi.ipsec.mmipsec_report: format: expected one of "
                                    "table, html, junit, got 'pdf' (str)", id="bad-format"),
    pytest.param({"pending": "web02"}, "winiscsi.ipsec.mmipsec_report: pending: expected a list "
                                       "of host names, got 'web02' (str)", id="bad-pending"),
    pytest.param({"verdicts": [1]}, "winiscsi.ipsec.mmipsec_report: verdicts: expected a mapping "
                                    "of host name to verdict, got [1] (list)", id="bad-verdicts"),
])
def test_report_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=re.escape(message)):
        mmipsec_report(SUMMARY, **kwargs)


def test_file_name() -> None:
    assert mmipsec_file_name("fe80::1") == "fe80%3A%3A1.json"
    assert mmipsec_file_name("web01", "") == "web01"
    with pytest.raises(AnsibleFilterError, match=re.escape(
            "winiscsi.ipsec.mmipsec_file_name: host: expected a non-empty host name string, "
            "got '' (str)")):
        mmipsec_file_name("")
