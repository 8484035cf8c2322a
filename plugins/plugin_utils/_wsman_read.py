# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host read over WS-Management from the controller, as a task result.

Internal to the winiscsi.ipsec collection: not a public API, may change without notice.

Shared by the action plugins that read over WS-Management (``mmipsec_facts`` with
``via: wsman``, one host per task; ``mmipsec_fleet_facts``, many hosts in one task):
:func:`host_settings` asks the winrm connection plugin for a host's settings,
:func:`read_host` runs one read (managed Kerberos ticket, session, error mapping) and
:func:`redact` removes every form of the credential from what leaves the plugin.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from typing import Any

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._kerberos import (
    KinitError,
    explain,
    private_ticket,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_client import Session
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_errors import WSManError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_transport import (
    WinRMSettings,
    settings_from_options,
    winrm_options,
)

# An Authorization value a host may echo: the scheme and its token (Basic's is base64 of
# user:password; NTLM's and Negotiate's carry the account's proof).
_AUTH_TOKEN = re.compile(r"\b(Basic|Negotiate|NTLM|Kerberos|CredSSP)(\s+)[A-Za-z0-9+/=_-]{8,}",
                         re.IGNORECASE)
REDACTED = "********"


def _secrets(settings: WinRMSettings) -> list[str]:
    """Every form the credential travels in: the password, and base64(user:password).

    requests encodes a Basic user and password as Latin-1, other clients as UTF-8: both.
    """
    password = settings.password
    if not password:
        return []
    found = {password}
    for encoding in ("utf-8", "latin-1"):
        try:
            raw = f"{settings.user or ''}:{password}".encode(encoding)
        except UnicodeEncodeError:
            continue
        found.add(base64.b64encode(raw).decode("ascii"))
    return sorted(found, key=len, reverse=True)


def redact(value: Any, settings: WinRMSettings) -> Any:
    """A copy of ``value`` rid of every form of the credential, in its strings and keys.

    The password, ``base64(user:password)`` (so ``Basic <that>`` too), and any
    ``Basic``/``Negotiate``/``NTLM``/``Kerberos``/``CredSSP`` token become ``********``.
    """
    secrets = _secrets(settings)

    def scrub(item: Any) -> Any:
        if isinstance(item, str):
            for secret in secrets:
                item = item.replace(secret, REDACTED)
            return _AUTH_TOKEN.sub(rf"\1\2{REDACTED}", item)
        if isinstance(item, Mapping):
            return {scrub(key): scrub(inner) for key, inner in item.items()}
        if isinstance(item, (list, tuple)):
            return [scrub(inner) for inner in item]
        return item

    return scrub(value)


def host_settings(play_context: Any, variables: Mapping[str, Any], task_keys: dict[str, Any],
                  template: Callable[[Any], Any]) -> tuple[WinRMSettings, list[str]]:
    """A host's WinRM settings, as the winrm connection plugin would take them.

    Args:
        play_context: The task's PlayContext; ``--ask-pass`` reaches it only.
        variables: The host's variables.
        task_keys: The task's keywords (``dump_attrs()``), changed here: ``password`` is set
            from ``--ask-pass``, as ansible-core's TaskExecutor gives a connection plugin.
        template: Templates one value.

    Raises:
        AnsibleError: An option the connection plugin refuses.
        InputError: Settings this client refuses (see :func:`settings_from_options`).
        WSManError: pywinrm (or pykerberos for Kerberos) is missing.
    """
    if play_context.password:
        task_keys["password"] = play_context.password
    options = winrm_options(play_context, variables, task_keys, template)
    return settings_from_options(options)


def read_host(settings: WinRMSettings, read: Callable[[Session], dict[str, Any]],
              log: Callable[[str], None] = lambda text: None) -> dict[str, Any]:
    """Read one host; the result of a task that reads it, redacted.

    Timeouts and refused connections make the host ``unreachable``, as the winrm connection
    would; everything else the host answered, a Kerberos client error and a failed kinit make
    the read ``failed``. Either way ``msg`` says what happened and the ``wsman_*`` keys hold
    the evidence.

    Args:
        settings: How to reach the host.
        read: Reads the facts over an open session (returns the ``ansible_facts`` keys).
        log: Where to say what a managed kinit does (verbose output).

    Returns:
        ``ansible_facts`` (what ``read`` returned), or ``failed``/``unreachable`` with
        ``msg``; and ``warnings`` when there are any.

    Raises:
        InputError: What ``read`` raises for a bad argument, before any request.
    """
    result: dict[str, Any] = {}
    warnings: list[str] = []
    kerberos = "kerberos" in settings.auth_transports
    try:
        # Managed kinit: a ticket in a private cache, KRB5CCNAME pointing at it only
        # for the exchange; the cache is removed afterwards.
        with private_ticket(settings.kinit, settings.password, log), \
                Session(settings) as session:
            try:
                result["ansible_facts"] = read(session)
            except WSManError as e:
                explained = explain(str(getattr(e, "cause", e)), e.where,
                                    manual=settings.kinit is None) if kerberos else None
                if explained is None:
                    result.update({"unreachable" if e.unreachable else "failed": True,
                                   "msg": str(e), **e.details()})
                else:  # the Kerberos library gave up before any answer: failed
                    result.update({"failed": True, "msg": explained, **e.details(),
                                   "wsman_error": "kerberos"})
            finally:
                warnings += session.warnings
    except KinitError as e:  # no ticket, so no request: a failed task, not unreachable
        result.update({"failed": True, "msg": str(e), **e.details()})
    if warnings:
        result["warnings"] = warnings
    # The one place the password is removed: a host may echo it into a fault, a warning
    # or an instance name, and everything of this result is shown at -v.
    redacted: dict[str, Any] = redact(result, settings)
    return redacted


__all__ = ["REDACTED", "host_settings", "read_host", "redact"]
