"""What a report says, gathered from stored self-tests: pure data, no drawing.

The same summaries serve /clients ("findings in a few words", "change since the previous
test") and the coach's notification, so a coach reads the same words everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.assessment.models import AssessmentInput, AssessmentResult
from bot.assessment.report import DatedResult, dose, finding_name
from knowledge.models import Knowledge
from knowledge.texts import ReportWords


@dataclass(frozen=True)
class Session:
    """One day of the week's program: its title and (exercise, dose) lines."""

    title: str
    lines: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ReportContent:
    """Everything the page shows, in the words it shows it."""

    name: str
    taken_at: datetime
    previous_at: datetime | None
    data: AssessmentInput
    previous: AssessmentInput | None
    findings: tuple[tuple[str, str], ...]  # (name and side, evidence with the numbers)
    program_heading: str | None  # None: no program (a referral)
    sessions: tuple[Session, ...]
    program_footnote: str


def _side(result_side: str | None, knowledge: Knowledge) -> str:
    words = knowledge.assessment_text.findings
    if result_side == "both":
        return words.side_both
    return words.side_one.format(side=result_side) if result_side else ""


def findings_summary(result: AssessmentResult, knowledge: Knowledge, none: str) -> str:
    """The findings in a few words ("Gastrocnemius dominance (left), ..."), or ``none``:
    each short name without its parenthesis, the side in one word."""
    names = []
    for finding in result.findings:
        name = re.sub(r"\s*\([^)]*\)", "", finding_name(finding.id, knowledge))
        names.append(f"{name} ({finding.side})" if finding.side else name)
    return ", ".join(names) or none


def change_summary(now: AssessmentInput, before: AssessmentInput, words: ReportWords) -> str:
    """Each test's numbers now with their change since ``before`` ("L 24 (+2), R 21 (=)");
    an empty string when nothing changed."""
    tests = [
        (words.straight, now.straight_knee_reps, before.straight_knee_reps),
        (words.bent, now.bent_knee_reps, before.bent_knee_reps),
        (words.balance, now.balance_seconds, before.balance_seconds),
    ]
    items = []
    for name, current, earlier in tests:
        if current is None or earlier is None:
            continue
        if (current.left, current.right) == (earlier.left, earlier.right):
            continue
        items.append(
            words.change_item.format(
                test=name,
                left=_change(current.left, earlier.left),
                right=_change(current.right, earlier.right),
            )
        )
    return "; ".join(items)


def _change(now: int, before: int) -> str:
    diff = now - before
    return f"{now} ({'+' if diff > 0 else ''}{diff})" if diff else f"{now} (=)"


def build_report(
    results: Sequence[DatedResult], name: str, knowledge: Knowledge
) -> ReportContent | None:
    """The report of the latest of ``results`` (oldest first), compared with the one
    before it; None when there is no self-test to report."""
    if not results:
        return None
    latest = results[-1]
    before = results[-2] if len(results) > 1 else None
    result = latest.result
    findings = tuple(
        (finding_name(f.id, knowledge) + _side(f.side, knowledge), f.evidence)
        for f in result.findings
    )
    program = result.program
    words = knowledge.assessment_text.program
    sessions: list[Session] = []
    heading = None
    if program is not None:
        heading = words.heading.format(
            sessions=program.sessions_per_week,
            sets=program.weekly_sets,
            weeks=program.retest_after_weeks,
        )
        for day in program.days or ("A", "B"):
            focus = ""
            if program.seated_days:
                seated = day in program.seated_days
                focus = words.focus_seated if seated else words.focus_standing
            lines = tuple((e.name, dose(e, knowledge)) for e in program.session(day))
            sessions.append(Session(words.day.format(day=day, focus=focus), lines))
    return ReportContent(
        name=name,
        taken_at=latest.taken_at,
        previous_at=before.taken_at if before else None,
        data=latest.input,
        previous=before.input if before else None,
        findings=findings,
        program_heading=heading,
        sessions=tuple(sessions),
        program_footnote=" ".join([*(program.plan_notes if program else ()), words.spacing]),
    )
