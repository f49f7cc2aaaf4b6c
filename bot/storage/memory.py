"""An in-process store: per-user asyncio locks and dictionaries. For tests and the terminal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from bot.assessment.models import AssessmentInput, AssessmentResult
from bot.engine.state import ConversationState
from bot.storage.base import Reminder, Store, StoredResult, UserSession
from bot.storage.locks import UserLocks


class _MemorySession(UserSession):
    def __init__(self, store: MemoryStore, user_id: str) -> None:
        self._store, self._user = store, user_id
        saved = store.states.get(user_id)
        self.state = (
            ConversationState.model_validate_json(saved)
            if saved
            else ConversationState.new(user_id)
        )
        self._pending_state: str | None = None
        self._pending_results: list[StoredResult] = []
        self._pending_updates: list[int] = []
        self._pending_reminders: list[tuple[int, datetime, str]] = []
        self._deleted = False

    async def claim_update(self, update_id: int) -> bool:
        if update_id in self._store.seen_updates or update_id in self._pending_updates:
            return False
        self._pending_updates.append(update_id)
        return True

    async def save(self, state: ConversationState) -> None:
        self._pending_state = state.model_dump_json()

    async def add_result(self, data: AssessmentInput, result: AssessmentResult) -> None:
        self._pending_results.append(StoredResult(datetime.now(UTC), data, result))

    async def results(self) -> list[StoredResult]:
        return [*self._store.results.get(self._user, []), *self._pending_results]

    async def add_reminder(self, chat_id: int, due_at: datetime, text: str) -> None:
        self._pending_reminders.append((chat_id, due_at, text))

    async def delete_everything(self) -> None:
        self._deleted = True
        self._pending_state = None
        self._pending_results = []
        self._pending_reminders = []

    def commit(self) -> None:
        self._store.seen_updates.update(self._pending_updates)
        if self._deleted:
            self._store.states.pop(self._user, None)
            self._store.results.pop(self._user, None)
            self._store.reminders = {
                k: r for k, r in self._store.reminders.items() if r.user_id != self._user
            }
            self._store.seen_updates -= self._store.updates_by_user.pop(self._user, set())
        for chat_id, due_at, text in self._pending_reminders:
            self._store.next_reminder += 1
            rid = self._store.next_reminder
            self._store.reminders[rid] = Reminder(rid, self._user, chat_id, due_at, text)
        self._store.updates_by_user.setdefault(self._user, set()).update(self._pending_updates)
        if self._pending_state is not None:
            self._store.states[self._user] = self._pending_state
        self._store.results.setdefault(self._user, []).extend(self._pending_results)


class MemoryStore(Store):
    """Everything in dictionaries; state is kept as JSON so it round-trips like SQL."""

    def __init__(self) -> None:
        self.states: dict[str, str] = {}
        self.results: dict[str, list[StoredResult]] = {}
        self.seen_updates: set[int] = set()
        self.updates_by_user: dict[str, set[int]] = {}
        self.reminders: dict[int, Reminder] = {}
        self.claimed: set[int] = set()
        self.sent: set[int] = set()
        self.next_reminder = 0
        self._locks = UserLocks()

    @asynccontextmanager
    async def session(self, user_id: str) -> AsyncIterator[UserSession]:
        async with self._locks.hold(user_id):
            session = _MemorySession(self, user_id)
            yield session
            session.commit()

    async def claim_due_reminders(
        self, now: datetime, worker: str, limit: int = 50
    ) -> list[Reminder]:
        due = [
            r
            for rid, r in sorted(self.reminders.items())
            if r.due_at <= now and rid not in self.claimed and rid not in self.sent
        ][:limit]
        self.claimed.update(r.id for r in due)
        return due

    async def mark_sent(self, reminder_id: int) -> None:
        self.sent.add(reminder_id)

    async def release(self, reminder_id: int) -> None:
        self.claimed.discard(reminder_id)
