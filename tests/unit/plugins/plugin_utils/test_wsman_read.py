"""Every form of the credential leaves a via=wsman read redacted (``_wsman_read.redact``)."""

from __future__ import annotations

import base64

import pytest

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_read import redact
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_transport import (
    WinRMSettings,
)

PASSWORD = "Pä55-w0rd!secret"


def basic(user: str, encoding: str) -> str:
    return base64.b64encode(f"{user}:{PASSWORD}".encode(encoding)).decode()


@pytest.mark.parametrize("user", ["ansible", "jürgen"])
@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_the_password_and_its_basic_forms_are_redacted(user: str, encoding: str) -> None:
    settings = WinRMSettings(host="h", user=user, password=PASSWORD)
    token = basic(user, encoding)
    echoed = {
        "msg": f"fault: Authorization: Basic {token}; password {PASSWORD}",
        "bare": f"header {token} echoed",
        "keys": {f"{PASSWORD}": [f"x{token}y", (PASSWORD,)]},
        "count": 3,
    }
    result = redact(echoed, settings)
    text = repr(result)
    assert PASSWORD not in text
    assert token not in text
    assert result["msg"] == "fault: Authorization: Basic ********; password ********"
    assert result["bare"] == "header ******** echoed"
    assert result["count"] == 3


@pytest.mark.parametrize("scheme", ["Negotiate", "NTLM", "Kerberos", "CredSSP", "basic"])
def test_authentication_tokens_are_redacted_without_a_password(scheme: str) -> None:
    settings = WinRMSettings(host="h", user="ops@EXAMPLE.TEST", password=None)
    token = "TlRMTVNTUAADAAAAGAAYAEAAAAA+/="
    result = redact({"msg": f"echo: {scheme} {token}."}, settings)
    assert result == {"msg": f"echo: {scheme} ********."}
