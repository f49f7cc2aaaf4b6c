"""What the numbers cannot show, or show just under a threshold: notes beside the findings.

A finding needs numbers to compare; these cover the cases around the rules: zero reps
(nothing to compare), a left-right gap of 10-15 % (the guide's range starts at 10, our
finding at 15) and a heel alignment nobody could judge. Wording: ``assessment_text.yaml``.
"""

from __future__ import annotations

from bot.assessment.models import AssessmentInput
from bot.assessment.rules import deficit, weaker
from bot.assessment.thresholds import ASYMMETRY, NEAR_ASYMMETRY
from knowledge.models import Knowledge


def zero_reps_note(data: AssessmentInput, knowledge: Knowledge) -> str | None:
    """Name every raise at 0 reps: what it may mean, and a clinician when new or after injury."""
    tests = (("knee straight", data.straight_knee_reps), ("knee bent", data.bent_knee_reps))
    zeros = [
        f"{side} leg, {name}"
        for name, reps in tests
        for side in ("left", "right")
        if getattr(reps, side) == 0
    ]
    if not zeros:
        return None
    return knowledge.assessment_text.findings.zero_reps.format(where="; ".join(zeros))


def near_asymmetry_note(data: AssessmentInput, knowledge: Knowledge) -> str | None:
    """A 10-15 % gap: below our finding, inside the guide's range, so say what it says."""
    tests = {"straight-knee": data.straight_knee_reps, "bent-knee": data.bent_knee_reps}
    gaps = {name: deficit(r.left, r.right) for name, r in tests.items()}
    if any(gap >= ASYMMETRY.value for gap in gaps.values()):
        return None  # the finding covers it
    name, gap = max(gaps.items(), key=lambda item: item[1])
    if gap < NEAR_ASYMMETRY.value:
        return None
    return knowledge.assessment_text.findings.near_asymmetry.format(
        test=name, pct=f"{gap:.0%}", weaker=weaker(tests[name])
    )


def heel_note(data: AssessmentInput, knowledge: Knowledge) -> str | None:
    if data.heel_valgus is not None:
        return None
    return knowledge.assessment_text.findings.heel_not_judged


def result_notes(data: AssessmentInput, knowledge: Knowledge) -> tuple[str, ...]:
    notes = (
        zero_reps_note(data, knowledge),
        near_asymmetry_note(data, knowledge),
        heel_note(data, knowledge),
    )
    return tuple(n for n in notes if n)
