"""A bot process killed with SIGKILL mid-assessment resumes at the same step on restart,
and a scheduled reminder is sent once by the restarted process (the real `calfcoach
telegram` command against the local Bot API emulator, state in SQLite)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bot.engine.form import build_steps
from bot.storage.schema import reminders
from bot.storage.sql import SqlStore
from tooling.emulator import BotApiEmulator, Call

STEPS = len(build_steps())  # "Step N of STEPS": the form's own length, not a literal

USER = 3003


async def start_bot(emulator: BotApiEmulator, env: dict[str, str]) -> asyncio.subprocess.Process:
    mark = len(emulator.calls)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "telegram",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    await emulator.wait_for(lambda c: c.method == "setMyCommands", after=mark, timeout=90)
    return process


async def say(emulator: BotApiEmulator, text: str, expect: str) -> Call:
    mark = len(emulator.calls)
    emulator.message(USER, text)
    return await emulator.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == USER and expect in c.text, after=mark
    )


async def test_sigkill_mid_assessment_resumes_and_reminders_survive(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    async with BotApiEmulator() as emulator:
        env = {
            **cli_env,
            "TELEGRAM_BOT_TOKEN": emulator.token,
            "TELEGRAM_API_URL": emulator.url,
            "DATABASE_URL": database,
            "REMINDER_POLL_SECONDS": "0.2",
        }
        bot = await start_bot(emulator, env)
        await say(emulator, "/assess", f"Step 1 of {STEPS}")
        await say(emulator, "no", f"Step 2 of {STEPS}")
        await say(emulator, "21", f"Step 3 of {STEPS}")
        await say(emulator, "19", f"Step 4 of {STEPS}")
        bot.send_signal(signal.SIGKILL)
        await bot.wait()

        # A reminder already due, as if it had been set weeks ago.
        store = SqlStore(database)
        await store.write(
            lambda conn: conn.execute(
                reminders.insert().values(
                    channel="telegram",
                    user_id=str(USER),
                    address=str(USER),
                    due_at=datetime.now(UTC) - timedelta(minutes=1),
                    text="Time to re-test your calves!",
                )
            )
        )
        bot = await start_bot(emulator, env)
        try:
            reply = await say(emulator, "/assess", f"Step 4 of {STEPS}")
            assert "knee bent" in reply.text
            await say(emulator, "8", f"Step 5 of {STEPS}")
            await emulator.wait_for(
                lambda c: c.method == "sendMessage" and "re-test your calves" in c.text
            )
            await asyncio.sleep(1.0)  # several more polls: it must not be sent again
            sent = [c for c in emulator.calls if "re-test your calves" in c.text]
            assert len(sent) == 1
            sent_at = await store.read(lambda conn: conn.scalar(sa.select(reminders.c.sent_at)))
            assert sent_at is not None
        finally:
            bot.send_signal(signal.SIGTERM)
            await asyncio.wait_for(bot.wait(), 30)
            await store.close()
        assert os.path.exists(tmp_path / "bot.db")
