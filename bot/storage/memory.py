"""An in-process store: per-user asyncio locks and dictionaries. For tests and the terminal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from bot.assessment.models import AssessmentInput, AssessmentResult
from bot.engine.state import ConversationState
from bot.storage.base import (
    Coach,
    CoachLink,
    CoachRegistry,
    Reminder,
    Store,
    StoredResult,
    UserKey,
    UserSession,
)
from bot.storage.locks import UserLocks

UpdateKey = tuple[str, int]  # (channel, update id)


class _MemorySession(UserSession):
    def __init__(self, store: MemoryStore, key: UserKey) -> None:
        self._store, self._key = store, key
        saved = store.states.get(key)
        self.state = (
            ConversationState.model_validate_json(saved) if saved else ConversationState.new(key[1])
        )
        self._pending_state: str | None = None
        self._pending_results: list[StoredResult] = []
        self._pending_updates: list[UpdateKey] = []
        self._pending_reminders: list[tuple[str, datetime, str]] = []
        self._deleted = False

    async def claim_update(self, update_id: int) -> bool:
        update = (self._key[0], update_id)
        if update in self._store.seen_updates or update in self._pending_updates:
            return False
        self._pending_updates.append(update)
        return True

    async def save(self, state: ConversationState) -> None:
        self._pending_state = state.model_dump_json()

    async def add_result(self, data: AssessmentInput, result: AssessmentResult) -> None:
        self._pending_results.append(StoredResult(datetime.now(UTC), data, result))

    async def results(self) -> list[StoredResult]:
        return [*self._store.results.get(self._key, []), *self._pending_results]

    async def add_reminder(self, address: str, due_at: datetime, text: str) -> None:
        self._pending_reminders.append((address, due_at, text))

    async def delete_everything(self) -> None:
        self._deleted = True
        self._pending_state = None
        self._pending_results = []
        self._pending_reminders = []

    def commit(self) -> None:
        store, key = self._store, self._key
        store.seen_updates.update(self._pending_updates)
        if self._deleted:
            store.states.pop(key, None)
            store.results.pop(key, None)
            store.reminders = {
                k: r for k, r in store.reminders.items() if (r.channel, r.user_id) != key
            }
            store.seen_updates -= store.updates_by_user.pop(key, set())
            store.coaching.forget(key)
        for address, due_at, text in self._pending_reminders:
            store.next_reminder += 1
            rid = store.next_reminder
            store.reminders[rid] = Reminder(rid, key[0], key[1], address, due_at, text)
        store.updates_by_user.setdefault(key, set()).update(self._pending_updates)
        if self._pending_state is not None:
            store.states[key] = self._pending_state
        store.results.setdefault(key, []).extend(self._pending_results)


class _MemoryCoaching(CoachRegistry):
    """Coaches and links in dictionaries, with the SQL store's semantics."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self.coaches: dict[UserKey, Coach] = {}
        self.links: dict[int, CoachLink] = {}
        self._next_link = 0

    async def coach(self, key: UserKey) -> Coach | None:
        return self.coaches.get(key)

    async def save_coach(self, key: UserKey, *, name: str, code: str, address: str | None) -> Coach:
        if any(c.code == code and c.key != key for c in self.coaches.values()):
            raise ValueError("invite code already in use")
        coach = Coach(key[0], key[1], name, code, address)
        self.coaches[key] = coach
        return coach

    async def coach_by_code(self, code: str) -> Coach | None:
        return next((c for c in self.coaches.values() if c.code == code), None)

    async def add_link(
        self, coach: UserKey, client: UserKey, client_name: str, client_address: str | None
    ) -> CoachLink:
        for link in self.links.values():
            if link.coach == coach and link.client == client:
                updated = CoachLink(link.id, coach, client, client_name, client_address, link.since)
                self.links[link.id] = updated
                return updated
        self._next_link += 1
        link = CoachLink(
            self._next_link, coach, client, client_name, client_address, datetime.now(UTC)
        )
        self.links[link.id] = link
        return link

    async def links_of_coach(self, coach: UserKey) -> list[CoachLink]:
        return [link for _, link in sorted(self.links.items()) if link.coach == coach]

    async def links_of_client(self, client: UserKey) -> list[CoachLink]:
        return [link for _, link in sorted(self.links.items()) if link.client == client]

    async def get_link(self, link_id: int) -> CoachLink | None:
        return self.links.get(link_id)

    async def remove_link(self, link_id: int) -> None:
        self.links.pop(link_id, None)

    async def results_of(self, key: UserKey) -> list[StoredResult]:
        return list(self._store.results.get(key, []))

    def forget(self, key: UserKey) -> None:
        """/delete_my_data: the user's coach row and their links, both ways."""
        self.coaches.pop(key, None)
        self.links = {
            i: link for i, link in self.links.items() if key not in (link.coach, link.client)
        }


class MemoryStore(Store):
    """Everything in dictionaries; state is kept as JSON so it round-trips like SQL."""

    def __init__(self) -> None:
        self.states: dict[UserKey, str] = {}
        self.results: dict[UserKey, list[StoredResult]] = {}
        self.seen_updates: set[UpdateKey] = set()
        self.updates_by_user: dict[UserKey, set[UpdateKey]] = {}
        self.reminders: dict[int, Reminder] = {}
        self.claimed: set[int] = set()
        self.sent: set[int] = set()
        self.next_reminder = 0
        self._locks = UserLocks()
        self.coaching = _MemoryCoaching(self)

    @asynccontextmanager
    async def session(self, key: UserKey) -> AsyncIterator[UserSession]:
        async with self._locks.hold(key):
            session = _MemorySession(self, key)
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
