"""``via: wsman`` against servers the controller does not control, under the real ansible-playbook.

Each host of the inventory is a hostile HTTP server on 127.0.0.1 (tests/support/hostile_http.py)
that misbehaves in one way; tests/playbooks/wsman/hostile.yml reads every host once at -vvvv and
writes the results. The tests check each host's outcome and message, that a redirect target is
never asked, and that no form of the password reaches the output, the log or the results.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_wsman_playbooks import (  # the same ansible-playbook, environment and timeout
    ANSIBLE_PLAYBOOK,
    PLAYBOOKS,
    RUN_TIMEOUT_SEC,
    SUPPORT,
    _clean_environment,
)

if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))

import hostile_http as h  # noqa: E402  (needs tests/support on sys.path)

PASSWORD = "Hostile-Pa55!word"
USER = "ansible"
LIMIT = 4 * 1024 * 1024
# Each host: its behaviour (a function of the redirect target's URL) and its WinRM settings.
HOSTS: dict[str, tuple[Any, dict[str, Any]]] = {
    "redirect": (lambda other: h.redirect(other, 307), {}),
    "redirect_ntlm": (lambda other: h.redirect(other, 307),
                      {"ansible_winrm_transport": "ntlm"}),
    "redirect_loop": (None, {}),  # redirects to itself, set once its port is known
    "endless_302": (lambda other: h.endless(302, {"Location": other}), {}),
    "endless_401_ntlm": (lambda other: h.endless(401, {"WWW-Authenticate": "Negotiate"}),
                         {"ansible_winrm_transport": "ntlm"}),
    "gzip_bomb": (lambda other: h.gzip_bomb(), {}),
    "trickle": (lambda other: h.trickle(0.25), {}),
    "echo_fault": (lambda other: h.echo_authorization(), {}),
    "echo_fact": (lambda other: h.echo_authorization(0x80338000), {}),
    "echo_ntlm": (lambda other: h.echo_authorization(),
                  {"ansible_winrm_transport": "ntlm",
                   "ansible_winrm_message_encryption": "never"}),
    "garbage_status": (lambda other: h.garbage_status_line(), {}),
    "many_headers": (lambda other: h.many_headers(), {}),
    "big_counter": (lambda other: h.valid("9" * 5000), {}),
    # A real NTLM handshake turns message encryption on (http, auto), then a reply in clear.
    "cleartext_ntlm": (lambda other: h.ntlm_then_cleartext(USER, PASSWORD),
                       {"ansible_winrm_transport": "ntlm"}),
    "no_content_type_ntlm": (lambda other: h.ntlm_then_cleartext(USER, PASSWORD, None),
                             {"ansible_winrm_transport": "ntlm"}),
}
KEEP_ALIVE = {"cleartext_ntlm", "no_content_type_ntlm"}  # the NTLM context is the connection's


@dataclass(frozen=True)
class HostileRun:
    rc: int
    stdout: str
    stderr: str
    log: str
    results: dict[str, Any]
    ports: dict[str, int]
    asked: dict[str, int]  # requests each server received
    elsewhere_asked: int  # requests the redirect target received

    def tail(self) -> str:
        return f"--- stdout (end) ---\n{self.stdout[-6000:]}\n--- stderr ---\n{self.stderr[-3000:]}"


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileRun]:
    work_dir = tmp_path_factory.mktemp("hostile-run")
    with h.HostileServer(h.valid(), lifetime=RUN_TIMEOUT_SEC) as elsewhere:
        servers: dict[str, h.HostileServer] = {}
        try:
            for name, (make, dummy) in HOSTS.items():
                behaviour = make(f"http://localhost:{elsewhere.port}/wsman") if make else (
                    h.valid())
                servers[name] = h.HostileServer(behaviour, lifetime=RUN_TIMEOUT_SEC,
                                                keep_alive=name in KEEP_ALIVE).__enter__()
            loop = servers["redirect_loop"]
            loop.behaviour = h.redirect(loop.url, 302)
            hosts = {name: {
                "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                "ansible_host": "127.0.0.1", "ansible_port": server.port,
                "ansible_user": USER, "ansible_password": PASSWORD,
                "ansible_winrm_scheme": "http", "ansible_winrm_transport": "basic",
                "ansible_winrm_read_timeout_sec": 3, "ansible_winrm_operation_timeout_sec": 2,
                **HOSTS[name][1]} for name, server in servers.items()}
            inventory = work_dir / "inventory.yml"
            inventory.write_text(yaml.safe_dump({"all": {"children": {"hostile": {
                "hosts": hosts}}}}), encoding="utf-8")
            environment = _clean_environment(work_dir)
            results_file = work_dir / "results.json"
            proc = subprocess.run(
                [ANSIBLE_PLAYBOOK, "-vvvv", "-i", str(inventory), str(PLAYBOOKS / "hostile.yml"),
                 "-e", json.dumps({"results_file": str(results_file)})],
                capture_output=True, text=True, env=environment, cwd=work_dir,
                timeout=RUN_TIMEOUT_SEC, check=False)
            log_path = Path(environment["ANSIBLE_LOG_PATH"])
            yield HostileRun(
                rc=proc.returncode, stdout=proc.stdout, stderr=proc.stderr,
                log=log_path.read_text(encoding="utf-8") if log_path.exists() else "",
                results=json.loads(results_file.read_text()) if results_file.exists() else {},
                ports={name: server.port for name, server in servers.items()},
                asked={name: len(server.requests) for name, server in servers.items()},
                elsewhere_asked=len(elsewhere.requests))
        finally:
            for server in servers.values():
                server.stop()


def result_of(run: HostileRun, host: str) -> dict[str, Any]:
    assert host in run.results, run.tail()
    return run.results[host]


def where(run: HostileRun, host: str) -> str:
    return f"127.0.0.1:{run.ports[host]} (user '{USER}')"


def test_every_host_was_read_and_the_play_ended(hostile_run: HostileRun) -> None:
    assert set(hostile_run.results) == set(HOSTS), hostile_run.tail()
    assert "PLAY RECAP" in hostile_run.stdout, hostile_run.tail()


# --- 1. Redirects -----------------------------------------------------------------------------
@pytest.mark.parametrize("host", ["redirect", "redirect_ntlm"])
def test_a_redirect_is_refused_and_its_target_never_asked(hostile_run: HostileRun,
                                                          host: str) -> None:
    result = result_of(hostile_run, host)
    assert (result.get("failed"), result["wsman_error"], result["wsman_http_status"]) == (
        True, "http", 307)
    assert result["msg"].startswith(f"wsman: {where(hostile_run, host)} answered to Enumerate "
                                    "with HTTP 307: a redirect to http://localhost:"), result
    assert result["msg"].endswith(": WinRM never redirects, so it is refused, not followed")
    assert "ansible_facts" not in result
    assert hostile_run.elsewhere_asked == 0


def test_a_redirect_loop_is_one_refused_redirect(hostile_run: HostileRun) -> None:
    result = result_of(hostile_run, "redirect_loop")
    assert result["msg"] == (
        f"wsman: {where(hostile_run, 'redirect_loop')} answered to Enumerate with HTTP 302: a "
        f"redirect to http://127.0.0.1:{hostile_run.ports['redirect_loop']}/wsman: WinRM never "
        "redirects, so it is refused, not followed")
    assert hostile_run.asked["redirect_loop"] == 1


# --- 2. Bodies without a bound ----------------------------------------------------------------
@pytest.mark.parametrize("host", ["endless_302", "endless_401_ntlm", "gzip_bomb"])
def test_an_endless_or_inflating_body_stops_at_the_bound(hostile_run: HostileRun,
                                                         host: str) -> None:
    result = result_of(hostile_run, host)
    prefix = (f"wsman: unusable reply from {where(hostile_run, host)} to Enumerate: the reply "
              f"is larger than the limit of {LIMIT} bytes (at least ")
    assert result.get("failed") is True and result["msg"].startswith(prefix), result


# --- 4. A deadline for the whole exchange -----------------------------------------------------
def test_a_trickled_reply_is_unreachable_after_the_deadline(hostile_run: HostileRun) -> None:
    result = result_of(hostile_run, "trickle")
    assert (result.get("unreachable"), result["wsman_error"]) == (True, "timeout"), result
    assert result["msg"] == (
        f"wsman: 127.0.0.1:{hostile_run.ports['trickle']} did not answer within 3 s (user "
        "'ansible'): the reply was still arriving when the exchange's deadline of 3 s passed "
        "(raise ansible_winrm_read_timeout_sec / ansible_winrm_connection_timeout if the host "
        "is slow)")


# --- 5. An echoed Authorization header --------------------------------------------------------
def secrets() -> list[str]:
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    return [PASSWORD, basic, f"Basic {basic}"]


@pytest.mark.parametrize(("host", "scheme"), [("echo_fault", "Basic"), ("echo_ntlm", "Negotiate")])
def test_an_echoed_authorization_is_redacted_in_the_message(hostile_run: HostileRun, host: str,
                                                            scheme: str) -> None:
    result = result_of(hostile_run, host)
    assert result.get("failed") is True, result
    assert f"The header was: Authorization: {scheme} ********" in result["msg"], result["msg"]


def test_an_echoed_authorization_is_redacted_in_the_facts(hostile_run: HostileRun) -> None:
    facts = result_of(hostile_run, "echo_fact")["ansible_facts"]["mmipsec"]
    assert (facts["available"], facts["reason"]) == (False, "class_not_found")
    assert "The header was: Authorization: Basic ********" in facts["message"], facts


def test_no_form_of_the_password_reaches_output_log_or_results(hostile_run: HostileRun) -> None:
    assert "The header was: Authorization: " in hostile_run.stdout, hostile_run.tail()
    for secret in secrets():
        for name, text in (("stdout", hostile_run.stdout), ("stderr", hostile_run.stderr),
                           ("log", hostile_run.log), ("results", json.dumps(hostile_run.results))):
            assert secret not in text, f"a form of the password appears in {name}"
    # The NTLM token the client sent (TlRMTVNTUAAD... is an AUTHENTICATE_MESSAGE) neither.
    assert "TlRMTVNTUAAD" not in hostile_run.stdout + hostile_run.log


# --- 3 and 6. Cleartext after encryption; messages that say what the server did wrong ---------
@pytest.mark.parametrize(("host", "problem"), [
    ("cleartext_ntlm", "the reply was not encrypted although message encryption is on "
                       "(Content-Type 'application/soap+xml;charset=UTF-8'); a cleartext reply "
                       "is refused"),
    ("no_content_type_ntlm", "the server's reply had no Content-Type, although message "
                             "encryption is on (an encrypted reply is multipart/encrypted)"),
    ("garbage_status", "the server sent an invalid HTTP status line ('HELLO THERE, THIS IS NOT "
                       "HTTP')"),
    ("many_headers", "the server sent more than 100 headers (http.client's limit)"),
    ("big_counter", "instance 'ROOT\\\\ISCSIPRT\\\\0000_0': OakleyMainMode is a counter value "
                    "of 5000 digits: expected an unsigned 64-bit integer (at most 20 digits)"),
])
def test_a_broken_reply_is_blamed_on_the_server(hostile_run: HostileRun, host: str,
                                                problem: str) -> None:
    result = result_of(hostile_run, host)
    assert (result.get("failed"), result.get("unreachable", False)) == (True, False), result
    assert result["msg"] == (f"wsman: unusable reply from {where(hostile_run, host)} to "
                             f"Enumerate: {problem}")
    assert "ansible_facts" not in result
