"""Button payloads: every format in one place, parsed strictly.

A payload comes back from a channel (Telegram's ``callback_data``) and anyone can forge
one, so parsing never trusts it: each format is a full-match pattern, numbers are bounded,
and anything else raises :class:`BadPayload`, which the engine answers with a clear reply
instead of a traceback. Encoding checks Telegram's 64-byte limit where the payload is made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_PAYLOAD_BYTES = 64  # Telegram's callback_data limit
MAX_REMIND_WEEKS = 52


class BadPayload(ValueError):
    """A payload that is not one of ours (stale, truncated or forged)."""


@dataclass(frozen=True)
class StartTest:
    """Start (or resume) the self-test."""


@dataclass(frozen=True)
class FormAnswer:
    """An answer button of a self-test step: ``step`` is the step's button key."""

    step: str
    value: str


@dataclass(frozen=True)
class Related:
    """A related question: client question ``key`` of index chunk ``chunk``."""

    chunk: int
    key: int


@dataclass(frozen=True)
class Faq:
    """One FAQ answer card."""

    id: str


@dataclass(frozen=True)
class Remind:
    """Remind me to re-test in ``weeks`` (``None``: no, thanks)."""

    weeks: int | None


@dataclass(frozen=True)
class DataChoice:
    """The answer to /delete_my_data's confirmation."""

    delete: bool


@dataclass(frozen=True)
class Why:
    """The reasons behind the user's latest program."""


Payload = StartTest | FormAnswer | Related | Faq | Remind | DataChoice | Why

_WORD = r"[a-z0-9_]{1,40}"
_NUMBER = r"(?:0|[1-9][0-9]{0,5})"  # ASCII digits only: int() would take "²" or "٣"
_PATTERNS: tuple[tuple[re.Pattern[str], type], ...] = (
    (re.compile(r"a:start"), StartTest),
    (re.compile(rf"a:(?P<step>{_WORD}):(?P<value>{_WORD})"), FormAnswer),
    (re.compile(rf"rq:(?P<chunk>{_NUMBER}):(?P<key>{_NUMBER})"), Related),
    (re.compile(rf"faq:(?P<id>{_WORD})"), Faq),
    (re.compile(rf"remind:(?P<weeks>{_NUMBER}|no)"), Remind),
    (re.compile(r"data:(?P<choice>delete|keep)"), DataChoice),
    (re.compile(r"why:program"), Why),
)


def parse_payload(raw: str) -> Payload:
    """The payload ``raw`` encodes; raises :class:`BadPayload` for anything else."""
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_PAYLOAD_BYTES:
        raise BadPayload("payload too long")
    for pattern, kind in _PATTERNS:
        match = pattern.fullmatch(raw)
        if match is None:
            continue
        fields = match.groupdict()
        if kind is StartTest:
            return StartTest()
        if kind is Why:
            return Why()
        if kind is FormAnswer:
            return FormAnswer(fields["step"], fields["value"])
        if kind is Related:
            return Related(int(fields["chunk"]), int(fields["key"]))
        if kind is Faq:
            return Faq(fields["id"])
        if kind is Remind:
            weeks = None if fields["weeks"] == "no" else int(fields["weeks"])
            if weeks is not None and not 1 <= weeks <= MAX_REMIND_WEEKS:
                raise BadPayload(f"reminder in {weeks} weeks is out of range")
            return Remind(weeks)
        return DataChoice(fields["choice"] == "delete")
    raise BadPayload("unknown payload")


def encode(payload: Payload) -> str:
    """The string form of ``payload``; it always parses back to an equal payload."""
    match payload:
        case StartTest():
            raw = "a:start"
        case FormAnswer(step, value):
            raw = f"a:{step}:{value}"
        case Related(chunk, key):
            raw = f"rq:{chunk}:{key}"
        case Faq(faq_id):
            raw = f"faq:{faq_id}"
        case Remind(weeks):
            raw = f"remind:{'no' if weeks is None else weeks}"
        case DataChoice(delete):
            raw = f"data:{'delete' if delete else 'keep'}"
        case Why():
            raw = "why:program"
    if parse_payload(raw) != payload:
        raise ValueError(f"payload {payload!r} does not round-trip")
    return raw
