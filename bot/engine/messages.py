"""Plain message types between the channels and the engine (Rasa-style).

An input channel turns a platform update into an :class:`Incoming`; the engine answers
with :class:`Reply` objects that an output channel renders. Users are identified by
``(channel, user_id)``: the same number on two transports is two people.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.qa.models import Answer


@dataclass(frozen=True)
class Incoming:
    """A user's message or button press, whatever the channel."""

    channel: str  # "telegram", "terminal", ...: the transport the message came through
    user_id: str  # the user's id on that channel
    text: str = ""
    payload: str | None = None  # set when a button was pressed
    update_id: int | None = None  # the channel's id for this update, for deduplication
    address: str | None = None  # where the channel can reach the user later (reminders);
    # None: the channel cannot push messages (the terminal)
    first_name: str | None = None  # what the user calls themselves on the channel (coach mode)
    start_link: str | None = None  # how the channel links to a start argument: a template
    # with "{start}" (Telegram: https://t.me/<bot>?start={start}); None: it has no links

    @property
    def key(self) -> tuple[str, str]:
        return (self.channel, self.user_id)


@dataclass(frozen=True)
class Button:
    """A choice offered with a reply; exactly one of payload, url, share_query is set."""

    label: str
    payload: str | None = None
    url: str | None = None
    share_query: str | None = None


@dataclass(frozen=True)
class Reply:
    """One message to the user; ``sections`` are the guide sections its text came from."""

    text: str
    sections: tuple[str, ...] = ()
    buttons: tuple[tuple[Button, ...], ...] = field(default_factory=tuple)
    image: bytes | None = None  # a PNG; ``text`` is its caption
    document: bytes | None = None  # a file to keep (the report's PDF); ``text`` is its caption
    filename: str | None = None  # the document's file name
    kind: str = "text"
    edit: bool = False  # replace the message whose button was pressed, where the channel can
    keep_buttons: bool = False  # leave the pressed message's buttons (a menu, like /clients)
    # A coach's copy of a client's report (the coach link's id): stored in the outbox as
    # this marker and drawn from the store when it is sent, so the client's step does not
    # wait ~0.4 s for the drawing and a crash in between loses nothing.
    report_link: int | None = None
    answer: Answer | None = None  # the guide answer behind the text (for the JSON contract)
