"""Results in, outcome out: findings, notes and a program, or a referral naming its urgency.

Apart from the rules (which only find) and the program (which only builds), so neither
imports the other.
"""

from __future__ import annotations

from bot.assessment.ids import check_ids
from bot.assessment.models import AssessmentInput, AssessmentResult, Urgency
from bot.assessment.notes import result_notes
from bot.assessment.program import build_program
from bot.assessment.rules import find_imbalances
from knowledge.facts import load_facts
from knowledge.models import Knowledge

_URGENCY_ORDER: tuple[Urgency, ...] = ("emergency", "same_day", "soon")


def referral_urgency(red_flags: tuple[str, ...], knowledge: Knowledge) -> Urgency | None:
    """The most urgent level among the reported red flags (from red_flags.yaml)."""
    levels = {flag.urgency for flag in knowledge.red_flags if flag.id in red_flags}
    return next((u for u in _URGENCY_ORDER if u in levels), None)


def assess(data: AssessmentInput, knowledge: Knowledge | None = None) -> AssessmentResult:
    """Findings and a program; a red flag means a referral and nothing else."""
    knowledge = knowledge or load_facts()
    check_ids(knowledge)
    if data.red_flags:
        return AssessmentResult(
            findings=(),
            referral=True,
            program=None,
            urgency=referral_urgency(data.red_flags, knowledge) or "same_day",
        )
    findings = find_imbalances(data, knowledge)
    return AssessmentResult(
        findings=findings,
        referral=False,
        program=build_program(data, findings, knowledge),
        notes=result_notes(data, knowledge),
    )
