# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kerberos for ``via: wsman``: a managed kinit into a private credential cache.

Internal to the winiscsi.ipsec collection: not a public API, may change without notice.

As ansible-core's winrm connection plugin does it: with ``ansible_winrm_transport: kerberos``
and a password (or ``ansible_winrm_kinit_mode: managed``), ``kinit`` gets a ticket for
``ansible_user`` into a credential cache of this task's own, which pywinrm then uses through
``KRB5CCNAME``. The password goes to kinit on stdin only. ``manual`` mode uses the cache the
controller already has.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError

KINIT_TIMEOUT_SEC = 60
_MAX_STDERR_CHARS = 2000
_REDACTED = "********"
_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f", ""}


@dataclass(frozen=True)
class KinitSettings:
    """How to get a ticket for a managed kinit.

    Attributes:
        principal: ``user@REALM`` (``ansible_user``).
        command: The kinit executable (``ansible_winrm_kinit_cmd``).
        args: Arguments before the principal (``ansible_winrm_kinit_args``, else ``-f`` for
            ``ansible_winrm_kerberos_delegation``).
        env_vars: Controller environment variables passed on to kinit
            (``ansible_winrm_kinit_env_vars``); kinit otherwise gets PATH and KRB5CCNAME only.
    """

    principal: str
    command: str = "kinit"
    args: tuple[str, ...] = ()
    env_vars: tuple[str, ...] = ()

    @property
    def argv(self) -> list[str]:
        """The command line: never the password."""
        return [self.command, *self.args, self.principal]


class KinitError(Exception):
    """kinit could not get a ticket: not found, failed, or too slow."""

    def __init__(self, kinit: KinitSettings, cause: str, *, rc: int | None = None) -> None:
        super().__init__(cause)
        self.kinit = kinit
        self.cause = cause
        self.rc = rc

    def __str__(self) -> str:
        code = f" (exit code {self.rc})" if self.rc is not None else ""
        return (f"wsman: kinit could not get a Kerberos ticket for principal "
                f"{self.kinit.principal!r} with {self.kinit.command!r}{code}: {self.cause}")

    def details(self) -> dict[str, Any]:
        """The evidence as task result keys."""
        return {"wsman_error": "kinit", "kinit_principal": self.kinit.principal,
                "kinit_cmd": self.kinit.command, "kinit_rc": self.rc}


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise InputError(name, "a boolean", str(value))


def kinit_settings(options: Mapping[str, Any], transports: Sequence[str], user: str | None,
                   password: str | None) -> KinitSettings | None:
    """Whether, and how, to run a managed kinit for a host (None: no kinit).

    Args:
        options: The winrm connection plugin's options (``kerberos_mode``,
            ``kerberos_command``, ``kinit_args``, ``kinit_env_vars``, ``_extras``).
        transports: The pywinrm transports to try.
        user: ``ansible_user``.
        password: ``ansible_password``.

    Raises:
        InputError: A mode other than managed or manual, a managed kinit without a user, or a
            delegation flag that is no boolean.
    """
    mode = options.get("kerberos_mode")
    if mode not in (None, "managed", "manual"):
        raise InputError("ansible_winrm_kinit_mode", "managed or manual", str(mode))
    if "kerberos" not in transports or mode == "manual" or (mode is None and not password):
        return None
    if not user:
        raise InputError("ansible_user", "a Kerberos principal (user@REALM) for the managed "
                         "kinit (ansible_winrm_kinit_mode)", None)
    extras: Mapping[str, Any] = options.get("_extras") or {}
    raw_args = options.get("kinit_args")
    if raw_args:
        args = tuple(arg for arg in shlex.split(str(raw_args)) if arg.strip())
    elif _boolean("ansible_winrm_kerberos_delegation",
                  extras.get("ansible_winrm_kerberos_delegation", False)):
        args = ("-f",)  # a forwardable ticket, for delegation
    else:
        args = ()
    env_vars = tuple(str(name) for name in options.get("kinit_env_vars") or ()
                     if str(name) != "KRB5CCNAME")
    return KinitSettings(principal=user, command=str(options.get("kerberos_command") or "kinit"),
                         args=args, env_vars=env_vars)


def _redacted(text: str, password: str) -> str:
    text = text.strip()
    if password:
        text = text.replace(password, _REDACTED)
    if len(text) > _MAX_STDERR_CHARS:
        text = text[:_MAX_STDERR_CHARS] + "..."
    return text


def run_kinit(kinit: KinitSettings, password: str, ccache: str) -> None:
    """Run kinit with the password on stdin, the ticket going to ``ccache``.

    Raises:
        KinitError: kinit is missing, exits non-zero, or takes longer than
            :data:`KINIT_TIMEOUT_SEC`; its stderr is quoted with the password redacted.
    """
    env = {"PATH": os.environ.get("PATH", os.defpath), "KRB5CCNAME": ccache}
    env.update({name: os.environ[name] for name in kinit.env_vars if name in os.environ})
    try:
        # A session of its own: no controlling terminal, so kinit reads the password from
        # stdin (macOS kinit would otherwise prompt on the tty).
        proc = subprocess.run(kinit.argv, input=password.encode("utf-8") + b"\n",
                              capture_output=True, env=env, start_new_session=True,
                              timeout=KINIT_TIMEOUT_SEC, check=False)
    except FileNotFoundError:
        raise KinitError(kinit, f"the kinit command {kinit.command!r} was not found; install "
                         "the MIT Kerberos client (Debian: krb5-user, RHEL: krb5-workstation) "
                         "or set ansible_winrm_kinit_cmd to its path") from None
    except OSError as e:
        raise KinitError(kinit, f"cannot run {kinit.command!r} (ansible_winrm_kinit_cmd): "
                         f"{e.strerror or e}") from None
    except subprocess.TimeoutExpired:
        raise KinitError(kinit, f"no answer within {KINIT_TIMEOUT_SEC} s; check that the "
                         "realm's KDC is reachable (krb5.conf, ansible_winrm_kinit_env_vars)"
                         ) from None
    if proc.returncode != 0:
        stderr = _redacted(proc.stderr.decode("utf-8", "replace"), password)
        raise KinitError(kinit, stderr or "no error message", rc=proc.returncode)


@contextmanager
def private_ticket(kinit: KinitSettings | None, password: str | None,
                   log: Callable[[str], None] = lambda text: None) -> Iterator[str | None]:
    """Get a ticket into a private cache and point ``KRB5CCNAME`` at it while inside.

    The cache is a temporary file of this task (mode 0600), removed on leaving, and
    ``KRB5CCNAME`` is restored. With ``kinit`` None nothing is done (manual mode, or no
    Kerberos).

    Yields:
        The ``KRB5CCNAME`` value in use (None without a managed kinit).

    Raises:
        KinitError: See :func:`run_kinit`.
    """
    if kinit is None:
        yield None
        return
    handle, path = tempfile.mkstemp(prefix="winiscsi-krb5cc-")
    os.close(handle)
    ccache = f"FILE:{path}"
    previous = os.environ.get("KRB5CCNAME")
    try:
        log(f"wsman: calling {kinit.command} for principal {kinit.principal} into a private "
            f"credential cache ({ccache})")
        run_kinit(kinit, password or "", ccache)
        os.environ["KRB5CCNAME"] = ccache
        yield ccache
    finally:
        if previous is None:
            os.environ.pop("KRB5CCNAME", None)
        else:
            os.environ["KRB5CCNAME"] = previous
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def explain(cause: str, where: str, manual: bool) -> str | None:
    """The message of a Kerberos client error (no ticket, no SPN), or None for another error.

    Args:
        cause: What the Kerberos library said.
        where: ``host:port (user 'name')``.
        manual: True when no managed kinit ran (manual mode, or no password).
    """
    lowered = cause.lower()
    if "no kerberos credentials" in lowered or "can't find client principal" in lowered or (
            "credentials cache" in lowered and "not found" in lowered):
        if manual:
            how = ("run kinit user@REALM on the controller first, into the cache KRB5CCNAME "
                   "names (ansible_winrm_kinit_mode is manual, or no ansible_password is set), "
                   "or set ansible_password for a managed kinit")
        else:
            how = "check ansible_user (user@REALM, the realm in upper case)"
        return f"wsman: no usable Kerberos ticket for {where}: {how}. Kerberos said: {cause}"
    if "server not found in kerberos database" in lowered:
        return (f"wsman: the KDC knows no HTTP service principal for {where}: set "
                "ansible_winrm_kerberos_hostname_override to the name the host's SPN "
                f"(HTTP/<name>) is registered under. Kerberos said: {cause}")
    if "clock skew" in lowered:
        return (f"wsman: Kerberos refused for {where}: the clocks of the controller, the KDC "
                f"and the host differ too much (5 minutes by default). Kerberos said: {cause}")
    return None


__all__ = ["KINIT_TIMEOUT_SEC", "KinitError", "KinitSettings", "explain", "kinit_settings",
           "private_ticket", "run_kinit"]
