"""The storage interface: one user's conversation is loaded, stepped and saved as a unit."""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime

from bot.assessment.models import AssessmentInput, AssessmentResult
from bot.engine.state import ConversationState


@dataclass(frozen=True)
class StoredResult:
    """One completed self-test."""

    taken_at: datetime
    input: AssessmentInput
    result: AssessmentResult


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
    async def delete_everything(self) -> None:
        """Remove every row that belongs to this user."""


class Store(ABC):
    """A backend: memory for tests and the terminal, SQL for the bot."""

    @abstractmethod
    def session(self, user_id: str) -> AbstractAsyncContextManager[UserSession]:
        """Lock the user, load their state; commit on normal exit, roll back on error."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
