"""Findings and programs as chat text (plain; adapters escape and split it).

The same functions serve the terminal chat, Telegram and ``calfcoach assess``, so every
channel says the same thing. Words come from ``knowledge/data/assessment_text.yaml``.
Messages are short for a phone: findings first, then the week by session with one short
line per exercise, and the reasons in a message of their own (one tap away in the chat).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.assessment.models import (
    AssessmentInput,
    AssessmentResult,
    Finding,
    Program,
    ProgramExercise,
)
from knowledge.facts import load_facts
from knowledge.models import Knowledge


class DatedResult(Protocol):
    """A finished self-test as any store keeps it (``bot.storage.base.StoredResult``)."""

    @property
    def taken_at(self) -> datetime: ...
    @property
    def input(self) -> AssessmentInput: ...
    @property
    def result(self) -> AssessmentResult: ...


def _knowledge(knowledge: Knowledge | None) -> Knowledge:
    return knowledge or load_facts()


def finding_name(finding_id: str, knowledge: Knowledge | None = None) -> str:
    """The short name users see for an imbalance (its id if the data no longer has it)."""
    try:
        return _knowledge(knowledge).imbalance(finding_id).short_name
    except KeyError:
        return finding_id


def _side_text(finding: Finding, knowledge: Knowledge) -> str:
    words = knowledge.assessment_text.findings
    if finding.side == "both":
        return words.side_both
    if finding.side:
        return words.side_one.format(side=finding.side)
    return ""


def findings_text(result: AssessmentResult, knowledge: Knowledge | None = None) -> str:
    """What the numbers show, and the notes on what they cannot show."""
    knowledge = _knowledge(knowledge)
    words = knowledge.assessment_text.findings
    lines = [words.intro if result.findings else words.none]
    for n, finding in enumerate(result.findings, 1):
        item = words.item.format(
            n=n,
            name=finding_name(finding.id, knowledge),
            side=_side_text(finding, knowledge),
            evidence=finding.evidence,
            title=finding.section.split(" > ")[-1],
        )
        lines.append(f"\n{item}")
    if result.notes:
        lines.append(f"\n{words.notes_heading}")
        lines.extend(f"- {note}" for note in result.notes)
    return "\n".join(lines)


def referral_heading(result: AssessmentResult, knowledge: Knowledge | None = None) -> str:
    """The urgency of a referral in words ("see a clinician today"), for the CLI."""
    words = _knowledge(knowledge).assessment_text.referral
    return getattr(words, result.urgency or "same_day")


def _span(value: tuple[int, int] | int) -> str:
    if isinstance(value, tuple):
        return str(value[0]) if value[0] == value[1] else f"{value[0]}-{value[1]}"
    return str(value)


def dose(line: ProgramExercise, knowledge: Knowledge | None = None) -> str:
    """Sets by reps (or hold), each leg, tempo, rest, side first: one short line."""
    words = _knowledge(knowledge).assessment_text.program
    if line.hold_s is not None:
        what = words.hold.format(seconds=_span(line.hold_s))
    else:
        what = _span(line.reps) if line.reps is not None else ""
    parts = [
        words.dose.format(sets=line.sets, what=what)
        + (f" {words.each_leg}" if line.each_leg else "")
    ]
    if line.tempo:
        parts.append(line.tempo)
    if line.rest_s:
        parts.append(words.rest.format(seconds=line.rest_s))
    if line.priority_side:
        parts.append(words.first.format(side=line.priority_side))
    return ", ".join(parts)


def program_text(program: Program, knowledge: Knowledge | None = None) -> str:
    """The week by session: a heading, then each day's exercises, one short line each."""
    knowledge = _knowledge(knowledge)
    words = knowledge.assessment_text.program
    lines = [
        words.heading.format(
            sessions=program.sessions_per_week,
            sets=program.weekly_sets,
            weeks=program.retest_after_weeks,
        )
    ]
    days = program.days if program.days else ("A", "B")
    for day in days:
        focus = ""
        if program.seated_days:
            seated = day in program.seated_days
            focus = words.focus_seated if seated else words.focus_standing
        lines.append("\n" + words.day.format(day=day, focus=focus))
        lines.extend(
            words.line.format(name=line.name, dose=dose(line, knowledge))
            for line in program.session(day)
        )
    lines.append("")
    lines.extend(program.plan_notes)
    lines.append(words.spacing)
    return "\n".join(lines)


def reasons_text(program: Program, knowledge: Knowledge | None = None) -> str:
    """Why each exercise is there, and the program's general notes, each from the guide."""
    words = _knowledge(knowledge).assessment_text.program
    lines = [words.reasons_heading]
    by_reason: dict[str, list[str]] = {}
    for exercise in program.exercises:  # one reason for two stretches is said once
        by_reason.setdefault(exercise.why, []).append(exercise.name)
    lines.extend(
        words.reason_line.format(name=" and ".join(names), why=why)
        for why, names in by_reason.items()
    )
    if program.notes:
        lines.append(f"\n{words.notes_heading}")
        lines.extend(f"- {note}" for note in program.notes)
    return "\n".join(lines)


def result_messages(result: AssessmentResult, knowledge: Knowledge | None = None) -> dict[str, str]:
    """Every message of a finished test, by kind, in the order they are sent."""
    messages = {"findings": findings_text(result, knowledge)}
    if result.program is not None:
        messages["program"] = program_text(result.program, knowledge)
        messages["reasons"] = reasons_text(result.program, knowledge)
    return messages


def _change(now: int, before: int) -> str:
    diff = now - before
    return f"{now} ({'+' if diff > 0 else ''}{diff})" if diff else f"{now} (=)"


def history_text(results: Sequence[DatedResult], knowledge: Knowledge | None = None) -> str:
    """Earlier self-tests with dates and how each number changed since the one before."""
    if not results:
        return "No self-tests yet. Type /assess to take one."
    lines = [f"Your self-tests ({len(results)}):"]
    previous = None
    for stored in results:
        data = stored.input
        line = f"\n{stored.taken_at:%Y-%m-%d}:"
        tests = [
            ("straight knee", data.straight_knee_reps, previous and previous.straight_knee_reps),
            ("bent knee", data.bent_knee_reps, previous and previous.bent_knee_reps),
            ("balance s", data.balance_seconds, previous and previous.balance_seconds),
        ]
        for name, now, before in tests:
            if now is None:
                continue
            if before is None:
                line += f"\n  {name}: left {now.left}, right {now.right}"
            else:
                line += (
                    f"\n  {name}: left {_change(now.left, before.left)}, "
                    f"right {_change(now.right, before.right)}"
                )
        found = ", ".join(finding_name(f.id, knowledge) for f in stored.result.findings) or "none"
        line += f"\n  findings: {found}"
        lines.append(line)
        previous = data
    return "\n".join(lines)
