"""Assert that plugin_utils refuses a value with exactly the InputError it should.

Not shipped (tests/ support code).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ansible_collections.winiscsi.ipsec.plugins.plugin_utils._errors import InputError, describe


def raised(call: Callable[[], Any], field: str, expected: str, got: Any,
           host: str | None = None) -> InputError:
    """Run ``call``; it must raise InputError with these attributes and the message they make.

    ``got`` is compared with ``==`` and by type, so ``1`` and ``True`` or ``1.0`` differ.
    """
    with pytest.raises(InputError) as info:
        call()
    error = info.value
    assert (error.field, error.expected, error.got, error.host) == (field, expected, got, host)
    assert type(error.got) is type(got)
    where = f"host {host!r}: " if host is not None else ""
    assert str(error) == f"{where}{field}: expected {expected}, got {describe(got)}"
    return error
