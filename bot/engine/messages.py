"""Plain message types between the engine and the channels (Rasa-style)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Incoming:
    """A user's message or button press, whatever the channel."""

    user_id: str
    text: str = ""
    payload: str | None = None  # set when a button was pressed
    update_id: int | None = None
    chat_id: int | None = None  # where reminders go; defaults to the user's private chat


@dataclass(frozen=True)
class Button:
    """A choice offered with a reply; exactly one of payload, url, share_query is set."""

    label: str
    payload: str | None = None
    url: str | None = None
    share_query: str | None = None


@dataclass(frozen=True)
class Reply:
    """One message to the user; ``section`` names the guide section the text came from."""

    text: str
    section: str | None = None
    buttons: tuple[tuple[Button, ...], ...] = field(default_factory=tuple)
    image: bytes | None = None
    kind: str = "text"
    edit: bool = False  # replace the message whose button was pressed, where the channel can
