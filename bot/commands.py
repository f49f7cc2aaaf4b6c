"""The one command table: routing, the Telegram menu and /help all come from it.

The rows are data (``knowledge/data/commands.yaml``); the handlers are bound by name in
the engine (commands over the conversation state) and in the conversation service
(commands that need the store). :meth:`CommandTable.check_bound` runs at start-up, so a
row without a handler or a handler without a row stops the bot instead of leaving a
command unanswered. A command that is not in the table gets a reply that lists the ones
that are, on every channel.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from knowledge.texts import CommandSpec, Phrases, load_commands

_COMMAND = re.compile(r"^/(?P<name>[A-Za-z0-9_]{1,64})(?:@\w+)?(?:\s+(?P<argument>.*))?$", re.S)


class CommandBindingError(RuntimeError):
    """The command table and the bound handlers disagree (a start-up error)."""


@dataclass(frozen=True)
class ParsedCommand:
    """``/name@bot argument`` split up; ``spec`` is None for a command we don't know."""

    name: str
    argument: str
    spec: CommandSpec | None


class CommandTable:
    """The commands CalfCoach knows, in menu order."""

    def __init__(self, specs: Iterable[CommandSpec] | None = None) -> None:
        self.specs: tuple[CommandSpec, ...] = tuple(specs or load_commands())
        self._by_name = {spec.name: spec for spec in self.specs}

    def parse(self, text: str) -> ParsedCommand | None:
        """The command in ``text``, or None when the text is not a command at all."""
        match = _COMMAND.match(text.strip())
        if match is None:
            return None
        name = match["name"].lower()
        return ParsedCommand(name, (match["argument"] or "").strip(), self._by_name.get(name))

    def check_bound(self, handlers: Iterable[str]) -> None:
        """Every row has exactly one handler and every handler a row, or raise."""
        bound = list(handlers)
        twice = sorted({n for n in bound if bound.count(n) > 1})
        missing = sorted(set(self._by_name) - set(bound))
        unknown = sorted(set(bound) - set(self._by_name))
        if twice or missing or unknown:
            raise CommandBindingError(
                f"command table and handlers disagree: bound twice {twice}, "
                f"without a handler {missing}, not in commands.yaml {unknown}"
            )

    def menu(self) -> list[tuple[str, str]]:
        """``(name, description)`` for the channel's command menu (Telegram's /setMyCommands)."""
        return [(spec.name, spec.menu) for spec in self.specs if spec.menu]

    def help_text(self, phrases: Phrases, *, in_test: bool) -> str:
        """/help: in the self-test, the test's own commands; otherwise what CalfCoach does."""
        if in_test:
            lines = [s.help_line for s in self.specs if s.in_test == "test"]
            return "\n".join([phrases.test_commands_heading, *lines, phrases.test_questions_hint])
        lines = [s.help_line for s in self.specs if s.in_test != "test" and s.name != "start"]
        return f"{phrases.intro}\n\n{phrases.examples}\n\n{phrases.commands_heading}\n" + "\n".join(
            lines
        )

    def known_commands_text(self) -> str:
        """The commands usable outside the self-test, for the unknown-command reply."""
        return " ".join(f"/{s.name}" for s in self.specs if s.in_test != "test")
