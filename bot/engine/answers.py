"""Reading typed self-test answers the way people write them.

"twenty", "about half a minute", "15 left 12 right", "1:10": each parser returns what it
understood or raises :class:`Invalid` with a message that says what is accepted (wording in
``knowledge/data/assessment_text.yaml``).
"""

from __future__ import annotations

import re

from knowledge.facts import load_facts
from knowledge.models import FormText


class Invalid(ValueError):
    """An answer that does not fit the step; the message says what is accepted."""


def words() -> FormText:
    return load_facts().assessment_text.form


_UNITS = {
    name: n
    for n, name in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
        ]
    )
}
_TENS = {
    name: 10 * n
    for n, name in enumerate(
        ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"], 2
    )
}
_NUMBER_WORD = "|".join(sorted([*_UNITS, *_TENS, "hundred"], key=len, reverse=True))
_NUMBER_WORDS = re.compile(
    rf"\b(?:{_NUMBER_WORD})(?:[\s-]+(?:and[\s-]+)?(?:{_NUMBER_WORD}))*\b", re.IGNORECASE
)


def _words_value(match: re.Match[str]) -> str:
    total = 0
    for word in re.split(r"[\s-]+", match.group(0).lower()):
        if word == "and":
            continue
        if word == "hundred":
            total = (total or 1) * 100
        else:
            total += _UNITS.get(word, _TENS.get(word, 0))
    return str(total)


def words_to_digits(text: str) -> str:
    """'twenty-two' -> '22', 'a hundred and five' -> '105'; other text unchanged."""
    text = re.sub(r"\ba hundred\b", "one hundred", text, flags=re.IGNORECASE)
    return _NUMBER_WORDS.sub(_words_value, text)


_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")


def whole_number(text: str, low: int, high: int, unit: str) -> int:
    """The one whole number in ``text`` (digits or words) within ``low``-``high``."""
    w = words()
    numbers = _NUMBER.findall(words_to_digits(text))
    accepted = w.reps_accepted.format(unit=unit, low=low, high=high)
    if len(numbers) != 1:
        problem = w.one_number if numbers else w.no_number
        raise Invalid(f"{problem} {accepted}")
    raw = numbers[0]
    if "." in raw or "," in raw:
        raise Invalid(f"{w.not_whole.format(raw=raw)} {accepted}")
    value = int(raw)
    if not low <= value <= high:
        raise Invalid(f"{w.outside.format(value=value, low=low, high=high)} {accepted}")
    return value


_SIDE = r"\b(left|right|l|r)(?![a-z])"
_AMOUNT = r"(\d+(?::\d{2})?)\s*(?:s|secs?|seconds?|reps?)?"
_SIDE_FIRST = re.compile(rf"{_SIDE}\s*(?:leg|side)?\s*[:=-]?\s*{_AMOUNT}")
_NUMBER_FIRST = re.compile(rf"{_AMOUNT}\s*(?:on\s+)?(?:the\s+)?{_SIDE}")


def _scan(pattern: re.Pattern[str], text: str, side_first: bool) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in pattern.finditer(text):
        side, amount = match.groups() if side_first else reversed(match.groups())
        found.setdefault("left" if side.startswith("l") else "right", amount)
    return found


def per_side(text: str) -> dict[str, str]:
    """'15 left 12 right', 'L15 R12', 'left: 15, right: 12' -> {'left': '15', 'right': '12'}.

    Empty when no number stands next to a side. Whichever order (side before or after its
    number) reads both sides wins, so '15 left 12 right' is not read as 'left 12'."""
    text = words_to_digits(text.lower())
    side_first = _scan(_SIDE_FIRST, text, side_first=True)
    number_first = _scan(_NUMBER_FIRST, text, side_first=False)
    if len(side_first) == 2 and (len(number_first) < 2 or re.match(_SIDE, text.strip())):
        return side_first
    if len(number_first) == 2:
        return number_first
    return side_first or number_first


_FILLER = re.compile(
    r"\b(?:about|around|roughly|approximately|approx|maybe|almost|nearly|just|only|"
    r"like|i held(?: it)?(?: for)?|held(?: it)?(?: for)?|for)\b|~"
)


def seconds(text: str, high: int) -> int:
    """Seconds from '25', '25 s', '1:10', '1.5 min', '1 min 10 s', 'about half a minute'."""
    text = words_to_digits(text.strip().lower())
    text = re.sub(r"\bhalf (?:a|1) minute\b", "30 seconds", text)
    text = re.sub(r"\b(?:a|1) minute and a half\b", "90 seconds", text)
    text = re.sub(r"\ba minute\b", "1 minute", text)
    text = _FILLER.sub(" ", text).strip()
    clock = re.search(r"\b(\d{1,2}):(\d{2})\b", text)
    minutes = re.search(
        r"(\d+(?:\.\d+)?)\s*(?:m|min|mins|minutes?)\b"
        r"(?:\s*(?:and\s*)?(\d+)\s*(?:s|sec|secs|seconds?)\b)?",
        text,
    )
    if clock:
        value = int(clock.group(1)) * 60 + int(clock.group(2))
    elif minutes:
        value = round(float(minutes.group(1)) * 60) + int(minutes.group(2) or 0)
    else:
        value = whole_number(text, 0, high, "seconds")
    if not 0 <= value <= high:
        w = words()
        raise Invalid(f"{w.seconds_outside.format(seconds=value, high=high)} {w.seconds_accepted}")
    return value
