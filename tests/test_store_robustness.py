"""The store when the database misbehaves, on real databases: a PostgreSQL that hangs
(behind a loopback proxy that stops forwarding) makes a step fail fast with
StoreUnavailable and recover after; a read-only SQLite file stops `calfcoach telegram`
at start with a clear message; a deletion leaves nothing in the SQLite files; processed
update ids are pruned; per-user locks are freed."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.bootstrap import bootstrap
from bot.engine import Incoming
from bot.payloads import DataChoice, encode
from bot.qa.service import QAService
from bot.settings import Settings
from bot.storage.base import StoreUnavailable
from bot.storage.maintenance import prune_loop
from bot.storage.schema import processed_updates
from bot.storage.sql import SqlStore
from knowledge.texts import load_phrases
from tests.test_storage import _drop, _pg_database
from tooling.emulator import BotApiEmulator

UPDATE_IDS = itertools.count(50_000)
DELETE_PAYLOAD = encode(DataChoice(delete=True))


def incoming(user: str, text: str = "", payload: str | None = None) -> Incoming:
    return Incoming("telegram", user, text, payload, update_id=next(UPDATE_IDS), address=user)


class HangingProxy:
    """A TCP proxy to PostgreSQL on loopback that can 'hang': it keeps every connection
    open and accepts new ones but forwards nothing, as a stuck server or a black-holed
    network does (a database that is down would refuse at once: the easy case)."""

    def __init__(self, upstream_port: int = 5432) -> None:
        self.upstream_port = upstream_port
        self.resumed = asyncio.Event()
        self.resumed.set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def hang(self) -> None:
        self.resumed.clear()

    def resume(self) -> None:
        self.resumed.set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                await self.resumed.wait()
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self.resumed.wait()
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        for task in (
            asyncio.create_task(self._pipe(reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        ):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        self.resume()
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            self._server.close()


@pytest.fixture
async def pg_proxy() -> AsyncIterator[tuple[str, HangingProxy]]:
    url = await _pg_database()
    if url is None:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432 (start it to run these)")
    proxy = HangingProxy()
    await proxy.start()
    try:
        yield url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}"), proxy
    finally:
        await proxy.stop()
        await _drop(url)


async def test_a_hung_postgresql_fails_the_step_fast_and_recovers(
    pg_proxy: tuple[str, HangingProxy], qa: QAService
) -> None:
    url, proxy = pg_proxy
    store = SqlStore(url)  # the default DATABASE_TIMEOUT_SECONDS
    await store.migrate()
    conversations = bootstrap(Settings(), store=store, qa=qa, charts=False).conversations
    try:
        replies = await conversations.handle(incoming("61", "/assess"))
        assert replies[-1].text.startswith("Step 1 of 9")
        proxy.hang()
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            # A bound for the test itself: without timeouts the step waits forever.
            await asyncio.wait_for(conversations.handle(incoming("61", "no")), 20)
        took = time.monotonic() - started
        print(f"a step on a hung PostgreSQL failed after {took:.2f} s")
        assert took < 5, f"the step failed only after {took:.1f} s"
        with pytest.raises(StoreUnavailable):
            await asyncio.wait_for(store.ping(), 20)
        proxy.resume()
        replies = await asyncio.wait_for(conversations.handle(incoming("61", "no")), 20)
        assert replies[-1].text.startswith("Step 2 of 9")
    finally:
        proxy.resume()
        await store.close()


async def test_a_read_only_sqlite_database_stops_the_bot_at_start(
    tmp_path: Path, index_dir: Path
) -> None:
    path = tmp_path / "bot.db"
    store = SqlStore(f"sqlite:///{path}")
    await store.migrate()  # an up-to-date schema: nothing left for a migration to write
    await store.close()
    if os.geteuid() == 0:  # root writes through file modes; open it read-only instead
        url = f"sqlite:///file:{path}?mode=ro&uri=true"
    else:
        path.chmod(0o444)
        url = f"sqlite:///{path}"
    async with BotApiEmulator() as api:
        env = {
            **os.environ,
            "INDEX_DIR": str(index_dir),
            "DATA_DIR": str(index_dir.parent),
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_API_URL": api.url,
            "DATABASE_URL": url,
            "LOG_LEVEL": "WARNING",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "telegram",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), 60)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    text = stderr.decode()
    assert process.returncode == 2, text
    assert "read-only" in text and "Traceback" not in text
    assert not [c for c in api.calls if c.method == "sendMessage"]


async def test_deleted_data_does_not_linger_in_the_sqlite_files(
    tmp_path: Path, qa: QAService
) -> None:
    path = tmp_path / "bot.db"
    store = SqlStore(f"sqlite:///{path}")
    await store.migrate()
    conversations = bootstrap(Settings(), store=store, qa=qa, charts=False).conversations
    marker = "Xylophonist"
    try:
        await conversations.handle(incoming("62", f"what does the soleus do, {marker}?"))
        await conversations.handle(incoming("63", "what does the soleus do?"))  # someone else

        def files() -> bytes:
            return b"".join(
                p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("bot.db")
            )

        assert marker.encode() in files()  # kept (the last question), so the check can fail
        await conversations.handle(incoming("62", "/delete_my_data"))
        await conversations.handle(incoming("62", payload=DELETE_PAYLOAD))
        assert marker.encode() not in files()
        wal = tmp_path / "bot.db-wal"
        assert not wal.exists() or wal.stat().st_size == 0
    finally:
        await store.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_old_processed_updates_are_pruned(
    backend: str, tmp_path: Path, qa: QAService
) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}" if backend == "sqlite" else await _pg_database()
    if url is None:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    store = SqlStore(url)
    try:
        await store.migrate()
        conversations = bootstrap(Settings(), store=store, qa=qa, charts=False).conversations
        old = incoming("64", "/help")
        await conversations.handle(old)
        await store.write(
            lambda conn: conn.execute(
                processed_updates.update()
                .where(processed_updates.c.update_id == old.update_id)
                .values(processed_at=datetime.now(UTC) - timedelta(days=5))
            )
        )
        await conversations.handle(incoming("64", "/help"))
        loop = asyncio.create_task(prune_loop(store, timedelta(hours=72), every=0.05))
        try:
            for _ in range(100):  # bounded: 5 s at most
                ids = await store.read(
                    lambda conn: set(conn.scalars(sa.select(processed_updates.c.update_id)))
                )
                if old.update_id not in ids:
                    break
                await asyncio.sleep(0.05)
        finally:
            loop.cancel()
        assert old.update_id not in ids and len(ids) == 1  # the recent one stays
    finally:
        await store.close()
        if backend == "postgresql":
            await _drop(url)


async def test_per_user_locks_are_freed(tmp_path: Path, qa: QAService) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'l.db'}")
    await store.migrate()
    conversations = bootstrap(Settings(), store=store, qa=qa, charts=False).conversations
    try:
        await asyncio.gather(
            *(conversations.handle(incoming(str(700 + n), "/help")) for n in range(50))
        )
        await asyncio.gather(*(conversations.handle(incoming("700", "/help")) for _ in range(5)))
        assert len(store._locks) == 0
    finally:
        await store.close()


async def test_a_user_hears_try_again_within_5_s_when_postgresql_hangs(
    pg_proxy: tuple[str, HangingProxy], qa: QAService
) -> None:
    """The whole bot (the Application over HTTP against the emulator) on a PostgreSQL that
    hangs mid-conversation: the user gets the apology within 5 s, not silence."""
    from bot.telegram.app import create_application

    url, proxy = pg_proxy
    async with BotApiEmulator() as api:
        settings = Settings(telegram_bot_token=api.token, telegram_api_url=api.url)
        store = SqlStore(url)
        application = create_application(
            bootstrap(settings, store=store, qa=qa, charts=False), max_rate=1000
        )
        await application.initialize()
        await application.post_init(application)  # type: ignore[misc]
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            mark = len(api.calls)
            api.message(65, "/assess")
            await api.wait_for(lambda c: "Step 1 of 9" in c.text, after=mark)
            proxy.hang()
            mark = len(api.calls)
            started = time.monotonic()
            api.message(65, "no")
            sorry = load_phrases().store_unavailable  # says why, not "something went wrong"
            await api.wait_for(lambda c: c.chat_id == 65 and c.text == sorry, after=mark)
            took = time.monotonic() - started
            print(f"the apology arrived {took:.2f} s after the message")
            assert took < 5
        finally:
            proxy.resume()
            await application.updater.stop()
            await application.stop()
            await application.post_stop(application)  # type: ignore[misc]
            await application.shutdown()
