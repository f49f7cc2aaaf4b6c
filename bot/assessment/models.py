"""Input and output of the self-assessment, as in ``calfcoach assess --json``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from knowledge.facts import load_facts

Side = Literal["left", "right"]
FindingSide = Literal["left", "right", "both"] | None
Urgency = Literal["emergency", "same_day", "soon"]


def _known_red_flag(flag_id: str) -> str:
    """Checked against the catalogue, not a list here, so the ids have one source; an
    earlier id (in saved self-tests and stored results) is read as today's."""
    try:
        return load_facts().red_flag_id(flag_id)
    except KeyError as exc:
        raise ValueError(str(exc.args[0])) from None


RedFlagId = Annotated[str, AfterValidator(_known_red_flag)]


def _known_history(value: str) -> str:
    """History ids come from knowledge/data/history.yaml, the one list of them."""
    known = [h.id for h in load_facts().history_checklist]
    if value not in known:
        raise ValueError(f"unknown history item {value!r}; known: {', '.join(known)}")
    return value


HistoryId = Annotated[str, AfterValidator(_known_history)]

MAX_REPS = 200  # nobody does 200 clean single-leg raises; above that is a typo
MAX_BALANCE_SECONDS = 600

Reps = Annotated[int, Field(strict=True, ge=0, le=MAX_REPS)]
Seconds = Annotated[int, Field(strict=True, ge=0, le=MAX_BALANCE_SECONDS)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RepsPerSide(_Strict):
    left: Reps
    right: Reps


class SecondsPerSide(_Strict):
    left: Seconds
    right: Seconds


class FlagPerSide(_Strict):
    left: Annotated[bool, Field(strict=True)]
    right: Annotated[bool, Field(strict=True)]


class AssessmentInput(_Strict):
    """The user's self-test results; every field is validated with a field-named error."""

    straight_knee_reps: RepsPerSide
    bent_knee_reps: RepsPerSide
    balance_seconds: SecondsPerSide | None = None
    heel_valgus: FlagPerSide | None = None
    history: tuple[HistoryId, ...] = ()
    red_flags: tuple[RedFlagId, ...] = Field(
        default=(), description="Red-flag ids from knowledge/data/red_flags.yaml."
    )


class Finding(_Strict):
    """An imbalance found, where, on what numbers, and the guide section behind it."""

    id: str
    side: FindingSide
    evidence: str
    section: str


class ProgramExercise(_Strict):
    """One exercise of the week: its dose, the sessions it is in and why it is there.

    ``days`` and ``hold_s`` were added later; a program stored before them loads with every
    exercise in both of its two sessions, as it was then.
    """

    id: str
    name: str
    sets: int
    reps: tuple[int, int] | int | None
    tempo: str | None
    rest_s: int | None
    side: Literal["left", "right", "both"]
    priority_side: Side | None
    why: str
    days: tuple[str, ...] = ("A", "B")
    hold_s: tuple[int, int] | int | None = None
    each_leg: bool = False


class Program(_Strict):
    sessions_per_week: int
    weekly_sets: int
    retest_after_weeks: int
    exercises: tuple[ProgramExercise, ...]
    notes: tuple[str, ...]
    days: tuple[str, ...] = ("A", "B")
    seated_days: tuple[str, ...] = ()
    plan_notes: tuple[str, ...] = ()

    def session(self, day: str) -> tuple[ProgramExercise, ...]:
        """The exercises of one session, in program order."""
        return tuple(e for e in self.exercises if day in e.days)


class AssessmentResult(_Strict):
    """What ``calfcoach assess --json`` prints.

    ``notes`` (what the numbers cannot show, or show just under a threshold) and ``urgency``
    (how soon a referral should be acted on) were added later and default to empty, so
    results stored before them still load.
    """

    findings: tuple[Finding, ...]
    referral: bool
    program: Program | None
    notes: tuple[str, ...] = ()
    urgency: Urgency | None = None
