"""The self-test as a form, built from ``knowledge/data/self_test_steps.yaml`` (Rasa-style).

Each step carries where its answer goes in :class:`AssessmentInput` (``target``), so
turning answers into results needs no hand-written mapping. The next step is the first
one whose slot is still empty, so going back, resuming and re-asking need no extra state.
A parser returns a :class:`Parsed` or raises :class:`Invalid` with what is accepted.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from bot.assessment.models import MAX_BALANCE_SECONDS, MAX_REPS, AssessmentInput
from bot.engine.answers import Invalid, per_side, seconds, whole_number, words
from bot.engine.messages import Button
from knowledge.facts import load_facts
from knowledge.models import Knowledge, SelfTestStep

PREFIX = "a:"  # callback payloads of the assessment: "a:<step>:<value>"
HISTORY_BUTTON = "hist"  # "a:hist:<history id>|none|done"

__all__ = [
    "HISTORY_BUTTON",
    "PREFIX",
    "FormStep",
    "Invalid",
    "Parsed",
    "assessment_input",
    "build_steps",
    "history_ids",
    "next_step",
]


@dataclass(frozen=True)
class Parsed:
    """What an answer gave: slot values to fill, or history items to tick (``tick``, with
    ``finish`` when the user also said they are done), and a note to send first."""

    values: dict[str, Any] = field(default_factory=dict)
    note: str | None = None
    tick: tuple[str, ...] = ()
    finish: bool = False


@dataclass(frozen=True)
class FormStep:
    """One question of the self-test."""

    name: str
    slots: tuple[str, ...]
    target: str
    prompt: str
    parse: Callable[[str], Parsed]
    how_to: str | None = None
    buttons: tuple[tuple[Button, ...], ...] = ()

    @property
    def slot(self) -> str:
        return self.slots[0]


_SKIP = re.compile(r"^(?:skip|skipped|pass|n/?a|none|no (?:cushion|pad|surface)|can'?t|cannot)\b")
_NO = re.compile(r"^(?:no|nope|nah|none|neither|nothing|n|0|no,? none of (?:these|them))\b")
_UNSURE = re.compile(
    r"^(?:not sure|unsure|don'?t know|do not know|dunno|no idea|can'?t tell|cannot tell|"
    r"couldn'?t (?:tell|see)|i'?m not sure|maybe|\?+$)"
)
_DONE = re.compile(r"\bdone\b|\bthat'?s (?:it|all)\b|\bfinished\b")


# -- parsers -----------------------------------------------------------------------------


def _per_side_values(
    text: str, slots: dict[str, str], side: str, read: Callable[[str], int]
) -> dict[str, Any] | None:
    """Both legs in one answer ('15 left 12 right') fill both slots; ``None`` if no side named."""
    pairs = per_side(text)
    if not pairs:
        return None
    if len(pairs) == 2:
        return {slots[s]: read(pairs[s]) for s in ("left", "right")}
    if side in pairs:
        return {slots[side]: read(pairs[side])}
    raise Invalid(words().other_side_only.format(side=side.upper()))


def parse_reps(slot: str, slots: dict[str, str], side: str) -> Callable[[str], Parsed]:
    def read(text: str) -> int:
        return whole_number(text, 0, MAX_REPS, "reps")

    def parse(text: str) -> Parsed:
        both = _per_side_values(text, slots, side, read)
        if both is not None:
            return Parsed(both)
        try:
            return Parsed({slot: read(text)})
        except Invalid as exc:
            if words().one_number in str(exc):
                raise Invalid(f"{exc} {words().both_sides_hint}") from None
            raise

    return parse


def parse_seconds(
    slot: str, slots: dict[str, str], side: str, skip_slots: tuple[str, ...]
) -> Callable[[str], Parsed]:
    def read(text: str) -> int:
        return seconds(text, MAX_BALANCE_SECONDS)

    def parse(text: str) -> Parsed:
        if skip_slots and _SKIP.match(text.strip().lower()):
            return Parsed(dict.fromkeys(skip_slots))
        try:
            both = _per_side_values(text, slots, side, read)
            return Parsed(both if both is not None else {slot: read(text)})
        except Invalid as exc:
            hint = f" {words().skip_hint}" if skip_slots else ""
            raise Invalid(f"{exc}{hint}") from None

    return parse


def parse_heel(slot: str) -> Callable[[str], Parsed]:
    def parse(text: str) -> Parsed:
        text = text.strip().lower()
        if _UNSURE.match(text):  # before "no": "no idea" is not "neither"
            return Parsed({slot: None}, note=words().heel_unsure)
        if text in {"left", "l"} or text.startswith("left"):
            return Parsed({slot: {"left": True, "right": False}})
        if text in {"right", "r"} or text.startswith("right"):
            return Parsed({slot: {"left": False, "right": True}})
        if text.startswith(("both", "yes both", "each")):
            return Parsed({slot: {"left": True, "right": True}})
        if _NO.match(text):
            return Parsed({slot: {"left": False, "right": False}})
        raise Invalid(words().heel_accepted)

    return parse


def parse_history(slot: str, knowledge: Knowledge) -> Callable[[str], Parsed]:
    """Typed numbers or words tick items like taps do; 'done' finishes, 'none' clears."""
    checklist = knowledge.history_checklist
    by_number = {item.number: item.id for item in checklist}

    def parse(text: str) -> Parsed:
        text = text.strip().lower()
        if _NO.match(text):
            return Parsed({slot: []})
        chosen: list[str] = []
        for number in re.findall(r"\d+", text):
            if int(number) not in by_number:
                raise Invalid(words().history_no_option.format(number=number, count=len(checklist)))
            chosen.append(by_number[int(number)])
        for item in checklist:
            if re.search(item.words, text) and item.id not in chosen:
                chosen.append(item.id)
        finish = bool(_DONE.search(text))
        if not chosen and not finish:
            raise Invalid(words().history_accepted)
        return Parsed(tick=tuple(chosen), finish=finish)

    return parse


def parse_safety(slot: str, knowledge: Knowledge) -> Callable[[str], Parsed]:
    # Numbered by each flag's own `checklist` field, never by its place in the file, so a
    # number typed (or an old button) means the same flag after the catalogue is edited.
    by_number = {flag.checklist: flag.id for flag in knowledge.red_flags}
    ids = [by_number[n] for n in sorted(by_number)]
    w = words()

    def parse(text: str) -> Parsed:
        text = text.strip().lower()
        if _NO.match(text):
            return Parsed({slot: []})
        chosen = []
        for number in re.findall(r"\d+", text):
            if int(number) not in by_number:
                raise Invalid(w.safety_no_item.format(number=number, count=len(ids)))
            chosen.append(by_number[int(number)])
        if chosen:
            return Parsed({slot: sorted(set(chosen), key=ids.index)})
        if re.match(r"^(?:yes|yeah|yep|y)\b", text):
            raise Invalid(w.safety_which.format(count=len(ids)))
        raise Invalid(w.safety_accepted)

    return parse


# -- building the form from the data ------------------------------------------------------



def _numbered(labels: list[str]) -> str:
    return "\n".join(f"{n}. {label}" for n, label in enumerate(labels, 1))


def _how_to(knowledge: Knowledge, test_id: str) -> str:
    test = next(t for t in knowledge.self_tests if t.id == test_id)
    return f"{test.name}. How to: {test.instructions}"


def _per_side_model(annotation: object) -> type[BaseModel] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def check_target(step: SelfTestStep) -> None:
    """The step's target must be a field of AssessmentInput (a side of a per-side one)."""
    top, _, side = step.target.partition(".")
    info = AssessmentInput.model_fields.get(top)
    if info is None:
        raise ValueError(f"self-test step {step.name!r}: unknown target {step.target!r}")
    if side:
        model = _per_side_model(info.annotation)
        if model is None or side not in model.model_fields:
            raise ValueError(f"self-test step {step.name!r}: {top!r} has no side {side!r}")


def _side_slots(steps: tuple[SelfTestStep, ...], step: SelfTestStep) -> dict[str, str]:
    """The slots of both legs of this step's test, by side."""
    top = step.target.partition(".")[0]
    return {
        s.target.partition(".")[2]: s.slot
        for s in steps
        if s.target.partition(".")[0] == top and "." in s.target
    }


def _buttons(step: SelfTestStep) -> tuple[tuple[Button, ...], ...]:
    prefix = f"{PREFIX}{step.name.split('_')[0]}:"
    return tuple(
        tuple(Button(b.label, payload=f"{prefix}{b.value}") for b in row) for row in step.buttons
    )


def _build(steps: tuple[SelfTestStep, ...], step: SelfTestStep, knowledge: Knowledge) -> FormStep:
    check_target(step)
    w = knowledge.assessment_text.form
    prompt, buttons = step.prompt, _buttons(step)
    slots: tuple[str, ...] = (step.slot,)
    parse: Callable[[str], Parsed]
    if step.parser in {"reps", "seconds"}:
        sides = _side_slots(steps, step)
        side = step.target.partition(".")[2]
        if step.parser == "reps":
            parse = parse_reps(step.slot, sides, side)
        else:
            skip = tuple(sides[s] for s in ("left", "right")) if step.skippable else ()
            # A skip fills both legs, so /back over it clears both.
            slots = (step.slot, *(s for s in skip if s != step.slot))
            parse = parse_seconds(step.slot, sides, side, skip)
    elif step.parser == "heel":
        parse = parse_heel(step.slot)
    elif step.parser == "history":
        parse = parse_history(step.slot, knowledge)
        checklist = knowledge.history_checklist
        prompt += "\n" + "\n".join(f"{h.number}. {h.label}" for h in checklist)
        buttons = (
            *((Button(h.label, payload=f"{PREFIX}{HISTORY_BUTTON}:{h.id}"),) for h in checklist),
            (
                Button(w.history_none_button, payload=f"{PREFIX}{HISTORY_BUTTON}:none"),
                Button(w.history_done_button, payload=f"{PREFIX}{HISTORY_BUTTON}:done"),
            ),
        )
    else:  # safety: the checklist is the red flags' own data
        parse = parse_safety(step.slot, knowledge)
        flags = sorted(knowledge.red_flags, key=lambda f: f.checklist)
        prompt += (
            "\n"
            + "\n".join(f"{f.checklist}. {f.label}" for f in flags)
            + f"\n\n{w.safety_answer_hint}"
        )
        numbers = [
            Button(str(f.checklist), payload=f"{PREFIX}{step.name}:{f.checklist}") for f in flags
        ]
        buttons = (
            (Button(w.safety_no_button, payload=f"{PREFIX}{step.name}:no"),),
            tuple(numbers[:5]),
            tuple(numbers[5:]),
        )
    return FormStep(
        name=step.name,
        slots=slots,
        target=step.target,
        prompt=prompt,
        parse=parse,
        how_to=_how_to(knowledge, step.how_to) if step.how_to else None,
        buttons=buttons,
    )


def build_steps(knowledge: Knowledge | None = None) -> tuple[FormStep, ...]:
    """The self-test, in the data's order; a step whose target is not a field fails here."""
    knowledge = knowledge or load_facts()
    steps = knowledge.self_test_steps
    return tuple(_build(steps, step, knowledge) for step in steps)


def history_ids(knowledge: Knowledge | None = None) -> tuple[str, ...]:
    return tuple(h.id for h in (knowledge or load_facts()).history_checklist)


def next_step(steps: tuple[FormStep, ...], answers: dict[str, Any]) -> FormStep | None:
    """The first step with an empty slot (``None`` when the form is complete)."""
    return next((s for s in steps if s.slot not in answers), None)


def assessment_input(steps: tuple[FormStep, ...], answers: dict[str, Any]) -> AssessmentInput:
    """The answers placed where each step says they go; a per-side test with a side left
    out (skipped) is left out whole, an unanswered optional field takes its default."""
    raw: dict[str, Any] = {}
    for step in steps:
        top, _, side = step.target.partition(".")
        value = answers.get(step.slot)
        if side:
            raw.setdefault(top, {})[side] = value
        elif value is not None:
            raw[top] = value
    for key, value in list(raw.items()):
        if isinstance(value, dict) and any(v is None for v in value.values()):
            raw[key] = None
    return AssessmentInput.model_validate(raw)
