"""Collect from the local WinRM test endpoint: real HTTP, TLS, NTLM with message encryption."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _wsman as w
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _wsman_client as c
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import validate_snapshot

SUPPORT = Path(__file__).resolve().parents[3] / "support"
sys.path.insert(0, str(SUPPORT))
from winrm_endpoint import Endpoint  # noqa: E402 - needs the path above

BOOT_TIME = "2026-11-20T07:12:03.500000Z"


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, Any]]]:
    state = tmp_path_factory.mktemp("endpoint")
    with Endpoint(SUPPORT / "scenarios" / "faults.yml", state_dir=state, control=False) as ep:
        document = yaml.safe_load(ep.inventory_path.read_text())
        hosts = document["all"]["children"]["windows"]["hosts"]
        yield {name: {"inventory_hostname": name, **hv} for name, hv in hosts.items()}


@pytest.mark.parametrize(("host", "scheme", "transport"), [
    pytest.param("basic_http", "http", "basic", id="basic-http"),
    pytest.param("basic_https", "https", "basic", id="basic-https-ca-trust-path"),
    pytest.param("ntlm_http", "http", "ntlm", id="ntlm-http-message-encryption"),
    pytest.param("ntlm_https", "https", "ntlm", id="ntlm-https"),
])
def test_collects_with_each_auth_mode(inventory: dict[str, dict[str, Any]], host: str,
                                      scheme: str, transport: str) -> None:
    settings = c.settings_from_vars(inventory[host])
    assert (settings.scheme, settings.auth_transports) == (scheme, (transport,))
    assert settings.server_cert_validation == "validate"
    result = c.collect_snapshot(settings)
    assert validate_snapshot(result.snapshot) is result.snapshot
    assert result.snapshot["available"] is True
    assert result.snapshot["source"] == "wsman"
    assert result.snapshot["boot_time"] == BOOT_TIME
    assert result.snapshot["totals"]["oakley_main_mode"] >= 1200
    assert (result.round_trips, result.warnings, result.auth_transport) == (2, (), transport)


def test_pages_are_pulled(inventory: dict[str, dict[str, Any]]) -> None:
    result = c.collect_snapshot(c.settings_from_vars(inventory["paged"]), include_inactive=True)
    assert [i["instance_name"] for i in result.snapshot["instances"]] == [
        "ROOT\\ISCSIPRT\\0000_0", "ROOT\\ISCSIPRT\\0001_0", "ROOT\\ISCSIPRT\\0002_0"]
    assert result.round_trips == 4  # Enumerate + 2 Pulls, then the boot time


@pytest.mark.parametrize(("host", "reason"), [
    pytest.param("class_missing", "class_not_found", id="class-missing"),
    pytest.param("class_missing_wql", "class_not_found", id="class-missing-wql"),
    pytest.param("class_missing_uri", "class_not_found", id="class-missing-uri"),
    pytest.param("provider_error", "provider_error", id="provider-error"),
    pytest.param("no_instances", "no_instances", id="no-instances"),
])
def test_outcomes(inventory: dict[str, dict[str, Any]], host: str, reason: str) -> None:
    snapshot = c.collect_snapshot(c.settings_from_vars(inventory[host])).snapshot
    assert (snapshot["available"], snapshot["reason"]) == (False, reason)
    assert snapshot["message"]
    assert snapshot["boot_time"] == BOOT_TIME


@pytest.mark.parametrize(("host", "error", "unreachable"), [
    pytest.param("access_denied", w.WSManFault, False, id="access-denied"),
    pytest.param("wrong_password", w.WSManTransportError, False, id="wrong-password"),
    pytest.param("entity_bomb", w.XmlRefusedError, False, id="entity-bomb"),
    pytest.param("oversized", w.ResponseTooLargeError, False, id="oversized"),
    pytest.param("drop", w.WSManTransportError, True, id="dropped-connection"),
    pytest.param("unreachable", w.WSManTransportError, True, id="unreachable"),
])
def test_failures(inventory: dict[str, dict[str, Any]], host: str, error: type[Exception],
                  unreachable: bool) -> None:
    settings = c.settings_from_vars(inventory[host])
    with pytest.raises(error) as caught:
        c.collect_snapshot(settings)
    assert caught.type is error
    assert caught.value.unreachable is unreachable
    assert f"127.0.0.1:{settings.port}" in str(caught.value)
    assert settings.password and settings.password not in str(caught.value)
