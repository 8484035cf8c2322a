"""A throwaway MIT Kerberos realm for tests: a real ``krb5kdc`` on 127.0.0.1.

Test support for the winiscsi.ipsec collection, not part of the collection itself.

```python
from kdc import KerberosRealm

with KerberosRealm(users={"ansible": "Winiscsi-Test-1"}) as realm:
    realm.kinit("ansible", "Winiscsi-Test-1")          # the real kinit, into realm.ccache
    os.environ.update(realm.env)                          # client and acceptor of this process
```

Everything lives in one temporary directory (configuration, database, keytab, caches, logs)
that ``stop()`` removes after stopping the KDC. The KDC listens on an ephemeral port (TCP and
UDP) of 127.0.0.1 only; the configuration turns off every DNS lookup, so nothing leaves the
machine. Debian packages: krb5-kdc (krb5kdc, kdb5_util), krb5-admin-server (kadmin.local),
krb5-user (kinit).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

# Binary -> the Debian package that ships it.
REQUIRED_BINARIES = {
    "krb5kdc": "krb5-kdc",
    "kdb5_util": "krb5-kdc",
    "kadmin.local": "krb5-admin-server",
    "kinit": "krb5-user",
}
# Administration binaries live in sbin, which an unprivileged PATH may not list.
_SBIN = os.pathsep.join(("/usr/local/sbin", "/usr/sbin", "/sbin"))
_PORT_ATTEMPTS = 3
_COMMAND_TIMEOUT = 30.0


# Python module -> the package that provides it: pywinrm's Kerberos transport (pykerberos),
# the test endpoint's acceptor (python-gssapi) and the krb5 bindings.
REQUIRED_MODULES = {"kerberos": "pykerberos", "gssapi": "gssapi", "krb5": "krb5"}


def require_kerberos() -> None:
    """In a pytest fixture: fail (CI=true) or skip loudly when Kerberos cannot be tested.

    Names every missing KDC binary (with its Debian package) and Python module.
    """
    import importlib.util

    import pytest

    missing = missing_binaries()
    for module, package in REQUIRED_MODULES.items():
        if importlib.util.find_spec(module) is None:
            missing.append(f"Python module {module} ({package})")
    if missing:
        message = (
            "KERBEROS TESTS NOT RUN: missing " + "; ".join(missing)
            + " (the [test] profile of bindep.txt, tests/requirements-dev.txt)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


class KerberosUnavailable(RuntimeError):
    """The MIT Kerberos binaries are not installed, or the KDC did not start."""


def find_binary(name: str) -> str | None:
    """The path of a Kerberos binary on PATH or in the sbin directories, else None."""
    return shutil.which(name) or shutil.which(name, path=_SBIN)


def missing_binaries() -> list[str]:
    """``"binary (Debian package)"`` for every required binary that is not installed."""
    return [f"{name} ({package})" for name, package in REQUIRED_BINARIES.items()
            if find_binary(name) is None]


class KerberosRealm:
    """A real MIT KDC for one realm, with a user principal and HTTP service principals.

    Use as a context manager (or call ``start()`` / ``stop()``).

    Args:
        realm: The realm name.
        users: User name (without realm) -> password; each becomes ``user@REALM``.
        service_hosts: Host names to create ``SERVICE/host@REALM`` for; all go into the
            keytab and map to the realm in ``[domain_realm]``.
        service: The service part of the service principals (WinRM: ``HTTP``).
        start_timeout: Seconds the KDC may take to accept connections.

    Attributes (set by ``start()``):
        path: The temporary directory holding everything.
        kdc_port: The KDC's port on 127.0.0.1 (TCP and UDP).
        krb5_conf, kdc_conf, keytab, ccache: Paths (``ccache`` is the default client cache).
        env: ``KRB5_CONFIG``, ``KRB5_KTNAME`` (acceptor keytab), ``KRB5CCNAME`` (client
            cache), ``KRB5RCACHEDIR`` (acceptor replay cache) and ``KRB5_KDC_PROFILE``.
        start_seconds: How long creating the database and starting the KDC took.
    """

    def __init__(
        self,
        realm: str = "WINISCSI.TEST",
        *,
        users: Mapping[str, str] | None = None,
        service_hosts: tuple[str, ...] = ("localhost",),
        service: str = "HTTP",
        start_timeout: float = 10.0,
    ) -> None:
        self.realm = realm
        self.users = dict(users if users is not None else {"ansible": "Winiscsi-Test-1"})
        self.service_hosts = service_hosts
        self.service = service
        self.start_timeout = start_timeout
        self.path: Path | None = None
        self.kdc_port = 0
        self.env: dict[str, str] = {}
        self.start_seconds = 0.0
        self._kdc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> KerberosRealm:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def principal(self, user: str) -> str:
        """``user@REALM``."""
        return f"{user}@{self.realm}"

    def service_principal(self, host: str | None = None) -> str:
        """``SERVICE/host@REALM`` (the first service host by default)."""
        return f"{self.service}/{host or self.service_hosts[0]}@{self.realm}"

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Write the configuration, create the database and principals, start the KDC.

        Raises:
            KerberosUnavailable: A binary is missing, or the KDC did not start in time.
        """
        missing = missing_binaries()
        if missing:
            raise KerberosUnavailable(
                "MIT Kerberos binaries not found: " + ", ".join(missing)
                + " (Debian: apt-get install krb5-kdc krb5-admin-server krb5-user)"
            )
        began = time.monotonic()
        self.path = Path(tempfile.mkdtemp(prefix="krb5-realm-"))
        self.krb5_conf = self.path / "krb5.conf"
        self.kdc_conf = self.path / "kdc.conf"
        self.keytab = self.path / "service.keytab"
        self.ccache = self.path / "ccache"
        self.env = {
            "KRB5_CONFIG": str(self.krb5_conf),
            "KRB5_KDC_PROFILE": str(self.kdc_conf),
            "KRB5_KTNAME": f"FILE:{self.keytab}",
            "KRB5CCNAME": f"FILE:{self.ccache}",
            "KRB5RCACHEDIR": str(self.path),
        }
        try:
            for attempt in range(_PORT_ATTEMPTS):
                self.kdc_port = _free_port()
                self._write_config()
                if attempt == 0:
                    self._create_database()
                if self._start_kdc(last=attempt == _PORT_ATTEMPTS - 1):
                    break
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - began

    def stop(self) -> None:
        """Stop the KDC and remove the directory (idempotent)."""
        kdc, self._kdc = self._kdc, None
        if kdc is not None:
            kdc.terminate()
            try:
                kdc.wait(5)
            except subprocess.TimeoutExpired:
                kdc.kill()
                kdc.wait(5)
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = None

    # ------------------------------------------------------------ clients

    @contextmanager
    def environment(self) -> Iterator[None]:
        """This realm's variables (:attr:`env`) in ``os.environ`` for the block, then restored.

        For what runs in the test process itself: the endpoint's acceptor reads KRB5_CONFIG
        and KRB5_KTNAME, pywinrm's client KRB5CCNAME.
        """
        saved = {name: os.environ.get(name) for name in self.env}
        os.environ.update(self.env)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def client_env(self, ccache: str | Path | None = None) -> dict[str, str]:
        """os.environ plus the realm's variables, with ``KRB5CCNAME`` set to ``ccache``."""
        env = dict(os.environ)
        env.update(self.env)
        if ccache is not None:
            env["KRB5CCNAME"] = f"FILE:{ccache}"
        return env

    def kinit(
        self, user: str, password: str, ccache: str | Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the real ``kinit user@REALM`` with the password on stdin (not checked).

        Args:
            user: User name without realm (or a full principal).
            password: The password typed.
            ccache: Credential cache file (default: ``self.ccache``).
        """
        principal = user if "@" in user else self.principal(user)
        return subprocess.run(
            [find_binary("kinit") or "kinit", principal], input=password + "\n",
            env=self.client_env(ccache), capture_output=True, text=True,
            timeout=_COMMAND_TIMEOUT, check=False,
        )

    # ------------------------------------------------------------ internals

    def _write_config(self) -> None:
        assert self.path is not None
        path, realm, port = self.path, self.realm, self.kdc_port
        hosts = "".join(f"    {host} = {realm}\n" for host in self.service_hosts)
        self.krb5_conf.write_text(
            "[libdefaults]\n"
            f"    default_realm = {realm}\n"
            "    dns_lookup_kdc = false\n"
            "    dns_lookup_realm = false\n"
            "    dns_canonicalize_hostname = false\n"
            "    rdns = false\n"
            # No DNS search-domain suffix on short names such as localhost (MIT >= 1.18).
            '    qualify_shortname = ""\n'
            "    udp_preference_limit = 1\n"
            f"    default_ccache_name = FILE:{self.ccache}\n"
            f"    default_keytab_name = FILE:{self.keytab}\n"
            "[realms]\n"
            f"    {realm} = {{\n"
            f"        kdc = 127.0.0.1:{port}\n"
            "    }\n"
            "[domain_realm]\n"
            f"{hosts}"
            "[logging]\n"
            f"    kdc = FILE:{path / 'kdc.log'}\n"
            f"    admin_server = FILE:{path / 'kadmin.log'}\n"
            f"    default = FILE:{path / 'krb5.log'}\n",
            encoding="utf-8",
        )
        self.kdc_conf.write_text(
            "[kdcdefaults]\n"
            f"    kdc_listen = 127.0.0.1:{port}\n"
            f"    kdc_tcp_listen = 127.0.0.1:{port}\n"
            "[realms]\n"
            f"    {realm} = {{\n"
            f"        database_name = {path / 'principal'}\n"
            f"        key_stash_file = {path / 'stash'}\n"
            f"        acl_file = {path / 'kadm5.acl'}\n"
            "        max_life = 1h\n"
            "    }\n",
            encoding="utf-8",
        )

    def _run(self, *argv: str, stdin: str | None = None) -> str:
        binary = find_binary(argv[0]) or argv[0]
        result = subprocess.run(
            [binary, *argv[1:]], input=stdin, env=self.client_env(), capture_output=True,
            text=True, timeout=_COMMAND_TIMEOUT, check=False,
        )
        output = result.stdout + result.stderr
        if result.returncode != 0:
            raise KerberosUnavailable(f"{' '.join(argv)} failed ({result.returncode}): {output}")
        return output

    def _create_database(self) -> None:
        self._run("kdb5_util", "-r", self.realm, "create", "-s", "-P", "winiscsi-master-key")
        queries = [f"addprinc -pw {password} {self.principal(user)}"
                   for user, password in self.users.items()]
        for host in self.service_hosts:
            queries.append(f"addprinc -randkey {self.service_principal(host)}")
            queries.append(f"ktadd -k {self.keytab} {self.service_principal(host)}")
        for query in queries:
            # kadmin.local exits 0 when a query fails, so look at what it says.
            output = self._run("kadmin.local", "-r", self.realm, "-q", query)
            if "error" in output.lower() or "failed" in output.lower():
                raise KerberosUnavailable(f"kadmin.local -q {query.split()[0]}... failed: {output}")

    def _start_kdc(self, last: bool) -> bool:
        """Start krb5kdc and wait for its port; False when it lost the port to another process."""
        assert self.path is not None
        log = self.path / "krb5kdc.out"
        with log.open("wb") as out:
            self._kdc = subprocess.Popen(
                [find_binary("krb5kdc") or "krb5kdc", "-n", "-r", self.realm],
                env=self.client_env(), stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT,
            )
        kdc_log = self.path / "kdc.log"
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._kdc.poll() is not None:
                break
            # Our KDC's own word that it bound its sockets first: a connection alone could reach
            # another server (a test run alongside) that took the port since _free_port saw it.
            started = kdc_log.exists() and "commencing operation" in kdc_log.read_text(
                errors="replace")
            try:
                if started:
                    socket.create_connection(("127.0.0.1", self.kdc_port), timeout=0.5).close()
                    return True
            except OSError:
                pass
            time.sleep(0.02)
        output = log.read_text(errors="replace")
        if kdc_log.exists():
            output += kdc_log.read_text(errors="replace")
        exited = self._kdc.poll() is not None
        kdc, self._kdc = self._kdc, None
        if not exited:
            kdc.kill()
            kdc.wait(5)
        elif not last and "in use" in output.lower():
            return False
        raise KerberosUnavailable(
            f"krb5kdc did not accept connections on 127.0.0.1:{self.kdc_port} within "
            f"{self.start_timeout} s (exit code {kdc.returncode}): {output[-2000:]}"
        )


def _free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 a moment ago."""
    for dummy in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise KerberosUnavailable("no port free for both TCP and UDP on 127.0.0.1")


__all__ = ["KerberosRealm", "KerberosUnavailable", "REQUIRED_BINARIES", "REQUIRED_MODULES",
           "missing_binaries", "require_kerberos"]
