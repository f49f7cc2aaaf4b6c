"""The storage interface: one user's conversation is loaded, stepped and saved as a unit."""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime

from bot.assessment.models import AssessmentInput, AssessmentResult
from bot.engine.state import ConversationState


class Conflict(Exception):
    """Another process changed this user's data during the step; run the step again."""


class StoreUnavailable(Exception):
    """The database did not answer in time (hung, down or unreachable): the step failed
    quickly so the user can be told to try again instead of waiting on it."""


@dataclass(frozen=True)
class StoredResult:
    """One completed self-test."""

    taken_at: datetime
    input: AssessmentInput
    result: AssessmentResult


@dataclass(frozen=True)
class Reminder:
    """A message to send a user later (a re-test reminder)."""

    id: int
    user_id: str
    chat_id: int
    due_at: datetime
    text: str


class UserSession(ABC):
    """One user's data inside a transaction, with the user locked against other updates."""

    state: ConversationState

    @abstractmethod
    async def claim_update(self, update_id: int) -> bool:
        """Record ``update_id``; False when it was already processed (a redelivery)."""

    @abstractmethod
    async def save(self, state: ConversationState) -> None: ...

    @abstractmethod
    async def add_result(self, data: AssessmentInput, result: AssessmentResult) -> None: ...

    @abstractmethod
    async def results(self) -> list[StoredResult]:
        """Completed self-tests, oldest first."""

    @abstractmethod
    async def add_reminder(self, chat_id: int, due_at: datetime, text: str) -> None: ...

    @abstractmethod
    async def delete_everything(self) -> None:
        """Remove every row that belongs to this user."""


class Store(ABC):
    """A backend: memory for tests and the terminal, SQL for the bot."""

    @abstractmethod
    def session(self, user_id: str) -> AbstractAsyncContextManager[UserSession]:
        """Load the user's state; commit the session's writes on normal exit (raising
        :class:`Conflict` if the user changed meanwhile), drop them on error."""

    @abstractmethod
    async def claim_due_reminders(
        self, now: datetime, worker: str, limit: int = 50
    ) -> list[Reminder]:
        """Take reminders due by ``now`` that no live worker holds; each goes to one worker."""

    @abstractmethod
    async def mark_sent(self, reminder_id: int) -> None: ...

    @abstractmethod
    async def release(self, reminder_id: int) -> None:
        """Give a claimed reminder back (sending failed); it will be claimed again."""

    async def ping(self) -> None:  # noqa: B027 - optional hook
        """Raise if the store cannot answer a trivial query (for ``/healthz``)."""

    async def prune(self, older_than: datetime) -> int:
        """Forget processed update ids recorded before ``older_than``; returns how many.
        Stores that keep nothing across restarts have nothing to prune."""
        return 0

    async def migrate(self) -> None:  # noqa: B027 - optional hook
        """Create or upgrade the schema."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
