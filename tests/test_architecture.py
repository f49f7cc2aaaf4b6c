"""The house rules, checked: no import cycles, the running bot never imports tooling, the
command table and its handlers agree, phrases render, and unknown ids stop the start."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

from bot.commands import CommandBindingError, CommandTable
from knowledge.texts import load_phrases

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "index", "knowledge", "tooling")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def import_graph() -> dict[str, set[str]]:
    """Every import between the project's modules, at module level or inside functions
    (a lazy import still makes a cycle), except those only for type checking."""
    modules = {
        _module_name(p): p
        for package in PACKAGES
        for p in (REPO / package).rglob("*.py")
        if "migrations" not in p.parts
    }
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        type_only = {
            id(child)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for child in ast.walk(node)
        }
        for node in ast.walk(tree):
            if id(node) in type_only:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                # "from pkg import mod" depends on pkg.mod, "from mod import name" on mod
                # (a parent package always runs first; that is not an edge of ours).
                base = _resolve(name, node, path.name == "__init__.py")
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph[module])
    return seen


def test_no_import_cycles() -> None:
    graph = import_graph()
    try:
        list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")


def test_cycle_check_can_fail() -> None:
    with pytest.raises(CycleError):
        list(TopologicalSorter({"a": {"b"}, "b": {"a"}}).static_order())


@pytest.mark.parametrize(
    "entry", ["bot.bootstrap", "bot.telegram.app", "bot.terminal", "bot.conversation"]
)
def test_runtime_never_reaches_tooling(entry: str) -> None:
    tooling = sorted(m for m in reachable(import_graph(), entry) if m.startswith("tooling"))
    assert tooling == [], f"{entry} reaches {tooling}"


def test_the_running_bot_imports_no_tooling(settings) -> None:
    """Build the whole Telegram application as `calfcoach telegram` does, in a fresh
    process, and list what got imported."""
    script = (
        "import json, sys\n"
        "from pydantic import SecretStr\n"
        "from bot.bootstrap import bootstrap\n"
        "from bot.settings import Settings\n"
        "from bot.telegram.app import create_application\n"
        f"settings = Settings(data_dir={str(settings.data_dir)!r}, "
        f"index_dir={str(settings.resolved_index_dir)!r}, database_url='memory', "
        "telegram_bot_token=SecretStr('1:x'))\n"
        "create_application(bootstrap(settings))\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'tooling')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_command_table_and_handlers_must_agree(make_app) -> None:
    app = make_app()
    table = app.engine.commands
    bound = [*app.engine.command_handlers, *app.conversations.store_commands]
    table.check_bound(bound)  # what the bot does at start-up
    with pytest.raises(CommandBindingError, match=re.escape("without a handler ['privacy']")):
        table.check_bound([n for n in bound if n != "privacy"])
    with pytest.raises(CommandBindingError, match=re.escape("not in commands.yaml ['nope']")):
        table.check_bound([*bound, "nope"])


def test_an_unbound_command_row_stops_the_start(make_app) -> None:
    from knowledge.texts import CommandSpec

    app = make_app()
    extra = CommandSpec(name="squads", menu="Squads", in_test="reask")
    table = CommandTable([*app.engine.commands.specs, extra])
    from bot.conversation import Conversations
    from bot.engine import Engine

    with pytest.raises(CommandBindingError, match="squads"):
        Conversations(Engine(app.qa, commands=table), app.store)


def test_every_phrase_renders_with_its_fields() -> None:
    phrases = load_phrases()
    for name in type(phrases).model_fields:
        fields = phrases.fields_of(name)
        text = getattr(phrases, name).format(**{f: "X" for f in fields})
        assert text.strip(), name
