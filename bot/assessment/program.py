"""Build a weekly program from findings, using only the guide's exercises and programming.

One small function per exercise slot, each given the :class:`Knowledge` it reads and each
citing its reason (``assessment_text.yaml``, quotes checked against the guide):

* straight-knee slot (gastrocnemius, 8-15): standing raise; single-leg for asymmetry; the
  eccentric protocol for Achilles pain or calf-strain history;
* bent-knee slot (soleus, 15-25): seated raise; single-leg for asymmetry;
* no single-leg target above what the weaker leg managed in that knee position: below the
  range's start the slot stays on both legs (the guide: "Begin with bilateral standing and
  seated calf raises, progress to single-leg variations"), as it does with overall weakness;
* gastrocnemius dominance: two seated sessions of their own, apart from the standing one;
* peroneal weakness: band eversion and balance; tibialis posterior weakness: band inversion,
  the inversion-focused heel rise (a calf raise, counted) and toe gripping;
* plantar fasciitis history: knee-straight and knee-bent calf stretches.

The week is laid out by session (day A, B, C), at most ``MAX_EXERCISES_PER_SESSION`` each,
and its calf-raise sets add up to the guide's 10 to 15.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.assessment import ids
from bot.assessment.models import AssessmentInput, Finding, Program, ProgramExercise
from bot.assessment.thresholds import (
    BALANCE_HOLD_S,
    BENT_REPS,
    ECCENTRIC_REPS,
    MAX_EXERCISES_PER_SESSION,
    RETEST_AFTER_WEEKS,
    SEATED_SESSIONS,
    SESSIONS_PER_WEEK,
    STRAIGHT_REPS,
    STRETCH_HOLD_S,
    WEEKLY_SETS,
)
from knowledge.models import Knowledge

Range = tuple[int, int]
DAY_NAMES = ("A", "B", "C")


@dataclass(frozen=True)
class _Context:
    """What every slot needs to know about this person, worked out once."""

    data: AssessmentInput
    found: dict[str, Finding]
    knowledge: Knowledge

    @property
    def history(self) -> set[str]:
        return set(self.data.history)

    @property
    def weak_side(self) -> str | None:
        asymmetry = self.found.get(ids.BILATERAL_ASYMMETRY)
        return asymmetry.side if asymmetry else None

    @property
    def overall(self) -> bool:
        return ids.OVERALL_WEAKNESS in self.found

    @property
    def dominance(self) -> bool:
        return ids.GASTROCNEMIUS_DOMINANCE in self.found

    @property
    def weakest_straight(self) -> int:
        reps = self.data.straight_knee_reps
        return min(reps.left, reps.right)

    @property
    def weakest_bent(self) -> int:
        reps = self.data.bent_knee_reps
        return min(reps.left, reps.right)

    def side_of(self, imbalance: str) -> str | None:
        finding = self.found.get(imbalance)
        return finding.side if finding and finding.side in {"left", "right"} else None

    def reason(self, name: str, **values: object) -> str:
        return getattr(self.knowledge.assessment_text.reasons, name).text.format(**values)

    def note(self, name: str, **values: object) -> str:
        return getattr(self.knowledge.assessment_text.notes, name).text.format(**values)


def _line(
    ctx: _Context,
    exercise_id: str,
    *,
    sets: int,
    why: str,
    days: tuple[str, ...] = (),
    reps: Range | int | None = None,
    hold_s: Range | int | None = None,
    tempo: str | None = None,
    rest_s: int | None = None,
    priority_side: str | None = None,
    each_leg: bool | None = None,
) -> ProgramExercise:
    exercise = ctx.knowledge.exercise(exercise_id)
    return ProgramExercise(
        id=exercise.id,
        name=exercise.name,
        sets=sets,
        reps=reps,
        hold_s=hold_s,
        tempo=tempo,
        rest_s=rest_s,
        side="both",
        priority_side=priority_side,  # type: ignore[arg-type]
        why=why,
        days=days,
        each_leg=exercise.unilateral if each_leg is None else each_leg,
    )


def single_leg_range(guide: Range, managed: int) -> Range | None:
    """The guide's rep range capped at what the weaker leg managed; ``None`` when even its
    start is out of reach (then the exercise stays on both legs)."""
    low, high = guide
    return (low, min(high, managed)) if managed >= low else None


def _capped(ctx: _Context, reps: Range, guide: Range) -> str:
    """Say so when a single-leg range was cut down to what the weaker leg managed."""
    return " " + ctx.reason("capped", reps=reps[1]) if reps[1] < guide[1] else ""


def _range(threshold_value: object) -> Range:
    low, high = threshold_value  # type: ignore[misc]
    return int(low), int(high)


# -- the slots -------------------------------------------------------------------------------


def straight_slot(ctx: _Context, days: tuple[str, ...]) -> ProgramExercise:
    """Gastrocnemius: the eccentric protocol, a single-leg raise, or the standing raise."""
    guide_reps = _range(STRAIGHT_REPS.value)
    if ctx.history & {ids.ACHILLES_PAIN, ids.CALF_STRAIN}:
        return _eccentric(ctx, days)
    if ctx.weak_side and not ctx.overall:
        reps = single_leg_range(guide_reps, ctx.weakest_straight)
        if reps is not None:
            return _line(
                ctx,
                ids.SINGLE_LEG_STRAIGHT,
                sets=3,
                reps=reps,
                tempo="1 s pause at the bottom, 2 s at the top",
                priority_side=ctx.weak_side,
                days=days,
                why=ctx.reason("single_leg", side=ctx.weak_side) + _capped(ctx, reps, guide_reps),
            )
    why = [ctx.reason("standing")]
    if ctx.overall:
        why.append(ctx.reason("bilateral_start"))
    elif ctx.weak_side:
        why.append(
            ctx.reason(
                "out_of_reach", knee="straight", low=guide_reps[0], reps=ctx.weakest_straight
            )
        )
    return _line(
        ctx,
        ids.STANDING_CALF_RAISE,
        sets=3,
        reps=guide_reps,
        tempo="1 s pause at the bottom, 2 s at the top",
        days=days,
        why=" ".join(why),
    )


def _eccentric(ctx: _Context, days: tuple[str, ...]) -> ProgramExercise:
    """Achilles pain or calf strain: the eccentric protocol, if one leg can lower 15 times."""
    reasons = []
    if ids.ACHILLES_PAIN in ctx.history:
        reasons.append(ctx.reason("eccentric_achilles"))
    if ids.CALF_STRAIN in ctx.history:
        reasons.append(ctx.reason("eccentric_strain"))
    reps = int(ECCENTRIC_REPS.value)  # type: ignore[arg-type]
    if ctx.weakest_straight >= reps and not ctx.overall:
        return _line(
            ctx,
            ids.ECCENTRIC_CALF_RAISE,
            sets=3,
            reps=reps,
            tempo="3 to 5 s lowering",
            priority_side=ctx.weak_side,
            days=days,
            why=" ".join(reasons),
        )
    reasons.append(
        ctx.reason("eccentric_bilateral_start")
        if ctx.overall
        else ctx.reason("eccentric_out_of_reach", reps=ctx.weakest_straight)
    )
    return _line(
        ctx,
        ids.STANDING_CALF_RAISE,
        sets=3,
        reps=_range(STRAIGHT_REPS.value),
        tempo="3-5 s down on both legs",
        days=days,
        why=" ".join(reasons),
    )


def bent_slot(ctx: _Context, days: tuple[str, ...]) -> ProgramExercise:
    """Soleus: the seated raise, single-leg for asymmetry when within reach."""
    guide_reps = _range(BENT_REPS.value)
    sets = 4 if ctx.dominance else 3
    tempo = (
        "3 s down, 2 s pause in the stretch" if ctx.dominance else "slow, 2 s pause in the stretch"
    )
    why = [ctx.reason("dominance" if ctx.dominance else "seated")]
    reps = (
        single_leg_range(guide_reps, ctx.weakest_bent)
        if ctx.weak_side and not ctx.overall
        else None
    )
    if reps is not None:
        why.append(ctx.reason("single_leg", side=ctx.weak_side) + _capped(ctx, reps, guide_reps))
        return _line(
            ctx,
            ids.SINGLE_LEG_BENT,
            sets=sets,
            reps=reps,
            tempo=tempo,
            rest_s=60,
            priority_side=ctx.weak_side,
            days=days,
            why=" ".join(why),
        )
    if ctx.overall:
        why.append(ctx.reason("bilateral_start"))
    elif ctx.weak_side:
        why.append(
            ctx.reason("out_of_reach", knee="bent", low=guide_reps[0], reps=ctx.weakest_bent)
        )
    return _line(
        ctx,
        ids.SEATED_CALF_RAISE,
        sets=sets,
        reps=guide_reps,
        tempo=tempo,
        rest_s=60,
        days=days,
        why=" ".join(why),
    )


def inversion_heel_rise(ctx: _Context, days: tuple[str, ...]) -> ProgramExercise | None:
    """Tibialis posterior: single-leg raises on an inversion bias, when single-leg is in reach."""
    if ids.TIBIALIS_POSTERIOR_WEAKNESS not in ctx.found or ctx.overall:
        return None
    reps = single_leg_range(_range(STRAIGHT_REPS.value), ctx.weakest_straight)
    if reps is None:
        return None
    return _line(
        ctx,
        ids.INVERSION_HEEL_RISE,
        sets=3,
        reps=reps,
        tempo="weight to the inner ball of the foot at the top",
        priority_side=ctx.side_of(ids.TIBIALIS_POSTERIOR_WEAKNESS),
        days=days,
        why=ctx.reason("heel_rise") + _capped(ctx, reps, _range(STRAIGHT_REPS.value)),
    )


def peroneal_work(ctx: _Context) -> list[ProgramExercise]:
    if ids.PERONEAL_WEAKNESS not in ctx.found:
        return []
    side = ctx.side_of(ids.PERONEAL_WEAKNESS)
    return [
        _line(
            ctx,
            ids.BAND_EVERSION,
            sets=3,
            reps=(15, 20),
            tempo="2 s hold at the end",
            priority_side=side,
            why=ctx.reason("band_eversion"),
        ),
        _line(
            ctx,
            ids.SINGLE_LEG_BALANCE,
            sets=2,
            hold_s=_range(BALANCE_HOLD_S.value),
            tempo="eyes open, then closed",
            priority_side=side,
            why=ctx.reason("balance"),
        ),
    ]


def tibialis_work(ctx: _Context) -> list[ProgramExercise]:
    if ids.TIBIALIS_POSTERIOR_WEAKNESS not in ctx.found:
        return []
    side = ctx.side_of(ids.TIBIALIS_POSTERIOR_WEAKNESS)
    return [
        _line(
            ctx,
            ids.BAND_INVERSION,
            sets=3,
            reps=15,
            tempo="2 s hold, return slowly",
            priority_side=side,
            why=ctx.reason("band_inversion"),
        ),
        _line(
            ctx,
            ids.TOE_GRIPPING,
            sets=3,
            reps=15,
            priority_side=side,
            why=ctx.reason("toe_gripping"),
        ),
    ]


def stretches(ctx: _Context) -> list[ProgramExercise]:
    if ids.PLANTAR_FASCIITIS not in ctx.history:
        return []
    hold = int(STRETCH_HOLD_S.value)  # type: ignore[arg-type]
    return [
        _line(ctx, stretch, sets=1, hold_s=hold, each_leg=True, why=ctx.reason("stretch"))
        for stretch in (ids.STRETCH_STRAIGHT, ids.STRETCH_BENT)
    ]


# -- the week --------------------------------------------------------------------------------


def _main_lines(ctx: _Context) -> tuple[tuple[str, ...], tuple[str, ...], list[ProgramExercise]]:
    """Days, seated days and the calf raises. Dominance: one standing day, seated days apart."""
    if ctx.dominance:
        seated = DAY_NAMES[1 : 1 + int(SEATED_SESSIONS.value)]  # type: ignore[arg-type]
        days = ("A", *seated)
        standing = [straight_slot(ctx, ("A",))]
        heel = inversion_heel_rise(ctx, ("A",))
        return days, seated, [*standing, *([heel] if heel else []), bent_slot(ctx, seated)]
    days = DAY_NAMES[: int(SESSIONS_PER_WEEK.value)]  # type: ignore[arg-type]
    heel = inversion_heel_rise(ctx, days[1:])
    straight_days = days[:1] if heel else days
    lines = [straight_slot(ctx, straight_days), *([heel] if heel else []), bent_slot(ctx, days)]
    return days, (), lines


def assign_days(
    groups: list[list[ProgramExercise]], days: tuple[str, ...], load: dict[str, int]
) -> list[ProgramExercise]:
    """Put the corrective groups in sessions, never over the cap per session: first each
    group once, whole, in the lightest session (split over sessions only if it fits nowhere
    whole), then a second time where it still fits. The guide gives no frequency for this
    work; twice a week where there is room matches its calf-raise frequency."""
    placed: dict[int, list[str]] = {}

    def lightest(size: int, taken: list[str]) -> str | None:
        free = [d for d in days if d not in taken and load[d] + size <= MAX_EXERCISES_PER_SESSION]
        return min(free, key=lambda d: (load[d], days.index(d))) if free else None

    split: list[tuple[ProgramExercise, str]] = []
    for n, group in enumerate(g for g in groups if g):
        day = lightest(len(group), [])
        if day is not None:
            load[day] += len(group)
            placed[n] = [day]
            continue
        for line in group:
            day = lightest(1, [])
            if day is None:
                raise ValueError(f"no session has room for {line.id}")
            load[day] += 1
            split.append((line, day))
    present = [g for g in groups if g]
    for n, group in enumerate(present):
        if n in placed and len(days) > 1:
            day = lightest(len(group), placed[n])
            if day is not None:
                load[day] += len(group)
                placed[n].append(day)
    lines = [
        line.model_copy(update={"days": tuple(d for d in days if d in placed[n])})
        for n, group in enumerate(present)
        if n in placed
        for line in group
    ]
    return lines + [line.model_copy(update={"days": (day,)}) for line, day in split]


def weekly_calf_sets(lines: list[ProgramExercise]) -> int:
    """Calf-raise sets in the week: sets times sessions, for every calf raise prescribed."""
    return sum(line.sets * len(line.days) for line in lines if line.id in ids.CALF_RAISES)


def _notes(ctx: _Context, lines: list[ProgramExercise], sessions: int, sets: int) -> list[str]:
    low, high = _range(WEEKLY_SETS.value)
    ids_in = {line.id for line in lines}
    notes = [
        ctx.note("frequency", sessions=sessions),
        ctx.note("volume", sets=sets, low=low, high=high),
        ctx.note("bottom_stretch"),
        ctx.note(
            "progress_load"
            if ids_in & {ids.SINGLE_LEG_STRAIGHT, ids.SINGLE_LEG_BENT}
            else "progress_single"
        ),
    ]
    if ids.PERONEAL_WEAKNESS in ctx.found:
        notes.append(ctx.note("standing_eversion"))
    if ids.TIBIALIS_POSTERIOR_WEAKNESS in ctx.found and ids.INVERSION_HEEL_RISE not in ids_in:
        notes.append(ctx.note("heel_rise_later"))
    if ctx.history & {ids.SHIN_SPLINTS, ids.MEDIAL_ANKLE_PAIN} and (
        ids.TIBIALIS_POSTERIOR_WEAKNESS not in ctx.found
    ):
        notes.append(ctx.note("shin_splints"))
    return notes


def _plan_notes(ctx: _Context) -> list[str]:
    """The notes that belong in the plan itself, not one tap away: safety and sides."""
    notes = []
    if ids.ACHILLES_PAIN in ctx.history:
        notes.append(ctx.note("physiotherapist"))
    if ctx.weak_side:
        notes.append(ctx.note("stronger_side", side=ctx.weak_side))
    return notes


def build_program(
    data: AssessmentInput, findings: tuple[Finding, ...], knowledge: Knowledge
) -> Program:
    """The weekly plan for these results; deterministic, every line with its reason."""
    ctx = _Context(data=data, found={f.id: f for f in findings}, knowledge=knowledge)
    days, seated_days, lines = _main_lines(ctx)
    load = {d: sum(d in line.days for line in lines) for d in days}
    lines += assign_days([peroneal_work(ctx), tibialis_work(ctx), stretches(ctx)], days, load)
    sets = weekly_calf_sets(lines)
    low, high = _range(WEEKLY_SETS.value)
    if not low <= sets <= high:
        raise ValueError(f"program has {sets} calf-raise sets a week, outside {low}-{high}")
    return Program(
        sessions_per_week=len(days),
        weekly_sets=sets,
        retest_after_weeks=int(RETEST_AFTER_WEEKS.value),  # type: ignore[arg-type]
        exercises=tuple(lines),
        notes=tuple(_notes(ctx, lines, len(days), sets)),
        days=days,
        seated_days=seated_days,
        plan_notes=tuple(_plan_notes(ctx)),
    )
