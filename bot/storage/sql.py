"""The SQL store (SQLAlchemy 2 async): SQLite (aiosqlite) by default, PostgreSQL (asyncpg)
when several replicas serve one bot. Same code path, two locking strategies:

* PostgreSQL: the user's ``conversations`` row is locked with ``SELECT ... FOR UPDATE``
  for the whole load -> step -> save transaction, so two replicas (or a double tap) queue
  up instead of interleaving; reminders are claimed with ``FOR UPDATE SKIP LOCKED``.
* SQLite: every transaction starts with ``BEGIN IMMEDIATE`` (one writer at a time for the
  file) and an in-process lock per user avoids busy-waiting inside one process.

A redelivered Telegram update is detected by inserting its id into
``processed_updates`` in the same transaction as the state it produced.
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
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.assessment.models import AssessmentInput, AssessmentResult
from bot.engine.state import ConversationState
from bot.storage.base import Reminder, Store, StoredResult, UserSession
from bot.storage.schema import USER_TABLES, assessments, conversations, processed_updates, reminders

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
CLAIM_TIMEOUT = timedelta(minutes=5)  # a claim older than this (a crashed worker) is retaken
MIGRATION_LOCK = 0x0CA1FC0A  # pg_advisory_xact_lock key: one replica migrates at a time


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class _SqlSession(UserSession):
    def __init__(self, conn: AsyncConnection, user_id: str, state: ConversationState) -> None:
        self._conn, self._user, self.state = conn, user_id, state

    async def claim_update(self, update_id: int) -> bool:
        exists = await self._conn.scalar(
            sa.select(processed_updates.c.update_id).where(
                processed_updates.c.update_id == update_id
            )
        )
        if exists is not None:
            return False
        await self._conn.execute(
            processed_updates.insert().values(
                update_id=update_id, user_id=self._user, processed_at=datetime.now(UTC)
            )
        )
        return True

    async def save(self, state: ConversationState) -> None:
        await self._conn.execute(
            conversations.update()
            .where(conversations.c.user_id == self._user)
            .values(
                state=state.model_dump(mode="json"),
                version=conversations.c.version + 1,
                updated_at=datetime.now(UTC),
            )
        )

    async def add_result(self, data: AssessmentInput, result: AssessmentResult) -> None:
        await self._conn.execute(
            assessments.insert().values(
                user_id=self._user,
                taken_at=datetime.now(UTC),
                input=data.model_dump(mode="json"),
                result=result.model_dump(mode="json"),
            )
        )

    async def results(self) -> list[StoredResult]:
        rows = await self._conn.execute(
            sa.select(assessments.c.taken_at, assessments.c.input, assessments.c.result)
            .where(assessments.c.user_id == self._user)
            .order_by(assessments.c.taken_at, assessments.c.id)
        )
        return [
            StoredResult(
                _utc(row.taken_at),
                AssessmentInput.model_validate(row.input),
                AssessmentResult.model_validate(row.result),
            )
            for row in rows
        ]

    async def add_reminder(self, chat_id: int, due_at: datetime, text: str) -> None:
        await self._conn.execute(
            reminders.insert().values(user_id=self._user, chat_id=chat_id, due_at=due_at, text=text)
        )

    async def delete_everything(self) -> None:
        for table in USER_TABLES:
            await self._conn.execute(table.delete().where(table.c.user_id == self._user))
        self.state = ConversationState.new(self._user)


class SqlStore(Store):
    """SQLite or PostgreSQL behind SQLAlchemy; ``url`` picks the dialect."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            self._sqlite_transactions()
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def _sqlite_transactions(self) -> None:
        """SQLAlchemy's documented recipe: let us emit BEGIN IMMEDIATE ourselves."""

        @event.listens_for(self.engine.sync_engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(self.engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    async def migrate(self) -> None:
        """Create or upgrade the schema with Alembic (safe when replicas start together)."""
        from alembic import command
        from alembic.config import Config

        def upgrade(sync_conn: Any) -> None:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = sync_conn
            command.upgrade(config, "head")

        async with self.engine.begin() as conn:
            if not self.is_sqlite:
                await conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            await conn.run_sync(upgrade)

    @asynccontextmanager
    async def session(self, user_id: str) -> AsyncIterator[UserSession]:
        async with self._locks[user_id], self.engine.begin() as conn:
            state = await self._lock_and_load(conn, user_id)
            yield _SqlSession(conn, user_id, state)

    async def _lock_and_load(self, conn: AsyncConnection, user_id: str) -> ConversationState:
        fresh = ConversationState.new(user_id)
        values = {
            "user_id": user_id,
            "state": fresh.model_dump(mode="json"),
            "version": 0,
            "updated_at": datetime.now(UTC),
        }
        if self.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        await conn.execute(insert(conversations).values(**values).on_conflict_do_nothing())
        query = sa.select(conversations.c.state).where(conversations.c.user_id == user_id)
        if not self.is_sqlite:
            query = query.with_for_update()
        raw = await conn.scalar(query)
        return ConversationState.model_validate(raw) if raw else fresh

    async def claim_due_reminders(
        self, now: datetime, worker: str, limit: int = 50
    ) -> list[Reminder]:
        stale = now - CLAIM_TIMEOUT
        async with self.engine.begin() as conn:
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
        async with self.engine.begin() as conn:
            await conn.execute(
                reminders.update()
                .where(reminders.c.id == reminder_id)
                .values(sent_at=datetime.now(UTC))
            )

    async def release(self, reminder_id: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                reminders.update()
                .where(reminders.c.id == reminder_id, reminders.c.sent_at.is_(None))
                .values(claimed_at=None, claimed_by=None)
            )

    async def close(self) -> None:
        await self.engine.dispose()
