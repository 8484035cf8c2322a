"""Tests for plugin_utils/_kerberos.py: when to kinit, how, and the private credential cache.

kinit is a fake here (a script that records its arguments, stdin and environment); the real
MIT kinit against a real KDC runs in tests/playbooks/test_kerberos_wsman.py.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from ansible.playbook.play_context import PlayContext

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _kerberos as k
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils import _wsman_transport as t
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_errors import (
    WSManTransportError,
)

PASSWORD = "Krb-Pa55-w0rd!secret"
PRINCIPAL = "ops@EXAMPLE.TEST"
FAKE_KINIT = """#!{python}
import json, os, sys
stdin = sys.stdin.read()
record = {{"argv": sys.argv[1:], "stdin": stdin, "env": dict(os.environ),
          "cache_exists": os.path.exists(os.environ["KRB5CCNAME"][len("FILE:"):])}}
with open({record!r}, "w") as handle:
    json.dump(record, handle)
if os.environ.get("FAKE_KINIT_FAIL"):
    sys.stderr.write("kinit: Password incorrect while getting initial credentials " + stdin)
    sys.exit(1)
"""


def settings_of(variables: dict[str, Any]) -> t.WinRMSettings:
    options = t.winrm_options(PlayContext(), {"inventory_hostname": "win1", **variables}, {})
    return t.settings_from_options(options)[0]


@pytest.fixture
def fake_kinit(tmp_path: Path) -> tuple[str, Path]:
    record = tmp_path / "record.json"
    script = tmp_path / "kinit"
    script.write_text(FAKE_KINIT.format(python=sys.executable, record=str(record)))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script), record


# --- when and how to kinit: the winrm connection plugin's rules ------------------------------
KERBEROS = {"ansible_user": PRINCIPAL, "ansible_winrm_transport": "kerberos"}


def test_a_password_means_a_managed_kinit() -> None:
    settings = settings_of({**KERBEROS, "ansible_password": PASSWORD})
    assert settings.kinit == k.KinitSettings(principal=PRINCIPAL)
    assert settings.kinit.argv == ["kinit", PRINCIPAL]
    assert PASSWORD not in repr(settings)


@pytest.mark.parametrize("variables", [
    {**KERBEROS},  # no password: the user's own cache
    {**KERBEROS, "ansible_password": PASSWORD, "ansible_winrm_kinit_mode": "manual"},
    {"ansible_user": PRINCIPAL, "ansible_password": PASSWORD, "ansible_winrm_transport": "ntlm",
     "ansible_winrm_kinit_mode": "managed"},
])
def test_no_kinit(variables: dict[str, Any]) -> None:
    assert settings_of(variables).kinit is None


def test_a_upn_means_kerberos_and_managed_mode_without_a_password() -> None:
    settings = settings_of({"ansible_user": PRINCIPAL, "ansible_winrm_kinit_mode": "managed"})
    assert settings.auth_transports == ("kerberos",)
    assert settings.kinit == k.KinitSettings(principal=PRINCIPAL)


def test_delegation_asks_for_a_forwardable_ticket_unless_args_are_given() -> None:
    base = {**KERBEROS, "ansible_password": PASSWORD}
    delegated = settings_of({**base, "ansible_winrm_kerberos_delegation": "yes"})
    assert delegated.kinit is not None and delegated.kinit.args == ("-f",)
    # pywinrm gets the delegation flag too (requests_kerberos' delegate).
    assert delegated.transport_options["kerberos_delegation"] == "yes"
    explicit = settings_of({**base, "ansible_winrm_kerberos_delegation": True,
                            "ansible_winrm_kinit_args": "-l 1h  -r 2h",
                            "ansible_winrm_kinit_cmd": "/opt/krb5/bin/kinit",
                            "ansible_winrm_kinit_env_vars": ["KRB5_CONFIG", "KRB5CCNAME"]})
    assert explicit.kinit == k.KinitSettings(principal=PRINCIPAL, command="/opt/krb5/bin/kinit",
                                             args=("-l", "1h", "-r", "2h"),
                                             env_vars=("KRB5_CONFIG",))


@pytest.mark.parametrize(("variables", "field"), [
    # ansible-core refuses it first, naming its option.
    ({"ansible_winrm_kinit_mode": "automatic"}, "automatic.+kerberos_mode"),
    ({"ansible_winrm_kerberos_delegation": "maybe"}, "ansible_winrm_kerberos_delegation"),
])
def test_bad_kerberos_options_name_the_variable(variables: dict[str, Any], field: str) -> None:
    with pytest.raises(Exception, match=field):
        settings_of({**KERBEROS, "ansible_password": PASSWORD, **variables})


def test_managed_kinit_needs_a_user() -> None:
    options = {"_extras": {}, "kerberos_mode": "managed"}
    with pytest.raises(InputError, match="ansible_user: expected a Kerberos principal"):
        k.kinit_settings(options, ["kerberos"], None, PASSWORD)
    with pytest.raises(InputError, match="ansible_winrm_kinit_mode: expected managed or manual"):
        k.kinit_settings({"kerberos_mode": "auto"}, ["kerberos"], PRINCIPAL, PASSWORD)


def test_missing_pykerberos_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("winrm.transport.HAVE_KERBEROS", False)
    with pytest.raises(WSManTransportError, match=r"pip install pywinrm\[kerberos\]") as raised:
        settings_of({**KERBEROS, "ansible_password": PASSWORD})
    assert raised.value.kind == "setup"
    assert "pykerberos" in str(raised.value)
    # Other transports do not need it.
    assert settings_of({"ansible_user": "ops", "ansible_password": PASSWORD}).kinit is None


# --- the private credential cache --------------------------------------------------------------
def test_kinit_reads_the_password_on_stdin_into_a_private_cache(
        fake_kinit: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    command, record = fake_kinit
    monkeypatch.setenv("KRB5CCNAME", "FILE:/users/own/cache")
    monkeypatch.setenv("KRB5_CONFIG", "/etc/test-krb5.conf")
    monkeypatch.setenv("UNRELATED", "not passed")
    kinit = k.KinitSettings(PRINCIPAL, command=command, args=("-f",), env_vars=("KRB5_CONFIG",))
    logged: list[str] = []
    with k.private_ticket(kinit, PASSWORD, logged.append) as ccache:
        assert ccache is not None and ccache.startswith("FILE:")
        path = Path(ccache[len("FILE:"):])
        assert os.environ["KRB5CCNAME"] == ccache
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.environ["KRB5CCNAME"] == "FILE:/users/own/cache"
    assert not path.exists()
    seen = json.loads(record.read_text())
    assert seen["argv"] == ["-f", PRINCIPAL]
    assert seen["stdin"] == PASSWORD + "\n"
    assert seen["cache_exists"] is True
    assert seen["env"]["KRB5CCNAME"] == ccache
    assert seen["env"]["KRB5_CONFIG"] == "/etc/test-krb5.conf"
    assert "UNRELATED" not in seen["env"]
    assert logged == [f"wsman: calling {command} for principal {PRINCIPAL} into a private "
                      f"credential cache ({ccache})"]
    assert PASSWORD not in " ".join(logged)


def test_no_kinit_leaves_the_environment_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KRB5CCNAME", raising=False)
    with k.private_ticket(None, PASSWORD) as ccache:
        assert ccache is None and "KRB5CCNAME" not in os.environ


def test_a_failed_kinit_is_redacted_and_cleaned_up(
        fake_kinit: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    command, record = fake_kinit
    monkeypatch.setenv("FAKE_KINIT_FAIL", "1")
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr("tempfile.tempdir", None)
    monkeypatch.delenv("KRB5CCNAME", raising=False)
    kinit = k.KinitSettings(PRINCIPAL, command=command, env_vars=("FAKE_KINIT_FAIL",))
    with pytest.raises(k.KinitError) as raised, k.private_ticket(kinit, PASSWORD):
        pytest.fail("no ticket, no exchange")
    message = str(raised.value)
    assert message == (f"wsman: kinit could not get a Kerberos ticket for principal "
                       f"'{PRINCIPAL}' with '{command}' (exit code 1): kinit: Password "
                       "incorrect while getting initial credentials ********")
    assert raised.value.details() == {"wsman_error": "kinit", "kinit_principal": PRINCIPAL,
                                      "kinit_cmd": command, "kinit_rc": 1}
    assert "KRB5CCNAME" not in os.environ
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_missing_kinit_names_the_option(tmp_path: Path) -> None:
    kinit = k.KinitSettings(PRINCIPAL, command=str(tmp_path / "no-kinit"))
    with pytest.raises(k.KinitError, match="ansible_winrm_kinit_cmd") as raised:
        k.run_kinit(kinit, PASSWORD, f"FILE:{tmp_path / 'cache'}")
    assert "was not found" in str(raised.value) and raised.value.rc is None


# --- explaining Kerberos client errors ---------------------------------------------------------
WHERE = "win1:5985 (user 'ops@EXAMPLE.TEST')"


@pytest.mark.parametrize(("cause", "manual", "start"), [
    ("Can't find client principal ops@EXAMPLE.TEST in cache collection", True,
     f"wsman: no usable Kerberos ticket for {WHERE}: run kinit user@REALM"),
    ("No Kerberos credentials available (default cache: FILE:/tmp/x)", False,
     f"wsman: no usable Kerberos ticket for {WHERE}: check ansible_user"),
    ("Server not found in Kerberos database", False,
     f"wsman: the KDC knows no HTTP service principal for {WHERE}: set "
     "ansible_winrm_kerberos_hostname_override"),
    ("Clock skew too great", False, f"wsman: Kerberos refused for {WHERE}: the clocks"),
])
def test_explain(cause: str, manual: bool, start: str) -> None:
    message = k.explain(cause, WHERE, manual)
    assert message is not None and message.startswith(start), message
    assert message.endswith(f"Kerberos said: {cause}")


def test_explain_leaves_other_errors() -> None:
    assert k.explain("Connection reset by peer", WHERE, True) is None
