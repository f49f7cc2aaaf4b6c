"""The stores against real databases: SQLite always, PostgreSQL when one is reachable."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from bot.conversation import Conversations
from bot.engine import Incoming
from bot.engine.form import build_steps
from bot.payloads import DataChoice, encode
from bot.storage.base import InboxRow, Progress, Store
from bot.storage.memory import MemoryStore
from bot.storage.schema import USER_TABLES
from bot.storage.sql import SqlStore

NOW = datetime.now(UTC)

PG_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


async def _pg_database() -> str | None:
    """Create a throwaway database; None (skip) when no PostgreSQL answers."""
    engine = create_async_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"calfcoach_test_{uuid.uuid4().hex[:8]}"
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception:
        return None
    finally:
        await engine.dispose()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def _drop(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    engine = create_async_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


_MEMORY: dict[str, MemoryStore] = {}


def open_store(url: str) -> Store:
    """A store on ``url``, as a new process would open it; "memory:" stores are one shared
    object (the contract the memory store keeps within a process)."""
    if url.startswith("memory:"):
        return _MEMORY.setdefault(url, MemoryStore())
    return SqlStore(url)


@asynccontextmanager
async def database(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database of ``kind`` (memory, sqlite, postgresql) for one test."""
    if kind == "memory":
        url = f"memory:{uuid.uuid4().hex}"
        yield url
        _MEMORY.pop(url, None)
        return
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'calfcoach.db'}"
        return
    url = await _pg_database()
    if url is None:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432 (start it to run these)")
    try:
        yield url
    finally:
        await _drop(url)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The same contract tests run on every backend: memory, SQLite and PostgreSQL."""
    async with database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
async def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A SQL database (for tests of what only the SQL store does across processes)."""
    async with database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def replicas(db_url: str, make_app) -> AsyncIterator[list[Conversations]]:
    """Two independent 'processes' (engine + store) on the same database."""
    stores = [open_store(db_url), open_store(db_url)]
    await asyncio.gather(*(s.migrate() for s in stores))  # replicas start together
    yield [make_app(s, charts=False).conversations for s in stores]
    for store in stores:
        await store.close()


DELETE_PAYLOAD = encode(DataChoice(delete=True))
STEPS = len(build_steps())
UPDATE_IDS = itertools.count(1000)  # Telegram's update ids are unique across users


class User:
    def __init__(self, user_id: str = "42") -> None:
        self.user_id = user_id

    def incoming(self, text: str = "", payload: str | None = None) -> Incoming:
        return Incoming(
            "telegram",
            self.user_id,
            text,
            payload,
            update_id=next(UPDATE_IDS),
            address=self.user_id,
        )


async def test_state_survives_a_restart(
    replicas: list[Conversations], db_url: str, make_app
) -> None:
    user, (first, _) = User(), replicas
    for text in ["/assess", "no", "20"]:
        await first.handle(user.incoming(text))
    restarted = open_store(db_url)
    await restarted.migrate()
    again = make_app(restarted, charts=False).conversations
    replies = await again.handle(user.incoming("/assess"))
    assert "where you left off" in replies[0].text
    assert replies[-1].text.startswith(f"Step 3 of {STEPS}")
    await restarted.close()


async def test_concurrent_updates_for_one_user_do_not_interleave(
    replicas: list[Conversations],
) -> None:
    user, (a, b) = User(), replicas
    await a.handle(user.incoming("/assess"))
    await a.handle(user.incoming("no"))
    first, second = await asyncio.gather(
        a.handle(user.incoming("20")), b.handle(user.incoming("18"))
    )
    prompts = sorted(r[-1].text[:12] for r in (first, second))
    assert prompts == ["Step 3 of 9.", "Step 4 of 9."]  # one after the other, nothing lost
    replies = await a.handle(user.incoming("/assess"))
    assert replies[-1].text.startswith(f"Step 4 of {STEPS}")


async def test_redelivered_update_is_a_no_op(replicas: list[Conversations]) -> None:
    user, (a, b) = User(), replicas
    await a.handle(user.incoming("/assess"))
    again = user.incoming("no")
    assert (await a.handle(again))[-1].text.startswith(f"Step 2 of {STEPS}")
    assert await b.handle(again) == []  # the other replica gets the same update
    assert await a.handle(again) == []
    assert (await a.handle(user.incoming("/assess")))[-1].text.startswith(f"Step 2 of {STEPS}")


async def test_two_replicas_alternate_one_conversation(replicas: list[Conversations]) -> None:
    user = User()
    script = ["/assess", "no", "22", "20", "9", "15", "12", "30", "left", "1 3 done"]
    last = []
    for n, text in enumerate(script):
        last = await replicas[n % 2].handle(user.incoming(text))
    assert [r.kind for r in last] == ["findings", "program", "reminder_offer"]
    assert "left: 9 bent-knee vs 22 straight-knee reps" in last[0].text
    history = await replicas[1].handle(user.incoming("/history"))
    assert "Your self-tests (1)" in history[0].text
    for text in ["/assess", "no", "24", "21", "12", "15", "skip", "neither", "none"]:
        await replicas[0].handle(user.incoming(text))
    history = await replicas[1].handle(user.incoming("/history"))
    assert "Your self-tests (2)" in history[0].text
    assert "straight knee: left 24 (+2), right 21 (+1)" in history[0].text


async def test_reminders_are_stored_survive_restart_and_are_sent_once(
    replicas: list[Conversations], db_url: str
) -> None:
    user, (a, b) = User(), replicas
    for text in ["/assess", "no", "25", "25", "25", "25", "skip", "neither", "none"]:
        await a.handle(user.incoming(text))
    reply = await a.handle(user.incoming(payload="remind:8"))
    assert "remind you on" in reply[0].text
    later = datetime.now(UTC) + timedelta(weeks=8, minutes=1)
    assert await a.store.claim_due_reminders(datetime.now(UTC), "w0") == []  # not due yet
    restarted = open_store(db_url)  # a restart: the reminder is read back from the store
    await restarted.migrate()
    claims = await asyncio.gather(
        restarted.claim_due_reminders(later, "w1"), b.store.claim_due_reminders(later, "w2")
    )
    claimed = [r for batch in claims for r in batch]
    assert len(claimed) == 1 and claimed[0].address == "42" and "re-test" in claimed[0].text
    await restarted.release(claimed[0].id)  # sending failed: it comes back
    retry = await b.store.claim_due_reminders(later, "w2")
    assert [r.id for r in retry] == [claimed[0].id]
    await b.store.mark_sent(retry[0].id)
    assert await restarted.claim_due_reminders(later + timedelta(days=1), "w1") == []
    await restarted.close()


async def test_delete_my_data_removes_every_row(replicas: list[Conversations]) -> None:
    user, other, (a, _) = User("42"), User("77"), replicas
    for who in (user, other):
        for text in ["/assess", "no", "25", "25", "25", "25", "skip", "neither", "none"]:
            await a.handle(who.incoming(text))
        await a.handle(who.incoming(payload="remind:8"))
        # The durable-delivery rows: an update waiting in the inbox (an id above every
        # other, so no step here waits for it) and a sent message with buttons recorded
        # as theirs; the outbox already holds every reply above.
        later = 10**12 + int(who.user_id)
        await a.store.inbox_add([InboxRow("telegram", later, who.user_id, None, {}, NOW)])
        outcome = await a.process(who.incoming("/help"))
        assert outcome.outbox is not None
        await a.store.outbox_progress([(outcome.outbox, Progress(1, ((who.user_id, "9"),)))])
    confirm = await a.handle(user.incoming("/delete_my_data"))
    assert DELETE_PAYLOAD in [b.payload for b in confirm[0].buttons[0]]
    done = await a.handle(user.incoming(payload=DELETE_PAYLOAD))
    assert "deleted" in done[0].text
    store = a.store
    if isinstance(store, MemoryStore):
        assert all(key[1] != "42" for key in store.states) and ("telegram", "77") in store.states
        assert all(r.user_id != "42" for r in store.reminders.values())
        assert not store.results.get(("telegram", "42"))
        assert "No self-tests yet" in (await a.handle(user.incoming("/history")))[0].text
        return
    assert isinstance(store, SqlStore)

    def count(conn: sa.Connection, table: sa.Table, user: str) -> int:
        query = sa.select(sa.func.count()).select_from(table).where(table.c.user_id == user)
        return int(conn.scalar(query) or 0)

    for table in USER_TABLES:
        mine = await store.read(lambda conn, t=table: count(conn, t, "42"))
        theirs = await store.read(lambda conn, t=table: count(conn, t, "77"))
        # Only the confirmation itself is left, in the outbox, to be sent.
        assert mine == (1 if table.name == "outbox" else 0), table.name
        assert theirs > 0, table.name
    assert "No self-tests yet" in (await a.handle(user.incoming("/history")))[0].text


async def test_privacy_says_what_is_kept(replicas: list[Conversations]) -> None:
    reply = await replicas[0].handle(User().incoming("/privacy"))
    assert "not logged" in reply[0].text and "/delete_my_data" in reply[0].text


async def test_users_and_updates_are_keyed_by_channel(db_url: str, make_app) -> None:
    """The same user id or update id on two channels is two people, two updates."""
    store = open_store(db_url)
    await store.migrate()
    conversations = make_app(store, charts=False).conversations
    on_telegram = Incoming("telegram", "42", "/assess", update_id=7, address="42")
    on_web = Incoming("web", "42", "/assess", update_id=7)
    assert (await conversations.handle(on_telegram))[-1].text.startswith(f"Step 1 of {STEPS}")
    # Update 7 of another channel is not a redelivery, and its user starts fresh.
    assert (await conversations.handle(on_web))[-1].text.startswith(f"Step 1 of {STEPS}")
    assert await conversations.handle(on_telegram) == []  # but this one is
    await conversations.handle(Incoming("telegram", "42", "no", update_id=8, address="42"))
    replies = await conversations.handle(Incoming("web", "42", "/assess", update_id=9))
    assert replies[-1].text.startswith(f"Step 1 of {STEPS}")  # the web user did not move
    await store.close()


async def test_migration_0002_moves_existing_rows_to_their_channel(tmp_path: Path) -> None:
    """Rows written before channels existed: the terminal's user goes to the terminal
    channel, everyone else to Telegram; reminders keep their chat as an address."""
    from alembic import command
    from alembic.config import Config

    from bot.storage.sql import MIGRATIONS

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        now = datetime.now(UTC)
        state = {"user_id": "x", "turns": 3, "last_question": "old"}
        for user in ("terminal", "1001"):
            conn.execute(
                sa.text(
                    "INSERT INTO conversations (user_id, state, version, updated_at) "
                    "VALUES (:u, :s, 1, :t)"
                ),
                {"u": user, "s": json.dumps({**state, "user_id": user}), "t": now},
            )
        conn.execute(
            sa.text(
                "INSERT INTO reminders (user_id, chat_id, due_at, text) "
                "VALUES ('1001', -5005, :t, 'Time to re-test')"
            ),
            {"t": now},
        )
        conn.execute(
            sa.text(
                "INSERT INTO processed_updates (update_id, user_id, processed_at) "
                "VALUES (77, '1001', :t)"
            ),
            {"t": now},
        )
    engine.dispose()
    store = SqlStore(url)
    await store.migrate()

    def rows(conn: sa.Connection) -> tuple[list[tuple[str, str]], list[tuple[str, str]], int]:
        people = conn.execute(sa.text("SELECT channel, user_id FROM conversations")).all()
        reminders = conn.execute(sa.text("SELECT channel, address FROM reminders")).all()
        updates = conn.scalar(sa.text("SELECT count(*) FROM processed_updates"))
        return [tuple(r) for r in people], [tuple(r) for r in reminders], int(updates or 0)

    people, reminders, updates = await store.read(rows)
    assert sorted(people) == [("telegram", "1001"), ("terminal", "terminal")]
    assert reminders == [("telegram", "-5005")]
    assert updates == 1
    async with store.session(("terminal", "terminal")) as session:  # old state still loads
        assert session.state.user_id == "terminal"
    await store.close()


async def test_the_recovery_sweep_looks_only_after_what_it_checked(db_url: str) -> None:
    """A sweep after the first looks only at rows received after what it already
    checked: a whole retained inbox walked every 5 s held SQLite 100 ms per sweep at
    200,000 rows. Rows in the window are still found."""
    store = open_store(db_url)
    await store.migrate()
    now = datetime.now(UTC)

    def row(update_id: int, age_s: float) -> InboxRow:
        return InboxRow(
            "telegram",
            update_id,
            "7",
            "7",
            {"update_id": update_id},
            now - timedelta(seconds=age_s),
        )

    await store.inbox_add([row(9001, 3600), row(9002, 60), row(9003, 30)])
    everything = await store.inbox_waiting(now)
    assert [r.update_id for r in everything] == [9001, 9002, 9003]
    recent = await store.inbox_waiting(now, received_after=now - timedelta(seconds=90))
    assert [r.update_id for r in recent] == [9002, 9003]
    await store.close()


async def test_sweeps_find_new_waiting_rows_but_not_rows_already_checked(monkeypatch) -> None:
    import bot.inbox as inbox_module
    from bot.inbox import Dispatcher

    monkeypatch.setattr(inbox_module, "GRACE", timedelta(seconds=0.05))
    store = MemoryStore()
    processed: list[int] = []

    async def process(row: InboxRow) -> None:
        processed.append(row.update_id)
        await store.settle([row])

    dispatcher = Dispatcher(store, process)
    started = datetime.now(UTC)

    def row(update_id: int, received_at: datetime) -> InboxRow:
        return InboxRow("telegram", update_id, str(update_id), None, {}, received_at)

    await store.inbox_add([row(1, started - timedelta(minutes=5))])  # left by a crash
    sweeps = asyncio.create_task(dispatcher.run_recovery(started, every=0.02))
    try:
        await asyncio.sleep(0.2)
        assert processed == [1]  # the start-up pass takes everything before the start
        await store.inbox_add([row(2, datetime.now(UTC))])  # stranded on another replica
        await asyncio.sleep(0.3)
        assert processed == [1, 2]
        # A row stamped long before what the sweeps checked is left to the next start.
        await store.inbox_add([row(3, started - timedelta(minutes=10))])
        await asyncio.sleep(0.3)
        assert processed == [1, 2]
    finally:
        sweeps.cancel()
