"""Playbook-level tests of ``winiscsi.ipsec.mmipsec_facts`` with ``via: wsman``.

The real ``ansible-playbook`` (from this interpreter's venv) runs the playbooks of
tests/playbooks/wsman/ against the local WinRM endpoint (tests/support/winrm_endpoint): every
auth mode and every fault of tests/support/scenarios/faults.yml, the options, a CA that did
not issue the host's certificate, and the recorded PowerShell module results served as
frozen instance data (tests/playbooks/wsman/scenarios/equivalence.yml). The playbooks assert
each host's exact outcome themselves; these drivers check the exit code and the PLAY RECAP,
re-check the results the playbooks write, the endpoint's request log, and that no password
reaches any output at -vvvv.

Each playbook runs once per module (module-scoped fixtures), so the whole file costs three
ansible-playbook runs; the slowest is the faults run, bounded by the slow host's 4 s read
timeout (set in the faults scenario), paid twice (normal and check mode).
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parents[2]
SUPPORT = ROOT / "tests" / "support"
PLAYBOOKS = Path(__file__).resolve().parent / "wsman"
FAULTS_SCENARIO = SUPPORT / "scenarios" / "faults.yml"
EQUIVALENCE_SCENARIO = PLAYBOOKS / "scenarios" / "equivalence.yml"
RECORDED = ROOT / "tests" / "unit" / "test_data" / "module_results"
# The Makefile exports the path of the installed collection; the source tree's symlink
# (build/dev, made by tests/unit/conftest.py) serves a plain pytest run.
COLLECTIONS = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or str(ROOT / "build" / "dev")
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
RUN_TIMEOUT_SEC = 240

if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))

from winrm_endpoint import Endpoint  # noqa: E402  (needs tests/support on sys.path)

STATS = "MSiSCSI_MMIPSECStats"
QM_STATS = "MSiSCSI_QMIPSECStats"
OS = "Win32_OperatingSystem"
# What one gather sends to each host of the faults scenario, as (action, class) pairs: the
# class, the quick-mode class (which these hosts lack), then the boot time. A failure on the
# class query stops there; the class-missing and provider-error outcomes still read the rest.
GATHER = [("Enumerate", STATS), ("Enumerate", QM_STATS), ("Enumerate", OS)]
STOPPED = [("Enumerate", STATS)]
ROUND_TRIPS: dict[str, list[tuple[str, str]]] = {
    "basic_http": GATHER,
    "basic_https": GATHER,
    "ntlm_http": GATHER,
    "ntlm_https": GATHER,
    # page_size 1 and three instances: one item per reply, so two Pulls.
    "paged": [("Enumerate", STATS), ("Pull", STATS), ("Pull", STATS), ("Enumerate", QM_STATS),
              ("Enumerate", OS)],
    "no_instances": GATHER,
    "big_values": GATHER,
    "class_missing": GATHER,
    "class_missing_wql": GATHER,
    "class_missing_uri": GATHER,
    "provider_error": GATHER,
    "access_denied": STOPPED,
    "wrong_password": [],  # refused at HTTP level, before any WS-Management action
    "http_500_junk": STOPPED,
    "malformed_xml": STOPPED,
    "entity_bomb": STOPPED,
    "slow": STOPPED,
    "drop": STOPPED,
    "oversized": STOPPED,
    "unreachable": [],
    # Server 2008 R2 sends one item per Enumerate: a Pull always follows, for the OS class too.
    # (The quick-mode class is missing: its Enumerate gets the fault, no Pull.)
    "windows_2008r2": [("Enumerate", STATS), ("Pull", STATS), ("Enumerate", QM_STATS),
                       ("Enumerate", OS), ("Pull", OS)],
    "windows_2008r2_one_page": GATHER,
    "provider_error_passthrough": GATHER,
    "not_supported_passthrough_hex": GATHER,
    "class_missing_passthrough": GATHER,
    "provider_error_dmtf": GATHER,
    "wmi_error_only": GATHER,
    "access_denied_passthrough": STOPPED,
    "invalid_namespace_passthrough": STOPPED,
    "unknown_wmi_error_passthrough": STOPPED,
    "timed_out": STOPPED,
    # The fault comes on the Pull: the enumeration is released, then the quick-mode class and
    # the boot time are read for the provider_error facts; an unknown code fails after the
    # Release.
    "partial_provider_error": [("Enumerate", STATS), ("Pull", STATS), ("Release", STATS),
                               ("Enumerate", QM_STATS), ("Enumerate", OS)],
    "partial_unknown_error": [("Enumerate", STATS), ("Pull", STATS), ("Release", STATS)],
}
# Each host's outcome: ("facts", reason) when the task succeeds, else ("failed" or
# "unreachable", the result's wsman_error, None for a bad reply or a fault).
OUTCOMES: dict[str, tuple[str, str | None]] = {
    "basic_http": ("facts", None),
    "basic_https": ("facts", None),
    "ntlm_http": ("facts", None),
    "ntlm_https": ("facts", None),
    "paged": ("facts", None),
    "no_instances": ("facts", "no_instances"),
    "big_values": ("facts", None),
    "class_missing": ("facts", "class_not_found"),
    "class_missing_wql": ("facts", "class_not_found"),
    "class_missing_uri": ("facts", "class_not_found"),
    "provider_error": ("facts", "provider_error"),
    "access_denied": ("failed", None),
    "wrong_password": ("failed", "credentials"),
    "http_500_junk": ("failed", "http"),
    "malformed_xml": ("failed", None),
    "entity_bomb": ("failed", None),
    "oversized": ("failed", None),
    "slow": ("unreachable", "timeout"),
    "drop": ("unreachable", "dropped"),
    "unreachable": ("unreachable", "refused"),
    "windows_2008r2": ("facts", None),
    "windows_2008r2_one_page": ("facts", None),
    "provider_error_passthrough": ("facts", "provider_error"),
    "not_supported_passthrough_hex": ("facts", "provider_error"),
    "class_missing_passthrough": ("facts", "class_not_found"),
    "provider_error_dmtf": ("facts", "provider_error"),
    "wmi_error_only": ("facts", "provider_error"),
    "partial_provider_error": ("facts", "provider_error"),
    "access_denied_passthrough": ("failed", None),
    "invalid_namespace_passthrough": ("failed", None),
    "unknown_wmi_error_passthrough": ("failed", None),
    "partial_unknown_error": ("failed", None),
    "timed_out": ("failed", None),
}
RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)\s+"
    r"rescued=(?P<rescued>\d+)\s+ignored=(?P<ignored>\d+)\s*$",
    re.MULTILINE,
)
UTC_TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$")


@dataclass(frozen=True)
class PlaybookRun:
    """One ansible-playbook run and what the endpoint saw during it.

    Attributes:
        name: The playbook's file name.
        rc: Exit code.
        stdout: Standard output (the default callback, -vvvv).
        stderr: Standard error.
        log: The ANSIBLE_LOG_PATH file's text.
        config: The ansible.cfg the run used.
        results: What the playbook wrote to ``results_file`` (None if it wrote nothing).
        requests: The endpoint's request log entries of this run, oldest first.
        requests_text: The endpoint's requests.jsonl as written during this run.
    """

    name: str
    rc: int
    stdout: str
    stderr: str
    log: str
    config: Path
    results: Any
    requests: list[dict[str, Any]]
    requests_text: str

    def recap(self) -> dict[str, dict[str, int]]:
        """The PLAY RECAP counters per host."""
        if "PLAY RECAP" not in self.stdout:
            raise AssertionError(f"{self.name}: no PLAY RECAP in stdout:\n{self.tail()}")
        recap_text = self.stdout[self.stdout.rindex("PLAY RECAP"):]
        return {
            m["host"]: {k: int(v) for k, v in m.groupdict().items() if k != "host"}
            for m in RECAP.finditer(recap_text)
        }

    def tail(self) -> str:
        """The end of the output, for assertion messages."""
        return f"--- stdout (end) ---\n{self.stdout[-6000:]}\n--- stderr ---\n{self.stderr[-3000:]}"

    def wsman_calls(self, host: str) -> list[tuple[str, str]]:
        """(action, class) of every WS-Management request the host received, in order."""
        return [(e["action"].rsplit("/", 1)[-1], e["resource_uri"].rsplit("/", 1)[-1])
                for e in self.requests if e["host"] == host and e["action"]]


def _clean_environment(work_dir: Path) -> dict[str, str]:
    """The environment of every run: nothing of the user's Ansible setup leaks in."""
    config = work_dir / "ansible.cfg"
    config.write_text("[defaults]\n", encoding="utf-8")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    environment.update({
        "ANSIBLE_CONFIG": str(config),
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
        "ANSIBLE_HOME": str(work_dir / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(work_dir / "local-tmp"),
        "ANSIBLE_REMOTE_TEMP": str(work_dir / "remote-tmp"),
        "ANSIBLE_LOG_PATH": str(work_dir / "ansible.log"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        # Every host of the faults scenario at once.
        "ANSIBLE_FORKS": "25",
    })
    return environment


def run_playbook(endpoint: Endpoint, playbook: str, work_dir: Path,
                 extra_vars: Mapping[str, Any] | None = None,
                 settle: Mapping[str, int] | None = None) -> PlaybookRun:
    """Run one playbook of tests/playbooks/wsman at -vvvv against the endpoint's inventory.

    Args:
        endpoint: The running endpoint; its request log is cleared first.
        playbook: File name under tests/playbooks/wsman.
        work_dir: An empty directory for the config, temp dirs, log and results.
        extra_vars: Passed with -e (``results_file`` is always added).
        settle: Wait (at most 15 s) until these hosts have logged this many requests: a
            slow host logs its request when it answers, after the client gave up.

    Returns:
        The run.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    environment = _clean_environment(work_dir)
    results_file = work_dir / "results.json"
    variables = {"results_file": str(results_file), **(extra_vars or {})}
    endpoint.clear_requests()
    command = [ANSIBLE_PLAYBOOK, "-vvvv", "-i", str(endpoint.inventory_path),
               str(PLAYBOOKS / playbook), "-e", json.dumps(variables)]
    proc = subprocess.run(command, capture_output=True, text=True, env=environment,
                          cwd=work_dir, timeout=RUN_TIMEOUT_SEC, check=False)
    deadline = time.monotonic() + 15
    while settle and time.monotonic() < deadline and any(
            len(endpoint.requests(host)) < count for host, count in settle.items()):
        time.sleep(0.2)
    log_path = Path(environment["ANSIBLE_LOG_PATH"])
    return PlaybookRun(
        name=playbook, rc=proc.returncode, stdout=proc.stdout, stderr=proc.stderr,
        log=log_path.read_text(encoding="utf-8") if log_path.exists() else "",
        config=Path(environment["ANSIBLE_CONFIG"]),
        results=json.loads(results_file.read_text()) if results_file.exists() else None,
        requests=endpoint.requests(),
        requests_text=endpoint.requests_path.read_text(encoding="utf-8"),
    )


def write_other_ca(path: Path) -> Path:
    """Write a self-signed CA certificate that issued nothing the endpoint serves."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "winiscsi test: another CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def secrets_of(endpoint: Endpoint) -> list[str]:
    """Every password of the endpoint's hosts, and each as it travels in a Basic header."""
    found: set[str] = set()
    for info in endpoint.hosts.values():
        for password in (info.password, info.server_password):
            found.add(password)
            found.add(base64.b64encode(f"{info.username}:{password}".encode()).decode())
    return sorted(found)


def instant(text: str) -> datetime.datetime:
    """Parse ``...T07:12:03.4998760Z`` to an aware datetime (beyond microseconds dropped)."""
    match = UTC_TIMESTAMP.match(text)
    assert match, f"expected an ISO 8601 UTC timestamp ending in Z, got {text!r}"
    fraction = (match[2] or "").ljust(6, "0")[:6]
    return datetime.datetime.fromisoformat(f"{match[1]}.{fraction}+00:00")


# --- Fixtures: one endpoint per scenario and one run per playbook, for the whole module ---
@pytest.fixture(scope="module")
def faults_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    with Endpoint(FAULTS_SCENARIO, state_dir=tmp_path_factory.mktemp("faults-endpoint")) as ep:
        yield ep


@pytest.fixture(scope="module")
def equivalence_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    state_dir = tmp_path_factory.mktemp("equivalence-endpoint")
    with Endpoint(EQUIVALENCE_SCENARIO, state_dir=state_dir) as ep:
        yield ep


@pytest.fixture(scope="module")
def faults_run(faults_endpoint: Endpoint,
               tmp_path_factory: pytest.TempPathFactory) -> PlaybookRun:
    return run_playbook(faults_endpoint, "faults.yml", tmp_path_factory.mktemp("faults-run"),
                        settle={"slow": 2})


@pytest.fixture(scope="module")
def options_run(faults_endpoint: Endpoint,
                tmp_path_factory: pytest.TempPathFactory) -> PlaybookRun:
    work_dir = tmp_path_factory.mktemp("options-run")
    other_ca = write_other_ca(work_dir / "other-ca.pem")
    return run_playbook(faults_endpoint, "options.yml", work_dir,
                        {"wrong_ca_path": str(other_ca)})


@pytest.fixture(scope="module")
def equivalence_run(equivalence_endpoint: Endpoint,
                    tmp_path_factory: pytest.TempPathFactory) -> PlaybookRun:
    return run_playbook(equivalence_endpoint, "equivalence.yml",
                        tmp_path_factory.mktemp("equivalence-run"))


@pytest.fixture(params=["faults", "options", "equivalence"])
def any_run(request: pytest.FixtureRequest) -> tuple[PlaybookRun, Endpoint]:
    run: PlaybookRun = request.getfixturevalue(f"{request.param}_run")
    endpoint_name = "equivalence_endpoint" if request.param == "equivalence" else "faults_endpoint"
    return run, request.getfixturevalue(endpoint_name)


# --- Every auth mode and every fault -------------------------------------------------------
def test_faults_playbook_asserts_pass_on_every_host(faults_run: PlaybookRun,
                                                    faults_endpoint: Endpoint) -> None:
    assert faults_run.rc == 0, faults_run.tail()
    recap = faults_run.recap()
    assert set(recap) == set(faults_endpoint.hosts), faults_run.tail()
    for host, counts in recap.items():
        # The playbook's own assertions failed nowhere, and the expected failures (the
        # normal and the check-mode read) were ignored, not hidden.
        ignored = 0 if OUTCOMES[host][0] == "facts" else 2
        assert (counts["failed"], counts["unreachable"], counts["ignored"]) == (0, 0, ignored), (
            f"{host}: {counts}")


@pytest.mark.parametrize("mode", ["normal", "check"])
@pytest.mark.parametrize("host", sorted(OUTCOMES))
def test_fault_outcome(faults_run: PlaybookRun, faults_endpoint: Endpoint, host: str,
                       mode: str) -> None:
    assert faults_run.results is not None, faults_run.tail()
    result = faults_run.results[mode][host]
    kind, detail = OUTCOMES[host]
    if kind == "facts":
        facts = result["ansible_facts"]["mmipsec"]
        assert (result.get("failed", False), result.get("unreachable", False)) == (False, False)
        assert (facts["source"], facts["reason"], facts["available"]) == (
            "wsman", detail, detail is None)
    else:
        assert "ansible_facts" not in result
        assert result.get(kind) is True
        assert result.get("failed" if kind == "unreachable" else "unreachable", False) is False
        assert result.get("wsman_error") == detail
        assert result["msg"].startswith("wsman: "), result["msg"]
        assert (result["wsman_host"], result["wsman_port"], result["wsman_user"]) == (
            "127.0.0.1", faults_endpoint.hosts[host].port, "ansible")


@pytest.mark.parametrize("host", sorted(ROUND_TRIPS))
def test_round_trips_per_collection(faults_run: PlaybookRun, host: str) -> None:
    # Two collections per host (normal and check mode), each exactly these requests.
    assert faults_run.wsman_calls(host) == ROUND_TRIPS[host] * 2


def test_wrong_password_sent_one_request_per_read(faults_run: PlaybookRun) -> None:
    entries = [e for e in faults_run.requests if e["host"] == "wrong_password"]
    assert [(e["status"], e["fault"]) for e in entries] == [(401, "InvalidCredentials")] * 2


@pytest.mark.parametrize("host", ["ntlm_http", "basic_https", "ntlm_https", "basic_http"])
def test_ntlm_over_http_encrypts_every_message(faults_run: PlaybookRun, host: str) -> None:
    # WinRM message encryption (MS-WSMV 2.2.9.1) only for NTLM over HTTP; TLS carries the
    # others; Basic over HTTP is plain, as the inventory asks.
    entries = [e for e in faults_run.requests if e["host"] == host and e["action"]]
    assert entries, f"no WS-Management request logged for {host}"
    assert {e["encrypted"] for e in entries} == {host == "ntlm_http"}


def test_no_winrs_shell_is_ever_opened(faults_run: PlaybookRun, options_run: PlaybookRun,
                                       equivalence_run: PlaybookRun) -> None:
    actions = {e["action"].rsplit("/", 1)[-1]
               for run in (faults_run, options_run, equivalence_run)
               for e in run.requests if e["action"]}
    assert actions <= {"Enumerate", "Pull", "Release"}
    assert "Enumerate" in actions


# --- Options: module_defaults, filters, a bad pattern, a wrong CA ----------------------------
def test_options_playbook_asserts_pass(options_run: PlaybookRun) -> None:
    assert options_run.rc == 0, options_run.tail()
    recap = options_run.recap()
    assert {h: (c["failed"], c["unreachable"], c["ignored"]) for h, c in recap.items()} == {
        "paged": (0, 0, 0),
        "basic_http": (0, 0, 3),   # the bad pattern, the bad via, https to an HTTP port
        "basic_https": (0, 0, 1),  # the wrong CA
        "ntlm_https": (0, 0, 1),
    }


def test_options_round_trips(options_run: PlaybookRun) -> None:
    paged = ROUND_TRIPS["paged"]
    # Five reads through module_defaults; the filters apply after the query.
    assert options_run.wsman_calls("paged") == paged * 5
    # A bad instance_name or via fails before any request.
    assert [e for e in options_run.requests if e["host"] == "basic_http"] == []
    # The wrong CA stops at the TLS handshake: only the read that ignores validation arrives.
    assert options_run.wsman_calls("basic_https") == GATHER
    assert options_run.wsman_calls("ntlm_https") == GATHER


@pytest.mark.parametrize("host", ["basic_https", "ntlm_https"])
def test_wrong_ca_fails_with_a_certificate_error(options_run: PlaybookRun,
                                                 faults_endpoint: Endpoint, host: str) -> None:
    port = faults_endpoint.hosts[host].port
    message = re.search(rf'fatal: \[{host}\]: FAILED! => \{{.*?"msg": "(wsman: certificate [^"]*)"',
                        options_run.stdout, re.DOTALL)
    assert message, options_run.tail()
    assert message[1].startswith(
        f"wsman: certificate validation failed for https://127.0.0.1:{port}/wsman (user "
        "'ansible'): [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get "
        "local issuer certificate"), message[1]
    assert message[1].endswith(
        "Make the controller trust the host's certificate: set ansible_winrm_ca_trust_path to "
        "a PEM file holding the CA certificate that issued it, and check that the certificate "
        "is valid for the name '127.0.0.1'"), message[1]


# --- The two transports agree -----------------------------------------------------------------
@pytest.mark.parametrize("fact", ["mmipsec", "qmipsec"])
@pytest.mark.parametrize("recorded", sorted(p.stem for p in RECORDED.glob("*.json")))
def test_wsman_facts_equal_the_recorded_module_facts(equivalence_run: PlaybookRun,
                                                     recorded: str, fact: str) -> None:
    assert equivalence_run.rc == 0, equivalence_run.tail()
    assert equivalence_run.results is not None, equivalence_run.tail()
    want = json.loads((RECORDED / f"{recorded}.json").read_text())["ansible_facts"][fact]
    got = equivalence_run.results[recorded]["ansible_facts"][fact]
    assert (want["source"], got["source"]) == ("cim", "wsman")
    assert set(got) == set(want)
    # The boot time is the same instant; the module writes 7 fraction digits, wsman 6.
    assert instant(got["boot_time"]) == instant(want["boot_time"])
    # The message of an unavailable outcome is each transport's wording of the host's answer.
    skip = {"source", "collected_at", "boot_time"} | ({"message"} if not want["available"]
                                                      else set())
    assert {k: v for k, v in got.items() if k not in skip} == {
        k: v for k, v in want.items() if k not in skip}
    if not want["available"]:
        assert isinstance(got["message"], str) and got["message"], got


def test_equivalence_read_used_ntlm_and_paging(equivalence_run: PlaybookRun) -> None:
    # The two-instance host pages one item per reply over NTLM with message encryption.
    entries = [e for e in equivalence_run.requests
               if e["host"] == "two_instances_one_inactive" and e["action"]]
    # Main mode (two instances), quick mode (two instances), the boot time.
    assert [e["action"].rsplit("/", 1)[-1] for e in entries] == [
        "Enumerate", "Pull", "Enumerate", "Pull", "Enumerate"]
    assert {(e["transport"], e["encrypted"], e["user"]) for e in entries} == {
        ("ntlm", True, "iscsi-reader")}


# --- The password ------------------------------------------------------------------------------
def test_password_never_appears_in_output_at_vvvv(any_run: tuple[PlaybookRun, Endpoint]) -> None:
    run, endpoint = any_run
    # The capture is real: -vvvv output, our config file, and the log file were written.
    assert f"config file = {run.config}" in run.stdout, run.tail()
    assert "PLAY RECAP" in run.log
    for secret in secrets_of(endpoint):
        for where, text in (("stdout", run.stdout), ("stderr", run.stderr), ("log", run.log)):
            assert secret not in text, f"{run.name}: a password appears in {where}"


def test_password_never_appears_in_the_request_log(any_run: tuple[PlaybookRun, Endpoint]) -> None:
    run, endpoint = any_run
    assert run.requests_text.strip(), f"{run.name}: the endpoint logged nothing"
    logged = run.requests_text + json.dumps(run.requests)
    for secret in secrets_of(endpoint):
        assert secret not in logged, f"{run.name}: a password appears in the request log"


def test_wrong_password_output_names_the_user_not_the_password(faults_run: PlaybookRun,
                                                               faults_endpoint: Endpoint) -> None:
    port = faults_endpoint.hosts["wrong_password"].port
    expected = (f"wsman: 127.0.0.1:{port} rejected the credentials of user 'ansible' (HTTP "
                "401, the server rejected the credentials; transport 'basic'). Check "
                "ansible_user and ansible_password, and that the host accepts that transport "
                "(ansible_winrm_transport)")
    assert expected in faults_run.stdout
    assert expected in faults_run.log
