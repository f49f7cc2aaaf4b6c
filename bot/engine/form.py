"""The self-test as a form: each step is data (prompt, how-to, parser), Rasa-style.

The next step is the first one whose slots are still empty, so going back, resuming
and re-asking need no extra state. A parser returns the slot values or raises
:class:`Invalid` with a message that says what is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.assessment.models import HISTORY_LABELS, MAX_BALANCE_SECONDS, MAX_REPS
from bot.engine.messages import Button
from knowledge.facts import load_facts

PREFIX = "a:"  # callback payloads of the assessment: "a:<step>:<value>"


class Invalid(ValueError):
    """An answer that does not fit the step; the message says what is accepted."""


@dataclass(frozen=True)
class FormStep:
    """One question of the self-test."""

    name: str
    slots: tuple[str, ...]
    prompt: str
    parse: Callable[[str], dict[str, Any]]
    how_to: str | None = None
    buttons: tuple[tuple[Button, ...], ...] = field(default_factory=tuple)


_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")
_SKIP = re.compile(r"^(?:skip|skipped|pass|n/?a|none|no (?:cushion|pad|surface)|can'?t|cannot)\b")
_NO = re.compile(r"^(?:no|nope|nah|none|neither|nothing|n|0|no,? none of (?:these|them))\b")


def _whole_number(text: str, low: int, high: int, unit: str) -> int:
    numbers = _NUMBER.findall(text)
    accepted = f"Please send a whole number of {unit} from {low} to {high}, like 18."
    if len(numbers) != 1:
        raise Invalid(("I need one number. " if numbers else "I didn't find a number. ") + accepted)
    raw = numbers[0]
    if "." in raw or "," in raw:
        raise Invalid(f"{raw} isn't a whole number. {accepted}")
    value = int(raw)
    if not low <= value <= high:
        raise Invalid(f"{value} is outside {low}-{high}. {accepted}")
    return value


def parse_reps(slot: str) -> Callable[[str], dict[str, Any]]:
    def parse(text: str) -> dict[str, Any]:
        return {slot: _whole_number(text, 0, MAX_REPS, "reps")}

    return parse


def _seconds(text: str) -> int:
    text = text.strip().lower()
    clock = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if clock:
        seconds = int(clock.group(1)) * 60 + int(clock.group(2))
    else:
        minutes = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(?:m|min|mins|minutes?)", text)
        seconds = (
            round(float(minutes.group(1)) * 60)
            if minutes
            else _whole_number(text, 0, MAX_BALANCE_SECONDS, "seconds")
        )
    if not 0 <= seconds <= MAX_BALANCE_SECONDS:
        raise Invalid(
            f"{seconds} s is outside 0-{MAX_BALANCE_SECONDS}. Send the seconds you held, "
            "like 25 or 1:10, or 'skip'."
        )
    return seconds


def parse_balance(slot: str) -> Callable[[str], dict[str, Any]]:
    def parse(text: str) -> dict[str, Any]:
        if _SKIP.match(text.strip().lower()):
            return {"balance_left": None, "balance_right": None}
        try:
            return {slot: _seconds(text)}
        except Invalid as exc:
            raise Invalid(f"{exc} Or send 'skip' if you have nothing to stand on.") from None

    return parse


def parse_heel(text: str) -> dict[str, Any]:
    text = text.strip().lower()
    if text in {"left", "l"} or text.startswith("left"):
        return {"heel_valgus": {"left": True, "right": False}}
    if text in {"right", "r"} or text.startswith("right"):
        return {"heel_valgus": {"left": False, "right": True}}
    if text.startswith(("both", "yes both", "each")):
        return {"heel_valgus": {"left": True, "right": True}}
    if _NO.match(text):
        return {"heel_valgus": {"left": False, "right": False}}
    raise Invalid("Please answer left, right, both or neither.")


_HISTORY_WORDS = {
    "ankle_sprain": r"sprain|roll",
    "achilles_pain": r"achill",
    "plantar_fasciitis": r"fasci|plantar|heel",
    "calf_strain": r"strain|pull|tear|torn",
    "shin_splints": r"shin",
    "medial_ankle_pain": r"inner|medial|inside",
}
HISTORY_IDS = tuple(HISTORY_LABELS)


def parse_history(text: str) -> dict[str, Any]:
    text = text.strip().lower()
    if _NO.match(text):
        return {"history": []}
    chosen: list[str] = []
    for number in re.findall(r"\d+", text):
        index = int(number) - 1
        if not 0 <= index < len(HISTORY_IDS):
            raise Invalid(f"There is no option {number}. Use 1 to {len(HISTORY_IDS)}, or 'none'.")
        chosen.append(HISTORY_IDS[index])
    for history_id, pattern in _HISTORY_WORDS.items():
        if re.search(pattern, text) and history_id not in chosen:
            chosen.append(history_id)
    if not chosen:
        raise Invalid(
            "Please send the numbers that apply, like '1 3', or 'none'. "
            "You can also tap the options and then Done."
        )
    return {"history": sorted(set(chosen), key=HISTORY_IDS.index)}


def parse_safety(text: str) -> dict[str, Any]:
    text = text.strip().lower()
    # Numbered by each flag's own `checklist` field, never by its place in the file, so a
    # number typed (or an old button) means the same flag after the catalogue is edited.
    by_number = {flag.checklist: flag.id for flag in load_facts().red_flags}
    ids = [by_number[n] for n in sorted(by_number)]
    if _NO.match(text):
        return {"red_flags": []}
    chosen = []
    for number in re.findall(r"\d+", text):
        if int(number) not in by_number:
            raise Invalid(f"There is no item {number}. Send the numbers 1 to {len(ids)}, or 'no'.")
        chosen.append(by_number[int(number)])
    if chosen:
        return {"red_flags": sorted(set(chosen), key=ids.index)}
    if re.match(r"^(?:yes|yeah|yep|y)\b", text):
        raise Invalid(
            f"Which one? Send its number (1 to {len(ids)}), so I can point you to the right help."
        )
    raise Invalid("Please answer 'no' if none of these apply, or the number of any that does.")


def _numbered(labels: list[str]) -> str:
    return "\n".join(f"{n}. {label}" for n, label in enumerate(labels, 1))


def _self_test_how_to(test_id: str) -> str:
    test = next(t for t in load_facts().self_tests if t.id == test_id)
    return f"{test.name}. How to: {test.instructions}"


def build_steps() -> tuple[FormStep, ...]:
    """The self-test, in order. Built from the knowledge data (how-tos, red flags)."""
    flags = sorted(load_facts().red_flags, key=lambda f: f.checklist)
    safety_prompt = (
        "First, a quick safety check. Does any of these apply to you right now?\n"
        + "\n".join(f"{f.checklist}. {f.label}" for f in flags)
        + "\n\nAnswer 'no', or the number of any that does."
    )
    safety_buttons = (
        (Button("No, none of these", payload=f"{PREFIX}safety:no"),),
        tuple(Button(str(f.checklist), payload=f"{PREFIX}safety:{f.checklist}") for f in flags[:5]),
        tuple(Button(str(f.checklist), payload=f"{PREFIX}safety:{f.checklist}") for f in flags[5:]),
    )
    heel_buttons = (
        (
            Button("Left", payload=f"{PREFIX}heel:left"),
            Button("Right", payload=f"{PREFIX}heel:right"),
        ),
        (
            Button("Both", payload=f"{PREFIX}heel:both"),
            Button("Neither", payload=f"{PREFIX}heel:neither"),
        ),
    )
    history_buttons = (
        *tuple(
            (Button(label, payload=f"{PREFIX}hist:{hid}"),) for hid, label in HISTORY_LABELS.items()
        ),
        (
            Button("None", payload=f"{PREFIX}hist:none"),
            Button("Done", payload=f"{PREFIX}hist:done"),
        ),
    )
    skip = ((Button("Skip (nothing to stand on)", payload=f"{PREFIX}balance:skip"),),)
    return (
        FormStep("safety", ("red_flags",), safety_prompt, parse_safety, buttons=safety_buttons),
        FormStep(
            "straight_left",
            ("straight_left",),
            "LEFT leg, knee straight: how many clean single-leg calf raises did you do?",
            parse_reps("straight_left"),
            how_to=_self_test_how_to("straight_knee_reps"),
        ),
        FormStep(
            "straight_right",
            ("straight_right",),
            "RIGHT leg, knee straight: how many clean reps?",
            parse_reps("straight_right"),
        ),
        FormStep(
            "bent_left",
            ("bent_left",),
            "LEFT leg, knee bent to about 90 degrees: how many clean reps?",
            parse_reps("bent_left"),
            how_to=_self_test_how_to("bent_knee_reps"),
        ),
        FormStep(
            "bent_right",
            ("bent_right",),
            "RIGHT leg, knee bent: how many clean reps?",
            parse_reps("bent_right"),
        ),
        FormStep(
            "balance_left",
            ("balance_left", "balance_right"),
            "LEFT leg balance on a cushion or foam pad: how many seconds did you hold it? "
            "(or 'skip' if you have nothing to stand on)",
            parse_balance("balance_left"),
            how_to=_self_test_how_to("balance_seconds"),
            buttons=skip,
        ),
        FormStep(
            "balance_right",
            ("balance_right",),
            "RIGHT leg balance: how many seconds?",
            parse_balance("balance_right"),
            buttons=skip,
        ),
        FormStep(
            "heel",
            ("heel_valgus",),
            "During the single-leg raises, did a heel roll inward? Left, right, both or neither?",
            parse_heel,
            how_to=_self_test_how_to("heel_valgus"),
            buttons=heel_buttons,
        ),
        FormStep(
            "history",
            ("history",),
            "Last one: have you had any of these? Tap all that apply, then Done "
            "(or type the numbers, like '1 3', or 'none').\n"
            + _numbered(list(HISTORY_LABELS.values())),
            parse_history,
            buttons=history_buttons,
        ),
    )


def next_step(steps: tuple[FormStep, ...], answers: dict[str, Any]) -> FormStep | None:
    """The first step with an empty slot (``None`` when the form is complete)."""
    return next((s for s in steps if s.slots[0] not in answers), None)
