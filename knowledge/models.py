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
    short_name: str = Field(description="How findings and /history name it to users.")
    identify: str
    consequences: tuple[str, ...]
    correction: str

    @property
    def title(self) -> str:
        """The guide heading of the imbalance (the last part of its section path)."""
        return self.section.split(" > ")[-1]


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


class OffTopic(BaseModel):
    """A subject near the guide that it does not cover, declined by name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    name: str = Field(description="How the decline names it: 'shoes, insoles and footwear'.")
    says: tuple[str, ...] = Field(min_length=1, description="Regexes over the lower-cased text.")
    when: Literal["always", "not_leaning", "alone"] = Field(
        default="always",
        description="not_leaning: not in a follow-up; alone: only when the message also "
        "names no calf or ankle subject.",
    )

    @field_validator("says")
    @classmethod
    def _compiles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        import re

        for pattern in value:
            re.compile(pattern)
        return value


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

    says: tuple[str, ...] = Field(description="Phrases as users write them.")
    patterns: tuple[str, ...] = Field(
        default=(), description="Regular expressions, for what phrases cannot list (ages)."
    )
    means: str = Field(description="Guide vocabulary appended to the query.")
    rewrite: bool = Field(
        default=False,
        description="Also replace the phrase with `means` in the text that is embedded "
        "(abbreviations and misspellings the embedding model does not know).",
    )

    @model_validator(mode="after")
    def _something_to_match(self) -> SynonymGroup:
        import re

        if not self.says and not self.patterns:
            raise ValueError(f"synonym group for {self.means!r} has no phrases or patterns")
        for pattern in self.patterns:
            re.compile(pattern)
        return self


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


class HistoryItem(BaseModel):
    """An injury the self-test asks about; ``number`` is what users type, fixed in the data
    so the checklist does not renumber when the file is reordered."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    number: int = Field(ge=1, le=99)
    label: str
    words: str = Field(description="Regular expression over the lower-cased typed answer.")

    @field_validator("words")
    @classmethod
    def _compiles(cls, value: str) -> str:
        import re

        re.compile(value)
        return value


class StepButton(BaseModel):
    """A button of a self-test step: its label and the value it answers with."""

    model_config = ConfigDict(frozen=True)

    label: str
    value: str = Field(pattern=r"^[a-z0-9_]{1,20}$")


def _button(value: object) -> object:
    """``[label, value]`` in YAML reads best; a mapping is accepted too."""
    if isinstance(value, list | tuple) and len(value) == 2:
        return {"label": value[0], "value": value[1]}
    return value


class SelfTestStep(BaseModel):
    """One step of the self-test form and where its answer goes in ``AssessmentInput``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z_]{1,20}$")
    slot: str = Field(description="Key of the answer in a saved, half-done test.")
    target: str = Field(pattern=r"^[a-z_]+(?:\.(?:left|right))?$")
    parser: Literal["safety", "reps", "seconds", "heel", "history"]
    prompt: str
    how_to: str | None = Field(default=None, description="A self_tests id.")
    skippable: bool = False
    buttons: tuple[tuple[StepButton, ...], ...] = ()

    @field_validator("buttons", mode="before")
    @classmethod
    def _pairs(cls, rows: object) -> object:
        if isinstance(rows, list):
            return [[_button(b) for b in row] if isinstance(row, list) else row for row in rows]
        return rows


class Reason(BaseModel):
    """A user-facing reason with the guide sentence it rests on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    quote: str


class FindingsText(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    intro: str
    none: str
    item: str
    side_both: str
    side_one: str
    notes_heading: str
    zero_reps: str
    near_asymmetry: str
    heel_not_judged: str


class ReferralText(BaseModel):
    """How soon to act, by the most urgent red flag reported (safety copy, not the guide)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    emergency: str
    same_day: str
    soon: str


class ProgramText(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    heading: str
    day: str
    focus_standing: str
    focus_seated: str
    line: str
    each_leg: str
    first: str
    rest: str
    dose: str
    hold: str
    spacing: str
    why_button: str
    reasons_heading: str
    reason_line: str
    notes_heading: str
    reminder_offer: str
    reminder_yes: str
    reminder_no: str
    no_program: str


class FormText(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reask: str
    stopped_for_flag: str
    safety_answer_hint: str
    safety_no_button: str
    safety_no_item: str
    safety_which: str
    safety_accepted: str
    reps_accepted: str
    both_sides_hint: str
    no_number: str
    one_number: str
    not_whole: str
    outside: str
    seconds_accepted: str
    seconds_outside: str
    skip_hint: str
    other_side_only: str
    heel_accepted: str
    history_no_option: str
    history_accepted: str
    history_none_button: str
    history_done_button: str
    heel_unsure: str
    history_selected: str
    history_nothing: str
    both_sides_taken: str
    left_changed: str
    already_done: str


class ProgramReasons(BaseModel):
    """Why each program line is there; one field per exercise slot or variant."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    standing: Reason
    seated: Reason
    dominance: Reason
    bilateral_start: Reason
    single_leg: Reason
    capped: Reason
    out_of_reach: Reason
    eccentric_achilles: Reason
    eccentric_strain: Reason
    eccentric_out_of_reach: Reason
    eccentric_bilateral_start: Reason
    band_eversion: Reason
    balance: Reason
    band_inversion: Reason
    heel_rise: Reason
    toe_gripping: Reason
    stretch: Reason


class ProgramNotes(BaseModel):
    """The program's general notes, each with its guide sentence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    frequency: Reason
    volume: Reason
    bottom_stretch: Reason
    progress_load: Reason
    progress_single: Reason
    stronger_side: Reason
    physiotherapist: Reason
    standing_eversion: Reason
    heel_rise_later: Reason
    shin_splints: Reason


class AssessmentText(BaseModel):
    """Every word the self-test, its findings and its program say (``assessment_text.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    findings: FindingsText
    referral: ReferralText
    program: ProgramText
    form: FormText
    reasons: ProgramReasons
    notes: ProgramNotes

    def sourced(self) -> tuple[tuple[str, Reason], ...]:
        """Every reason and note with its name, for the guide check."""
        return tuple(
            (f"{group}.{name}", reason)
            for group in ("reasons", "notes")
            for name, reason in getattr(self, group)
        )


class Subject(BaseModel):
    """Words a follow-up may name and the guide part they point at ("the seated ones")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    words: str = Field(description="Regular expression over the lower-cased message.")
    part: str = Field(description="A guide section path: the part the words point at.")
    after: tuple[str, ...] = Field(
        default=(),
        description="Only while the chat is about one of these guide parts: 'the band one' "
        "is band inversion after the tibialis posterior, band eversion after the peroneals.",
    )

    @field_validator("words")
    @classmethod
    def _compiles(cls, value: str) -> str:
        import re

        re.compile(value)
        return value


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
    subjects: tuple[Subject, ...] = ()
    red_flags: tuple[RedFlag, ...]
    conditions: tuple[Condition, ...] = ()
    off_topics: tuple[OffTopic, ...] = ()
    answer_cards: tuple[AnswerCard, ...] = ()
    triage_text: TriageText
    history: tuple[HistoryItem, ...]
    self_test_steps: tuple[SelfTestStep, ...]
    assessment_text: AssessmentText

    @model_validator(mode="after")
    def _unique_ids(self) -> Knowledge:
        names = ("muscles", "self_tests", "imbalances", "exercises", "faq", "red_flags", "history")
        for name in (*names, "conditions", "answer_cards", "off_topics", "subjects"):
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
        numbers = [h.number for h in self.history]
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"history: duplicate checklist numbers {sorted(numbers)}")
        self._check_steps()
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

    def _check_steps(self) -> None:
        names = [s.name for s in self.self_test_steps]
        slots = [s.slot for s in self.self_test_steps]
        for label, values in (("names", names), ("slots", slots)):
            if len(set(values)) != len(values):
                raise ValueError(f"self_test_steps: duplicate {label}")
        test_ids = {t.id for t in self.self_tests}
        for step in self.self_test_steps:
            if step.how_to is not None and step.how_to not in test_ids:
                raise ValueError(f"self_test_steps.{step.name}: unknown self-test {step.how_to!r}")

    @property
    def history_checklist(self) -> tuple[HistoryItem, ...]:
        """History items in checklist order: by their explicit number, not file order."""
        return tuple(sorted(self.history, key=lambda h: h.number))

    def imbalance(self, imbalance_id: str) -> Imbalance:
        """The imbalance with this id (``KeyError`` if the data has none)."""
        for item in self.imbalances:
            if item.id == imbalance_id:
                return item
        raise KeyError(imbalance_id)

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
