"""The SQL store (SQLAlchemy 2): SQLite by default, PostgreSQL when several replicas serve
one bot. The SQL is written once, as plain functions over a SQLAlchemy ``Connection``;
two runners execute it without blocking the event loop:

* PostgreSQL: the asyncpg driver, through ``AsyncConnection.run_sync``;
* SQLite: the standard ``sqlite3`` driver in a worker thread, one hop per transaction
  (``calfcoach bench`` measured aiosqlite's hop per statement halving bot throughput),
  behind an in-process writer lock, since SQLite has one writer per file anyway.

A step is *optimistic*: the user's state and its ``version`` are read, the engine runs
with no database lock held, and the writes (new state, processed update id, results,
reminders) are applied in one short transaction that succeeds only if ``version`` is
unchanged. If another replica (or a double tap) got there first, the commit raises
:class:`~bot.storage.base.Conflict` and the step is re-run on the fresh state, so updates
for one user never interleave and none is lost. A redelivered Telegram update is
recognised by its id in ``processed_updates``, written in the same transaction as the
state it produced. Reminders are claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL
(one writer at a time on SQLite), so each is sent once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sqlite3
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, nullcontext, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.assessment.models import AssessmentInput, AssessmentResult
from bot.engine.state import ConversationState
from bot.notices import notice
from bot.storage import statements
from bot.storage.base import (
    Behind,
    Conflict,
    InboxRow,
    OutboxEntry,
    Progress,
    Reminder,
    Store,
    StoredResult,
    StoreUnavailable,
    UserKey,
    UserSession,
)
from bot.storage.coaching_sql import SqlCoaching
from bot.storage.coaching_sql import forget as forget_coaching
from bot.storage.locks import UserLocks
from bot.storage.schema import (
    USER_TABLES,
    assessments,
    button_messages,
    conversations,
    inbox,
    outbox,
    processed_updates,
    reminders,
    stored_result,
)
from bot.storage.schema import utc as _utc

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
CLAIM_TIMEOUT = timedelta(minutes=5)  # a claim older than this (a crashed worker) is retaken
OUTBOX_LEASE = timedelta(seconds=30)  # an outbox claim older than this is retaken
BUTTON_OWNERS_KEPT = timedelta(days=30)  # who a message with buttons was for
MIGRATION_LOCK = 0x0CA1FC0A  # pg_advisory_xact_lock key: one replica migrates at a time
T = TypeVar("T")
Work = Callable[[sa.Connection], T]


def _inbox_row(row: Any) -> InboxRow:
    return InboxRow(
        row.channel,
        int(row.update_id),
        row.user_id,
        row.address,
        dict(row.body),
        _utc(row.received_at),
        int(row.attempts),
    )


def _outbox_entry(row: Any) -> OutboxEntry:
    return OutboxEntry(
        int(row.id),
        row.channel,
        row.user_id,
        row.address,
        row.pressed,
        list(row.replies),
        int(row.sent_count),
        int(row.attempts),
    )


def _claim_info(conn: sa.Connection, key: UserKey, update_id: int) -> tuple[bool, list[int]]:
    """Whether ``update_id`` was processed, and the user's earlier updates still waiting
    in the inbox (which must be applied first)."""
    channel, user_id = key
    params = {"b_channel": channel, "b_user": user_id, "b_update": update_id}
    if conn.scalar(statements.IS_PROCESSED, params) is not None:
        return True, []
    return False, [int(u) for u in conn.scalars(statements.EARLIER_WAITING, params)]


def _insert_outbox(conn: sa.Connection, values: dict[str, Any]) -> OutboxEntry:
    """Insert one outbox row (from :meth:`_SqlSession._outbox_row`) and name it."""
    key = conn.execute(statements.INSERT_OUTBOX, values).inserted_primary_key
    return OutboxEntry(
        int(key[0]),
        values["channel"],
        values["user_id"],
        values["address"],
        values["pressed"],
        values["replies"],
    )


class _SqlSession(UserSession):
    """Reads go to the database at once; writes are buffered until :meth:`commit`."""

    def __init__(
        self,
        store: SqlStore,
        key: UserKey,
        state: ConversationState,
        version: int | None,
        claims: dict[int, tuple[bool, list[int]]] | None = None,
    ) -> None:
        self._store, self.state = store, state
        # What claim_update needs, read with the state (one read transaction less).
        self._claims = claims or {}
        self._channel, self._user = key
        self._version = version  # None: the user has no row yet
        self._state: ConversationState | None = None
        self._updates: list[int] = []
        self._results: list[dict[str, Any]] = []
        self._reminders: list[dict[str, Any]] = []
        self._outbox: dict[str, Any] | None = None
        self._pushes: list[dict[str, Any]] = []
        self._deleted = False

    async def claim_update(self, update_id: int) -> bool:
        prefetched = self._claims.pop(update_id, None)
        if prefetched is None:
            key = (self._channel, self._user)
            prefetched = await self._store.read(lambda conn: _claim_info(conn, key, update_id))
        processed, earlier = prefetched
        if processed:
            return False
        if earlier:
            raise Behind(earlier)
        self._updates.append(update_id)
        return True

    async def add_outbox(
        self, address: str, replies: list[dict[str, Any]], pressed: str | None
    ) -> None:
        self._outbox = self._outbox_row((self._channel, self._user), address, pressed, replies)

    async def add_push(self, to: UserKey, address: str, replies: list[dict[str, Any]]) -> None:
        self._pushes.append(self._outbox_row(to, address, None, replies))

    def _outbox_row(
        self, to: UserKey, address: str, pressed: str | None, replies: list[dict[str, Any]]
    ) -> dict[str, Any]:
        now = datetime.now(UTC)
        channel, user_id = to
        return {
            "channel": channel,
            "user_id": user_id,
            "address": address,
            "pressed": pressed,
            "replies": replies,
            "created_at": now,
            # The process that made the step sends it at once; the lease keeps the
            # sweepers of other replicas off it unless this process dies.
            "claimed_by": self._store.worker,
            "claimed_at": now,
        }

    async def has_reminder(self, test_number: int) -> bool:
        def exists(conn: sa.Connection) -> bool:
            query = sa.select(reminders.c.id).where(
                self._mine(reminders), reminders.c.test_number == test_number
            )
            return conn.scalar(query) is not None

        pending = any(r.get("test_number") == test_number for r in self._reminders)
        return pending or await self._store.read(exists)

    async def save(self, state: ConversationState) -> None:
        self._state = state

    async def add_result(self, data: AssessmentInput, result: AssessmentResult) -> None:
        self._results.append(
            {
                "channel": self._channel,
                "user_id": self._user,
                "taken_at": datetime.now(UTC),
                "input": data.model_dump(mode="json"),
                "result": result.model_dump(mode="json"),
            }
        )

    async def results(self) -> list[StoredResult]:
        def load(conn: sa.Connection) -> list[StoredResult]:
            rows = conn.execute(
                sa.select(assessments.c.taken_at, assessments.c.input, assessments.c.result)
                .where(self._mine(assessments))
                .order_by(assessments.c.taken_at, assessments.c.id)
            )
            return [stored_result(row) for row in rows]

        pending = [
            StoredResult(
                r["taken_at"],
                AssessmentInput.model_validate(r["input"]),
                AssessmentResult.model_validate(r["result"]),
            )
            for r in self._results
        ]
        return await self._store.read(load) + pending

    async def add_reminder(
        self, address: str, due_at: datetime, text: str, test_number: int | None = None
    ) -> None:
        self._reminders.append(
            {
                "channel": self._channel,
                "user_id": self._user,
                "address": address,
                "due_at": due_at,
                "text": text,
                "test_number": test_number,
            }
        )

    def _mine(self, table: sa.Table) -> sa.ColumnElement[bool]:
        """This user's rows of ``table``."""
        return sa.and_(table.c.channel == self._channel, table.c.user_id == self._user)

    async def delete_everything(self) -> None:
        self._deleted = True
        self._state = None
        self._results, self._reminders = [], []
        # The confirmation is sent from the outbox after the deletion: keep only it.

    async def commit(self) -> None:
        """Apply the buffered writes if nobody changed this user meanwhile."""
        await self._store.write(self._commit)
        if self._deleted:
            await self._store.after_deletion()

    def _commit(self, conn: sa.Connection) -> None:
        try:
            if self._updates:
                now = datetime.now(UTC)
                conn.execute(
                    statements.INSERT_PROCESSED,
                    [
                        {
                            "channel": self._channel,
                            "update_id": update_id,
                            "user_id": self._user,
                            "processed_at": now,
                        }
                        for update_id in self._updates
                    ],
                )
        except IntegrityError as exc:
            raise Conflict(f"update already processed for {self._user}") from exc
        if self._deleted:
            self._check_version(conn)
            for table in USER_TABLES:
                conn.execute(table.delete().where(self._mine(table)))
            forget_coaching(conn, (self._channel, self._user))
        else:
            if self._state is not None:
                self._write_state(conn, self._state)
            elif self._version is not None:
                self._check_version(conn)
            if self._results:
                conn.execute(assessments.insert(), self._results)
            if self._reminders:
                try:
                    conn.execute(reminders.insert(), self._reminders)
                except IntegrityError as exc:  # a double tap on another replica won
                    raise Conflict(f"reminder of {self._user} set meanwhile") from exc
        if self._outbox is not None:
            self.outbox = _insert_outbox(conn, self._outbox)
        self.pushed = tuple(_insert_outbox(conn, values) for values in self._pushes)

    def _check_version(self, conn: sa.Connection) -> None:
        current = conn.scalar(sa.select(conversations.c.version).where(self._mine(conversations)))
        if current != self._version:
            raise Conflict(f"conversation of {self._user} changed meanwhile")

    def _write_state(self, conn: sa.Connection, state: ConversationState) -> None:
        dumped, now = state.model_dump(mode="json"), datetime.now(UTC)
        if self._version is None:
            try:
                conn.execute(
                    statements.INSERT_CONVERSATION,
                    {
                        "channel": self._channel,
                        "user_id": self._user,
                        "version": 1,
                        "state": dumped,
                        "updated_at": now,
                    },
                )
            except IntegrityError as exc:
                raise Conflict(f"conversation of {self._user} was created meanwhile") from exc
            return
        result = conn.execute(
            statements.UPDATE_STATE,
            {
                "b_channel": self._channel,
                "b_user": self._user,
                "b_version": self._version,
                "b_new_version": self._version + 1,
                "b_state": dumped,
                "b_updated_at": now,
            },
        )
        if result.rowcount != 1:
            raise Conflict(f"conversation of {self._user} changed meanwhile")


def _sync_url(url: str) -> str:
    return url.replace("sqlite+aiosqlite://", "sqlite://", 1)


def _unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is down, hung or unreachable (a timeout, a
    refused or dropped connection, a statement cancelled by ``statement_timeout``), as
    opposed to a bug in a query, which should surface as itself."""
    if isinstance(exc, PoolTimeout | TimeoutError | OSError):
        return True
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError):
        name = type(exc.orig).__name__
        return exc.connection_invalidated or "Cancel" in name or "Timeout" in name
    return False


class SqlStore(Store):
    """SQLite or PostgreSQL behind SQLAlchemy; ``url`` picks the dialect.

    ``timeout`` bounds every wait on the database (connecting, each statement, lock
    waits, the pool): a database that hangs makes the step raise
    :class:`~bot.storage.base.StoreUnavailable` within about that long, so the user hears
    "try again" instead of waiting as long as the database hangs.
    """

    def __init__(self, url: str, *, echo: bool = False, timeout: float = 2.0) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.timeout = timeout
        self._locks = UserLocks()
        self.coaching = SqlCoaching(self)
        # Who claims outbox entries: unique per process, so a restarted process (same
        # host name and pid in a container) never mistakes a dead one's claims for its own.
        self.worker = f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        if self.is_sqlite:
            self._sync = sa.create_engine(
                _sync_url(url),
                echo=echo,
                connect_args={"timeout": timeout, "check_same_thread": False},
                pool_size=8,
                max_overflow=8,
                pool_timeout=timeout,
            )
            self._writer = threading.Lock()
            self._sqlite_transactions(self._sync, timeout)
            # SQLite work runs on a thread of its own, not on the loop's default executor:
            # there it queued behind up to ENGINE_WORKERS engine steps (encode, search), so
            # a 1 ms write waited for CPU-bound answers. Writes are serialised anyway, and
            # reads take well under a millisecond. Measured (Telegram e2e, 50 users): flat
            # out 113 -> 147 updates/s, p99 at 100/s 384 -> 103 ms.
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
            self._conn: sa.Connection | None = None  # used on that thread only
        else:
            from sqlalchemy.ext.asyncio import create_async_engine

            millis = str(int(timeout * 1000))
            self._async = create_async_engine(
                url,
                echo=echo,
                pool_size=10,
                max_overflow=20,
                pool_pre_ping=True,
                pool_timeout=timeout,
                connect_args={
                    "timeout": timeout,  # asyncpg: connecting and authenticating
                    "command_timeout": timeout,  # asyncpg: each statement, client side
                    "server_settings": {
                        "statement_timeout": millis,
                        "lock_timeout": millis,
                        "idle_in_transaction_session_timeout": str(int(timeout * 4000)),
                    },
                },
            )

    @staticmethod
    def _sqlite_transactions(engine: sa.Engine, timeout: float) -> None:
        """SQLAlchemy's documented recipe: emit BEGIN ourselves, IMMEDIATE for writes."""

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            # Deleted rows are overwritten, not left in free pages (/delete_my_data).
            cursor.execute("PRAGMA secure_delete=ON")
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError:
                # Another process is switching the same new file to WAL right now.
                log.debug("journal_mode=WAL deferred to the other connection")
            cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across app crashes
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            immediate = conn.get_execution_options().get("sqlite_immediate", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    # -- running SQL without blocking the loop --------------------------------------------

    def _connection(self) -> sa.Connection:
        """The SQLite thread's connection, kept open between transactions: a pool
        checkout, its reset and a new ``Connection`` for each of an update's three
        transactions were a fifth of the store's time (profile of the Telegram e2e)."""
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self._sync.connect()
        return self._conn

    def _in_thread(self, work: Work[T], write: bool) -> T:
        with self._writer if write else nullcontext():
            conn = self._connection().execution_options(sqlite_immediate=write)
            try:
                with conn.begin():
                    return work(conn)
            except Exception as exc:
                if not isinstance(exc, Conflict | IntegrityError):
                    # A failure of the file (read-only, locked, corrupt): the next
                    # transaction starts on a fresh connection.
                    self._conn = None
                    conn.close()
                raise

    def _close_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def _run(self, work: Work[T], write: bool) -> T:
        if self.is_sqlite:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, self._in_thread, work, write)
        transaction = self._async.begin() if write else self._async.connect()
        async with transaction as conn:
            return await conn.run_sync(work)

    async def _bounded(self, work: Work[T], write: bool) -> T:
        """Run ``work``; a database that does not answer in time (or at all) raises
        :class:`StoreUnavailable` instead of holding the caller."""
        try:
            # The drivers' timeouts bound each wait; this bounds their sum (a pre-ping
            # that times out, then a reconnect that times out, then the statement).
            # asyncio.timeout, not wait_for: no extra task per transaction (three an update).
            async with asyncio.timeout(self.timeout + 1):
                return await self._run(work, write)
        except Exception as exc:
            if isinstance(exc, Conflict | IntegrityError) or not _unavailable(exc):
                raise
            raise StoreUnavailable(f"the database did not answer ({type(exc).__name__})") from exc

    async def read(self, work: Work[T]) -> T:
        """Run ``work`` in a read transaction."""
        return await self._bounded(work, write=False)

    async def write(self, work: Work[T]) -> T:
        """Run ``work`` in a write transaction; an exception rolls it back."""
        return await self._bounded(work, write=True)

    async def after_deletion(self) -> None:
        """SQLite: move the WAL into the database and truncate it, so a deleted user's
        rows do not linger in ``-wal`` until some later checkpoint (``secure_delete``
        has already zeroed them in the database pages)."""
        if self.is_sqlite:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, self._checkpoint)

    def _checkpoint(self) -> None:
        with self._writer, self._sync.connect() as conn:  # not inside the kept connection
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    async def prune(self, older_than: datetime) -> int:
        """Forget processed update ids and inbox rows recorded before ``older_than`` (they
        only serve to recognise a redelivery, which Telegram stops attempting within a
        day), outbox entries sent or given up before it, and who messages with buttons
        were for after :data:`BUTTON_OWNERS_KEPT`."""
        owners_before = datetime.now(UTC) - BUTTON_OWNERS_KEPT

        def prune(conn: sa.Connection) -> int:
            statements = (
                inbox.delete().where(inbox.c.received_at < older_than),
                processed_updates.delete().where(processed_updates.c.processed_at < older_than),
                outbox.delete().where(
                    outbox.c.created_at < older_than,
                    sa.or_(outbox.c.sent_at.is_not(None), outbox.c.failed.is_not(None)),
                ),
                button_messages.delete().where(button_messages.c.sent_at < owners_before),
                reminders.delete().where(reminders.c.sent_at < older_than),
            )
            return sum(int(conn.execute(s).rowcount or 0) for s in statements)

        return await self.write(prune)

    # -- the inbox and the outbox ---------------------------------------------------------

    def _insert_ignoring_duplicates(self, table: sa.Table) -> Any:
        if self.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        return insert(table).on_conflict_do_nothing()

    async def inbox_add(self, rows: list[InboxRow]) -> None:
        if not rows:
            return
        values = [
            {
                "channel": r.channel,
                "update_id": r.update_id,
                "user_id": r.user_id,
                "address": r.address,
                "body": r.body,
                "received_at": r.received_at,
            }
            for r in rows
        ]
        statement = self._insert_ignoring_duplicates(inbox)
        await self.write(lambda conn: conn.execute(statement, values))

    async def inbox_pending(self, key: UserKey, before: int | None = None) -> list[InboxRow]:
        channel, user_id = key

        def pending(conn: sa.Connection) -> list[InboxRow]:
            query = sa.select(inbox).where(
                inbox.c.channel == channel, inbox.c.user_id == user_id, statements.UNPROCESSED
            )
            if before is not None:
                query = query.where(inbox.c.update_id < before)
            return [_inbox_row(r) for r in conn.execute(query.order_by(inbox.c.update_id))]

        return await self.read(pending)

    async def inbox_waiting(
        self,
        received_before: datetime,
        limit: int = 200,
        *,
        received_after: datetime | None = None,
    ) -> list[InboxRow]:
        def waiting(conn: sa.Connection) -> list[InboxRow]:
            window = [inbox.c.received_at < received_before]
            if received_after is not None:
                window.append(inbox.c.received_at >= received_after)
            query = (
                sa.select(inbox)
                .where(*window, statements.UNPROCESSED)
                .order_by(inbox.c.update_id)
                .limit(limit)
            )
            return [_inbox_row(r) for r in conn.execute(query)]

        return await self.read(waiting)

    async def settle(self, rows: list[InboxRow]) -> None:
        if not rows:
            return
        now = datetime.now(UTC)
        values = [
            {
                "channel": r.channel,
                "update_id": r.update_id,
                "user_id": r.user_id,
                "processed_at": now,
            }
            for r in rows
        ]
        statement = self._insert_ignoring_duplicates(processed_updates)
        await self.write(lambda conn: conn.execute(statement, values))

    async def inbox_failed(self, row: InboxRow) -> None:
        def count(conn: sa.Connection) -> None:
            conn.execute(
                inbox.update()
                .where(inbox.c.channel == row.channel, inbox.c.update_id == row.update_id)
                .values(attempts=inbox.c.attempts + 1)
            )

        await self.write(count)

    async def outbox_claim(
        self, worker: str, now: datetime, *, created_before: datetime | None = None
    ) -> list[OutboxEntry]:
        stale = now - OUTBOX_LEASE

        def claim(conn: sa.Connection) -> list[OutboxEntry]:
            unsent = sa.and_(outbox.c.sent_at.is_(None), outbox.c.failed.is_(None))
            if created_before is not None:
                free = outbox.c.created_at < created_before
            else:
                free = sa.and_(
                    sa.or_(outbox.c.claimed_at.is_(None), outbox.c.claimed_at < stale),
                    sa.or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now),
                )
            candidates = sa.select(outbox.c.id).where(unsent, free).order_by(outbox.c.id)
            candidates = candidates.limit(100)
            if not self.is_sqlite:
                candidates = candidates.with_for_update(skip_locked=True)
            ids = list(conn.scalars(candidates))
            if not ids:
                return []
            conn.execute(
                outbox.update()
                .where(outbox.c.id.in_(ids))
                .values(claimed_at=now, claimed_by=worker)
            )
            rows = conn.execute(sa.select(outbox).where(outbox.c.id.in_(ids)).order_by(outbox.c.id))
            return [_outbox_entry(r) for r in rows]

        return await self.write(claim)

    async def outbox_progress(self, records: Sequence[tuple[OutboxEntry, Progress]]) -> None:
        if not records:
            return
        now = datetime.now(UTC)
        sent: list[dict[str, Any]] = []  # the usual case, one executemany
        others: list[tuple[int, dict[str, Any]]] = []
        owners: list[dict[str, Any]] = []
        for entry, progress in records:
            if progress.failed is not None:
                others.append(
                    (entry.id, {"sent_count": progress.sent_count, "failed": progress.failed[:200]})
                )
            elif progress.retry_at is None:
                sent.append(
                    {"b_id": entry.id, "b_sent_count": progress.sent_count, "b_sent_at": now}
                )
            else:
                values = {
                    "sent_count": progress.sent_count,
                    "claimed_at": None,
                    "claimed_by": None,
                    "next_attempt_at": progress.retry_at,
                    "attempts": outbox.c.attempts + 1,
                }
                others.append((entry.id, values))
            owners.extend(
                {
                    "channel": entry.channel,
                    "address": address,
                    "message_id": message_id,
                    "user_id": entry.user_id,
                    "sent_at": now,
                }
                for address, message_id in progress.owners
            )
        record_owner = self._insert_ignoring_duplicates(button_messages)

        def record(conn: sa.Connection) -> None:
            if sent:
                conn.execute(statements.OUTBOX_SENT, sent)
            for entry_id, values in others:
                conn.execute(outbox.update().where(outbox.c.id == entry_id).values(**values))
            if owners:
                conn.execute(record_owner, owners)

        await self.write(record)

    async def button_owner(self, channel: str, address: str, message_id: str) -> str | None:
        def owner(conn: sa.Connection) -> str | None:
            return conn.scalar(
                sa.select(button_messages.c.user_id).where(
                    button_messages.c.channel == channel,
                    button_messages.c.address == address,
                    button_messages.c.message_id == message_id,
                )
            )

        return await self.read(owner)

    # -- the Store interface --------------------------------------------------------------

    async def migrate(self) -> None:
        """Create or upgrade the schema with Alembic (safe when replicas start together)."""
        from alembic import command
        from alembic.config import Config

        def upgrade(conn: sa.Connection) -> None:
            if not self.is_sqlite:
                conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            if self.is_sqlite:
                # Prove the file is writable now, not at the first user's step: an
                # up-to-date schema needs no write, so write the header's user_version.
                version = conn.exec_driver_sql("PRAGMA user_version").scalar()
                conn.exec_driver_sql(f"PRAGMA user_version={int(version or 0)}")

        if not self.is_sqlite:
            await self._migrate_postgresql(upgrade)
            return
        try:
            await self.write(upgrade)
        except StoreUnavailable as exc:
            path = make_url(_sync_url(self.url)).database or self.url
            reason = str(exc.__cause__ or exc)
            key = "database_read_only" if "readonly" in reason else "database_unwritable"
            raise StoreUnavailable(notice(key, path=path, reason=reason)) from exc

    async def _migrate_postgresql(self, upgrade: Work[None]) -> None:
        """Migrate on a connection of its own, without the per-statement timeouts: a
        replica waiting on the migration lock while another migrates must not be cut off
        after ``timeout`` seconds. Connecting is still bounded."""
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(
            self.url, poolclass=sa.NullPool, connect_args={"timeout": self.timeout}
        )
        try:
            async with engine.begin() as conn:
                await conn.run_sync(upgrade)
        except Exception as exc:
            if not _unavailable(exc):
                raise
            raise StoreUnavailable(f"the database did not answer ({type(exc).__name__})") from exc
        finally:
            await engine.dispose()

    @asynccontextmanager
    async def session(
        self, key: UserKey, *, update_id: int | None = None
    ) -> AsyncIterator[UserSession]:
        channel, user_id = key

        def load(conn: sa.Connection) -> tuple[Any, dict[int, tuple[bool, list[int]]]]:
            params = {"b_channel": channel, "b_user": user_id}
            row = conn.execute(statements.LOAD_STATE, params).first()
            claims = {} if update_id is None else {update_id: _claim_info(conn, key, update_id)}
            return row, claims

        async with self._locks.hold(key):
            row, claims = await self.read(load)
            state = (
                ConversationState.model_validate(row.state)
                if row
                else ConversationState.new(user_id)
            )
            session = _SqlSession(self, key, state, row.version if row else None, claims)
            yield session
            await session.commit()

    async def ping(self) -> None:
        """A trivial query: raises if the database does not answer."""
        await self.read(lambda conn: conn.execute(sa.text("SELECT 1")).scalar())

    async def claim_due_reminders(
        self, now: datetime, worker: str, limit: int = 50
    ) -> list[Reminder]:
        stale = now - CLAIM_TIMEOUT

        def claim(conn: sa.Connection) -> list[Reminder]:
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
            ids = list(conn.scalars(candidates))
            if not ids:
                return []
            conn.execute(
                reminders.update()
                .where(reminders.c.id.in_(ids))
                .values(claimed_at=now, claimed_by=worker)
            )
            rows = conn.execute(sa.select(reminders).where(reminders.c.id.in_(ids)))
            return [
                Reminder(r.id, r.channel, r.user_id, r.address, _utc(r.due_at), r.text)
                for r in rows
            ]

        return await self.write(claim)

    async def mark_sent(self, reminder_id: int) -> None:
        def mark(conn: sa.Connection) -> None:
            conn.execute(
                reminders.update()
                .where(reminders.c.id == reminder_id)
                .values(sent_at=datetime.now(UTC))
            )

        await self.write(mark)

    async def release(self, reminder_id: int) -> None:
        def release(conn: sa.Connection) -> None:
            conn.execute(
                reminders.update()
                .where(reminders.c.id == reminder_id, reminders.c.sent_at.is_(None))
                .values(claimed_at=None, claimed_by=None)
            )

        await self.write(release)

    async def close(self) -> None:
        if self.is_sqlite:
            with suppress(RuntimeError):  # the executor was shut down already
                await asyncio.get_running_loop().run_in_executor(
                    self._executor, self._close_connection
                )
            self._executor.shutdown(wait=False)
            self._sync.dispose()
        else:
            await self._async.dispose()
