"""The ids the assessment code names, checked against ``knowledge/data`` at start-up.

The data is the one source of history items and imbalances; code that reacts to one names
it here, and :func:`check_ids` refuses to start when the data has no such id, so a typo
or a renamed entry fails loudly instead of silently never matching.
"""

from __future__ import annotations

from knowledge.models import Knowledge

# History items the rules and the program react to (knowledge/data/history.yaml).
ANKLE_SPRAIN = "ankle_sprain"
ACHILLES_PAIN = "achilles_pain"
CALF_STRAIN = "calf_strain"
PLANTAR_FASCIITIS = "plantar_fasciitis"
SHIN_SPLINTS = "shin_splints"
MEDIAL_ANKLE_PAIN = "medial_ankle_pain"
HISTORY_USED = (
    ANKLE_SPRAIN,
    ACHILLES_PAIN,
    CALF_STRAIN,
    PLANTAR_FASCIITIS,
    SHIN_SPLINTS,
    MEDIAL_ANKLE_PAIN,
)

# Imbalances with a rule (knowledge/data/imbalances.yaml).
GASTROCNEMIUS_DOMINANCE = "gastrocnemius_dominance"
BILATERAL_ASYMMETRY = "bilateral_asymmetry"
PERONEAL_WEAKNESS = "peroneal_weakness"
TIBIALIS_POSTERIOR_WEAKNESS = "tibialis_posterior_weakness"
OVERALL_WEAKNESS = "overall_weakness"
IMBALANCES_USED = (
    GASTROCNEMIUS_DOMINANCE,
    BILATERAL_ASYMMETRY,
    PERONEAL_WEAKNESS,
    TIBIALIS_POSTERIOR_WEAKNESS,
    OVERALL_WEAKNESS,
)

# Exercises the program prescribes (knowledge/data/exercises.yaml).
STANDING_CALF_RAISE = "standing_calf_raise"
SEATED_CALF_RAISE = "seated_calf_raise"
SINGLE_LEG_STRAIGHT = "single_leg_calf_raise_straight"
SINGLE_LEG_BENT = "single_leg_calf_raise_bent"
ECCENTRIC_CALF_RAISE = "eccentric_calf_raise"
BAND_EVERSION = "band_eversion"
SINGLE_LEG_BALANCE = "single_leg_balance"
BAND_INVERSION = "band_inversion"
INVERSION_HEEL_RISE = "single_leg_heel_raise_inversion_bias"
TOE_GRIPPING = "toe_gripping"
STRETCH_STRAIGHT = "calf_stretch_straight_knee"
STRETCH_BENT = "calf_stretch_bent_knee"
EXERCISES_USED = (
    STANDING_CALF_RAISE,
    SEATED_CALF_RAISE,
    SINGLE_LEG_STRAIGHT,
    SINGLE_LEG_BENT,
    ECCENTRIC_CALF_RAISE,
    BAND_EVERSION,
    SINGLE_LEG_BALANCE,
    BAND_INVERSION,
    INVERSION_HEEL_RISE,
    TOE_GRIPPING,
    STRETCH_STRAIGHT,
    STRETCH_BENT,
)
CALF_RAISES = frozenset(
    {
        STANDING_CALF_RAISE,
        SEATED_CALF_RAISE,
        SINGLE_LEG_STRAIGHT,
        SINGLE_LEG_BENT,
        ECCENTRIC_CALF_RAISE,
        INVERSION_HEEL_RISE,
    }
)
"""The exercises that count toward the guide's 10-15 weekly calf-raise sets."""


class UnknownIdError(ValueError):
    """Code names an id the knowledge data does not have."""


def check_ids(knowledge: Knowledge) -> None:
    """Raise :class:`UnknownIdError` naming every id the code uses and the data lacks."""
    problems = []
    history = {h.id for h in knowledge.history}
    problems += [f"history {i!r}" for i in HISTORY_USED if i not in history]
    imbalances = {i.id for i in knowledge.imbalances}
    problems += [f"imbalance {i!r}" for i in IMBALANCES_USED if i not in imbalances]
    exercises = {e.id for e in knowledge.exercises}
    problems += [f"exercise {i!r}" for i in EXERCISES_USED if i not in exercises]
    if problems:
        raise UnknownIdError(
            "the assessment code names ids missing from knowledge/data: " + ", ".join(problems)
        )
