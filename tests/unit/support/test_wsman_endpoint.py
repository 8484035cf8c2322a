"""The WS-Man client against the local WinRM test endpoint: real HTTP, TLS, NTLM encryption.

The settings come from the endpoint's inventory through ansible-core's winrm connection
plugin, as the action plugin reads them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from ansible.playbook.play_context import PlayContext
from winrm_endpoint import Endpoint

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import validate_snapshot
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_client import (
    Session,
    collect_snapshot,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_errors import (
    ResponseTooLargeError,
    WSManError,
    WSManFault,
    WSManTransportError,
    XmlRefusedError,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_transport import (
    WinRMSettings,
    settings_from_options,
    winrm_options,
)

SUPPORT = Path(__file__).resolve().parents[2] / "support"
BOOT_TIME = "2026-11-20T07:12:03.500000Z"


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, WinRMSettings]]:
    state = tmp_path_factory.mktemp("endpoint")
    with Endpoint(SUPPORT / "scenarios" / "faults.yml", state_dir=state, control=False) as ep:
        document = yaml.safe_load(ep.inventory_path.read_text())
        hosts = document["all"]["children"]["windows"]["hosts"]
        settings = {}
        for name, host_vars in hosts.items():
            options = winrm_options(PlayContext(), {"inventory_hostname": name, **host_vars}, {})
            settings[name], warnings = settings_from_options(options)
            assert warnings == []
        yield settings


@pytest.mark.parametrize(("host", "scheme", "transport"), [
    pytest.param("basic_http", "http", "basic", id="basic-http"),
    pytest.param("basic_https", "https", "basic", id="basic-https-ca-trust-path"),
    pytest.param("ntlm_http", "http", "ntlm", id="ntlm-http-message-encryption"),
    pytest.param("ntlm_https", "https", "ntlm", id="ntlm-https"),
])
def test_collects_with_each_auth_mode(inventory: dict[str, WinRMSettings], host: str,
                                      scheme: str, transport: str) -> None:
    settings = inventory[host]
    assert (settings.scheme, settings.auth_transports) == (scheme, (transport,))
    assert settings.transport_options["server_cert_validation"] == "validate"
    with Session(settings) as session:
        snapshot = collect_snapshot(session)
    assert validate_snapshot(snapshot) is snapshot
    assert (snapshot["available"], snapshot["source"], snapshot["boot_time"]) == (
        True, "wsman", BOOT_TIME)
    assert snapshot["totals"]["oakley_main_mode"] >= 1200
    assert (session.round_trips, session.warnings, session.sender.auth_transports) == (
        2, [], (transport,))


def test_pages_are_pulled(inventory: dict[str, WinRMSettings]) -> None:
    with Session(inventory["paged"]) as session:
        snapshot = collect_snapshot(session, include_inactive=True)
    assert [i["instance_name"] for i in snapshot["instances"]] == [
        "ROOT\\ISCSIPRT\\0000_0", "ROOT\\ISCSIPRT\\0001_0", "ROOT\\ISCSIPRT\\0002_0"]
    assert session.round_trips == 4  # Enumerate + 2 Pulls, then the boot time


@pytest.mark.parametrize(("host", "reason"), [
    pytest.param("class_missing", "class_not_found", id="class-missing"),
    pytest.param("class_missing_wql", "class_not_found", id="class-missing-wql"),
    pytest.param("class_missing_uri", "class_not_found", id="class-missing-uri"),
    pytest.param("provider_error", "provider_error", id="provider-error"),
    pytest.param("no_instances", "no_instances", id="no-instances"),
    pytest.param("provider_error_passthrough", "provider_error", id="pass-through-decimal"),
    pytest.param("not_supported_passthrough_hex", "provider_error", id="pass-through-hex"),
    pytest.param("class_missing_passthrough", "class_not_found", id="pass-through-class"),
    pytest.param("provider_error_dmtf", "provider_error", id="dmtf-extended-status"),
    pytest.param("wmi_error_only", "provider_error", id="msft-wmierror-only"),
    pytest.param("partial_provider_error", "provider_error", id="partial-enumeration"),
])
def test_outcomes(inventory: dict[str, WinRMSettings], host: str, reason: str) -> None:
    with Session(inventory[host]) as session:
        snapshot = collect_snapshot(session)
    assert (snapshot["available"], snapshot["reason"]) == (False, reason)
    assert snapshot["message"]
    assert snapshot["boot_time"] == BOOT_TIME


@pytest.mark.parametrize(("host", "error", "unreachable"), [
    pytest.param("access_denied", WSManFault, False, id="access-denied"),
    pytest.param("access_denied_passthrough", WSManFault, False, id="access-denied-pass-through"),
    pytest.param("invalid_namespace_passthrough", WSManFault, False, id="invalid-namespace"),
    pytest.param("unknown_wmi_error_passthrough", WSManFault, False, id="unknown-hresult"),
    pytest.param("partial_unknown_error", WSManFault, False, id="partial-unknown-hresult"),
    pytest.param("timed_out", WSManFault, False, id="timed-out"),
    pytest.param("wrong_password", WSManTransportError, False, id="wrong-password"),
    pytest.param("entity_bomb", XmlRefusedError, False, id="entity-bomb"),
    pytest.param("oversized", ResponseTooLargeError, False, id="oversized"),
    pytest.param("drop", WSManTransportError, True, id="dropped-connection"),
    pytest.param("unreachable", WSManTransportError, True, id="unreachable"),
])
def test_failures(inventory: dict[str, WinRMSettings], host: str, error: type[Exception],
                  unreachable: bool) -> None:
    settings = inventory[host]
    with pytest.raises(WSManError) as caught, Session(settings) as session:
        collect_snapshot(session)
    assert caught.type is error
    assert caught.value.unreachable is unreachable
    assert f"127.0.0.1:{settings.port}" in str(caught.value)


@pytest.mark.parametrize(("host", "round_trips"), [
    # One item per Enumerate however large MaxElements is, so a Pull always follows: the
    # class (2 instances: the Pull brings the second and ends), then Win32_OperatingSystem
    # (its Pull brings nothing and ends).
    pytest.param("windows_2008r2", 4, id="first-page-one"),
    pytest.param("windows_2008r2_one_page", 2, id="empty-context-end-of-sequence"),
])
def test_windows_2008r2_reply_shapes(inventory: dict[str, WinRMSettings], host: str,
                                     round_trips: int) -> None:
    with Session(inventory[host]) as session:
        snapshot = collect_snapshot(session, include_inactive=True)
    assert validate_snapshot(snapshot) is snapshot
    assert snapshot["available"] is True
    assert snapshot["boot_time"] == BOOT_TIME  # written 2026-11-20T07:12:03.5Z
    assert (session.round_trips, session.warnings) == (round_trips, [])


@pytest.mark.parametrize(("host", "words"), [
    pytest.param("timed_out", "within its OperationTimeout of 2 s: fault 0x80338029",
                 id="timed-out"),
    pytest.param("invalid_namespace_passthrough", "fault 0x8004100E WBEM_E_INVALID_NAMESPACE",
                 id="invalid-namespace"),
    pytest.param("unknown_wmi_error_passthrough", "fault 0x80041006 (InternalError)",
                 id="unknown-hresult-named"),
    pytest.param("access_denied_passthrough", "The account needs administrator rights",
                 id="access-denied-hint"),
])
def test_failure_messages(inventory: dict[str, WinRMSettings], host: str, words: str) -> None:
    with pytest.raises(WSManFault) as caught, Session(inventory[host]) as session:
        collect_snapshot(session)
    assert words in str(caught.value)
