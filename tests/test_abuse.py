"""Nobody can abuse the bot, and everyone gets an answer: the real ``calfcoach telegram``
process (SQLite) against the Bot API emulator.

Buttons belong to the user their message was sent for (a group member cannot press
another's "Yes, delete it all"); reminders are one per completed self-test (double taps
and forged payloads change nothing); a button under an inline-mode message is answered;
stickers, photos, voice messages, files and locations get "I can read text messages";
an edit of an earlier answer mid-test is never taken as the answer to the current step;
one user flooding does not slow another; /privacy says what is kept and for how long.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.engine.form import build_steps
from bot.storage.schema import conversations, reminders
from bot.storage.sql import SqlStore
from knowledge.texts import load_phrases
from tooling.emulator import BotApiEmulator, Call

STEPS = len(build_steps())
PHRASES = load_phrases()
ALICE, BOB = 7001, 7002
GROUP = -7000
FULL_TEST = ["/assess", "no", "25", "25", "25", "25", "skip", "neither", "none"]


@dataclass
class Running:
    emulator: BotApiEmulator
    database: str

    async def say(self, user: int, text: str, *expect: str, chat: int | None = None) -> Call:
        mark = len(self.emulator.calls)
        chat_id = chat if chat is not None else user
        kind = "group" if chat_id < 0 else "private"
        self.emulator.message(user, text, chat_id=chat_id, chat_type=kind)
        return await self.reply(chat_id, mark, *expect)

    async def reply(self, chat: int, after: int, *expect: str) -> Call:
        return await self.emulator.wait_for(
            lambda c: (
                c.method in {"sendMessage", "editMessageText"}
                and c.chat_id == chat
                and all(e in c.text for e in expect)
            ),
            after=after,
        )

    async def count(self, table: sa.Table, user: int) -> int:
        store = SqlStore(self.database)
        query = sa.select(sa.func.count()).select_from(table).where(table.c.user_id == str(user))
        try:
            return int(await store.read(lambda conn: conn.scalar(query)) or 0)
        finally:
            await store.close()


@pytest.fixture
async def running(tmp_path: Path, cli_env: dict[str, str]) -> AsyncIterator[Running]:
    database = f"sqlite:///{tmp_path / 'bot.db'}"
    async with BotApiEmulator() as emulator:
        env = {
            **cli_env,
            "TELEGRAM_BOT_TOKEN": emulator.token,
            "TELEGRAM_API_URL": emulator.url,
            "TELEGRAM_MAX_RATE": "100000",
            "DATABASE_URL": database,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "telegram",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            await emulator.wait_for(lambda c: c.method == "setMyCommands", timeout=90)
            yield Running(emulator, database)
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 30)


def answered(emulator: BotApiEmulator, after: int) -> list[Call]:
    return [c for c in emulator.calls[after:] if c.method == "answerCallbackQuery"]


async def test_only_the_requester_can_press_yes_delete_it_all(running: Running) -> None:
    emulator = running.emulator
    await running.say(ALICE, "/assess", f"Step 1 of {STEPS}", chat=GROUP)
    confirm = await running.say(ALICE, "/delete_my_data", "Delete everything", chat=GROUP)
    await running.say(BOB, "/assess", f"Step 1 of {STEPS}", chat=GROUP)
    mark = len(emulator.calls)
    emulator.press(BOB, confirm, "data:delete")
    refusal = await emulator.wait_for(lambda c: c.method == "answerCallbackQuery", after=mark)
    assert refusal.params.get("text") == PHRASES.button_not_yours
    await asyncio.sleep(0.5)
    assert not [c for c in emulator.calls[mark:] if PHRASES.deleted in c.text]
    assert await running.count(conversations, ALICE) == 1  # nobody's data went
    assert await running.count(conversations, BOB) == 1
    mark = len(emulator.calls)
    emulator.press(ALICE, confirm, "data:delete")
    await running.reply(GROUP, mark, PHRASES.deleted)
    assert await running.count(conversations, ALICE) == 0
    assert await running.count(conversations, BOB) == 1


async def test_a_reminder_is_set_once_per_test_whatever_is_pressed(running: Running) -> None:
    emulator = running.emulator
    mark = len(emulator.calls)
    for text in FULL_TEST:
        emulator.message(ALICE, text)
        await asyncio.sleep(0.05)
    offer = await emulator.wait_for(
        lambda c: c.chat_id == ALICE and any(d.startswith("remind:") for d in c.callback_data()),
        after=mark,
    )
    yes = next(d for d in offer.callback_data() if d != "remind:no")
    weeks = int(yes.split(":")[1])
    for data, forged in [
        (yes, False),
        (yes, False),  # a double tap
        (f"remind:{weeks + 1}", True),  # weeks the program did not offer
        ("remind:99999999999", True),
        ("remind:²", True),
    ]:
        emulator.press(ALICE, offer, data, forged=forged)
    await emulator.wait_for(lambda c: PHRASES.reminder_already_set in c.text, after=mark)
    await emulator.wait_for(lambda c: PHRASES.reminder_not_offered in c.text, after=mark)
    await asyncio.sleep(1.0)
    assert await running.count(reminders, ALICE) == 1
    errors = [c for c in emulator.calls[mark:] if PHRASES.something_went_wrong in c.text]
    assert errors == []


async def test_a_button_under_an_inline_message_is_answered(running: Running) -> None:
    mark = len(running.emulator.calls)
    running.emulator.press_inline(ALICE, "a:start")
    answer = await running.emulator.wait_for(
        lambda c: c.method == "answerCallbackQuery", after=mark
    )
    assert answer.params.get("text") == PHRASES.button_inline


NON_TEXT = {
    "sticker": {
        "sticker": {
            "file_id": "s1",
            "file_unique_id": "s1u",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
    },
    "photo with a caption": {
        "photo": [{"file_id": "p1", "file_unique_id": "p1u", "width": 90, "height": 90}],
        "caption": "does my calf look swollen?",
    },
    "voice": {"voice": {"file_id": "v1", "file_unique_id": "v1u", "duration": 3}},
    "document": {"document": {"file_id": "d1", "file_unique_id": "d1u"}},
    "location": {"location": {"latitude": 51.5, "longitude": -0.1}},
}


async def test_non_text_messages_are_told_what_the_bot_reads(running: Running) -> None:
    emulator = running.emulator
    for name, fields in NON_TEXT.items():
        mark = len(emulator.calls)
        emulator.message_with(ALICE, fields)
        try:
            await running.reply(ALICE, mark, PHRASES.text_only)
        except TimeoutError:
            pytest.fail(f"no answer to a {name}")
    await running.say(ALICE, "/assess", f"Step 1 of {STEPS}")
    mark = len(emulator.calls)
    emulator.message_with(ALICE, NON_TEXT["photo with a caption"])
    await running.reply(ALICE, mark, PHRASES.text_only)
    await running.reply(ALICE, mark, f"Step 1 of {STEPS}")  # the open step, asked again


async def test_an_edited_answer_is_not_taken_for_the_current_step(running: Running) -> None:
    emulator = running.emulator
    await running.say(ALICE, "/assess", f"Step 1 of {STEPS}")
    await running.say(ALICE, "no", f"Step 2 of {STEPS}")
    mark = len(emulator.calls)
    emulator.message(ALICE, "21")
    await running.reply(ALICE, mark, f"Step 3 of {STEPS}")
    message_id = emulator._next_message[ALICE]
    message_id = next(
        u["message"]["message_id"]
        for u in reversed(emulator._delivered)
        if "message" in u and u["message"].get("text") == "21"
    )
    mark = len(emulator.calls)
    emulator.edit(ALICE, message_id, "12")
    notice = await running.reply(ALICE, mark, PHRASES.edit_in_test)
    assert notice is not None
    await running.reply(ALICE, mark, f"Step 3 of {STEPS}")  # still step 3
    # The next answer goes to step 3: the edit did not fill it.
    await running.say(ALICE, "19", f"Step 4 of {STEPS}")


async def test_one_users_flood_does_not_slow_another(running: Running) -> None:
    emulator = running.emulator
    await running.say(BOB, "what is the soleus", "Section")  # warm
    mark = len(emulator.calls)
    for n in range(300):
        emulator.message(ALICE, f"how do I stretch my calves {n}")
    await asyncio.sleep(0.2)  # the flood is in
    started = time.monotonic()
    await running.say(BOB, "how do I fix a weak soleus", "Section")
    took = time.monotonic() - started
    print(f"another user's answer during a 300-message flood: {took * 1000:.0f} ms")
    assert took < 1.0
    await running.reply(ALICE, mark, PHRASES.rate_limited)
    await asyncio.sleep(1.0)
    told = [
        c for c in emulator.calls[mark:] if c.chat_id == ALICE and c.text == PHRASES.rate_limited
    ]
    assert len(told) == 1  # told once, not 290 times


async def test_privacy_lists_what_is_kept_and_for_how_long(running: Running) -> None:
    reply = await running.say(ALICE, "/privacy", "What CalfCoach keeps")
    for kept in ("each message you send", "my replies to you", "72 hours", "30 days", "reminders"):
        assert kept in reply.text, kept
