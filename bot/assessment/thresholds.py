"""Every number the rules and the program use, each quoting the guide sentence it comes from.

A module of its own so the rules and the program both read it without importing each other
(``tests/test_assessment.py`` checks every quote is in the guide). Where the guide gives a
range, the docstring beside the constant says which value we chose and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class Threshold:
    """A number from the guide, with the sentence that gives it."""

    value: float | Fraction | tuple[int, int]
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
gastrocnemius, so a ratio of 2/3 or less is "well below" by any reading. A side with no
straight-knee rep has no ratio: the rule is not judged there (zero reps get their own note)."""

ASYMMETRY = Threshold(
    0.15,
    "A difference of 10-15% or more in performance between sides warrants targeted "
    "unilateral correction.",
)
"""Bilateral asymmetry when (stronger - weaker) / stronger >= 15 % in either test.

The guide gives 10-15 %. We take 15 %, the end of the range at which every reading of the
sentence warrants correction: at the rep counts people manage (10 to 30), 10 % is one to
three reps, inside the noise of counting reps to fatigue at home."""

NEAR_ASYMMETRY = Threshold(0.10, ASYMMETRY.quote)
"""From 10 % up to the 15 % above, people hear what the guide says about the gap (a note,
not a finding), so the lower end of its range is never met with silence."""

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

# -- programming -------------------------------------------------------------------------

SESSIONS_PER_WEEK = Threshold(
    2,
    "The plantar flexors, particularly the slow-twitch soleus, recover quickly from moderate "
    "loading and respond well to twice or three-times-weekly training.",
)
"""Two sessions: the low end of the guide's two to three. Gastrocnemius dominance gets three
(one standing, two seated) because the guide asks for seated sessions of their own."""

SEATED_SESSIONS = Threshold(
    2,
    "Program 2 to 3 seated calf raise sessions per week, separate from any standing calf work.",
)
"""Gastrocnemius dominance: two seated sessions (the low end), on days without standing work."""

WEEKLY_SETS = Threshold(
    (10, 15),
    "Ten to 15 direct working sets per week across both standing and seated variations is a "
    "reasonable target for clients seeking meaningful plantar flexor development or "
    "correcting an imbalance.",
)
"""Every program's calf-raise sets (standing, seated, single-leg, eccentric, inversion heel
rise) add up to 10-15 a week; ``build_program`` refuses to return one outside it."""

STRAIGHT_REPS = Threshold(
    (8, 15), "Programming for gastrocnemius hypertrophy: 3 to 4 sets of 8 to 15 reps."
)
BENT_REPS = Threshold(
    (15, 25),
    "Programming for soleus: 3 to 4 sets of 15 to 25 reps with a slow, controlled tempo.",
)
ECCENTRIC_REPS = Threshold(
    15,
    "Coaches integrating this protocol should use 3 to 4 sets of 15 reps, with a slow, "
    "controlled eccentric of 3 to 5 seconds per rep.",
)
BALANCE_HOLD_S = Threshold((30, 60), "Start with 30 to 60 second holds")
STRETCH_HOLD_S = Threshold(30, "Start with 30 to 60 second holds")
"""The guide gives no stretch duration; we borrow the start of its only hold time (balance)."""

RETEST_AFTER_WEEKS = Threshold(
    8,
    "specifically eccentric-concentric calf raises performed through a progressive loading "
    "protocol over 8 to 12 weeks",
)
"""The guide's only time frame for a loading block is 8 to 12 weeks; we re-test at its start."""

MAX_EXERCISES_PER_SESSION = 5
"""Not a guide number (it gives none): a session a phone screen shows whole."""

THRESHOLDS = (
    BENT_TO_STRAIGHT_RATIO,
    ASYMMETRY,
    NEAR_ASYMMETRY,
    BALANCE_ASYMMETRY,
    MIN_SINGLE_LEG_REPS,
    SESSIONS_PER_WEEK,
    SEATED_SESSIONS,
    WEEKLY_SETS,
    STRAIGHT_REPS,
    BENT_REPS,
    ECCENTRIC_REPS,
    BALANCE_HOLD_S,
    STRETCH_HOLD_S,
    RETEST_AFTER_WEEKS,
)
QUOTES = (SPRAIN_HISTORY_QUOTE, HEEL_VALGUS_QUOTE, TIB_POST_HISTORY_QUOTE)
