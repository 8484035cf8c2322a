"""The command line shared by the generators of docs pages (gen_facts_doc, gen_policy_doc)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def write_or_check(page: Path, render: Callable[[], str], script: str, description: str) -> int:
    """Write ``page`` from ``render()``, or with --check only compare it.

    Args:
        page: The generated docs page.
        render: Makes the page's text.
        script: The generator's ``__file__``, named in the message of a stale page.
        description: The generator's docstring (its first line is the --help text).

    Returns:
        The exit code: 1 when --check finds the page stale, else 0.
    """
    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help=f"exit 1 if {page.name} is stale")
    args = parser.parse_args()
    text = render()
    if args.check:
        current = page.read_text(encoding="utf-8") if page.exists() else ""
        if current != text:
            print(f"{page} is stale: run {Path(script).relative_to(ROOT)}", file=sys.stderr)
            return 1
        return 0
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(text, encoding="utf-8")
    print(f"wrote {page}")
    return 0
