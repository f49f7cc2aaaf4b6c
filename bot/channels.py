"""Output channels (as Rasa's ``OutputChannel``): how the core reaches a user.

The engine answers a message with :class:`~bot.engine.messages.Reply` objects; they are
stored in the outbox with the step's state and sent from there through the channel the
user came from (:mod:`bot.outbox`), as are messages that start on our side (re-test
reminders). A second transport is then one more adapter, not a rewrite.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from bot.engine.messages import Reply


class OutputChannel(ABC):
    """Sends replies to an address (a chat) on one transport."""

    name: str

    @abstractmethod
    async def send(
        self, address: str, replies: Sequence[Reply], *, pressed: str | None = None
    ) -> list[str]:
        """Deliver ``replies`` in order (an ``edit`` reply replaces message ``pressed``
        where the transport can); raise if the transport refused them. Returns the ids
        of the messages sent with buttons, whose presses belong to this user."""

    def retry_delay(self, error: Exception) -> float | None:
        """Seconds to wait before retrying after ``error``; None when retrying is futile
        (the transport refused the message for good)."""
        return None


class CollectingOutput(OutputChannel):
    """Keeps what would be sent: for tests, and for channels that cannot push."""

    def __init__(self, name: str = "collect") -> None:
        self.name = name
        self.sent: list[tuple[str, Reply]] = []

    async def send(
        self, address: str, replies: Sequence[Reply], *, pressed: str | None = None
    ) -> list[str]:
        self.sent.extend((address, reply) for reply in replies)
        return []
