# Copyright: (c) 2026, winiscsi.ipsec contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one classification of WMI errors, shared by ``via: module`` and ``via: wsman``.

Internal to the winiscsi.ipsec collection: not a public API, may change without notice.

Both transports end up with the same HRESULT for the same failure: the PowerShell module finds
it in the ``CimException`` (``MessageId`` "HRESULT 0x80041010"), the WS-Management path in the
fault's ``f:WSManFault`` Code (WinRM passes a WMI error it has no mapping for through as "The
WMI service or the WMI provider returned an unknown error: HRESULT 0x8004xxxx", with the raw
HRESULT as the Code) or in an ``MSFT_WmiError`` detail. :data:`WMI_ERRORS` decides what each
means; the PowerShell module carries a copy (``$wmiErrors`` in mmipsec_facts.ps1), which a unit
test holds equal to this table.

Outcomes, and what the task does with them:

- ``class_not_found``, ``provider_error``: the host has no such data. Not an error: the facts
  say ``available: false`` with that ``reason``.
- ``access_denied``: a failed task that says the account needs administrator rights.
- ``invalid_namespace``: a failed task (root\\WMI always exists; WMI itself is broken).
- ``timed_out``: a failed task saying the WMI provider did not answer in time (a hung WDM
  driver); the host answered, so it is not unreachable.
- Any other code: a failed task that names the code (fail closed).

Codes: wbemcli.h (WBEM_E_*), winerror.h (HRESULT_FROM_WIN32 of ERROR_*, facility 7).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

WmiOutcome = Literal["class_not_found", "provider_error", "access_denied", "invalid_namespace",
                     "timed_out"]
# The outcomes that are facts (available: false), not failed tasks.
UNAVAILABLE_OUTCOMES: frozenset[WmiOutcome] = frozenset({"class_not_found", "provider_error"})


@dataclass(frozen=True)
class WmiError:
    """One HRESULT and what it means.

    Attributes:
        code: The HRESULT, unsigned.
        name: Its symbolic name.
        outcome: What the collection makes of it.
    """

    code: int
    name: str
    outcome: WmiOutcome


WMI_ERRORS: tuple[WmiError, ...] = (
    WmiError(0x80041010, "WBEM_E_INVALID_CLASS", "class_not_found"),
    WmiError(0x80041001, "WBEM_E_FAILED", "provider_error"),  # WDM provider failure
    WmiError(0x8004100C, "WBEM_E_NOT_SUPPORTED", "provider_error"),  # no driver data block
    WmiError(0x80070032, "ERROR_NOT_SUPPORTED", "provider_error"),  # Win32 50
    WmiError(0x80071068, "ERROR_WMI_GUID_NOT_FOUND", "provider_error"),  # Win32 4200
    WmiError(0x80041003, "WBEM_E_ACCESS_DENIED", "access_denied"),  # local
    WmiError(0x80070005, "E_ACCESSDENIED", "access_denied"),  # remote
    WmiError(0x8004100E, "WBEM_E_INVALID_NAMESPACE", "invalid_namespace"),
    # A CIM operation that reached its -OperationTimeoutSec (Win32 1460); WinRM's own timeout.
    WmiError(0x800705B4, "ERROR_TIMEOUT", "timed_out"),
    WmiError(0x80338029, "ERROR_WSMAN_OPERATION_TIMEDOUT", "timed_out"),
)
WMI_ERRORS_BY_CODE: Mapping[int, WmiError] = {error.code: error for error in WMI_ERRORS}


def classify_hresult(code: int | None) -> WmiOutcome | None:
    """What an HRESULT means to the collection; None for a code the table does not know.

    Args:
        code: The HRESULT, unsigned (as ``0x80041010``), or None.

    Returns:
        The outcome, or None (the caller fails the task naming the code).
    """
    error = WMI_ERRORS_BY_CODE.get(code) if code is not None else None
    return error.outcome if error is not None else None
