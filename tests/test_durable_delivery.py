"""Nothing a user sends is lost: the real ``calfcoach telegram`` process against the Bot API
emulator, killed with SIGKILL in the middle of a burst, on SQLite and PostgreSQL.

60 users, each at step 2 of the self-test, answer "21" at once; the bot is killed at a
moment in the burst and restarted. Every update the bot acknowledged (by polling: the
offset moved past it; by webhook: it answered 200) must be applied exactly once (each
user is now at step 3, with 21 stored for step 2 and nothing for step 3) and answered
(each user has received the step 3 prompt). A Bot API that fails one sendMessage (502)
after the step is saved must still deliver the next prompt.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.bootstrap import App
from bot.engine import Incoming
from bot.engine.form import build_steps
from bot.inbox import Dispatcher, mark_claimed
from bot.outbox import ProgressRecorder
from bot.storage.base import InboxRow, Progress
from bot.storage.schema import conversations
from bot.storage.sql import SqlStore
from knowledge.texts import load_phrases
from tests.test_storage import sql_url  # noqa: F401 - the SQLite/PostgreSQL fixture
from tests.test_store_robustness import HangingProxy, pg_proxy  # noqa: F401 - a fixture
from tooling.emulator import BotApiEmulator, Call

STEPS = len(build_steps())
USERS = [5000 + n for n in range(60)]


async def start_bot(emulator: BotApiEmulator, env: dict[str, str]) -> asyncio.subprocess.Process:
    """Start the bot and wait until it takes updates (its webhook is set, or it polls)."""
    mark = len(emulator.calls)
    ready = "setWebhook" if env.get("WEBHOOK_URL") else "setMyCommands"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "telegram",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await emulator.wait_for(lambda c: c.method == ready, after=mark, timeout=90)
    return process


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)


async def seed_at_step_two(make_app, url: str) -> None:
    """Every user mid-test at step 2 (a number), as if they had started earlier."""
    store = SqlStore(url)
    await store.migrate()
    app: App = make_app(store, charts=False)
    for user in USERS:
        for text in ("/assess", "no"):
            await app.conversations.handle(Incoming("telegram", str(user), text))
    await store.close()


async def answers(url: str) -> dict[str, dict]:
    store = SqlStore(url)

    def load(conn: sa.Connection) -> dict[str, dict]:
        rows = conn.execute(sa.select(conversations.c.user_id, conversations.c.state))
        return {r.user_id: r.state for r in rows}

    try:
        return await store.read(load)
    finally:
        await store.close()


def prompts(emulator: BotApiEmulator, user: int, after: int) -> list[str]:
    return [
        c.text[: len(f"Step {STEPS} of {STEPS}")]
        for c in emulator.calls[after:]
        if c.method in {"sendMessage", "editMessageText"}
        and c.chat_id == user
        and c.text.startswith("Step ")
    ]


# When to kill: at the n-th call of a method to one of the users, i.e. once the batch
# was fetched and acknowledged (the first "typing", sent at once here), at the first reply,
# mid-burst.
KILL_POINTS = [("sendChatAction", 1), ("sendMessage", 1), ("sendMessage", 30)]


@pytest.mark.parametrize("kill_at", KILL_POINTS, ids=lambda k: f"{k[0]}-{k[1]}")
async def test_sigkill_in_a_burst_loses_nothing_and_applies_each_once(
    sql_url: str,  # noqa: F811
    kill_at: tuple[str, int],
    make_app,
    cli_env: dict[str, str],
) -> None:
    await seed_at_step_two(make_app, sql_url)
    async with BotApiEmulator() as emulator:
        env = {
            **cli_env,
            "TELEGRAM_BOT_TOKEN": emulator.token,
            "TELEGRAM_API_URL": emulator.url,
            "TELEGRAM_MAX_RATE": "100000",
            "TYPING_AFTER_SECONDS": "0",  # "typing" at once: the kill point after the ack
            "DATABASE_URL": sql_url,
        }
        bot = await start_bot(emulator, env)
        mark = len(emulator.calls)
        method, count = kill_at
        reached = asyncio.Event()
        seen: list[Call] = []

        def watch(call: Call) -> None:
            if call.method == method and call.chat_id in USERS:
                seen.append(call)
                if len(seen) >= count:
                    bot.send_signal(signal.SIGKILL)  # at once, from inside the call
                    reached.set()

        emulator.listeners.append(watch)
        sent = [emulator.message(user, "21") for user in USERS]
        await asyncio.wait_for(reached.wait(), 60)
        await bot.wait()
        emulator.listeners.remove(watch)
        acknowledged = sum(1 for u in sent if u < emulator.confirmed_offset)
        before_restart = {u for u in USERS if prompts(emulator, u, mark)}
        bot = await start_bot(emulator, env)
        try:
            for user in USERS:
                await emulator.wait_for(
                    lambda c, u=user: c.chat_id == u and c.text.startswith(f"Step 3 of {STEPS}"),
                    after=mark,
                    timeout=60,
                )
            await asyncio.sleep(0.5)  # time for a wrong second application to show
        finally:
            await stop(bot)
    print(
        f"SIGKILL at {method} #{count}: {acknowledged} of {len(sent)} updates acknowledged, "
        f"{len(before_restart)} answered before the kill; all answered after the restart"
    )
    for user in USERS:
        seen = prompts(emulator, user, mark)
        assert seen and all(p.startswith(f"Step 3 of {STEPS}") for p in seen), (user, seen)
    states = await answers(sql_url)
    for user in USERS:
        form = states[str(user)]["assessment"]
        assert form is not None, user
        values = list(form["answers"].values())
        assert values.count(21) == 1, (user, form["answers"])  # applied once, not twice
        assert len(form["order"]) == 2, (user, form["order"])  # step 1 and step 2 only


async def test_sigkill_in_a_webhook_burst_loses_no_acknowledged_update(
    tmp_path: Path, make_app, cli_env: dict[str, str]
) -> None:
    """Webhook mode: an update the bot answered 200 to is never lost; one it did not
    (killed first) Telegram delivers again, and then it is answered too."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    await seed_at_step_two(make_app, url)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with BotApiEmulator() as emulator:
        env = {
            **cli_env,
            "TELEGRAM_BOT_TOKEN": emulator.token,
            "TELEGRAM_API_URL": emulator.url,
            "TELEGRAM_MAX_RATE": "100000",
            "TYPING_AFTER_SECONDS": "0",  # "typing" at once: the kill point after the ack
            "DATABASE_URL": url,
            "WEBHOOK_URL": f"http://127.0.0.1:{port}/hook",
            "WEBHOOK_SECRET": "burst-secret",
            "WEBHOOK_PORT": str(port),
        }
        bot = await start_bot(emulator, env)
        mark = len(emulator.calls)
        reached = asyncio.Event()

        def watch(call: Call) -> None:
            if call.method == "sendChatAction" and call.chat_id in USERS:
                bot.send_signal(signal.SIGKILL)
                reached.set()

        emulator.listeners.append(watch)
        sent = [emulator.message(user, "21") for user in USERS]
        await asyncio.wait_for(reached.wait(), 60)
        await bot.wait()
        emulator.listeners.remove(watch)
        await asyncio.sleep(0.5)  # the emulator's posts in flight settle
        acknowledged = set(emulator.webhook_acknowledged)
        bot = await start_bot(emulator, env)
        try:
            for update_id in sent:
                if update_id not in acknowledged:
                    emulator.redeliver(update_id)  # as Telegram retries a failed post
            for user in USERS:
                await emulator.wait_for(
                    lambda c, u=user: c.chat_id == u and c.text.startswith(f"Step 3 of {STEPS}"),
                    after=mark,
                    timeout=60,
                )
            await asyncio.sleep(0.5)
        finally:
            await stop(bot)
    print(f"webhook: {len(acknowledged)} of {len(sent)} acknowledged before the kill")
    assert acknowledged  # the kill came after some 200s: the case that used to lose them
    states = await answers(url)
    for user in USERS:
        form = states[str(user)]["assessment"]
        assert list(form["answers"].values()).count(21) == 1, (user, form["answers"])
        assert len(form["order"]) == 2, (user, form["order"])


async def test_a_502_after_the_step_is_saved_still_delivers_the_next_prompt(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    async with BotApiEmulator() as emulator:
        env = {
            **cli_env,
            "TELEGRAM_BOT_TOKEN": emulator.token,
            "TELEGRAM_API_URL": emulator.url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        }
        bot = await start_bot(emulator, env)
        try:
            user = 4242

            async def say(text: str, expect: str) -> Call:
                mark = len(emulator.calls)
                emulator.message(user, text)
                return await emulator.wait_for(
                    lambda c: c.method == "sendMessage" and c.chat_id == user and expect in c.text,
                    after=mark,
                )

            await say("/assess", f"Step 1 of {STEPS}")
            await say("no", f"Step 2 of {STEPS}")
            emulator.fail_once["sendMessage"] = [(502, "Bad Gateway")]
            refused = await say("21", f"Step 3 of {STEPS}")  # the 502 is recorded too
            arrived = await emulator.wait_for(
                lambda c: c.method == "sendMessage" and c.chat_id == user and "Step 3" in c.text,
                after=emulator.calls.index(refused) + 1,
            )
            assert arrived.text == refused.text
            assert emulator.fail_once["sendMessage"] == []  # the 502 was served
            # The answer was applied once: the next answer goes to step 3, not 4.
            await say("19", f"Step 4 of {STEPS}")
        finally:
            await stop(bot)


async def test_one_users_updates_apply_in_order_across_replicas(
    sql_url: str,  # noqa: F811
    make_app,
) -> None:
    """Two replicas share the database; a user's four answers (update ids 100-103) are
    split between them as a load balancer would, and the replica holding the earlier
    ones is slow to process them. The answers are still applied in update order: a
    replica whose step finds earlier updates of its user unprocessed in the inbox
    applies those first."""
    await seed_at_step_two(make_app, sql_url)
    user = str(USERS[0])
    stores = [SqlStore(sql_url), SqlStore(sql_url)]
    replicas = [make_app(s, charts=False).conversations for s in stores]
    dispatchers = []
    for replica in replicas:

        async def process(row: InboxRow, replica=replica) -> None:
            incoming = Incoming("telegram", row.user_id, row.body["text"], update_id=row.update_id)
            await replica.process(incoming)
            mark_claimed()

        dispatcher = Dispatcher(replica.store, process)
        replica.catch_up = dispatcher.catch_up
        dispatchers.append(dispatcher)
    rows = [
        InboxRow("telegram", 100 + n, user, None, {"text": str(10 + n)}, datetime.now(UTC))
        for n in range(4)
    ]
    first, second = dispatchers
    try:
        # The second replica receives 100 and 102 and stores them, but is slow to get to
        # them; meanwhile 101 and 103 reach the first replica.
        await second.store.inbox_add([rows[0], rows[2]])
        await first.accept([rows[1], rows[3]])
        for row in (rows[0], rows[2]):
            second.schedule(row)
        await asyncio.wait_for(asyncio.gather(first.drain(30), second.drain(30)), 60)
    finally:
        for store in stores:
            await store.close()
    form = (await answers(sql_url))[user]["assessment"]
    applied = [form["answers"][slot] for slots in form["order"][1:] for slot in slots]
    assert applied == [10, 11, 12, 13], form


async def test_a_hung_postgresql_gets_try_again_within_5_s_from_the_real_bot(
    pg_proxy: tuple[str, HangingProxy],  # noqa: F811
    cli_env: dict[str, str],
) -> None:
    """The inbox cannot store an update while PostgreSQL hangs: the user is told to try
    again in a moment, within 5 s, instead of hearing nothing."""
    url, proxy = pg_proxy
    async with BotApiEmulator() as emulator:
        env = {
            **cli_env,
            "TELEGRAM_BOT_TOKEN": emulator.token,
            "TELEGRAM_API_URL": emulator.url,
            "DATABASE_URL": url,
        }
        bot = await start_bot(emulator, env)
        try:
            user = 4343
            mark = len(emulator.calls)
            emulator.message(user, "/assess")
            await emulator.wait_for(lambda c: f"Step 1 of {STEPS}" in c.text, after=mark)
            proxy.hang()
            mark = len(emulator.calls)
            started = asyncio.get_running_loop().time()
            emulator.message(user, "no")
            sorry = load_phrases().store_unavailable
            await emulator.wait_for(lambda c: c.chat_id == user and c.text == sorry, after=mark)
            took = asyncio.get_running_loop().time() - started
            print(f"the apology arrived {took:.2f} s after the message")
            assert took < 5
        finally:
            proxy.resume()
            await stop(bot)


async def test_send_records_are_committed_together_and_each_sender_waits_for_its_own(
    sql_url: str,  # noqa: F811
    make_app,
) -> None:
    """Under load the send records of many entries share a transaction (a group commit),
    every record is stored, and a store failure reaches every sender of that write."""
    store = SqlStore(sql_url)
    await store.migrate()
    app = make_app(store)
    outcomes = [
        await app.conversations.process(
            Incoming(
                channel="telegram",
                user_id=str(7000 + n),
                text="what is plantar flexion",
                update_id=70_000 + n,
                address=str(7000 + n),
            )
        )
        for n in range(20)
    ]
    writes: list[int] = []
    real = store.outbox_progress

    async def counted(records):  # type: ignore[no-untyped-def]
        writes.append(len(records))
        await real(records)

    store.outbox_progress = counted  # type: ignore[method-assign]
    recorder = ProgressRecorder(store)
    entries = [o.outbox for o in outcomes if o.outbox is not None]
    assert len(entries) == 20
    await asyncio.gather(*(recorder.record(e, Progress(len(e.replies), ())) for e in entries))
    assert sum(writes) == 20 and len(writes) < 5  # 20 records, a few transactions
    assert await store.outbox_claim("sweeper", datetime.now(UTC), created_before=None) == []
    unsent = await store.outbox_claim(
        "sweeper", datetime.now(UTC), created_before=datetime.now(UTC)
    )
    assert unsent == []  # every entry is recorded as sent

    async def failing(records):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    store.outbox_progress = failing  # type: ignore[method-assign]
    results = await asyncio.gather(
        *(recorder.record(e, Progress(len(e.replies), ())) for e in entries[:3]),
        return_exceptions=True,
    )
    assert all(isinstance(r, RuntimeError) for r in results)
    await store.close()
