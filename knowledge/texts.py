"""What the bot says and which commands it knows, as validated data.

``knowledge/data/phrases.yaml`` holds every user-facing phrase of the engine and the
channels (the guide's own sentences live in the guide and the facts); each phrase is a
required field here, so a missing or misspelled key stops the bot at start-up instead of
reaching a user as a ``KeyError``. ``knowledge/data/commands.yaml`` is the one table of
commands; code binds a handler to each name and checks the binding at start-up.
"""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

DATA_DIR = Path(__file__).with_name("data")


class TextsError(ValueError):
    """The phrases or the command table do not match their schema."""


class Phrases(BaseModel):
    """Every phrase the engine and the channels use; ``{name}`` fields are filled by code."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    intro: str
    examples: str
    greeting: str
    commands_heading: str
    test_commands_heading: str
    test_questions_hint: str
    small_talk_thanks: str
    welcome_back_in_test: str
    resume_test: str
    no_test_running: str
    test_cancelled: str
    unknown_command: str
    start_test_button: str
    share_button: str
    faq_heading: str
    faq_unknown: str
    button_expired: str
    button_expired_test: str
    button_invalid: str
    button_other_step: str
    cannot_use_question: str
    out_of_scope: str
    out_of_scope_chat_suffix: str
    section_line: str
    sections_line: str
    privacy: str
    delete_confirm: str
    delete_yes_button: str
    delete_no_button: str
    deleted: str
    not_deleted: str
    reminder_text: str
    reminder_declined: str
    reminder_set: str
    reminder_unavailable: str
    something_went_wrong: str
    not_in_guide: str
    small_talk_ack: str
    small_talk_bye: str
    small_talk_in_test: str
    small_talk_in_test_thanks: str
    step_help_heading: str
    store_unavailable: str
    text_only: str
    edit_in_test: str
    edit_outside_test: str
    rate_limited: str
    button_not_yours: str
    button_inline: str
    reminder_already_set: str
    reminder_not_offered: str
    test_intro: str
    test_restarted: str
    first_question_already: str
    redo_answer: str

    def fields_of(self, name: str) -> set[str]:
        """The ``{placeholders}`` of one phrase (a test renders every phrase with them)."""
        return {f for _, f, _, _ in string.Formatter().parse(getattr(self, name)) if f}


class _Words(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def fields_of(self, name: str) -> set[str]:
        """The ``{placeholders}`` of one phrase (a test renders every phrase with them)."""
        return {f for _, f, _, _ in string.Formatter().parse(getattr(self, name)) if f}


class CoachWords(_Words):
    """What coach mode says (bot/coaching.py)."""

    default_coach_name: str
    default_client_name: str
    invite: str
    invite_code_only: str
    new_link_button: str
    new_link_made: str
    renamed: str
    name_invalid: str
    not_a_coach: str
    consent: str
    share_button: str
    decline_button: str
    shared: str
    declined: str
    link_invalid: str
    own_link: str
    already_shared: str
    new_client: str
    clients_none: str
    clients_heading: str
    client_line: str
    no_test_yet: str
    last_test: str
    findings_line: str
    findings_none: str
    change_first: str
    change_line: str
    change_none: str
    report_button: str
    retest_button: str
    faqs_button: str
    no_access: str
    retest_to_client: str
    retest_sent: str
    faq_choose: str
    faq_to_client: str
    faq_sent: str
    not_reached: str
    coaches_none: str
    coaches_heading: str
    coaches_line: str
    stop_button: str
    stopped: str
    stop_unknown: str
    test_done: str


class ReportWords(_Words):
    """What the report says, in the chat and on the page (bot/report/)."""

    nothing_yet: str
    client_nothing_yet: str
    caption: str
    client_caption: str
    pdf_button: str
    report_button: str
    pdf_caption: str
    title: str
    subtitle: str
    subtitle_no_name: str
    previous: str
    findings_heading: str
    no_findings: str
    chart_heading: str
    chart_legend: str
    chart_legend_previous: str
    straight: str
    bent: str
    balance: str
    change_item: str
    program_heading: str
    no_program: str
    footer: str


class CoachText(BaseModel):
    """``knowledge/data/coach_text.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    coach: CoachWords
    report: ReportWords


class CommandSpec(BaseModel):
    """One row of the command table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9_]{1,32}$", description="Without the slash.")
    menu: str | None = Field(description="Telegram menu description; None keeps it out.")
    help: str | None = Field(default=None, description="Line in /help; defaults to `menu`.")
    in_test: Literal["reask", "test"]

    @property
    def help_line(self) -> str:
        return f"/{self.name} - {self.help or self.menu or ''}".rstrip(" -")


def _load_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TextsError(f"cannot read {path}: {exc}") from exc


@lru_cache(maxsize=1)
def load_phrases(data_dir: Path = DATA_DIR) -> Phrases:
    """The phrases, validated (cached; raises :class:`TextsError`)."""
    try:
        return Phrases.model_validate(_load_yaml(data_dir / "phrases.yaml"))
    except ValidationError as exc:
        raise TextsError(f"knowledge/data/phrases.yaml is invalid: {exc}") from exc


@lru_cache(maxsize=1)
def load_coach_text(data_dir: Path = DATA_DIR) -> CoachText:
    """Coach mode's and the report's words, validated (cached; raises :class:`TextsError`)."""
    try:
        return CoachText.model_validate(_load_yaml(data_dir / "coach_text.yaml"))
    except ValidationError as exc:
        raise TextsError(f"knowledge/data/coach_text.yaml is invalid: {exc}") from exc


@lru_cache(maxsize=1)
def load_commands(data_dir: Path = DATA_DIR) -> tuple[CommandSpec, ...]:
    """The command table, validated, names unique (cached; raises :class:`TextsError`)."""
    raw = _load_yaml(data_dir / "commands.yaml")
    try:
        commands = tuple(CommandSpec.model_validate(row) for row in raw or [])  # type: ignore[union-attr]
    except (ValidationError, TypeError) as exc:
        raise TextsError(f"knowledge/data/commands.yaml is invalid: {exc}") from exc
    names = [c.name for c in commands]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise TextsError(f"knowledge/data/commands.yaml: duplicate commands {duplicates}")
    return commands
