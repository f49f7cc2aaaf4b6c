"""Input and output of the self-assessment, as in ``calfcoach assess --json``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

Side = Literal["left", "right"]
FindingSide = Literal["left", "right", "both"] | None
HistoryId = Literal[
    "ankle_sprain",
    "achilles_pain",
    "plantar_fasciitis",
    "calf_strain",
    "shin_splints",
    "medial_ankle_pain",
]


def _known_red_flag(flag_id: str) -> str:
    """Checked against the catalogue, not a list here, so the ids have one source; an
    earlier id (in saved self-tests and stored results) is read as today's."""
    from knowledge.facts import load_facts

    try:
        return load_facts().red_flag_id(flag_id)
    except KeyError as exc:
        raise ValueError(str(exc.args[0])) from None


RedFlagId = Annotated[str, AfterValidator(_known_red_flag)]
HISTORY_LABELS: dict[str, str] = {
    "ankle_sprain": "Ankle sprains",
    "achilles_pain": "Achilles pain",
    "plantar_fasciitis": "Plantar fasciitis (heel pain)",
    "calf_strain": "Calf strain",
    "shin_splints": "Shin splints",
    "medial_ankle_pain": "Inner ankle pain",
}

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
    id: str
    name: str
    sets: int
    reps: tuple[int, int] | int
    tempo: str | None
    rest_s: int | None
    side: Literal["left", "right", "both"]
    priority_side: Side | None
    why: str


class Program(_Strict):
    sessions_per_week: int
    weekly_sets: int
    retest_after_weeks: int
    exercises: tuple[ProgramExercise, ...]
    notes: tuple[str, ...]


class AssessmentResult(_Strict):
    """What ``calfcoach assess --json`` prints."""

    findings: tuple[Finding, ...]
    referral: bool
    program: Program | None
