"""The five imbalances of the guide as pure rules over the user's own numbers.

Every threshold is a :class:`Threshold` that quotes the guide sentence it comes from
(``tests/test_assessment.py`` checks each quote is in the guide). Where the guide gives a
range, the docstring beside the constant says which value we chose and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from bot.assessment.models import AssessmentInput, Finding, FindingSide, RepsPerSide

IMBALANCES = "Common Plantar Flexion Imbalances"
_TITLES = {
    "gastrocnemius_dominance": "Imbalance 1: Gastrocnemius Dominance with Soleus Weakness",
    "bilateral_asymmetry": "Imbalance 2: Bilateral Asymmetry (Left-Right Difference)",
    "peroneal_weakness": "Imbalance 3: Peroneal Weakness and Ankle Instability",
    "tibialis_posterior_weakness": (
        "Imbalance 4: Tibialis Posterior Weakness and Medial Arch Collapse"
    ),
    "overall_weakness": "Imbalance 5: Overall Plantar Flexor Weakness (Bilateral Calf Deficit)",
}
SECTION = {key: f"{IMBALANCES} > {title}" for key, title in _TITLES.items()}


@dataclass(frozen=True)
class Threshold:
    """A number from the guide, with the sentence that gives it."""

    value: float | Fraction
    quote: str


BENT_TO_STRAIGHT_RATIO = Threshold(
    Fraction(2, 3),  # exact, so 10 against 15 is on the line, not a rounding error away
    "A client with gastrocnemius dominance will often perform 15 to 20 clean reps with a "
    "straight knee but struggle to complete 10 with the knee bent.",
)
"""Gastrocnemius dominance when bent-knee reps <= 2/3 of straight-knee reps on a side.

The guide's example is 10 bent against 15 to 20 straight, a ratio of 0.50 to 0.67. We flag
at or below the top of that range (10/15) so the most common imbalance in gym populations is not
missed; the soleus, being slow-twitch, should manage at least as many reps as the
gastrocnemius, so a ratio of 2/3 or less is "well below" by any reading."""

ASYMMETRY = Threshold(
    0.15,
    "A difference of 10-15% or more in performance between sides warrants targeted "
    "unilateral correction.",
)
"""Bilateral asymmetry when (stronger - weaker) / stronger >= 15 % in either test.

The guide gives 10-15 %. We take 15 %, the end of the range at which every reading of the
sentence warrants correction: at the rep counts people manage (10 to 30), 10 % is one to
three reps, inside the noise of counting reps to fatigue at home."""

BALANCE_ASYMMETRY = Threshold(
    0.30,
    "Balance asymmetry of more than 30% between sides is a reliable indicator of "
    "compromised ankle stability.",
)
"""Peroneal weakness when (longer - shorter) / longer balance time is more than 30 %."""

SPRAIN_HISTORY_QUOTE = "Address peroneal weakness in any client with a history of ankle sprains."
"""A history of ankle sprains alone makes peroneal work worthwhile (the guide's conclusion)."""

MIN_SINGLE_LEG_REPS = Threshold(
    25,
    "The clinical sign is an inability to perform 25 single-leg calf raises on either side",
)
"""Overall weakness when straight-knee single-leg raises are fewer than 25 on both sides."""

HEEL_VALGUS_QUOTE = (
    "If the heel tilts into valgus (rolling inward) during the rise, tibialis posterior "
    "weakness or dysfunction is likely."
)
TIB_POST_HISTORY_QUOTE = (
    "Flat feet under load, particularly when combined with medial ankle pain or shin splints, "
    "suggest tibialis posterior involvement."
)

THRESHOLDS = (BENT_TO_STRAIGHT_RATIO, ASYMMETRY, BALANCE_ASYMMETRY, MIN_SINGLE_LEG_REPS)
QUOTES = (SPRAIN_HISTORY_QUOTE, HEEL_VALGUS_QUOTE, TIB_POST_HISTORY_QUOTE)


def _side(left: bool, right: bool) -> FindingSide:
    if left and right:
        return "both"
    if left:
        return "left"
    return "right" if right else None


def _deficit(a: float, b: float) -> float:
    """Relative shortfall of the smaller value against the larger (0 when equal)."""
    high = max(a, b)
    return (high - min(a, b)) / high if high else 0.0


def gastrocnemius_dominance(data: AssessmentInput) -> Finding | None:
    straight, bent = data.straight_knee_reps, data.bent_knee_reps
    flagged = {
        side: getattr(bent, side) <= BENT_TO_STRAIGHT_RATIO.value * getattr(straight, side)
        for side in ("left", "right")
    }
    side = _side(flagged["left"], flagged["right"])
    if side is None:
        return None
    parts = [
        f"{s}: {getattr(bent, s)} bent-knee vs {getattr(straight, s)} straight-knee reps"
        for s in ("left", "right")
        if flagged[s]
    ]
    return Finding(
        id="gastrocnemius_dominance",
        side=side,
        evidence="; ".join(parts) + " (bent-knee at or below 2/3 of straight-knee)",
        section=SECTION["gastrocnemius_dominance"],
    )


def _weaker(reps: RepsPerSide) -> str | None:
    if reps.left == reps.right:
        return None
    return "left" if reps.left < reps.right else "right"


def bilateral_asymmetry(data: AssessmentInput) -> Finding | None:
    tests = {"straight-knee": data.straight_knee_reps, "bent-knee": data.bent_knee_reps}
    uneven = {
        name: reps
        for name, reps in tests.items()
        if _deficit(reps.left, reps.right) >= ASYMMETRY.value
    }
    if not uneven:
        return None
    # The weaker side is the one behind in the larger deficit.
    reps = max(uneven.values(), key=lambda r: _deficit(r.left, r.right))
    weaker = _weaker(reps)
    evidence = "; ".join(
        f"{test}: left {r.left} vs right {r.right} reps "
        f"({_deficit(r.left, r.right):.0%} less on the {_weaker(r)})"
        for test, r in uneven.items()
    )
    return Finding(
        id="bilateral_asymmetry",
        side=weaker,  # type: ignore[arg-type]
        evidence=f"{evidence}; weaker side: {weaker}",
        section=SECTION["bilateral_asymmetry"],
    )


def peroneal_weakness(data: AssessmentInput) -> Finding | None:
    sprains = "ankle_sprain" in data.history
    balance = data.balance_seconds
    if balance is not None and _deficit(balance.left, balance.right) > BALANCE_ASYMMETRY.value:
        shorter = "left" if balance.left < balance.right else "right"
        evidence = (
            f"single-leg balance: left {balance.left} s vs right {balance.right} s "
            f"({_deficit(balance.left, balance.right):.0%} shorter on the {shorter}, over 30%)"
        )
        if sprains:
            evidence += "; history of ankle sprains adds weight"
        return Finding(
            id="peroneal_weakness",
            side=shorter,
            evidence=evidence,
            section=SECTION["peroneal_weakness"],
        )
    if sprains:
        detail = (
            f" (balance: left {balance.left} s vs right {balance.right} s, within 30%)"
            if balance is not None
            else " (balance test skipped)"
        )
        return Finding(
            id="peroneal_weakness",
            side=None,
            evidence="history of ankle sprains" + detail,
            section=SECTION["peroneal_weakness"],
        )
    return None


def tibialis_posterior_weakness(data: AssessmentInput) -> Finding | None:
    valgus = data.heel_valgus
    if valgus is None:
        return None
    side = _side(valgus.left, valgus.right)
    if side is None:
        return None
    where = "both heels" if side == "both" else f"{side} heel"
    evidence = f"{where} rolled inward (valgus) during the single-leg raise"
    related = [
        h.replace("_", " ") for h in data.history if h in {"medial_ankle_pain", "shin_splints"}
    ]
    if related:
        evidence += f"; history of {' and '.join(related)} supports it"
    return Finding(
        id="tibialis_posterior_weakness",
        side=side,
        evidence=evidence,
        section=SECTION["tibialis_posterior_weakness"],
    )


def overall_weakness(data: AssessmentInput) -> Finding | None:
    reps = data.straight_knee_reps
    if reps.left >= MIN_SINGLE_LEG_REPS.value or reps.right >= MIN_SINGLE_LEG_REPS.value:
        return None
    return Finding(
        id="overall_weakness",
        side="both",
        evidence=f"single-leg calf raises: left {reps.left}, right {reps.right} "
        "(fewer than 25 on both sides)",
        section=SECTION["overall_weakness"],
    )


RULES = (
    gastrocnemius_dominance,
    bilateral_asymmetry,
    peroneal_weakness,
    tibialis_posterior_weakness,
    overall_weakness,
)


def find_imbalances(data: AssessmentInput) -> tuple[Finding, ...]:
    """Every imbalance the numbers show, in the guide's order."""
    return tuple(f for rule in RULES if (f := rule(data)) is not None)


def assess(data: AssessmentInput):  # -> AssessmentResult
    """Findings and a program; a red flag means a referral and nothing else."""
    from bot.assessment.models import AssessmentResult
    from bot.assessment.program import build_program

    if data.red_flags:
        return AssessmentResult(findings=(), referral=True, program=None)
    findings = find_imbalances(data)
    return AssessmentResult(
        findings=findings, referral=False, program=build_program(data, findings)
    )
