"""The storage interface: one user's conversation is loaded, stepped and saved as a unit."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.assessment.models import AssessmentInput, AssessmentResult
from bot.engine.state import ConversationState


class Conflict(Exception):
    """Another process changed this user's data during the step; run the step again."""


class StoreUnavailable(Exception):
    """The database did not answer in time (hung, down or unreachable): the step failed
    quickly so the user can be told to try again instead of waiting on it."""


class Behind(Exception):
    """Earlier updates of this user are in the inbox, unprocessed (another replica took
    them, or they arrived out of order): they must be applied first, in update order."""

    def __init__(self, update_ids: list[int]) -> None:
        super().__init__(f"{len(update_ids)} earlier update(s) of this user are unprocessed")
        self.update_ids = update_ids


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
class InboxRow:
    """An update as received, stored before it is acknowledged (the durable inbox)."""

    channel: str
    update_id: int
    user_id: str  # "" when the update has no sender (nothing to answer)
    address: str | None  # where replies go (a chat id), when there is one
    body: dict[str, Any]  # the update exactly as the channel sent it
    received_at: datetime
    attempts: int = 0  # failed processing attempts so far
    # The channel's own object for ``body``, as it was parsed on receipt: in memory only,
    # never stored (a row read back from the store has None and is parsed from ``body``).
    # Parsing a Telegram update again from its stored JSON was a tenth of the event
    # loop's time under load.
    parsed: Any = field(default=None, compare=False, repr=False)

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


@dataclass(frozen=True)
class OutboxEntry:
    """The replies of one step, stored with its state and sent from here."""

    id: int
    channel: str
    user_id: str
    address: str
    pressed: str | None  # the message whose button was pressed (an edit replaces it)
    replies: list[dict[str, Any]]  # encoded :class:`~bot.engine.messages.Reply` objects
    sent_count: int = 0  # replies already delivered (a retry resumes after them)
    attempts: int = 0

    @property
    def key(self) -> UserKey:
        return (self.channel, self.user_id)


@dataclass(frozen=True)
class Progress:
    """What sending an outbox entry achieved: ``sent_count`` replies out; ``owners`` the
    messages with buttons that went out (address, message id), which belong to the user;
    ``retry_at`` when to try the rest again (None: done, or ``failed`` for good)."""

    sent_count: int
    owners: tuple[tuple[str, str], ...] = ()
    retry_at: datetime | None = None
    failed: str | None = None


class UserSession(ABC):
    """One user's data inside a transaction, with the user locked against other updates."""

    state: ConversationState

    @abstractmethod
    async def claim_update(self, update_id: int) -> bool:
        """Record ``update_id``; False when it was already processed (a redelivery).
        Raises :class:`Behind` when earlier updates of this user wait in the inbox."""

    @abstractmethod
    async def add_outbox(
        self, address: str, replies: list[dict[str, Any]], pressed: str | None
    ) -> None:
        """Store the step's replies with its state; :attr:`outbox` names them after commit."""

    outbox: OutboxEntry | None = None  # set on commit when replies were stored

    @abstractmethod
    async def add_push(self, to: UserKey, address: str, replies: list[dict[str, Any]]) -> None:
        """Store messages for another user (a coach's notification) in the same
        transaction; :attr:`pushed` names them after commit. Sent from the outbox like
        the step's own replies, so a crash after the commit does not lose them."""

    pushed: tuple[OutboxEntry, ...] = ()  # set on commit when pushes were stored

    @abstractmethod
    async def save(self, state: ConversationState) -> None: ...

    @abstractmethod
    async def add_result(self, data: AssessmentInput, result: AssessmentResult) -> None: ...

    @abstractmethod
    async def results(self) -> list[StoredResult]:
        """Completed self-tests, oldest first."""

    @abstractmethod
    async def add_reminder(
        self, address: str, due_at: datetime, text: str, test_number: int | None = None
    ) -> None:
        """Remember to send ``text`` to ``address`` on this user's channel at ``due_at``
        (one per ``test_number``: the completed self-test it follows)."""

    @abstractmethod
    async def has_reminder(self, test_number: int) -> bool:
        """Whether a reminder for completed self-test ``test_number`` exists."""

    @abstractmethod
    async def delete_everything(self) -> None:
        """Remove every row that belongs to this user, coach links both ways included."""


class Store(ABC):
    """A backend: memory for tests and the terminal, SQL for the bot."""

    coaching: CoachRegistry

    @abstractmethod
    def session(
        self, key: UserKey, *, update_id: int | None = None
    ) -> AbstractAsyncContextManager[UserSession]:
        """Load the state of the user ``(channel, user_id)``; commit the session's writes
        on normal exit (raising :class:`Conflict` if the user changed meanwhile), drop them
        on error. ``update_id``: the update the session will claim; a store may read what
        the claim needs in the same round trip as the state."""

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

    # -- the inbox and the outbox (durable delivery) --------------------------------------

    @abstractmethod
    async def inbox_add(self, rows: list[InboxRow]) -> None:
        """Store received updates (a redelivered one is kept once) before acknowledging."""

    @abstractmethod
    async def inbox_pending(self, key: UserKey, before: int | None = None) -> list[InboxRow]:
        """The user's stored updates not yet processed (below ``before``), in update order."""

    @abstractmethod
    async def inbox_waiting(
        self,
        received_before: datetime,
        limit: int = 200,
        *,
        received_after: datetime | None = None,
    ) -> list[InboxRow]:
        """Unprocessed updates received before ``received_before`` (crashed or stuck), and
        after ``received_after`` when given (what an earlier sweep already checked)."""

    @abstractmethod
    async def settle(self, rows: list[InboxRow]) -> None:
        """Mark updates processed that no conversation step claimed (inline queries,
        refused presses, failures already answered with an apology)."""

    @abstractmethod
    async def inbox_failed(self, row: InboxRow) -> None:
        """Count a failed attempt at processing ``row``."""

    @abstractmethod
    async def outbox_claim(
        self, worker: str, now: datetime, *, created_before: datetime | None = None
    ) -> list[OutboxEntry]:
        """Take unsent entries nobody is sending: due for a retry, or whose sender's claim
        went stale; with ``created_before`` (a start-up), every unsent entry older than it."""

    @abstractmethod
    async def outbox_progress(self, records: Sequence[tuple[OutboxEntry, Progress]]) -> None:
        """Record what was sent of each entry, in one transaction; release the rest for a
        retry at ``progress.retry_at``."""

    @abstractmethod
    async def button_owner(self, channel: str, address: str, message_id: str) -> str | None:
        """The user a message with buttons was sent for (None: not recorded)."""

    async def ping(self) -> None:  # noqa: B027 - optional hook
        """Raise if the store cannot answer a trivial query (for ``/healthz``)."""

    async def prune(self, older_than: datetime) -> int:
        """Forget processed update ids and inbox rows recorded, and outbox entries sent,
        before ``older_than``; returns how many.
        Stores that keep nothing across restarts have nothing to prune."""
        return 0

    async def migrate(self) -> None:  # noqa: B027 - optional hook
        """Create or upgrade the schema."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
