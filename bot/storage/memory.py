"""An in-process store: per-user asyncio locks and dictionaries. For tests and the terminal."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.assessment.models import AssessmentInput, AssessmentResult
from bot.engine.state import ConversationState
from bot.storage.base import (
    Behind,
    Coach,
    CoachLink,
    CoachRegistry,
    InboxRow,
    OutboxEntry,
    Progress,
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
        self._pending_reminders: list[tuple[str, datetime, str, int | None]] = []
        self._pending_outbox: tuple[str, list[dict[str, Any]], str | None] | None = None
        self._pending_pushes: list[tuple[UserKey, str, list[dict[str, Any]]]] = []
        self._deleted = False

    async def claim_update(self, update_id: int) -> bool:
        update = (self._key[0], update_id)
        if update in self._store.seen_updates or update in self._pending_updates:
            return False
        earlier = [
            row.update_id for row in self._store.inbox_rows(self._key) if row.update_id < update_id
        ]
        if earlier:
            raise Behind(earlier)
        self._pending_updates.append(update)
        return True

    async def add_outbox(
        self, address: str, replies: list[dict[str, Any]], pressed: str | None
    ) -> None:
        self._pending_outbox = (address, replies, pressed)

    async def add_push(self, to: UserKey, address: str, replies: list[dict[str, Any]]) -> None:
        self._pending_pushes.append((to, address, replies))

    async def has_reminder(self, test_number: int) -> bool:
        mine = [r for r in self._pending_reminders if r[3] == test_number]
        return bool(mine) or (self._key, test_number) in self._store.reminder_tests

    async def save(self, state: ConversationState) -> None:
        self._pending_state = state.model_dump_json()

    async def add_result(self, data: AssessmentInput, result: AssessmentResult) -> None:
        self._pending_results.append(StoredResult(datetime.now(UTC), data, result))

    async def results(self) -> list[StoredResult]:
        return [*self._store.results.get(self._key, []), *self._pending_results]

    async def add_reminder(
        self, address: str, due_at: datetime, text: str, test_number: int | None = None
    ) -> None:
        self._pending_reminders.append((address, due_at, text, test_number))

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
            store.reminder_tests = {t for t in store.reminder_tests if t[0] != key}
            store.inbox = {k: r for k, r in store.inbox.items() if r.key != key}
            store.owners = {k: u for k, u in store.owners.items() if (k[0], u) != key}
        for address, due_at, text, test_number in self._pending_reminders:
            store.next_reminder += 1
            rid = store.next_reminder
            store.reminders[rid] = Reminder(rid, key[0], key[1], address, due_at, text)
            if test_number is not None:
                store.reminder_tests.add((key, test_number))
        if self._pending_outbox is not None:
            address, replies, pressed = self._pending_outbox
            self.outbox = store.queue(key, address, pressed, replies)
        self.pushed = tuple(
            store.queue(to, address, None, replies) for to, address, replies in self._pending_pushes
        )
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
        self.reminder_tests: set[tuple[UserKey, int]] = set()
        self.inbox: dict[tuple[str, int], InboxRow] = {}
        self.outbox: dict[int, OutboxEntry] = {}  # unsent entries
        self.outbox_claims: dict[int, datetime] = {}
        self.owners: dict[tuple[str, str, str], str] = {}  # (channel, address, message) -> user
        self.next_outbox = 0
        self.worker = "memory"
        self._locks = UserLocks()
        self.coaching = _MemoryCoaching(self)

    def inbox_rows(self, key: UserKey) -> list[InboxRow]:
        """The user's unprocessed inbox rows, in update order."""
        rows = [
            r
            for r in self.inbox.values()
            if r.key == key and (r.channel, r.update_id) not in self.seen_updates
        ]
        return sorted(rows, key=lambda r: r.update_id)

    async def inbox_add(self, rows: list[InboxRow]) -> None:
        for row in rows:
            self.inbox.setdefault((row.channel, row.update_id), row)

    async def inbox_pending(self, key: UserKey, before: int | None = None) -> list[InboxRow]:
        rows = self.inbox_rows(key)
        return [r for r in rows if before is None or r.update_id < before]

    def queue(
        self, to: UserKey, address: str, pressed: str | None, replies: list[dict[str, Any]]
    ) -> OutboxEntry:
        """Store an outbox entry, claimed by its sender (this process)."""
        self.next_outbox += 1
        entry = OutboxEntry(self.next_outbox, to[0], to[1], address, pressed, replies)
        self.outbox[entry.id] = entry
        self.outbox_claims[entry.id] = datetime.now(UTC)
        return entry

    async def inbox_waiting(
        self,
        received_before: datetime,
        limit: int = 200,
        *,
        received_after: datetime | None = None,
    ) -> list[InboxRow]:
        rows = [
            r
            for r in self.inbox.values()
            if r.received_at < received_before
            and (received_after is None or r.received_at >= received_after)
            and (r.channel, r.update_id) not in self.seen_updates
        ]
        return sorted(rows, key=lambda r: r.update_id)[:limit]

    async def settle(self, rows: list[InboxRow]) -> None:
        for row in rows:
            self.seen_updates.add((row.channel, row.update_id))
            self.updates_by_user.setdefault(row.key, set()).add((row.channel, row.update_id))

    async def inbox_failed(self, row: InboxRow) -> None:
        stored = self.inbox.get((row.channel, row.update_id))
        if stored is not None:
            self.inbox[(row.channel, row.update_id)] = replace(stored, attempts=stored.attempts + 1)

    async def outbox_claim(
        self, worker: str, now: datetime, *, created_before: datetime | None = None
    ) -> list[OutboxEntry]:
        stale = now - timedelta(seconds=30)
        taken = [
            e
            for i, e in sorted(self.outbox.items())
            if created_before is not None
            or i not in self.outbox_claims
            or self.outbox_claims[i] < stale
        ]
        for entry in taken:
            self.outbox_claims[entry.id] = now
        return taken

    async def outbox_progress(self, records: Sequence[tuple[OutboxEntry, Progress]]) -> None:
        for entry, progress in records:
            for address, message_id in progress.owners:
                self.owners[(entry.channel, address, message_id)] = entry.user_id
            if progress.retry_at is None:
                self.outbox.pop(entry.id, None)
            else:
                self.outbox[entry.id] = replace(entry, sent_count=progress.sent_count)
            self.outbox_claims.pop(entry.id, None)

    async def button_owner(self, channel: str, address: str, message_id: str) -> str | None:
        return self.owners.get((channel, address, message_id))

    @asynccontextmanager
    async def session(
        self, key: UserKey, *, update_id: int | None = None
    ) -> AsyncIterator[UserSession]:
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
