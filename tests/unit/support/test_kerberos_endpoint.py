"""Kerberos against the local WinRM endpoint: a real MIT KDC, the real kinit, plain pywinrm.

The KDC comes from tests/support/kdc.py (Debian: krb5-kdc, krb5-admin-server, krb5-user);
pywinrm's Kerberos transport needs pykerberos, the endpoint's acceptor python-gssapi. Without
them these tests fail when CI=true and are skipped (loudly) elsewhere.
"""

from __future__ import annotations

import base64
import http.client
import os
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

import pytest
import spnego
import yaml
from defusedxml.ElementTree import fromstring
from winrm.exceptions import InvalidCredentialsError, WinRMTransportError
from winrm.protocol import Protocol

SUPPORT = Path(__file__).resolve().parents[2] / "support"
if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))

import kdc  # noqa: E402
from kdc import KerberosRealm, KerberosUnavailable, require_kerberos  # noqa: E402
from winrm_endpoint import Endpoint, ScenarioError, load_scenario  # noqa: E402

USER, PASSWORD = "ansible", "Winiscsi-Test-1"
OTHER, OTHER_PASSWORD = "mallory", "Winiscsi-Other-1"
PRINCIPAL = f"{USER}@WINISCSI.TEST"
SCENARIO = {
    "hosts": {
        "dc01": {"auth": "kerberos", "user": PRINCIPAL, "password": PASSWORD},
        "dc02": {"auth": "kerberos", "scheme": "https", "user": PRINCIPAL, "password": PASSWORD},
        "ntlm01": {"auth": "ntlm", "user": USER, "password": PASSWORD},
    },
}
NS_S = "http://www.w3.org/2003/05/soap-envelope"
NS_A = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
NS_N = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
NS_W = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
CLASS_URI = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/wmi/MSiSCSI_MMIPSECStats"


@pytest.fixture(scope="module")
def kerberos_installed() -> None:
    """Fail (CI=true) or skip loudly when the KDC binaries or Kerberos modules are missing."""
    require_kerberos()


@pytest.fixture(scope="module")
def realm(kerberos_installed: None) -> Iterator[KerberosRealm]:
    with KerberosRealm(users={USER: PASSWORD, OTHER: OTHER_PASSWORD}) as started:
        yield started


@pytest.fixture(scope="module")
def ep(realm: KerberosRealm, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    with realm.environment(), \
            Endpoint(SCENARIO, state_dir=tmp_path_factory.mktemp("kerberos")) as endpoint:
        yield endpoint


@pytest.fixture
def ccache(realm: KerberosRealm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private, empty credential cache for this test (pywinrm reads KRB5CCNAME)."""
    path = tmp_path / "ccache"
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{path}")
    return path


def kinit(realm: KerberosRealm, user: str, password: str, ccache: Path) -> None:
    result = realm.kinit(user, password, ccache)
    assert result.returncode == 0, result.stderr


def kerberos_client(ep: Endpoint, host: str, **kwargs: Any) -> Protocol:
    info = ep.hosts[host]
    options: dict[str, Any] = {
        "transport": "kerberos", "username": info.username, "message_encryption": "always",
        "kerberos_hostname_override": "localhost", "server_cert_validation": "validate",
        "ca_trust_path": str(ep.ca_path),
    }
    options.update(kwargs)
    return Protocol(info.url, **options)


def enumerate_instances(proto: Protocol) -> list[str]:
    """Send an optimized Enumerate of MSiSCSI_MMIPSECStats; the InstanceName of each item."""
    envelope = Element(f"{{{NS_S}}}Envelope")
    header = SubElement(envelope, f"{{{NS_S}}}Header")
    for tag, text in (
        (f"{{{NS_A}}}To", proto.transport.endpoint),
        (f"{{{NS_A}}}Action", f"{NS_N}/Enumerate"),
        (f"{{{NS_A}}}MessageID", f"uuid:{uuid.uuid4()}"),
        (f"{{{NS_W}}}ResourceURI", CLASS_URI),
        (f"{{{NS_W}}}MaxEnvelopeSize", "153600"),
        (f"{{{NS_W}}}OperationTimeout", "PT20S"),
    ):
        SubElement(header, tag).text = text
    SubElement(SubElement(header, f"{{{NS_A}}}ReplyTo"), f"{{{NS_A}}}Address").text = (
        f"{NS_A}/role/anonymous"
    )
    enum = SubElement(SubElement(envelope, f"{{{NS_S}}}Body"), f"{{{NS_N}}}Enumerate")
    SubElement(enum, f"{{{NS_W}}}OptimizeEnumeration")
    SubElement(enum, f"{{{NS_W}}}MaxElements").text = "32000"
    reply = fromstring(proto.send_message(tostring(envelope, encoding="unicode")))
    items = reply.find(f"{{{NS_S}}}Body/{{{NS_N}}}EnumerateResponse/{{{NS_W}}}Items")
    assert items is not None
    return [item.findtext("{*}InstanceName") or "" for item in items]


# ---------------------------------------------------------------- the realm


def test_realm_starts_quickly_and_cleans_up(kerberos_installed: None) -> None:
    realm = KerberosRealm()
    with realm:
        assert realm.path is not None
        path = realm.path
        assert realm.start_seconds < 10
        assert realm.keytab.is_file() and realm.krb5_conf.is_file()
        assert realm.env["KRB5_KTNAME"] == f"FILE:{realm.keytab}"
        kdc_process = realm._kdc
        assert kdc_process is not None and kdc_process.poll() is None
    assert not path.exists()
    assert kdc_process.poll() is not None


def test_a_port_taken_before_the_kdc_binds_it_is_not_taken_for_the_kdc(
        kerberos_installed: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Another server takes the port _free_port found: a connection reaches it, not the KDC.
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        taken = other.getsockname()[1]
        ports = iter([taken])
        free = kdc._free_port
        monkeypatch.setattr(kdc, "_free_port", lambda: next(ports, None) or free())
        with KerberosRealm() as realm:
            assert realm.kdc_port != taken
            assert realm._kdc is not None and realm._kdc.poll() is None


def test_missing_binary_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kdc, "find_binary", lambda name: None if name == "krb5kdc" else "/bin/true")
    with pytest.raises(KerberosUnavailable, match=r"krb5kdc \(krb5-kdc\)"):
        KerberosRealm().start()


def test_kinit_with_a_wrong_password_fails(realm: KerberosRealm, tmp_path: Path) -> None:
    result = realm.kinit(USER, PASSWORD + "-wrong", tmp_path / "ccache")
    assert result.returncode != 0
    assert "Password incorrect" in result.stderr
    assert not (tmp_path / "ccache").exists()


# ---------------------------------------------------------------- the endpoint


def test_kerberos_with_message_encryption_reads_the_class(
    realm: KerberosRealm, ep: Endpoint, ccache: Path
) -> None:
    kinit(realm, USER, PASSWORD, ccache)
    ep.clear_requests()
    assert enumerate_instances(kerberos_client(ep, "dc01")) == ["ROOT\\ISCSIPRT\\0000_0"]
    entries = ep.requests("dc01")
    assert [(e["status"], e["user"], e["encrypted"]) for e in entries] == [
        (200, PRINCIPAL, False),  # pywinrm's empty POST that sets up the encrypted session
        (200, PRINCIPAL, True),
    ]
    assert entries[-1]["transport"] == "kerberos"


def test_kerberos_over_https_with_channel_binding(
    realm: KerberosRealm, ep: Endpoint, ccache: Path
) -> None:
    kinit(realm, USER, PASSWORD, ccache)
    proto = kerberos_client(ep, "dc02", message_encryption="never")
    assert enumerate_instances(proto) == ["ROOT\\ISCSIPRT\\0000_0"]


def test_cleartext_over_http_is_refused(realm: KerberosRealm, ep: Endpoint, ccache: Path) -> None:
    kinit(realm, USER, PASSWORD, ccache)
    ep.clear_requests()
    with pytest.raises(WinRMTransportError, match="Code 400"):
        enumerate_instances(kerberos_client(ep, "dc01", message_encryption="never"))
    assert ep.requests("dc01")[-1]["fault"] == "UnencryptedRefused"


def test_another_users_ticket_is_refused(realm: KerberosRealm, ep: Endpoint, ccache: Path) -> None:
    kinit(realm, OTHER, OTHER_PASSWORD, ccache)
    ep.clear_requests()
    with pytest.raises(InvalidCredentialsError):
        enumerate_instances(kerberos_client(ep, "dc01", username=None))
    entries = ep.requests("dc01")
    assert entries and all(e["status"] == 401 for e in entries)
    assert {e["fault"] for e in entries} == {"WrongPrincipal"}
    assert {e["user"] for e in entries} == {f"{OTHER}@WINISCSI.TEST"}


def test_no_ticket_is_a_clear_client_error(ep: Endpoint, ccache: Path) -> None:
    ep.clear_requests()
    # requests_kerberos' KerberosExchangeError (its module needs pykerberos to import).
    with pytest.raises(Exception, match="No Kerberos credentials available") as no_cache:
        enumerate_instances(kerberos_client(ep, "dc01", username=None))
    with pytest.raises(Exception, match=f"Can't find client principal {PRINCIPAL}") as no_user:
        enumerate_instances(kerberos_client(ep, "dc01"))
    for raised in (no_cache, no_user):
        assert type(raised.value).__name__ == "KerberosExchangeError"
    assert ep.requests("dc01") == []  # pykerberos gave up before sending anything


@pytest.mark.parametrize("scheme", ["Negotiate", "Kerberos"])
def test_spnego_wrapped_tokens_and_the_kerberos_scheme(
    realm: KerberosRealm, ep: Endpoint, ccache: Path, scheme: str
) -> None:
    # pywinrm sends a raw Kerberos token; pyspnego's Negotiate client wraps it in SPNEGO.
    kinit(realm, USER, PASSWORD, ccache)
    context = spnego.client(hostname="localhost", service="HTTP", protocol="negotiate")
    token = base64.b64encode(context.step() or b"").decode()
    connection = http.client.HTTPConnection("127.0.0.1", ep.hosts["dc01"].port, timeout=10)
    try:
        connection.request("POST", "/wsman", b"", {"Authorization": f"{scheme} {token}"})
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    assert response.status == 200
    answer = response.headers["WWW-Authenticate"]
    assert answer.startswith(f"{scheme} ")
    context.step(base64.b64decode(answer.split(" ", 1)[1]))
    assert context.complete and context.negotiated_protocol == "kerberos"


def test_kerberos_is_opt_in_per_host(realm: KerberosRealm, ep: Endpoint, ccache: Path) -> None:
    kinit(realm, USER, PASSWORD, ccache)
    ep.clear_requests()
    with pytest.raises(InvalidCredentialsError):
        enumerate_instances(kerberos_client(ep, "ntlm01"))
    assert {e["fault"] for e in ep.requests("ntlm01")} == {"WrongMechanism"}
    ntlm = Protocol(ep.hosts["dc01"].url, transport="ntlm", username=USER, password=PASSWORD,
                    ca_trust_path=str(ep.ca_path))
    with pytest.raises(InvalidCredentialsError):
        enumerate_instances(ntlm)
    assert ep.requests("dc01")[-1]["fault"] == "WrongMechanism"
    ntlm = Protocol(ep.hosts["ntlm01"].url, transport="ntlm", username=USER, password=PASSWORD,
                    ca_trust_path=str(ep.ca_path))
    assert enumerate_instances(ntlm) == ["ROOT\\ISCSIPRT\\0000_0"]


def test_inventory_names_the_spn_host(ep: Endpoint) -> None:
    hostvars = yaml.safe_load(ep.inventory_path.read_text())["all"]["children"]["windows"]["hosts"]
    assert hostvars["dc01"]["ansible_winrm_transport"] == "kerberos"
    assert hostvars["dc01"]["ansible_user"] == PRINCIPAL
    assert hostvars["dc01"]["ansible_winrm_kerberos_hostname_override"] == "localhost"
    assert "ansible_winrm_kerberos_hostname_override" not in hostvars["ntlm01"]


def test_kerberos_user_must_be_a_principal() -> None:
    with pytest.raises(ScenarioError, match="user@REALM"):
        load_scenario({"hosts": {"dc01": {"auth": "kerberos", "user": USER}}})


def test_start_without_a_keytab_is_a_clear_error(
    kerberos_installed: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KRB5_KTNAME", f"FILE:{tmp_path / 'absent.keytab'}")
    with pytest.raises(RuntimeError, match="keytab holding HTTP/localhost"):
        Endpoint({"hosts": {"dc01": {"auth": "kerberos", "user": PRINCIPAL}}}, state_dir=tmp_path).start()


def test_environment_is_set_for_the_block_and_restored(
        realm: KerberosRealm, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRB5_CONFIG", "/before")
    monkeypatch.delenv("KRB5_KTNAME", raising=False)
    with realm.environment():
        assert os.environ["KRB5_CONFIG"] == realm.env["KRB5_CONFIG"]
        assert os.environ["KRB5_KTNAME"] == realm.env["KRB5_KTNAME"]
    assert os.environ["KRB5_CONFIG"] == "/before"
    assert "KRB5_KTNAME" not in os.environ
