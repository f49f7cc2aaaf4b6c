"""Output channels (as Rasa's ``OutputChannel``): how the core reaches a user.

The engine answers a message with :class:`~bot.engine.messages.Reply` objects that the
input's own adapter renders; messages that start on our side (re-test reminders, later a
coach's notifications) go out through the channel the user came from, named in the store,
via this interface. A second transport is then one more adapter, not a rewrite.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from bot.engine.messages import Reply


class OutputChannel(ABC):
    """Sends replies to an address (a chat) on one transport."""

    name: str

    @abstractmethod
    async def send(self, address: str, replies: Sequence[Reply]) -> None:
        """Deliver ``replies`` in order; raise if the transport refused them."""


class CollectingOutput(OutputChannel):
    """Keeps what would be sent: for tests, and for channels that cannot push."""

    def __init__(self, name: str = "collect") -> None:
        self.name = name
        self.sent: list[tuple[str, Reply]] = []

    async def send(self, address: str, replies: Sequence[Reply]) -> None:
        self.sent.extend((address, reply) for reply in replies)
