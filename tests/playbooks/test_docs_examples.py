"""Every fenced code block of README.md and docs/*.md is executed here, or marked as not run.

How a block is treated is decided by the HTML comment on the line before it (the *marker*), or,
without one, by its content:

``<!-- not-run: REASON -->``
    Not executed, for the reason given (a real Windows host, a minute-long demo, ...). The
    reason is required.
``<!-- docs-test: KIND [option=value ...] [; remark] -->``
    Executed as KIND (below), with options.
no marker, ``yaml`` block
    A list of plays (items with ``hosts`` or ``import_playbook``) runs as ``playbook``; any
    other list of mappings runs as ``tasks``.
no marker, anything else
    An error: the test fails and names the block.

Kinds (every run uses the real ansible-playbook against the local WinRM endpoint started with
tests/playbooks/docs/scenario.yml, whose groups are the ones the docs name, ``iscsi_hosts``):

``playbook``
    Runs as written. There is no PowerShell here, so every play that does not set
    ``module_defaults`` for ``group/winiscsi.ipsec.mmipsec`` gets ``via: wsman`` there (the
    harness adds it; the facts are the same, only ``source`` differs). ``extra=JSON`` passes
    extra variables, ``stubs=a.yml,b.yml`` writes empty task files of those names next to the
    playbook, ``tmp=PATH`` replaces PATH with a temporary directory, ``ca=PATH`` with the
    endpoint's test CA.
``tasks``
    Wrapped in a play on ``hosts=`` (default ``iscsi_hosts``), after the role ``role=`` when
    given, with the same ``via: wsman`` default.
``vars``
    A mapping of variables, used as the vars of a play that runs the role ``role=``.
``jinja``
    Pairs of ``{{ expression }}`` and ``# => value`` lines (the value is YAML): on ``host=``,
    after reading the facts, each expression must equal its value.
``message``
    A message the docs quote: it must equal (whitespace collapsed, ``...`` matching anything,
    the port after ``127.0.0.1:`` any number, with ``numbers`` every number any number) a
    ``msg``, warning or fact message of tests/playbooks/docs/messages.yml, which runs every
    fault the docs describe.
``bash``
    Runs with bash -eu in a temporary directory, the venv's bin first on PATH, collections
    installed to a temporary path. ``setup=tarball`` first builds the collection tarball
    there; ``creates=PATH`` must exist afterwards.

Each executed block is its own ansible-playbook run (parallel, so a failure names its block);
the messages playbook runs once.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import certifi
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SUPPORT = ROOT / "tests" / "support"
HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "docs" / "scenario.yml"
MESSAGES_PLAYBOOK = HERE / "docs" / "messages.yml"
CALLBACKS = HERE / "roles" / "callback_plugins"
COLLECTIONS = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or str(ROOT / "build" / "dev")
BIN = Path(sys.executable).parent
ANSIBLE_PLAYBOOK = str(BIN / "ansible-playbook")
RUN_TIMEOUT_SEC = 240
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
KINDS = ("playbook", "tasks", "vars", "jinja", "message", "bash")
GROUP = "group/winiscsi.ipsec.mmipsec"

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
MARKER = re.compile(r"^\s*<!--\s*(?P<kind>not-run|docs-test):\s*(?P<body>.*?)\s*-->\s*$")
PORT = re.compile(r"127\\\.0\\\.0\\\.1:\d+")
NUMBER = re.compile(r"\d+(?:\\\.\d+)?")

if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))

from winrm_endpoint import Endpoint  # noqa: E402  (needs tests/support on sys.path)


@dataclass(frozen=True)
class Block:
    """One fenced code block of a doc.

    Attributes:
        doc: Path relative to the repository root.
        line: 1-based line of the opening fence.
        lang: The fence's info string (first word), "" when none.
        text: The block's content, dedented by the fence's indentation.
        marker: ("not-run" or "docs-test", body) of the comment right before it, or None.
    """

    doc: str
    line: int
    lang: str
    text: str
    marker: tuple[str, str] | None

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


@dataclass
class Plan:
    """How a block is executed: its kind and options, or why it is not."""

    kind: str | None
    options: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    problem: str | None = None


def find_blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file, with the marker comment before it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        end = index + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        body = [line[len(indent):] if line.startswith(indent) else line.lstrip()
                for line in lines[index + 1:end]]
        before = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        found = MARKER.match(before)
        blocks.append(Block(
            doc=str(path.relative_to(ROOT)), line=index + 1,
            lang=(opening["info"].split() or [""])[0], text="\n".join(body) + "\n",
            marker=(found["kind"], found["body"]) if found else None))
        index = end + 1
    return blocks


def plan(block: Block) -> Plan:
    """Decide how a block is executed (see the module docstring)."""
    if block.marker and block.marker[0] == "not-run":
        reason = block.marker[1].strip()
        if len(reason) < 10:
            return Plan(None, problem="its not-run marker gives no reason")
        return Plan(None, reason=reason)
    if block.marker:
        head = block.marker[1].split(";", 1)[0].split()
        if not head or head[0] not in KINDS:
            return Plan(None, problem=f"its docs-test marker names no kind of {list(KINDS)}")
        options = dict(item.split("=", 1) if "=" in item else (item, "") for item in head[1:])
        return Plan(head[0], options)
    if block.lang in ("yaml", "yml"):
        data = yaml.safe_load(block.text)
        if isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
            is_play = any("hosts" in item or "import_playbook" in item
                          or "ansible.builtin.import_playbook" in item for item in data)
            return Plan("playbook" if is_play else "tasks")
    return Plan(None, problem="it is neither executed nor marked <!-- not-run: reason -->")


BLOCKS = [block for doc in DOCS for block in find_blocks(doc)]
PLANS = {block.id: plan(block) for block in BLOCKS}
EXECUTED = [b for b in BLOCKS if PLANS[b.id].kind is not None]
RUNNABLE = [b for b in EXECUTED if PLANS[b.id].kind != "message"]
MESSAGES = [b for b in EXECUTED if PLANS[b.id].kind == "message"]


@dataclass(frozen=True)
class Run:
    """One command's outcome: exit code, output, and the recorded task results."""

    rc: int
    stdout: str
    stderr: str
    results: list[dict[str, Any]]

    def tail(self) -> str:
        return (f"rc {self.rc}\n--- stdout (end) ---\n{self.stdout[-5000:]}\n"
                f"--- stderr (end) ---\n{self.stderr[-2000:]}")


def _environment(work: Path, results: Path) -> dict[str, str]:
    """A clean environment: none of the user's Ansible settings, the venv's tools first."""
    config = work / "ansible.cfg"
    config.write_text("[defaults]\n", encoding="utf-8")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    environment.update({
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(work / "home"),
        # The shipped playbooks write reports under $PWD; the shell sets it, subprocess does not.
        "PWD": str(work),
        "ANSIBLE_CONFIG": str(config),
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
        "ANSIBLE_HOME": str(work / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(work / "local-tmp"),
        "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS),
        "ANSIBLE_CALLBACKS_ENABLED": "results_file",
        "WINISCSI_RESULTS_FILE": str(results),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_FORKS": "12",
        # pip may check what is installed but never download (the install example).
        "PIP_NO_INDEX": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    })
    (work / "home").mkdir(exist_ok=True)
    return environment


def _run(command: list[str], work: Path, extra_env: dict[str, str] | None = None) -> Run:
    results = work / "results.json"
    environment = {**_environment(work, results), **(extra_env or {})}
    proc = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=work,
                          timeout=RUN_TIMEOUT_SEC, check=False)
    recorded = json.loads(results.read_text(encoding="utf-8"))["results"] \
        if results.exists() else []
    return Run(proc.returncode, proc.stdout, proc.stderr, recorded)


def _with_wsman(play: dict[str, Any]) -> dict[str, Any]:
    """The play with ``via: wsman`` for the action group, unless the play sets the group."""
    if "hosts" not in play:
        return play
    defaults = dict(play.get("module_defaults") or {})
    defaults.setdefault(GROUP, {"via": "wsman"})
    return {**play, "module_defaults": defaults}


def _expected_values(block: Block) -> list[tuple[str, Any]]:
    """(expression, stated value) pairs of a jinja block."""
    pairs: list[tuple[str, Any]] = []
    lines = [line for line in block.text.splitlines() if line.strip()]
    # Checked before pairing: an odd line is an expression without its stated value.
    if len(lines) % 2 or not lines:
        raise AssertionError(f"{block.id}: a jinja block is pairs of expression and '# =>' lines")
    for expression, stated in zip(lines[::2], lines[1::2], strict=True):
        inner = re.fullmatch(r"\{\{\s*(.+?)\s*\}\}", expression.strip())
        value = re.fullmatch(r"#\s*=>\s*(.*)", stated.strip())
        if not inner or not value:
            raise AssertionError(f"{block.id}: expected '{{{{ expression }}}}' then "
                                 f"'# => value', got {expression!r} and {stated!r}")
        pairs.append((inner[1], yaml.safe_load(value[1])))
    return pairs


def _playbook_for(block: Block, options: dict[str, str], kind: str, work: Path,
                  ca_path: Path) -> list[Any]:
    """The playbook that executes a playbook, tasks, vars or jinja block."""
    text = block.text
    if "ca" in options:
        text = text.replace(options["ca"], str(ca_path))
    if "tmp" in options:
        text = text.replace(options["tmp"], str(work / "tmp-dir"))
    hosts = options.get("hosts", "iscsi_hosts")
    if kind == "playbook":
        for stub in filter(None, options.get("stubs", "").split(",")):
            (work / stub).write_text("---\n- name: Stand-in for the doc's task file\n"
                                     "  ansible.builtin.meta: noop\n", encoding="utf-8")
        return [_with_wsman(play) for play in yaml.safe_load(text)]
    play: dict[str, Any] = {"name": f"docs example {block.id}", "hosts": hosts,
                            "gather_facts": False}
    if kind in ("tasks", "vars"):
        if kind == "vars":
            play["vars"] = yaml.safe_load(text)
        tasks = [] if kind == "vars" else yaml.safe_load(text)
        if "role" in options:
            tasks = [{"name": "Run the role first", "ansible.builtin.include_role":
                      {"name": f"winiscsi.ipsec.{options['role']}"}}, *tasks]
        return [_with_wsman({**play, "tasks": tasks})]
    # jinja: read the facts, then check each stated value.
    checks = [{"name": f"{expression} is {value!r}",
               "vars": {"docs_expected": value},
               "ansible.builtin.assert": {"that": [f"({expression}) == docs_expected"],
                                          "fail_msg": f"{expression} is not {value!r}"}}
              for expression, value in _expected_values(block)]
    gather = {"name": "Read the facts", "winiscsi.ipsec.mmipsec_facts": None}
    return [_with_wsman({**play, "hosts": options.get("host", "db01"),
                         "tasks": [gather, *checks]})]


def execute(block: Block, endpoint: Endpoint, work: Path) -> Run:
    """Execute one block (not a message) in its own directory."""
    work.mkdir(parents=True)
    spec = PLANS[block.id]
    kind, options = str(spec.kind), spec.options
    if kind == "bash":
        install = work / "installed"
        if options.get("setup") == "tarball":
            built = _run([str(BIN / "ansible-galaxy"), "collection", "build", "--force",
                          "--output-path", str(work), str(ROOT)], work)
            if built.rc != 0:
                return Run(built.rc, built.stdout, "could not build the tarball\n" + built.stderr,
                           [])
            (work / "requirements.txt").write_text(
                (ROOT / "requirements.txt").read_text(encoding="utf-8"), encoding="utf-8")
            # Only the empty target: the installed copy must not count as already there.
            env = {"ANSIBLE_COLLECTIONS_PATH": str(install)}
        else:
            env = {}
        run = _run(["bash", "-euo", "pipefail", "-c", block.text], work, env)
        if "creates" in options and not (work / options["creates"]).exists():
            return Run(1, run.stdout, f"{options['creates']} was not created\n{run.stderr}", [])
        return run
    playbook = work / "example.yml"
    playbook.write_text(yaml.safe_dump(_playbook_for(block, options, kind, work, endpoint.ca_path),
                                       sort_keys=False), encoding="utf-8")
    command = [ANSIBLE_PLAYBOOK, "-i", str(endpoint.inventory_path), str(playbook)]
    if "extra" in options:
        command += ["-e", options["extra"]]
    return _run(command, work)


def message_pattern(text: str, numbers: bool) -> re.Pattern[str]:
    """The regex a quoted message must fully match (see the module docstring)."""
    parts = [re.escape(" ".join(part.split())) for part in text.strip().split("...")]
    pattern = ".*?".join(parts)
    pattern = PORT.sub(r"127\\.0\\.0\\.1:\\d+", pattern)
    if numbers:
        pattern = NUMBER.sub(r"\\d+(?:\\.\\d+)?", pattern)
    return re.compile(pattern, re.DOTALL)


def _strings(value: Any) -> Iterator[str]:
    """Every message-like string of a task result: msg, warnings, the fact's message."""
    if isinstance(value, str):
        yield " ".join(value.split())
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key in ("msg", "warnings", "message", "mmipsec", "ansible_facts"):
            if key in value:
                yield from _strings(value[key])


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    with Endpoint(SCENARIO, state_dir=tmp_path_factory.mktemp("endpoint")) as ep:
        yield ep


@pytest.fixture(scope="module")
def runs(endpoint: Endpoint, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Every runnable block, and the messages playbook (key "messages"), run in parallel."""
    base = tmp_path_factory.mktemp("docs-runs")
    messages_dir = base / "messages"
    messages_dir.mkdir()
    with ThreadPoolExecutor(max_workers=4) as pool:
        messages = pool.submit(_run, [
            ANSIBLE_PLAYBOOK, "-i", str(endpoint.inventory_path), str(MESSAGES_PLAYBOOK),
            "-e", json.dumps({"endpoint_state_dir": str(endpoint.state_dir),
                              "endpoint_support_dir": str(SUPPORT),
                              # certifi's public roots did not issue the test CA's cert.
                              "untrusted_ca_path": certifi.where()})], messages_dir)
        futures = {b.id: pool.submit(execute, b, endpoint, base / f"block-{n}")
                   for n, b in enumerate(RUNNABLE)}
        done = {block_id: future.result() for block_id, future in futures.items()}
        done["messages"] = messages.result()
    return done


def test_every_block_is_executed_or_marked_not_run() -> None:
    problems = [f"{b.id} ({b.lang or 'no language'}): {PLANS[b.id].problem}"
                for b in BLOCKS if PLANS[b.id].problem]
    assert not problems, "docs blocks without a way to test them:\n" + "\n".join(problems)
    # The finder really reads the docs: the README alone has a playbook and a shell block.
    assert any(b.doc == "README.md" and b.lang == "yaml" for b in BLOCKS)
    assert {PLANS[b.id].kind for b in EXECUTED} >= {"playbook", "jinja", "message", "bash"}


def test_marker_and_fence_parsing(tmp_path: Path) -> None:
    doc = tmp_path / "page.md"
    doc.write_text("text\n\n<!-- not-run: needs a real Windows host -->\n\n  ```powershell\n"
                   "  Get-Item x\n  ```\n\n```yaml\n- name: t\n  ansible.builtin.ping:\n```\n"
                   "<!-- not-run: short -->\n```\nplain\n```\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys.modules[__name__], "ROOT", tmp_path)
        blocks = find_blocks(doc)
    assert [(b.line, b.lang, b.text) for b in blocks] == [
        (5, "powershell", "Get-Item x\n"), (9, "yaml", "- name: t\n  ansible.builtin.ping:\n"),
        (14, "", "plain\n")]
    assert [(p.kind, p.reason, p.problem) for p in map(plan, blocks)] == [
        (None, "needs a real Windows host", None), ("tasks", None, None),
        (None, None, "its not-run marker gives no reason")]


@pytest.mark.parametrize("block", RUNNABLE, ids=[b.id for b in RUNNABLE])
def test_example_runs(block: Block, runs: dict[str, Run]) -> None:
    run = runs[block.id]
    assert run.rc == 0, f"{block.id} ({PLANS[block.id].kind}) failed:\n{run.tail()}"
    if PLANS[block.id].kind != "bash":
        statuses = {r["status"] for r in run.results}
        assert "ok" in statuses and not statuses & {"failed", "unreachable"}, run.tail()


@pytest.mark.parametrize("block", MESSAGES, ids=[b.id for b in MESSAGES])
def test_quoted_message_is_produced(block: Block, runs: dict[str, Run]) -> None:
    pattern = message_pattern(block.text, "numbers" in PLANS[block.id].options)
    produced = sorted({text for r in runs["messages"].results for text in _strings(r["result"])})
    assert any(pattern.fullmatch(text) for text in produced), (
        f"{block.id}: no run produced this message:\n{block.text}\nregex: {pattern.pattern}\n"
        "produced:\n" + "\n".join(produced))


def test_message_pattern_matches_only_the_stated_message() -> None:
    pattern = message_pattern("wsman: cannot connect to 127.0.0.1:34385 (user 'a'): ...\n"
                              "  refused", numbers=False)
    assert pattern.fullmatch("wsman: cannot connect to 127.0.0.1:1 (user 'a'): x y refused")
    assert not pattern.fullmatch("wsman: cannot connect to 127.0.0.2:1 (user 'a'): refused")
    assert not message_pattern("in 2 s", numbers=False).fullmatch("in 3 s")
    assert message_pattern("in 2 s", numbers=True).fullmatch("in 3.5 s")


def test_jinja_values_are_yaml() -> None:
    block = Block("x.md", 1, "jinja", "{{ a }}\n# => ['ROOT\\X']\n{{ b }}\n# => '2026-01-01Z'\n",
                  None)
    assert _expected_values(block) == [("a", ["ROOT\\X"]), ("b", "2026-01-01Z")]
    odd = Block("x.md", 1, "jinja", "{{ a }}\n", None)
    with pytest.raises(AssertionError, match=re.escape(
            "x.md:1: a jinja block is pairs of expression and '# =>' lines")):
        _expected_values(odd)
