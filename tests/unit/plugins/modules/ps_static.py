"""Static checks for the collection's PowerShell modules, with no PowerShell needed.

The build machines have no pwsh, so the module is checked here by reading it: it is parsed with
the tree-sitter PowerShell grammar, and the literals that matter (the ``$spec`` hashtable, the
member-to-key table) are evaluated from the syntax tree rather than matched with regexes.

Every check takes a path and returns a list of problems (empty when the file is fine), so the
same function runs on the real module and on deliberately broken copies.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import tree_sitter
import tree_sitter_powershell
import yaml

LOOP_TYPES = frozenset({"foreach_statement", "for_statement", "while_statement", "do_statement"})
# Commands whose script block argument runs once per item, like a loop body.
LOOP_COMMANDS = frozenset({"foreach-object", "%", "foreach"})
# Type constraints under which `$x += ...` is scalar arithmetic, not array copying.
NUMERIC_TYPES = frozenset({"decimal", "int", "int32", "int64", "long", "uint32", "uint64",
                           "system.decimal", "system.int32", "system.int64", "system.uint64"})
# Types that would turn a uint64 counter into a float, or need to (Math works on doubles);
# bigint serializes as an object on older PowerShell versions.
FORBIDDEN_TYPES = frozenset({"double", "float", "single", "system.double", "system.single",
                             "math", "system.math", "bigint", "system.numerics.biginteger",
                             # PowerShell 7's serialiser (Newtonsoft) writes a decimal 15 as 15.0.
                             "decimal", "system.decimal"})
# Measure-Object -Sum adds in [double].
FORBIDDEN_COMMANDS = frozenset({"measure-object", "measure"})
REQUIRED_LINES = ("#!powershell", "#AnsibleRequires -CSharpUtil Ansible.Basic")


class UnsupportedLiteral(ValueError):
    """A node is not a literal this evaluator understands.

    Attributes:
        node_type: The tree-sitter node type found.
        line: 1-based line of the node.
        text: The node's source text (shortened).
    """

    def __init__(self, node_type: str, line: int, text: str) -> None:
        self.node_type = node_type
        self.line = line
        self.text = text
        super().__init__(str(self))

    def __str__(self) -> str:
        return (f"line {self.line}: expected a literal (string, number, $true/$false/$null, "
                f"array or hashtable), got {self.node_type} {self.text!r}")


class PSHashtable(dict[str, Any]):
    """A hashtable literal's entries, in source order, remembering whether it was [ordered]."""

    ordered: bool = False


def parse(path: Path) -> tree_sitter.Tree:
    """Parse a PowerShell file with the tree-sitter grammar."""
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
    return parser.parse(path.read_bytes())


def walk(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    """Yield a node and all its descendants, depth first, in source order."""
    yield node
    for child in node.children:
        yield from walk(child)


def _text(node: tree_sitter.Node) -> str:
    return (node.text or b"").decode("utf-8")


def _where(node: tree_sitter.Node) -> str:
    return f"line {node.start_point[0] + 1}"


def _children(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    """Named children without comments (the grammar makes comments named nodes)."""
    return [child for child in node.named_children if child.type != "comment"]


def _unwrap(node: tree_sitter.Node) -> tree_sitter.Node:
    """Skip the grammar's single-child precedence wrappers (pipeline > ... > unary_expression)."""
    while len(_children(node)) == 1 and node.type not in (
            "string_literal", "hash_literal_expression", "array_expression",
            "expression_with_unary_operator", "cast_expression", "variable", "command"):
        node = _children(node)[0]
    return node


def _string(node: tree_sitter.Node) -> str:
    text = _text(node)
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if text.startswith('"') and "$" not in text and "`" not in text:
        return text[1:-1]
    raise UnsupportedLiteral("expandable string with substitutions", node.start_point[0] + 1, text)


def evaluate(node: tree_sitter.Node) -> Any:
    """Evaluate a literal expression from the syntax tree into Python values.

    Args:
        node: Any node whose value is a literal (wrappers are skipped).

    Returns:
        str, int, bool, None, list, or PSHashtable for hashtable literals.

    Raises:
        UnsupportedLiteral: The expression is not a plain literal.
    """
    node = _unwrap(node)
    kind = node.type
    if kind == "string_literal":
        return _string(node)
    if kind == "decimal_integer_literal":
        return int(_text(node))
    if kind == "hexadecimal_integer_literal":
        return int(_text(node), 16)
    if kind == "variable" and _text(node).lower() in ("$true", "$false", "$null"):
        return {"$true": True, "$false": False, "$null": None}[_text(node).lower()]
    if kind == "array_literal_expression":
        return [evaluate(child) for child in _children(node)]
    if kind == "array_expression":
        inner = _children(node)
        if not inner:
            return []
        value = evaluate(inner[0])
        return value if isinstance(value, list) else [value]
    if kind == "hash_literal_expression":
        table = PSHashtable()
        body = _children(node)[0] if _children(node) else None
        for entry in _children(body) if body is not None else []:
            if entry.type != "hash_entry":
                raise UnsupportedLiteral(entry.type, entry.start_point[0] + 1, _text(entry)[:60])
            key_node, value_node = _children(entry)
            key = _unwrap(key_node)
            name = _string(key) if key.type == "string_literal" else _text(key)
            # PowerShell rejects duplicate keys (compared case-insensitively) at run time.
            if name.lower() in (existing.lower() for existing in table):
                raise UnsupportedLiteral("duplicate hashtable key", entry.start_point[0] + 1, name)
            table[name] = evaluate(value_node)
        return table
    if kind == "cast_expression":
        type_node, value_node = _children(node)
        value = evaluate(value_node)
        if _text(type_node).lower() == "[ordered]" and isinstance(value, PSHashtable):
            value.ordered = True
        return value
    if kind == "expression_with_unary_operator" and _text(node).startswith("-"):
        value = evaluate(_children(node)[-1])
        if isinstance(value, int) and not isinstance(value, bool):
            return -value
    if kind == "expression_with_unary_operator" and _children(node)[0].type == "cast_expression":
        return evaluate(_children(node)[0])
    raise UnsupportedLiteral(kind, node.start_point[0] + 1, _text(node)[:60])


def assignment_value(tree: tree_sitter.Tree, variable: str) -> tree_sitter.Node:
    """Return the value node of the one plain assignment ``$<variable> = ...`` in a file.

    Raises:
        LookupError: There is no such assignment, or more than one.
    """
    found = []
    for node in walk(tree.root_node):
        if node.type != "assignment_expression":
            continue
        left = _unwrap(_children(node)[0])
        operator = _children(node)[1]
        if (left.type == "variable" and _text(left).lower() == f"${variable}".lower()
                and _text(operator) == "="):
            found.append(node.child_by_field_name("value"))
    if len(found) != 1:
        raise LookupError(f"expected exactly one assignment '${variable} = ...', "
                          f"found {len(found)}")
    return found[0]


def check_syntax(path: Path) -> list[str]:
    """List the ERROR and MISSING nodes of a PowerShell file (none means it parses)."""
    problems = []
    for node in walk(parse(path).root_node):
        if node.type == "ERROR":
            problems.append(f"{path.name}: {_where(node)}: syntax error at {_text(node)[:40]!r}")
        elif node.is_missing:
            problems.append(f"{path.name}: {_where(node)}: missing {node.type!r}")
    return problems


def member_table(path: Path, variable: str = "counterMembers") -> PSHashtable:
    """Evaluate the module's WMI-member-to-fact-key table literal."""
    return evaluate(assignment_value(parse(path), variable))


def check_member_table(path: Path, expected: Sequence[tuple[str, str]],
                       variable: str = "counterMembers") -> list[str]:
    """Compare the module's member table with (wmi_name, key) pairs, in order.

    Args:
        path: The .ps1 module.
        expected: The pairs from plugin_utils/_counters.py MEMBERS.
        variable: The PowerShell variable holding the table.

    Returns:
        One problem per differing position, plus a problem if the literal is not [ordered].
    """
    try:
        table = member_table(path, variable)
    except (LookupError, UnsupportedLiteral) as error:
        return [f"{path.name}: ${variable}: {error}"]
    if not isinstance(table, PSHashtable):
        return [f"{path.name}: ${variable}: expected a hashtable literal, got {table!r}"]
    problems = [] if table.ordered else [
        f"{path.name}: ${variable}: expected an [ordered] hashtable (fact key order), got @{{}}"]
    got = list(table.items())
    for index in range(max(len(got), len(expected))):
        have = got[index] if index < len(got) else None
        want = tuple(expected[index]) if index < len(expected) else None
        if have != want:
            problems.append(f"{path.name}: ${variable} entry {index + 1}: "
                            f"expected {want!r}, got {have!r}")
    return problems


def _normalized(options: Any, source: str) -> dict[str, dict[str, Any]]:
    """Reduce option specs to the fields both sides define, with Ansible's defaults filled in."""
    if not isinstance(options, dict):
        raise ValueError(f"{source}: expected a mapping of options, got {options!r}")
    result = {}
    for name, option in options.items():
        option = option or {}
        choices = option.get("choices")
        result[str(name)] = {
            "type": option.get("type", "str"),
            "default": option.get("default"),
            "choices": None if choices is None else list(choices) if isinstance(choices, list)
            else [choices],
            "required": bool(option.get("required", False)),
            "elements": option.get("elements"),
            "aliases": list(option.get("aliases") or []),
        }
    return result


def documentation(py_path: Path) -> dict[str, Any]:
    """Load DOCUMENTATION from a doc stub without importing it."""
    for statement in ast.parse(py_path.read_text(encoding="utf-8")).body:
        if (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)
                and statement.targets[0].id == "DOCUMENTATION"
                and isinstance(statement.value, ast.Constant)):
            return yaml.safe_load(statement.value.value)  # type: ignore[no-any-return]
    raise LookupError(f"{py_path.name}: no DOCUMENTATION string constant")


def check_spec_matches_doc(ps1_path: Path, py_path: Path) -> list[str]:
    """Compare the module's ``$spec`` with the DOCUMENTATION of its doc stub.

    Compares option names, type, default, choices, required, elements and aliases, and
    supports_check_mode against attributes.check_mode.support.
    """
    try:
        spec = evaluate(assignment_value(parse(ps1_path), "spec"))
        doc = documentation(py_path)
    except (LookupError, UnsupportedLiteral) as error:
        return [f"{ps1_path.name}: {error}"]
    in_spec = _normalized(spec.get("options", {}), "$spec.options")
    in_doc = _normalized(doc.get("options", {}), "DOCUMENTATION.options")
    problems = [f"option {name!r}: in $spec only" for name in in_spec if name not in in_doc]
    problems += [f"option {name!r}: in DOCUMENTATION only" for name in in_doc
                 if name not in in_spec]
    for name in (n for n in in_spec if n in in_doc):
        for field, value in in_spec[name].items():
            if value != in_doc[name][field]:
                problems.append(f"option {name!r} {field}: $spec has {value!r}, "
                                f"DOCUMENTATION has {in_doc[name][field]!r}")
    check_mode = doc.get("attributes", {}).get("check_mode", {}).get("support")
    supports = bool(spec.get("supports_check_mode", False))
    if supports != (check_mode in ("full", "partial")):
        problems.append(f"supports_check_mode: $spec has {supports!r}, DOCUMENTATION "
                        f"attributes.check_mode.support is {check_mode!r}")
    return problems


def _numeric_variables(tree: tree_sitter.Tree) -> set[str]:
    """Variables declared with a numeric type constraint, e.g. ``[decimal]$sum = 0``."""
    names = set()
    for node in walk(tree.root_node):
        if node.type != "assignment_expression":
            continue
        left = _unwrap(_children(node)[0])
        if left.type == "expression_with_unary_operator":
            left = _unwrap(_children(left)[0])
        if left.type == "cast_expression":
            type_node, target = _children(left)
            target = _unwrap(target)
            if _text(type_node).strip("[]").lower() in NUMERIC_TYPES and target.type == "variable":
                names.add(_text(target).lower())
    return names


def _in_loop(node: tree_sitter.Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.type in LOOP_TYPES:
            return True
        if parent.type == "command":
            name = parent.child_by_field_name("command_name") or _children(parent)[0]
            if _text(name).lower() in LOOP_COMMANDS:
                return True
        parent = parent.parent
    return False


def check_hygiene(path: Path) -> list[str]:
    """Cheap checks for the mistakes that matter in this module.

    - the ``#!powershell`` and ``#AnsibleRequires -CSharpUtil Ansible.Basic`` lines and a
      ``Set-StrictMode`` call;
    - no ``+=`` inside a loop unless its variable is type-constrained to a number (on an array,
      ``+=`` copies the whole array each time);
    - every ``Get-CimInstance`` has ``-ErrorAction Stop`` (CIM errors are non-terminating) and
      ``-OperationTimeoutSec`` (a hung WMI provider would block the task forever);
    - no ``.ToUniversalTime()`` (on a local-kind CIM datetime it guesses inside the repeated
      fall-back DST hour);
    - no ``$_`` in a ``switch`` clause (there it is the value switched on, not the caught
      error record a ``FailJson`` wants);
    - no ``[double]``, ``[math]``, ``[bigint]`` or ``Measure-Object``, which would turn uint64
      counters into floats (or objects).
    """
    tree = parse(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    problems = [f"{path.name}: missing the line {line!r}" for line in REQUIRED_LINES
                if line not in lines]
    commands = [node for node in walk(tree.root_node) if node.type == "command"]

    def name_of(command: tree_sitter.Node) -> str:
        return _text(_children(command)[0]).lower()

    if not any(name_of(c) == "set-strictmode" for c in commands):
        problems.append(f"{path.name}: no Set-StrictMode call")
    numeric = _numeric_variables(tree)
    for node in walk(tree.root_node):
        if node.type == "assignment_expression" and _text(_children(node)[1]) == "+=":
            target = _unwrap(_children(node)[0])
            if _in_loop(node) and not (target.type == "variable"
                                       and _text(target).lower() in numeric):
                problems.append(f"{path.name}: {_where(node)}: '+=' in a loop on "
                                f"{_text(target)!r}: build arrays with @(foreach ...)")
        elif node.type == "switch_clause":
            problems += [f"{path.name}: {_where(v)}: $_ in a switch clause is the switched "
                         "value, not the error record: save the record before the switch"
                         for v in walk(node) if v.type == "variable" and _text(v) == "$_"]
        elif (node.type == "member_name"
              and _text(node).lower() == "touniversaltime"):
            problems.append(f"{path.name}: {_where(node)}: .ToUniversalTime() guesses inside "
                            "the repeated DST hour: use the CIM datetime's own offset")
        elif node.type == "type_literal" and _text(node).strip("[]").lower() in FORBIDDEN_TYPES:
            problems.append(f"{path.name}: {_where(node)}: {_text(node)} would turn uint64 "
                            "counters into floats")
    for command in commands:
        name = name_of(command)
        if name in FORBIDDEN_COMMANDS:
            problems.append(f"{path.name}: {_where(command)}: {_text(_children(command)[0])}"
                            " sums in [double]")
        if name in ("get-ciminstance", "gcim") and not _has_stop(command):
            problems.append(f"{path.name}: {_where(command)}: Get-CimInstance without "
                            "-ErrorAction Stop (its CIM errors are non-terminating)")
        if (name in ("get-ciminstance", "gcim")
                and not _has_parameter(command, "-operationtimeoutsec")):
            problems.append(f"{path.name}: {_where(command)}: Get-CimInstance without "
                            "-OperationTimeoutSec (a hung WMI provider would block forever)")
    return problems


def _has_parameter(command: tree_sitter.Node, name: str) -> bool:
    """True if a command names the parameter ``name`` (``-Name`` or ``-Name:value``)."""
    return any(n.type == "command_parameter" and _text(n).rstrip(":").lower() == name
               for n in walk(command))


def _has_stop(command: tree_sitter.Node) -> bool:
    """True if a command has ``-ErrorAction Stop`` (or ``-EA Stop``, ``-ErrorAction:Stop``)."""
    elements = [n for n in walk(command)
                if n.type in ("command_parameter", "generic_token", "string_literal")]
    for index, element in enumerate(elements[:-1]):
        if (element.type == "command_parameter"
                and _text(element).rstrip(":").lower() in ("-erroraction", "-ea")
                and _text(elements[index + 1]).strip("'\"").lower() == "stop"):
            return True
    return False
