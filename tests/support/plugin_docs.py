"""Check a filter or test plugin's sidecar documentation against its Python signature.

Not shipped (tests/ support code).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def load_sidecar(kind: str, name: str) -> dict[str, Any]:
    """The parsed plugins/<kind>/<name>.yml (DOCUMENTATION, EXAMPLES, RETURN)."""
    path = ROOT / "plugins" / kind / f"{name}.yml"
    with path.open(encoding="utf-8") as handle:
        doc: dict[str, Any] = yaml.safe_load(handle)
    return doc


def signature_problems(function: Callable[..., Any], doc: dict[str, Any]) -> list[str]:
    """Differences between the documented options and the function's parameters.

    ``_input`` stands for the first parameter; every other option must be a parameter of the
    same name whose default is the documented default (None when the doc has none); the
    documented ``positional`` list must match the leading parameters.
    """
    documentation = doc["DOCUMENTATION"]
    options = documentation["options"]
    params = list(inspect.signature(function).parameters.values())
    problems = []
    expected_names = ["_input"] + [p.name for p in params[1:]]
    if list(options) != expected_names:
        problems.append(f"options {list(options)} != parameters {expected_names}")
    for param in params[1:]:
        option = options.get(param.name, {})
        required = option.get("required", False)
        if required != (param.default is inspect.Parameter.empty):
            problems.append(f"{param.name}: required {required} but default {param.default!r}")
        if not required and option.get("default") != param.default:
            problems.append(f"{param.name}: documented default {option.get('default')!r}, "
                            f"code default {param.default!r}")
    positional = [p.strip() for p in documentation["positional"].split(",")]
    if positional != expected_names[:len(positional)]:
        problems.append(f"positional {positional} != leading parameters {expected_names}")
    if documentation["name"] != function.__name__:
        problems.append(f"name {documentation['name']!r} != function {function.__name__!r}")
    return problems
