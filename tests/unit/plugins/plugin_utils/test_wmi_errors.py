"""Tests for plugin_utils/_wmi_errors.py: the one table of WMI errors."""

from __future__ import annotations

from typing import get_args

import pytest

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _wmi_errors as e
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_errors import ERROR_NAMES


@pytest.mark.parametrize(("code", "outcome"), [
    pytest.param(0x80041010, "class_not_found", id="invalid-class"),
    pytest.param(0x80041001, "provider_error", id="generic-failure"),
    pytest.param(0x8004100C, "provider_error", id="not-supported"),
    pytest.param(0x80070032, "provider_error", id="win32-not-supported"),
    pytest.param(0x80071068, "provider_error", id="wmi-guid-not-found"),
    pytest.param(0x80041003, "access_denied", id="wbem-access-denied"),
    pytest.param(0x80070005, "access_denied", id="e-accessdenied"),
    pytest.param(0x8004100E, "invalid_namespace", id="invalid-namespace"),
    pytest.param(0x800705B4, "timed_out", id="win32-timeout"),
    pytest.param(0x80338029, "timed_out", id="wsman-timed-out"),
    pytest.param(0x80041006, None, id="out-of-memory-is-not-in-the-table"),
    pytest.param(0x80041032, None, id="call-cancelled-is-not-in-the-table"),
    pytest.param(None, None, id="no-code"),
])
def test_classify_hresult(code: int | None, outcome: str | None) -> None:
    assert e.classify_hresult(code) == outcome


def test_the_table_has_one_row_per_code_and_known_outcomes() -> None:
    codes = [error.code for error in e.WMI_ERRORS]
    assert len(codes) == len(set(codes))
    assert {error.outcome for error in e.WMI_ERRORS} == set(get_args(e.WmiOutcome))
    assert all(0x80000000 <= code <= 0xFFFFFFFF for code in codes)  # failure HRESULTs


def test_only_missing_data_is_unavailable_every_other_outcome_fails() -> None:
    assert e.UNAVAILABLE_OUTCOMES == {"class_not_found", "provider_error"}


def test_fault_messages_name_every_code_of_the_table() -> None:
    for error in e.WMI_ERRORS:
        assert ERROR_NAMES[error.code] == error.name
