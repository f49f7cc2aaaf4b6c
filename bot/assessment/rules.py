"""The five imbalances of the guide as pure rules over the user's own numbers.

Every number comes from :mod:`bot.assessment.thresholds` (each quoting its guide sentence);
the guide section of a finding comes from ``knowledge/data/imbalances.yaml``. A rule that
compares two numbers is not judged where there is nothing to compare (zero reps): those
get a note instead (:mod:`bot.assessment.notes`).
"""

from __future__ import annotations

from collections.abc import Callable

from bot.assessment import ids
from bot.assessment.models import AssessmentInput, Finding, FindingSide, RepsPerSide
from bot.assessment.thresholds import (
    ASYMMETRY,
    BALANCE_ASYMMETRY,
    BENT_TO_STRAIGHT_RATIO,
    MIN_SINGLE_LEG_REPS,
)
from knowledge.facts import load_facts
from knowledge.models import Knowledge

SIDES = ("left", "right")


def _side(left: bool, right: bool) -> FindingSide:
    if left and right:
        return "both"
    if left:
        return "left"
    return "right" if right else None


def deficit(a: float, b: float) -> float:
    """Relative shortfall of the smaller value against the larger (0 when equal)."""
    high = max(a, b)
    return (high - min(a, b)) / high if high else 0.0


def weaker(reps: RepsPerSide) -> str | None:
    if reps.left == reps.right:
        return None
    return "left" if reps.left < reps.right else "right"


def _finding(knowledge: Knowledge, imbalance: str, side: FindingSide, evidence: str) -> Finding:
    return Finding(
        id=imbalance,
        side=side,
        evidence=evidence,
        section=knowledge.imbalance(imbalance).section,
    )


def gastrocnemius_dominance(data: AssessmentInput, knowledge: Knowledge) -> Finding | None:
    straight, bent = data.straight_knee_reps, data.bent_knee_reps
    flagged = {
        # No straight-knee rep, no ratio: 0 against 0 is not "bent below straight".
        side: getattr(straight, side) > 0
        and getattr(bent, side) <= BENT_TO_STRAIGHT_RATIO.value * getattr(straight, side)
        for side in SIDES
    }
    side = _side(flagged["left"], flagged["right"])
    if side is None:
        return None
    parts = [
        f"{s}: {getattr(bent, s)} bent-knee vs {getattr(straight, s)} straight-knee reps"
        for s in SIDES
        if flagged[s]
    ]
    evidence = "; ".join(parts) + " (bent-knee at or below 2/3 of straight-knee)"
    return _finding(knowledge, ids.GASTROCNEMIUS_DOMINANCE, side, evidence)


def bilateral_asymmetry(data: AssessmentInput, knowledge: Knowledge) -> Finding | None:
    tests = {"straight-knee": data.straight_knee_reps, "bent-knee": data.bent_knee_reps}
    uneven = {
        name: reps
        for name, reps in tests.items()
        if deficit(reps.left, reps.right) >= ASYMMETRY.value
    }
    if not uneven:
        return None
    # The weaker side is the one behind in the larger deficit.
    reps = max(uneven.values(), key=lambda r: deficit(r.left, r.right))
    weak = weaker(reps)
    evidence = "; ".join(
        f"{test}: left {r.left} vs right {r.right} reps "
        f"({deficit(r.left, r.right):.0%} less on the {weaker(r)})"
        for test, r in uneven.items()
    )
    return _finding(
        knowledge,
        ids.BILATERAL_ASYMMETRY,
        weak,  # type: ignore[arg-type]
        f"{evidence}; weaker side: {weak}",
    )


def peroneal_weakness(data: AssessmentInput, knowledge: Knowledge) -> Finding | None:
    sprains = ids.ANKLE_SPRAIN in data.history
    balance = data.balance_seconds
    if balance is not None and deficit(balance.left, balance.right) > BALANCE_ASYMMETRY.value:
        shorter = "left" if balance.left < balance.right else "right"
        evidence = (
            f"single-leg balance: left {balance.left} s vs right {balance.right} s "
            f"({deficit(balance.left, balance.right):.0%} shorter on the {shorter}, over 30%)"
        )
        if sprains:
            evidence += "; history of ankle sprains adds weight"
        return _finding(knowledge, ids.PERONEAL_WEAKNESS, shorter, evidence)  # type: ignore[arg-type]
    if sprains:
        detail = (
            f" (balance: left {balance.left} s vs right {balance.right} s, within 30%)"
            if balance is not None
            else " (balance test skipped)"
        )
        return _finding(knowledge, ids.PERONEAL_WEAKNESS, None, "history of ankle sprains" + detail)
    return None


def tibialis_posterior_weakness(data: AssessmentInput, knowledge: Knowledge) -> Finding | None:
    valgus = data.heel_valgus
    if valgus is None:
        return None
    side = _side(valgus.left, valgus.right)
    if side is None:
        return None
    where = "both heels" if side == "both" else f"{side} heel"
    evidence = f"{where} rolled inward (valgus) during the single-leg raise"
    related = [
        h.replace("_", " ") for h in data.history if h in {ids.MEDIAL_ANKLE_PAIN, ids.SHIN_SPLINTS}
    ]
    if related:
        evidence += f"; history of {' and '.join(related)} supports it"
    return _finding(knowledge, ids.TIBIALIS_POSTERIOR_WEAKNESS, side, evidence)


def overall_weakness(data: AssessmentInput, knowledge: Knowledge) -> Finding | None:
    reps = data.straight_knee_reps
    if reps.left >= MIN_SINGLE_LEG_REPS.value or reps.right >= MIN_SINGLE_LEG_REPS.value:
        return None
    return _finding(
        knowledge,
        ids.OVERALL_WEAKNESS,
        "both",
        f"single-leg calf raises: left {reps.left}, right {reps.right} "
        "(fewer than 25 on both sides)",
    )


Rule = Callable[[AssessmentInput, Knowledge], Finding | None]
RULES: tuple[Rule, ...] = (
    gastrocnemius_dominance,
    bilateral_asymmetry,
    peroneal_weakness,
    tibialis_posterior_weakness,
    overall_weakness,
)


def find_imbalances(
    data: AssessmentInput, knowledge: Knowledge | None = None
) -> tuple[Finding, ...]:
    """Every imbalance the numbers show, in the guide's order."""
    knowledge = knowledge or load_facts()
    return tuple(f for rule in RULES if (f := rule(data, knowledge)) is not None)
