"""Tests for plugin_utils/_wsman_errors.py: each failure's message and result keys."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_errors import (
    ResponseTooLargeError,
    Target,
    TransportErrorKind,
    WSManFault,
    WSManResponseError,
    WSManTransportError,
)

TARGET = Target("win1", 5986, "ops", "https://win1:5986/wsman")
STATS_URI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/wmi/MSiSCSI_MMIPSECStats"
ACCESS_DENIED = ("The WS-Management service cannot process the request. The WMI service returned "
                 "an 'access denied' error.")


@pytest.mark.parametrize(("kind", "kwargs", "message", "unreachable"), [
    pytest.param("credentials", {"auth_transports": ("ntlm", "basic"), "http_status": 401},
                 "wsman: win1:5986 rejected the credentials of user 'ops' (HTTP 401, the server "
                 "rejected the credentials; transport 'ntlm', 'basic'). Check ansible_user and "
                 "ansible_password, and that the host accepts that transport "
                 "(ansible_winrm_transport)", False, id="credentials"),
    pytest.param("certificate", {},
                 "wsman: certificate validation failed for https://win1:5986/wsman (user 'ops'): "
                 "CAUSE. Make the controller trust the host's certificate: set "
                 "ansible_winrm_ca_trust_path to a PEM file holding the CA certificate that "
                 "issued it, and check that the certificate is valid for the name 'win1'",
                 False, id="certificate"),
    pytest.param("tls", {},
                 "wsman: the TLS handshake with https://win1:5986/wsman (user 'ops') failed: "
                 "CAUSE. Check that this port serves HTTPS (ansible_winrm_scheme, ansible_port)",
                 False, id="tls"),
    pytest.param("dropped", {}, "wsman: the connection to win1:5986 (user 'ops') broke while "
                 "reading the reply: CAUSE", True, id="dropped"),
    pytest.param("timeout", {"read_timeout_sec": 30},
                 "wsman: win1:5986 did not answer within 30 s (user 'ops'): CAUSE (raise "
                 "ansible_winrm_read_timeout_sec / ansible_winrm_connection_timeout if the host "
                 "is slow)", True, id="timeout"),
    pytest.param("refused", {}, "wsman: cannot connect to win1:5986 (user 'ops'): connection "
                 "refused; check that WinRM listens on that port (ansible_port, "
                 "ansible_winrm_scheme)", True, id="refused"),
    pytest.param("connection", {}, "wsman: cannot connect to win1:5986 (user 'ops'): CAUSE",
                 True, id="connection"),
    pytest.param("http", {"http_status": 404, "operation": "Enumerate"},
                 "wsman: win1:5986 (user 'ops') answered to Enumerate with HTTP 404: CAUSE",
                 False, id="http"),
    pytest.param("setup", {"auth_transports": ("kerberos",)},
                 "wsman: cannot talk to win1:5986 (user 'ops') with transport 'kerberos': CAUSE",
                 False, id="setup"),
])
def test_transport_error_messages(kind: TransportErrorKind, kwargs: dict[str, Any],
                                  message: str, unreachable: bool) -> None:
    error = WSManTransportError(kind, "CAUSE", target=TARGET, **kwargs)
    assert str(error) == message
    assert error.unreachable is unreachable
    assert error.details() == {
        "wsman_host": "win1", "wsman_port": 5986, "wsman_user": "ops",
        "wsman_operation": kwargs.get("operation"), "wsman_error": kind,
        "wsman_http_status": kwargs.get("http_status"),
        "wsman_auth_transports": list(kwargs.get("auth_transports", ())),
    }


def test_an_error_names_only_what_is_known() -> None:
    error = WSManTransportError("credentials", "CAUSE")
    assert str(error).startswith("wsman: the host rejected the credentials of the (empty) user "
                                 "(HTTP 401, the server rejected the credentials; transport none)")
    assert str(WSManResponseError("it is odd")) == "wsman: unusable reply from the host: it is odd"
    assert WSManResponseError("it is odd").details() == {
        "wsman_host": None, "wsman_port": None, "wsman_user": None, "wsman_operation": None}


def test_too_large_keeps_the_limit_and_the_size() -> None:
    error = ResponseTooLargeError(100, 150, target=TARGET, operation="Pull")
    assert (error.limit, error.size, error.problem) == (
        100, 150, "the reply is larger than the limit of 100 bytes (at least 150 bytes)")
    assert str(error) == ("wsman: unusable reply from win1:5986 (user 'ops') to Pull: the reply "
                          "is larger than the limit of 100 bytes (at least 150 bytes)")


@pytest.mark.parametrize(("code", "symbol"), [
    pytest.param(0x80338104, "ERROR_WSMAN_WMI_SVC_ACCESS_DENIED", id="0x80338104"),
    pytest.param(0x80338105, "ERROR_WSMAN_WMI_PROVIDER_ACCESS_DENIED", id="0x80338105"),
    pytest.param(0x80338106, "ERROR_WSMAN_WMI_CANNOT_CONNECT_ACCESS_DENIED", id="0x80338106"),
])
def test_access_denied_says_administrator_rights_are_needed(code: int, symbol: str) -> None:
    fault = WSManFault(code=code, subcode="{http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd}"
                       "AccessDenied", reason=ACCESS_DENIED, machine="win-iscsi01.example.test",
                       outcome="access_denied", resource_uri=STATS_URI, target=TARGET,
                       operation="Enumerate")
    assert str(fault) == (
        f"wsman: access denied to user 'ops' on win1:5986: Enumerate of {STATS_URI} failed "
        f"with fault {'0x%08X' % code} {symbol} (AccessDenied): {ACCESS_DENIED.rstrip('.')}. "
        "The account needs administrator rights on root\\WMI: make it a member of the host's "
        "Administrators group, or grant it 'Enable Account' and 'Remote Enable' on root\\WMI "
        "(WMI Control) and access to WinRM")
    assert fault.unreachable is False
    assert fault.details() == {
        "wsman_host": "win1", "wsman_port": 5986, "wsman_user": "ops",
        "wsman_operation": "Enumerate", "wsman_fault_code": "0x%08X" % code,
        "wsman_fault_name": symbol,
        "wsman_fault_subcode": "{http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd}AccessDenied",
        "wsman_fault_reason": ACCESS_DENIED, "wsman_fault_machine": "win-iscsi01.example.test",
    }


@pytest.mark.parametrize(("fields", "message"), [
    pytest.param({"code": 0x80338029, "subcode": "{urn:x}TimedOut", "reason": "Too slow."},
                 f"wsman: win1:5986 (user 'ops') answered Enumerate of {STATS_URI} with fault "
                 "0x80338029 ERROR_WSMAN_OPERATION_TIMEDOUT (TimedOut): Too slow.",
                 id="code-name-subcode-reason"),
    pytest.param({"code": 0x12345678, "provider_message": "Own words.", "reason": "Reason."},
                 f"wsman: win1:5986 (user 'ops') answered Enumerate of {STATS_URI} with fault "
                 "0x12345678: Own words.", id="unknown-code-provider-words-first"),
    pytest.param({"reason": "Failed.", "extended_description": "WDM specific return code: 1"},
                 f"wsman: win1:5986 (user 'ops') answered Enumerate of {STATS_URI} with fault "
                 "without a code: Failed. (WDM specific return code: 1)",
                 id="no-code-extended-status"),
    pytest.param({}, f"wsman: win1:5986 (user 'ops') answered Enumerate of {STATS_URI} with "
                 "fault without a code: the host gave no message", id="nothing-known"),
])
def test_plain_fault_messages(fields: dict[str, Any], message: str) -> None:
    fault = WSManFault(**fields, resource_uri=STATS_URI, target=TARGET, operation="Enumerate")
    assert str(fault) == message
