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


@dataclass(frozen=True)
class NewInvite:
    """/coach's "make a new link": replaces the presser's invite code (the old one dies)."""


@dataclass(frozen=True)
class Consent:
    """The answer to a coach's invitation: share with the coach of invite ``code``, or
    (``code`` None) decline. The code is looked up again when pressed, so a link revoked
    meanwhile shares nothing."""

    code: str | None


CLIENT_ACTIONS = ("report", "retest", "faqs")


@dataclass(frozen=True)
class ClientAction:
    """A coach's button in /clients for the client of coach link ``link``: see the report,
    suggest a re-test, or choose an FAQ answer to send. Checked against the presser."""

    action: str
    link: int


@dataclass(frozen=True)
class ClientFaq:
    """Send FAQ answer ``faq_id`` to the client of coach link ``link``."""

    link: int
    faq_id: str


@dataclass(frozen=True)
class StopSharing:
    """A client's "Stop sharing" for coach link ``link``."""

    link: int


@dataclass(frozen=True)
class ReportRequest:
    """The report as an image or a PDF: the presser's own (``link`` None), or the latest of
    the client of coach link ``link`` (only for that link's coach)."""

    pdf: bool
    link: int | None = None


Payload = (
    StartTest
    | FormAnswer
    | Related
    | Faq
    | Remind
    | DataChoice
    | Why
    | NewInvite
    | Consent
    | ClientAction
    | ClientFaq
    | StopSharing
    | ReportRequest
)
# An invite code: what secrets.token_urlsafe makes, within Telegram's start-parameter
# alphabet (A-Z a-z 0-9 _ -); "coach_" + code stays far under its 64 characters.
INVITE_CODE = r"[A-Za-z0-9_-]{16,43}"

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
    (re.compile(r"coach:newlink"), NewInvite),
    (re.compile(rf"coach:(?:share:(?P<code>{INVITE_CODE})|decline)"), Consent),
    (re.compile(rf"cl:(?P<action>{'|'.join(CLIENT_ACTIONS)}):(?P<link>{_NUMBER})"), ClientAction),
    (re.compile(rf"cl:faq:(?P<link>{_NUMBER}):(?P<id>{_WORD})"), ClientFaq),
    (re.compile(rf"coach:stop:(?P<link>{_NUMBER})"), StopSharing),
    (re.compile(rf"report:(?P<kind>png|pdf)(?::(?P<link>{_NUMBER}))?"), ReportRequest),
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
        if kind is NewInvite:
            return NewInvite()
        if kind is Consent:
            return Consent(fields["code"])
        if kind is ClientAction:
            return ClientAction(fields["action"], int(fields["link"]))
        if kind is ClientFaq:
            return ClientFaq(int(fields["link"]), fields["id"])
        if kind is StopSharing:
            return StopSharing(int(fields["link"]))
        if kind is ReportRequest:
            link = fields["link"]
            return ReportRequest(fields["kind"] == "pdf", None if link is None else int(link))
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
        case NewInvite():
            raw = "coach:newlink"
        case Consent(code):
            raw = "coach:decline" if code is None else f"coach:share:{code}"
        case ClientAction(action, link):
            raw = f"cl:{action}:{link}"
        case ClientFaq(link, faq_id):
            raw = f"cl:faq:{link}:{faq_id}"
        case StopSharing(link):
            raw = f"coach:stop:{link}"
        case ReportRequest(pdf, link):
            raw = f"report:{'pdf' if pdf else 'png'}" + ("" if link is None else f":{link}")
    if parse_payload(raw) != payload:
        raise ValueError(f"payload {payload!r} does not round-trip")
    return raw
