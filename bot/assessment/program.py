"""Build a weekly program from findings, using only the guide's exercises and programming.

Rules (each traced to the guide in ``WHY`` texts and the quotes in ``knowledge/data``):

* every program has a straight-knee (gastrocnemius) and a bent-knee (soleus) calf raise,
  with rep ranges matched to fibre type: 8-15 straight, 15-25 bent;
* two sessions a week ("twice or three-times-weekly"), 12-14 direct calf-raise sets a
  week ("Ten to 15 direct working sets per week"); band and balance work comes on top;
* asymmetry: single-leg versions, weaker side first, the stronger side never more;
* gastrocnemius dominance: a fourth soleus set and the three-second eccentric;
* Achilles pain or calf strain history: the straight-knee slot becomes the eccentric
  protocol (3-4 x 15, 3-5 s lowering), alongside a physiotherapist for Achilles pain;
* peroneal weakness: band eversion and single-leg balance; tibialis posterior weakness:
  band inversion, the inversion-focused heel rise and toe gripping;
* plantar fasciitis history: separate knee-straight and knee-bent calf stretches.
"""

from __future__ import annotations

from bot.assessment.models import AssessmentInput, Finding, Program, ProgramExercise
from bot.assessment.rules import Threshold
from knowledge.facts import load_facts

SESSIONS_PER_WEEK = Threshold(
    2,
    "The plantar flexors, particularly the slow-twitch soleus, recover quickly from moderate "
    "loading and respond well to twice or three-times-weekly training.",
)
"""Two sessions: the low end of the guide's two to three, which keeps 3-4 sets of two calf
raises per session inside its 10 to 15 direct sets a week."""

WEEKLY_SETS = Threshold(
    15,
    "Ten to 15 direct working sets per week across both standing and seated variations is a "
    "reasonable target for clients seeking meaningful plantar flexor development or "
    "correcting an imbalance.",
)
RETEST_AFTER_WEEKS = Threshold(
    8,
    "specifically eccentric-concentric calf raises performed through a progressive loading "
    "protocol over 8 to 12 weeks",
)
"""The guide's only time frame for a loading block is 8 to 12 weeks; we re-test at its start."""

CALF_RAISES = {
    "standing_calf_raise",
    "seated_calf_raise",
    "single_leg_calf_raise_straight",
    "single_leg_calf_raise_bent",
    "eccentric_calf_raise",
}
STRAIGHT_REPS = (8, 15)  # "3 to 4 sets of 8 to 15 reps" (gastrocnemius, fast-twitch)
BENT_REPS = (15, 25)  # "3 to 4 sets of 15 to 25 reps" (soleus, slow-twitch)


def _line(
    exercise_id: str,
    *,
    sets: int,
    reps: tuple[int, int] | int,
    why: str,
    tempo: str | None = None,
    rest_s: int | None = None,
    priority_side: str | None = None,
) -> ProgramExercise:
    exercise = load_facts().exercise(exercise_id)
    return ProgramExercise(
        id=exercise.id,
        name=exercise.name,
        sets=sets,
        reps=reps,
        tempo=tempo if tempo is not None else exercise.tempo,
        rest_s=rest_s if rest_s is not None else (exercise.rest_s[0] if exercise.rest_s else None),
        side="both",
        priority_side=priority_side,  # type: ignore[arg-type]
        why=f"{why} Re-test in {int(RETEST_AFTER_WEEKS.value)} weeks.",
    )


def build_program(data: AssessmentInput, findings: tuple[Finding, ...]) -> Program:
    """The weekly plan for these results; deterministic, every line with its reason."""
    found = {f.id: f for f in findings}
    history = set(data.history)
    asymmetry = found.get("bilateral_asymmetry")
    weak = asymmetry.side if asymmetry else None
    weak_note = (
        f" Weaker {weak} side first; the stronger side does the same reps, never more."
        if weak
        else ""
    )
    lines: list[ProgramExercise] = []
    notes: list[str] = []

    # Straight-knee slot: gastrocnemius.
    if history & {"achilles_pain", "calf_strain"}:
        reasons = []
        if "achilles_pain" in history:
            reasons.append(
                "history of Achilles pain: heavy eccentric calf raises are the gold standard "
                "for Achilles tendinopathy rehabilitation and prevention"
            )
            notes.append(
                "Achilles pain: do the eccentric protocol alongside your physiotherapist; "
                "coaches are told to coordinate closely with the treating physiotherapist."
            )
        if "calf_strain" in history:
            reasons.append(
                "history of calf strain: prevention includes year-round eccentric calf "
                "strengthening"
            )
        lines.append(
            _line(
                "eccentric_calf_raise",
                sets=3,
                reps=15,
                tempo="up on both legs, lower on one over 3 to 5 s",
                priority_side=weak,
                why="The eccentric protocol (3-4 x 15) as the straight-knee raise. "
                + "; ".join(r[0].upper() + r[1:] for r in reasons)
                + "."
                + weak_note,
            )
        )
    elif asymmetry:
        lines.append(
            _line(
                "single_leg_calf_raise_straight",
                sets=3,
                reps=STRAIGHT_REPS,
                tempo="full range, pause 1 s at the bottom and 2 s at the top",
                priority_side=weak,
                why="Bilateral asymmetry: unilateral calf work with "
                "priority to the weaker side; straight knee for the gastrocnemius, "
                "8-15 reps for its fast-twitch fibres." + weak_note,
            )
        )
    else:
        lines.append(
            _line(
                "standing_calf_raise",
                sets=3,
                reps=STRAIGHT_REPS,
                why="Straight-knee raise for the gastrocnemius (fast-twitch): 3-4 sets of 8-15, "
                "deep stretch at the bottom of every rep."
                + (
                    " Start bilateral while overall strength is low."
                    if "overall_weakness" in found
                    else ""
                ),
            )
        )

    # Bent-knee slot: soleus.
    dominance = found.get("gastrocnemius_dominance")
    soleus_sets = 4 if dominance else 3
    soleus_tempo = (
        "3 s lowering, 2 s pause in the deep stretch, pause at the top"
        if dominance
        else "2 s pause in the stretch, pause at the top, controlled return"
    )
    soleus_why = (
        "Gastrocnemius dominance: lighter loads, 15-25 reps, a "
        "three-second eccentric and a two-second pause in the stretch raise soleus recruitment."
        if dominance
        else "Bent-knee raise for the soleus (slow-twitch): 15-25 reps with a slow, controlled "
        "tempo; most programs undertrain it."
    )
    if asymmetry:
        lines.append(
            _line(
                "single_leg_calf_raise_bent",
                sets=soleus_sets,
                reps=BENT_REPS,
                tempo=soleus_tempo,
                rest_s=60,
                priority_side=weak,
                why=soleus_why + " Single-leg for the asymmetry." + weak_note,
            )
        )
    else:
        lines.append(
            _line(
                "seated_calf_raise",
                sets=soleus_sets,
                reps=BENT_REPS,
                tempo=soleus_tempo,
                why=soleus_why,
            )
        )

    peroneal = found.get("peroneal_weakness")
    if peroneal:
        side = peroneal.side if peroneal.side in {"left", "right"} else None
        lines.append(
            _line(
                "band_eversion",
                sets=3,
                reps=(15, 20),
                priority_side=side,
                why="Peroneal weakness: progressive peroneal strengthening with resistance bands.",
            )
        )
        lines.append(
            _line(
                "single_leg_balance",
                sets=3,
                reps=1,
                tempo="30 to 60 s hold; eyes open, then closed",
                priority_side=side,
                why="Peroneal weakness: balance training on unstable surfaces restores "
                "neuromuscular control after ankle sprains. Progress floor, foam pad, "
                "wobble board.",
            )
        )
        notes.append(
            "Progress band eversion to standing band eversion: it more closely replicates the "
            "functional demand on the peroneals during movement."
        )

    tib = found.get("tibialis_posterior_weakness")
    if tib:
        side = tib.side if tib.side in {"left", "right"} else None
        lines.append(
            _line(
                "band_inversion",
                sets=3,
                reps=15,
                priority_side=side,
                why="Tibialis posterior weakness: targeted strengthening through resistance band "
                "inversion.",
            )
        )
        lines.append(
            _line(
                "single_leg_heel_raise_inversion_bias",
                sets=3,
                reps=STRAIGHT_REPS,
                tempo="shift weight to the inner ball of the foot at the top; no heel roll-in",
                priority_side=side,
                why="Tibialis posterior weakness: progressive single-leg heel raises on a slight "
                "inversion bias; dose as the straight-knee raise (8-15).",
            )
        )
        lines.append(
            _line(
                "toe_gripping",
                sets=3,
                reps=15,
                priority_side=side,
                why="Tibialis posterior weakness and arch collapse: toe-gripping is a primary "
                "means "
                "of training the flexor digitorum longus that stabilises the arch; dose as band "
                "inversion (the guide gives none).",
            )
        )

    if "plantar_fasciitis" in history:
        for stretch, target in (
            ("calf_stretch_straight_knee", "gastrocnemius"),
            ("calf_stretch_bent_knee", "soleus"),
        ):
            lines.append(
                _line(
                    stretch,
                    sets=1,
                    reps=1,
                    tempo="static hold (the guide gives no duration)",
                    why="History of plantar fasciitis: stretching the calf reduces plantar "
                    "fascial "
                    f"tension; this one targets the {target}, so do both, separately.",
                )
            )
    if history & {"shin_splints", "medial_ankle_pain"} and not tib:
        notes.append(
            "Shin splints or inner ankle pain with flat feet under load suggest tibialis posterior "
            "involvement: watch for the heel rolling inward at your re-test."
        )

    sessions = int(SESSIONS_PER_WEEK.value)
    weekly_sets = sessions * sum(line.sets for line in lines if line.id in CALF_RAISES)
    notes[:0] = [
        f"{sessions} sessions a week; the calves recover quickly and can even be trained on "
        "consecutive days when loads are appropriate.",
        f"{weekly_sets} direct calf-raise sets a week (the guide's target is 10 to 15); band, "
        "balance and stretch work comes on top.",
        "Prioritize the bottom stretch in every rep; rest 60 to 90 s between soleus sets.",
        "Progress single-leg raises by adding load (dumbbell, weighted vest)."
        if asymmetry
        else "Begin bilateral, progress to single-leg variations as they get easy.",
    ]
    if weak:
        notes.append(
            "Do not let the stronger side compensate within bilateral movements "
            f"({weak} is weaker)."
        )
    notes.append(f"Re-test in {int(RETEST_AFTER_WEEKS.value)} weeks with the same self-tests.")
    return Program(
        sessions_per_week=sessions,
        weekly_sets=weekly_sets,
        retest_after_weeks=int(RETEST_AFTER_WEEKS.value),
        exercises=tuple(lines),
        notes=tuple(notes),
    )
