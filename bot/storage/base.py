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


UserKey = tuple[str, str]  # (channel, user id on that channel)


@dataclass(frozen=True)
class Reminder:
    """A message to send a user later (a re-test reminder), through its channel."""

    id: int
    channel: str
    user_id: str
    address: str  # where the channel delivers it (a Telegram chat id, as text)
    due_at: datetime
    text: str


@dataclass(frozen=True)
class Coach:
    """A user in coach mode: the name clients see and the invite code in force."""

    channel: str
    user_id: str
    name: str
    code: str
    address: str | None  # where notifications reach the coach; None: cannot be pushed to

    @property
    def key(self) -> UserKey:
        return (self.channel, self.user_id)


@dataclass(frozen=True)
class CoachLink:
    """A client who pressed Share for a coach; the row is the whole of the coach's access."""

    id: int
    coach: UserKey
    client: UserKey
    client_name: str
    client_address: str | None
    since: datetime


class CoachRegistry(ABC):
    """Coaches and their consenting clients. Each call is its own short transaction: the
    rows concern two users, so they cannot ride in one user's optimistic session; every
    write is idempotent, so a step re-run after a :class:`Conflict` does no harm."""

    @abstractmethod
    async def coach(self, key: UserKey) -> Coach | None: ...

    @abstractmethod
    async def save_coach(self, key: UserKey, *, name: str, code: str, address: str | None) -> Coach:
        """Create or update the coach ``key`` (its name, invite code and address)."""

    @abstractmethod
    async def coach_by_code(self, code: str) -> Coach | None:
        """The coach whose invite code in force is ``code``; None for a replaced or unknown one."""

    @abstractmethod
    async def add_link(
        self, coach: UserKey, client: UserKey, client_name: str, client_address: str | None
    ) -> CoachLink:
        """Record the client's consent (again: the existing link, name and address updated)."""

    @abstractmethod
    async def links_of_coach(self, coach: UserKey) -> list[CoachLink]:
        """The coach's consenting clients, oldest link first."""

    @abstractmethod
    async def links_of_client(self, client: UserKey) -> list[CoachLink]:
        """The coaches the client shares with, oldest link first."""

    @abstractmethod
    async def get_link(self, link_id: int) -> CoachLink | None: ...

    @abstractmethod
    async def remove_link(self, link_id: int) -> None:
        """Stop sharing: the coach's access ends with this call."""

    @abstractmethod
    async def results_of(self, key: UserKey) -> list[StoredResult]:
        """Another user's completed self-tests, oldest first (callers check the link)."""


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
    async def add_reminder(self, address: str, due_at: datetime, text: str) -> None:
        """Remember to send ``text`` to ``address`` on this user's channel at ``due_at``."""

    @abstractmethod
    async def delete_everything(self) -> None:
        """Remove every row that belongs to this user, coach links both ways included."""


class Store(ABC):
    """A backend: memory for tests and the terminal, SQL for the bot."""

    coaching: CoachRegistry

    @abstractmethod
    def session(self, key: UserKey) -> AbstractAsyncContextManager[UserSession]:
        """Load the state of the user ``(channel, user_id)``; commit the session's writes
        on normal exit (raising :class:`Conflict` if the user changed meanwhile), drop them
        on error."""

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
