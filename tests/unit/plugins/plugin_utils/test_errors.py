"""The one input error type and how values are shown (plugin_utils/_errors.py)."""

from __future__ import annotations

import pytest

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import (
    MISSING,
    InputError,
    describe,
)


class _BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


@pytest.mark.parametrize(("value", "shown"), [
    pytest.param("abc", "'abc' (str)", id="str"),
    pytest.param(3, "3 (int)", id="int"),
    pytest.param(None, "None (NoneType)", id="none"),
    pytest.param(MISSING, "nothing (the key is missing)", id="missing"),
    pytest.param("x" * 100, "'" + "x" * 76 + "... (str)", id="long-is-cut-to-80"),
    pytest.param(_BrokenRepr(), "<_BrokenRepr object> (_BrokenRepr)", id="repr-fails"),
])
def test_describe(value: object, shown: str) -> None:
    assert describe(value) == shown


def test_input_error_message_and_attributes() -> None:
    error = InputError("thresholds.x.warning", "a Nagios range", "5:1", host="web01")
    assert str(error) == ("host 'web01': thresholds.x.warning: expected a Nagios range, got "
                          "'5:1' (str)")
    assert (error.field, error.expected, error.got, error.host) == (
        "thresholds.x.warning", "a Nagios range", "5:1", "web01")
    assert isinstance(error, ValueError)


def test_input_error_without_host_and_with_a_missing_key() -> None:
    error = InputError("input.reason", "a value", MISSING)
    assert str(error) == "input.reason: expected a value, got nothing (the key is missing)"
    assert error.host is None
    assert error.args == (str(error),)
