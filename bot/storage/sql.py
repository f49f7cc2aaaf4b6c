"""The SQL store (SQLAlchemy 2 async): SQLite (aiosqlite) by default, PostgreSQL (asyncpg)
when several replicas serve one bot, on one code path.

A step is *optimistic*: the user's state and its ``version`` are read, the engine runs
with no database lock held, and the writes (new state, processed update id, results,
reminders) are applied in one short transaction that only succeeds if ``version`` is
unchanged. If another replica (or a double tap in another process) got there first, the
commit raises :class:`~bot.storage.base.Conflict` and the step is re-run on the fresh
state, so updates for one user never interleave and none is lost. Inside one process a
per-user lock makes conflicts rare. Holding no lock while the engine runs keeps SQLite's
single writer free for other users and PostgreSQL connections short.

A redelivered Telegram update is recognised by its id in ``processed_updates``, written in
the same transaction as the state it produced. Reminders are claimed with ``FOR UPDATE
SKIP LOCKED`` on PostgreSQL (one writer at a time on SQLite), so each is sent once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.assessment.models import AssessmentInput, AssessmentResult
from bot.engine.state import ConversationState
from bot.storage.base import Conflict, Reminder, Store, StoredResult, UserSession
from bot.storage.schema import USER_TABLES, assessments, conversations, processed_updates, reminders

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
CLAIM_TIMEOUT = timedelta(minutes=5)  # a claim older than this (a crashed worker) is retaken
MIGRATION_LOCK = 0x0CA1FC0A  # pg_advisory_xact_lock key: one replica migrates at a time


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class _SqlSession(UserSession):
    """Reads go to the database at once; writes are buffered until :meth:`commit`."""

    def __init__(
        self, store: SqlStore, user_id: str, state: ConversationState, version: int | None
    ) -> None:
        self._store, self._user, self.state = store, user_id, state
        self._version = version  # None: the user has no row yet
        self._state: ConversationState | None = None
        self._updates: list[int] = []
        self._results: list[dict[str, Any]] = []
        self._reminders: list[dict[str, Any]] = []
        self._deleted = False

    async def claim_update(self, update_id: int) -> bool:
        async with self._store.engine.connect() as conn:
            seen = await conn.scalar(
                sa.select(processed_updates.c.update_id).where(
                    processed_updates.c.update_id == update_id
                )
            )
        if seen is not None:
            return False
        self._updates.append(update_id)
        return True

    async def save(self, state: ConversationState) -> None:
        self._state = state

    async def add_result(self, data: AssessmentInput, result: AssessmentResult) -> None:
        self._results.append(
            {
                "user_id": self._user,
                "taken_at": datetime.now(UTC),
                "input": data.model_dump(mode="json"),
                "result": result.model_dump(mode="json"),
            }
        )

    async def results(self) -> list[StoredResult]:
        async with self._store.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(assessments.c.taken_at, assessments.c.input, assessments.c.result)
                .where(assessments.c.user_id == self._user)
                .order_by(assessments.c.taken_at, assessments.c.id)
            )
            stored = [
                StoredResult(
                    _utc(row.taken_at),
                    AssessmentInput.model_validate(row.input),
                    AssessmentResult.model_validate(row.result),
                )
                for row in rows
            ]
        return stored + [
            StoredResult(
                r["taken_at"],
                AssessmentInput.model_validate(r["input"]),
                AssessmentResult.model_validate(r["result"]),
            )
            for r in self._results
        ]

    async def add_reminder(self, chat_id: int, due_at: datetime, text: str) -> None:
        self._reminders.append(
            {"user_id": self._user, "chat_id": chat_id, "due_at": due_at, "text": text}
        )

    async def delete_everything(self) -> None:
        self._deleted = True
        self._state = None
        self._results, self._reminders = [], []

    async def commit(self) -> None:
        """Apply the buffered writes if nobody changed this user meanwhile."""
        async with self._store.transaction() as conn:
            try:
                for update_id in self._updates:
                    await conn.execute(
                        processed_updates.insert().values(
                            update_id=update_id, user_id=self._user, processed_at=datetime.now(UTC)
                        )
                    )
            except IntegrityError as exc:
                raise Conflict(f"update already processed for {self._user}") from exc
            if self._deleted:
                await self._check_version(conn)
                for table in USER_TABLES:
                    await conn.execute(table.delete().where(table.c.user_id == self._user))
                return
            if self._state is not None:
                await self._write_state(conn, self._state)
            elif self._version is not None:
                await self._check_version(conn)
            if self._results:
                await conn.execute(assessments.insert(), self._results)
            if self._reminders:
                await conn.execute(reminders.insert(), self._reminders)

    async def _check_version(self, conn: AsyncConnection) -> None:
        current = await conn.scalar(
            sa.select(conversations.c.version).where(conversations.c.user_id == self._user)
        )
        if current != self._version:
            raise Conflict(f"conversation of {self._user} changed meanwhile")

    async def _write_state(self, conn: AsyncConnection, state: ConversationState) -> None:
        values = {"state": state.model_dump(mode="json"), "updated_at": datetime.now(UTC)}
        if self._version is None:
            try:
                await conn.execute(
                    conversations.insert().values(user_id=self._user, version=1, **values)
                )
            except IntegrityError as exc:
                raise Conflict(f"conversation of {self._user} was created meanwhile") from exc
            return
        result = await conn.execute(
            conversations.update()
            .where(conversations.c.user_id == self._user, conversations.c.version == self._version)
            .values(version=self._version + 1, **values)
        )
        if result.rowcount != 1:
            raise Conflict(f"conversation of {self._user} changed meanwhile")


class SqlStore(Store):
    """SQLite or PostgreSQL behind SQLAlchemy; ``url`` picks the dialect."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            self._sqlite_transactions()
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        # SQLite has one writer per file: queue this process's writers here rather than
        # in SQLite's sleeping busy handler (other processes still wait there).
        self._writer = asyncio.Lock() if self.is_sqlite else None

    def _sqlite_transactions(self) -> None:
        """SQLAlchemy's documented recipe: emit BEGIN ourselves, IMMEDIATE for writes."""

        @event.listens_for(self.engine.sync_engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across app crashes
            cursor.close()

        @event.listens_for(self.engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            immediate = conn.get_execution_options().get("sqlite_immediate", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A short write transaction (BEGIN IMMEDIATE on SQLite, behind the writer lock)."""
        if self._writer is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._writer, self.engine.connect() as conn:
            conn = await conn.execution_options(sqlite_immediate=True)
            async with conn.begin():
                yield conn

    async def migrate(self) -> None:
        """Create or upgrade the schema with Alembic (safe when replicas start together)."""
        from alembic import command
        from alembic.config import Config

        def upgrade(sync_conn: Any) -> None:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = sync_conn
            command.upgrade(config, "head")

        async with self.transaction() as conn:
            if not self.is_sqlite:
                await conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            await conn.run_sync(upgrade)

    @asynccontextmanager
    async def session(self, user_id: str) -> AsyncIterator[UserSession]:
        async with self._locks[user_id]:
            async with self.engine.connect() as conn:
                row = (
                    await conn.execute(
                        sa.select(conversations.c.state, conversations.c.version).where(
                            conversations.c.user_id == user_id
                        )
                    )
                ).first()
            state = (
                ConversationState.model_validate(row.state)
                if row
                else ConversationState.new(user_id)
            )
            session = _SqlSession(self, user_id, state, row.version if row else None)
            yield session
            await session.commit()

    async def claim_due_reminders(
        self, now: datetime, worker: str, limit: int = 50
    ) -> list[Reminder]:
        stale = now - CLAIM_TIMEOUT
        async with self.transaction() as conn:
            candidates = (
                sa.select(reminders.c.id)
                .where(
                    reminders.c.sent_at.is_(None),
                    reminders.c.due_at <= now,
                    sa.or_(reminders.c.claimed_at.is_(None), reminders.c.claimed_at < stale),
                )
                .order_by(reminders.c.due_at)
                .limit(limit)
            )
            if not self.is_sqlite:
                candidates = candidates.with_for_update(skip_locked=True)
            ids = list(await conn.scalars(candidates))
            if not ids:
                return []
            await conn.execute(
                reminders.update()
                .where(reminders.c.id.in_(ids))
                .values(claimed_at=now, claimed_by=worker)
            )
            rows = await conn.execute(sa.select(reminders).where(reminders.c.id.in_(ids)))
            return [Reminder(r.id, r.user_id, r.chat_id, _utc(r.due_at), r.text) for r in rows]

    async def mark_sent(self, reminder_id: int) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                reminders.update()
                .where(reminders.c.id == reminder_id)
                .values(sent_at=datetime.now(UTC))
            )

    async def release(self, reminder_id: int) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                reminders.update()
                .where(reminders.c.id == reminder_id, reminders.c.sent_at.is_(None))
                .values(claimed_at=None, claimed_by=None)
            )

    async def close(self) -> None:
        await self.engine.dispose()
