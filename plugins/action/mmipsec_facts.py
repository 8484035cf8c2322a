# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for winiscsi.ipsec.mmipsec_facts: choose the transport, vet the result."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._counters import (
    SCHEMAS,
    validate_snapshot,
    with_totals,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._facts_options import (
    ARGUMENT_SPEC,
    MODULE_NAME,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._kerberos import (
    KinitError,
    explain,
    private_ticket,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_client import (
    Session,
    collect_facts,
)
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_errors import WSManError
from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._wsman_transport import (
    WinRMSettings,
    settings_from_options,
    winrm_options,
)

display = Display()


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


def _redact(value: Any, settings: WinRMSettings) -> Any:
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


class ActionModule(ActionBase):
    """Gather ``ansible_facts.mmipsec`` and ``ansible_facts.qmipsec``; refuse a malformed result."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self._supports_check_mode = True  # read-only either way
        self._supports_async = False
        if task_vars is None:
            task_vars = {}
        result = super().run(tmp, task_vars)
        del tmp  # tmp no longer has any effect

        # Raises AnsibleActionFail naming the option, the choices and the value it got.
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        if args["via"] == "wsman":
            result.update(self._read_over_wsman(args, task_vars))
        else:
            result.update(self._execute_module(module_name=MODULE_NAME,
                                               module_args=dict(self._task.args),
                                               task_vars=task_vars))
        if result.get("failed") or result.get("unreachable"):
            return result
        facts = result.get("ansible_facts")
        facts = dict(facts) if isinstance(facts, dict) else {}
        for schema in SCHEMAS:
            # Totals are summed here for both transports: exact past 2**64-1, which the
            # module's JSON cannot be (PowerShell 7 writes a [decimal] 15 as 15.0).
            facts[schema.fact] = with_totals(facts.get(schema.fact), schema)
            try:
                validate_snapshot(facts[schema.fact], task_vars.get("inventory_hostname"),
                                  schema=schema)
            except InputError as e:
                return {"failed": True, "changed": False, "field": e.field,
                        "expected": e.expected,
                        "msg": f"{MODULE_NAME} returned malformed ansible_facts.{schema.fact}, "
                               f"refused so it cannot reach a verdict: {e}"}
        result["ansible_facts"] = facts
        result["changed"] = False
        return result

    def _read_over_wsman(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        """Query the class from the controller with the host's winrm connection options."""
        # The keywords ansible-core's TaskExecutor gives a connection plugin; --ask-pass
        # reaches the play context only.
        task_keys = self._task.dump_attrs()
        if self._play_context.password:
            task_keys["password"] = self._play_context.password
        try:
            options = winrm_options(self._play_context, task_vars, task_keys,
                                    self._templar.template)
            settings, warnings = settings_from_options(options)
        except (AnsibleError, InputError) as e:
            raise AnsibleActionFail(f"{MODULE_NAME} (via=wsman): {e}") from e
        except WSManError as e:  # pywinrm is missing
            return {"failed": True, "msg": str(e), **e.details()}

        result: dict[str, Any] = {"changed": False, "invocation": {"module_args": args}}
        kerberos = "kerberos" in settings.auth_transports
        try:
            # Managed kinit: a ticket in a private cache, KRB5CCNAME pointing at it only
            # for the exchange; the cache is removed afterwards.
            with private_ticket(settings.kinit, settings.password, display.vvvv), \
                    Session(settings) as session:
                try:
                    facts = collect_facts(session, args["instance_name"],
                                          args["include_inactive"])
                except InputError as e:  # instance_name, refused before any request
                    raise AnsibleActionFail(f"{MODULE_NAME} (via=wsman): {e}") from e
                except WSManError as e:
                    # Timeouts and refused connections make the host unreachable, as the
                    # winrm connection would; everything else the host answered is a failed
                    # task.
                    explained = explain(str(getattr(e, "cause", e)), e.where,
                                        manual=settings.kinit is None) if kerberos else None
                    if explained is None:
                        result.update({"unreachable" if e.unreachable else "failed": True,
                                       "msg": str(e), **e.details()})
                    else:  # the Kerberos library gave up before any answer: failed
                        result.update({"failed": True, "msg": explained, **e.details(),
                                       "wsman_error": "kerberos"})
                else:
                    result["ansible_facts"] = facts
            warnings += session.warnings
        except KinitError as e:  # no ticket, so no request: a failed task, not unreachable
            result.update({"failed": True, "msg": str(e), **e.details()})
        if warnings:
            result["warnings"] = warnings
        # The one place the password is removed: a host may echo it into a fault, a warning
        # or an instance name, and everything of this result is shown at -v.
        return _redact(result, settings)
