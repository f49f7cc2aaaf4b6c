"""Typed, validated records for the guide's facts.

Each record names the guide section it comes from and quotes the guide sentences it
relies on; :func:`knowledge.facts.load_facts` checks both against the guide at load, so
a fact that drifts from the guide fails loudly instead of reaching a user.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Side = Literal["left", "right"]
RepRange = tuple[int, int]


class Sourced(BaseModel):
    """Anything that traces to the guide: a section path and the sentences it quotes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    section: str = Field(description="Guide section path, e.g. 'Muscle Summary Table'.")
    quotes: tuple[str, ...] = Field(min_length=1, description="Guide sentences, verbatim.")


class Muscle(Sourced):
    """A row of the guide's muscle summary table."""

    id: str
    name: str
    role: Literal["primary", "secondary"]
    joint_crossed: str
    primary_action: str
    fiber_type: str
    best_targeted_by: str


class SelfTest(Sourced):
    """A self-test the assessment walks through, with how to do it at home."""

    id: str
    name: str
    targets: tuple[str, ...] = Field(description="Muscle ids the test reflects.")
    measure: Literal["reps", "seconds", "yes_no"]
    per_side: bool = True
    instructions: str = Field(description="Short how-to, taken from the guide's wording.")
    plausible_max: int | None = Field(
        default=None, description="Upper bound for a typed answer; above it we re-ask."
    )


class Imbalance(Sourced):
    """One of the guide's five common imbalances."""

    id: str
    name: str
    identify: str
    consequences: tuple[str, ...]
    correction: str


class Exercise(Sourced):
    """An exercise with the programming the guide gives for it (``None`` where it gives none)."""

    id: str
    name: str
    targets: tuple[str, ...]
    knee: Literal["straight", "bent", "n/a"] = "n/a"
    unilateral: bool = False
    setup: str | None = None
    execution: str | None = None
    sets: RepRange | None = None
    reps: RepRange | None = None
    tempo: str | None = None
    rest_s: RepRange | None = None

    @field_validator("sets", "reps", "rest_s")
    @classmethod
    def _ordered(cls, value: RepRange | None) -> RepRange | None:
        if value is not None and not 0 < value[0] <= value[1]:
            raise ValueError(f"range must be positive and low <= high, got {value}")
        return value


class FaqEntry(BaseModel):
    """A question from the guide's FAQ with an answer made only of guide sentences."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    question: str
    quotes: tuple[str, ...] = Field(min_length=1)
    sections: tuple[str, ...] = Field(min_length=1)

    @property
    def answer(self) -> str:
        """The answer as shown to users: the quoted guide sentences, in order."""
        return " ".join(self.quotes)


class Condition(Sourced):
    """An injury or condition the guide names (Achilles tendinopathy, shin splints...), so
    answer cards can say what they are about with an id that is checked."""

    id: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    name: str


CardIntent = Literal["do", "number", "why", "test", "consequences", "what"]


class AnswerCard(BaseModel):
    """A common client question answered the way a coach would, only from guide facts.

    ``first_line`` does what was asked, in plain second-person words; ``quotes`` are the
    guide sentences that support it (every number and technical term of the first line
    must appear in them, see :mod:`knowledge.cards`). ``asks`` are client phrasings used
    as retrieval keys, never shown.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    asks: tuple[str, ...] = Field(min_length=5, max_length=12)
    intent: CardIntent
    topics: tuple[str, ...] = Field(
        min_length=1, description="Muscle, imbalance, exercise, self-test or condition ids."
    )
    first_line: str = Field(min_length=10, max_length=240)
    quotes: tuple[str, ...] = Field(min_length=1)
    sections: tuple[str, ...] = Field(min_length=1)

    @property
    def answer(self) -> str:
        """The answer as a client reads it: the first line, then the guide's sentences."""
        return "\n\n".join((self.first_line, " ".join(self.quotes)))


class PassageKeys(BaseModel):
    """Questions clients ask that a guide passage answers (extra retrieval keys)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    section: str
    anchor: str | None = Field(
        default=None, description="Text inside the passage, when the section has several."
    )
    questions: tuple[str, ...] = Field(min_length=1)


class SynonymGroup(BaseModel):
    """Words clients use mapped to the guide's words, for lexical query expansion."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    says: tuple[str, ...] = Field(min_length=1, description="Phrases as users write them.")
    means: str = Field(description="Guide vocabulary appended to the query.")
    rewrite: bool = Field(
        default=False,
        description="Also replace the phrase with `means` in the text that is embedded "
        "(abbreviations and misspellings the embedding model does not know).",
    )


class Intent(BaseModel):
    """A kind of question and the guide part that answers it (a small retrieval prior)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    asks: str = Field(description="Regular expression over the lower-cased question.")
    part: str = Field(description="Regular expression over a chunk's section path.")

    @field_validator("asks", "part")
    @classmethod
    def _compiles(cls, value: str) -> str:
        import re

        re.compile(value)
        return value


Urgency = Literal["emergency", "same_day", "soon"]
URGENCY_ORDER: dict[str, int] = {"emergency": 0, "same_day": 1, "soon": 2}


class SourceRef(BaseModel):
    """Public guidance a red flag is written from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str
    url: str = Field(pattern=r"^https?://")


class RedFlag(BaseModel):
    """A sign that needs a clinician rather than a program."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")
    checklist: int = Field(
        ge=1, description="Its number in the self-test's safety checklist, fixed across edits."
    )
    replaces: tuple[str, ...] = Field(
        default=(), description="Earlier ids of this flag, still found in saved states."
    )
    label: str
    checklist_question: str
    urgency: Urgency
    referral: str
    sources: tuple[SourceRef, ...] = Field(min_length=1)


class TriageText(BaseModel):
    """What the bot says around a referral: user-facing words kept as data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    urgency_openings: dict[Urgency, str]
    closing: str
    not_until_checked: str
    cleared: str
    test_stopped: str

    @model_validator(mode="after")
    def _every_urgency(self) -> TriageText:
        missing = set(URGENCY_ORDER) - set(self.urgency_openings)
        if missing:
            raise ValueError(f"urgency_openings: missing {sorted(missing)}")
        return self


class Knowledge(BaseModel):
    """Everything in ``knowledge/data``, validated as one unit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    muscles: tuple[Muscle, ...]
    self_tests: tuple[SelfTest, ...]
    imbalances: tuple[Imbalance, ...]
    exercises: tuple[Exercise, ...]
    faq: tuple[FaqEntry, ...]
    passage_keys: tuple[PassageKeys, ...]
    synonyms: tuple[SynonymGroup, ...]
    intents: tuple[Intent, ...] = ()
    red_flags: tuple[RedFlag, ...]
    conditions: tuple[Condition, ...] = ()
    answer_cards: tuple[AnswerCard, ...] = ()
    triage_text: TriageText

    @model_validator(mode="after")
    def _unique_ids(self) -> Knowledge:
        names = ("muscles", "self_tests", "imbalances", "exercises", "faq", "red_flags")
        for name in (*names, "conditions", "answer_cards"):
            ids = [item.id for item in getattr(self, name)]
            duplicates = {i for i in ids if ids.count(i) > 1}
            if duplicates:
                raise ValueError(f"{name}: duplicate ids {sorted(duplicates)}")
        self._check_red_flag_ids()
        muscle_ids = {m.id for m in self.muscles}
        for item in (*self.self_tests, *self.exercises):
            unknown = set(item.targets) - muscle_ids
            if unknown:
                raise ValueError(f"{item.id}: unknown target muscles {sorted(unknown)}")
        return self

    def _check_red_flag_ids(self) -> None:
        numbers = sorted(f.checklist for f in self.red_flags)
        if numbers != list(range(1, len(self.red_flags) + 1)):
            raise ValueError(f"red_flags: checklist numbers must be 1..n once each, got {numbers}")
        ids = {f.id for f in self.red_flags}
        old = [o for f in self.red_flags for o in f.replaces]
        clashes = (set(old) & ids) | {o for o in old if old.count(o) > 1}
        if clashes:
            raise ValueError(f"red_flags: replaced ids reused {sorted(clashes)}")

    def red_flag_id(self, flag_id: str) -> str:
        """The current id for ``flag_id`` (an earlier id is mapped); KeyError if unknown."""
        for flag in self.red_flags:
            if flag_id == flag.id or flag_id in flag.replaces:
                return flag.id
        raise KeyError(f"unknown red-flag id {flag_id!r}")

    def exercise(self, exercise_id: str) -> Exercise:
        return next(e for e in self.exercises if e.id == exercise_id)

    def faq_entry(self, faq_id: str) -> FaqEntry | None:
        return next((f for f in self.faq if f.id == faq_id), None)

    @property
    def topic_ids(self) -> frozenset[str]:
        """Every id an answer card may name as a topic."""
        groups = (self.muscles, self.imbalances, self.exercises, self.self_tests, self.conditions)
        return frozenset(item.id for group in groups for item in group)

    def answer_card(self, card_id: str) -> AnswerCard | None:
        return next((c for c in self.answer_cards if c.id == card_id), None)
