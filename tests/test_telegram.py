"""End to end: the real python-telegram-bot Application over HTTP against the local Bot
API emulator, in polling and in webhook mode, driven by scripted users."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from pydantic import SecretStr

from bot.bootstrap import bootstrap
from bot.engine.form import build_steps
from bot.qa.service import QAService
from bot.settings import Settings
from bot.storage.memory import MemoryStore
from bot.telegram.app import create_application
from bot.telegram.webhook import WebhookServer
from tooling.emulator import BotApiEmulator, Call

STEPS = len(build_steps())  # "Step N of STEPS": the form's own length, not a literal

ALICE, BOB = 1001, 1002
SECRET = "test-secret_123"


@pytest.fixture(params=["polling", "webhook"])
async def bot(
    request: pytest.FixtureRequest, settings: Settings, qa: QAService
) -> AsyncIterator[BotApiEmulator]:
    emulator = BotApiEmulator()
    await emulator.start()
    at_once = request.node.get_closest_marker("typing_at_once") is not None
    bot_settings = settings.model_copy(
        update={
            "telegram_bot_token": SecretStr(emulator.token),
            "telegram_api_url": emulator.url,
            "typing_after_seconds": 0.0 if at_once else settings.typing_after_seconds,
        }
    )
    app = bootstrap(bot_settings, store=MemoryStore(), qa=qa)
    application = create_application(app, max_rate=1000)
    await application.initialize()
    await application.post_init(application)  # type: ignore[misc]
    await application.start()
    assert application.updater is not None
    server: WebhookServer | None = None
    if request.param == "polling":
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
    else:  # our own webhook server (bot/telegram/webhook.py), as `calfcoach telegram` runs it
        server = WebhookServer(application, secret=SECRET, path="/telegram")
        port = await server.start("127.0.0.1", 0)
        await application.bot.set_webhook(f"http://127.0.0.1:{port}/telegram", secret_token=SECRET)
    try:
        yield emulator
    finally:
        if server is not None:
            await server.stop()
        if application.updater.running:
            await application.updater.stop()
        await application.stop()
        await application.shutdown()
        await emulator.stop()


def sent_to(user: int, *needles: str):
    def match(call: Call) -> bool:
        return (
            call.method in {"sendMessage", "editMessageText"}
            and call.chat_id == user
            and all(n in call.text for n in needles)
        )

    return match


async def say(bot: BotApiEmulator, user: int, text: str, *expect: str) -> Call:
    mark = len(bot.calls)
    bot.message(user, text)
    return await bot.wait_for(sent_to(user, *expect), after=mark)


async def press(bot: BotApiEmulator, user: int, call: Call, data: str, *expect: str) -> Call:
    mark = len(bot.calls)
    bot.press(user, call, data)
    return await bot.wait_for(sent_to(user, *expect), after=mark)


async def test_question_gets_answer_section_and_buttons(bot: BotApiEmulator) -> None:
    mark = len(bot.calls)
    reply = await say(bot, ALICE, "how do I fix a weak soleus", "<i>Section")
    assert "seated calf raise" in reply.text.lower()
    buttons = reply.buttons()
    assert any(b.get("switch_inline_query") for b in buttons)  # Share
    assert "a:start" in reply.callback_data()  # Start the self-test
    assert any(d.startswith("rq:") for d in reply.callback_data())  # related questions
    assert all(len(d.encode()) <= 64 for d in reply.callback_data())
    # An answer in milliseconds: no "typing..." call (it would cost more than the answer).
    assert not any(c.method == "sendChatAction" for c in bot.calls[mark:])
    related = next(d for d in reply.callback_data() if d.startswith("rq:"))
    label = next(b["text"] for b in reply.buttons() if b.get("callback_data") == related)
    follow_up = await press(bot, ALICE, reply, related, "<i>Section")
    assert follow_up.text != reply.text  # the related question got its own answer
    assert label  # ... offered under a readable label


async def test_commands_menu_is_set_at_start(bot: BotApiEmulator) -> None:
    call = await bot.wait_for(lambda c: c.method == "setMyCommands")
    names = {c["command"] for c in call.params["commands"]}
    assert {
        "start",
        "assess",
        "faq",
        "program",
        "history",
        "cancel",
        "help",
        "privacy",
        "delete_my_data",
    } <= names


async def test_out_of_scope_and_red_flag(bot: BotApiEmulator) -> None:
    decline = await say(
        bot, ALICE, "what's the capital of France?", "I only know the calf and ankle guide"
    )
    assert "Section" not in decline.text
    referral = await say(
        bot, ALICE, "I felt a snap in my achilles and now I can't stand on my toes", "urgent care"
    )
    assert referral.buttons() == []


async def test_user_text_is_escaped(bot: BotApiEmulator) -> None:
    await say(bot, ALICE, "/assess", f"Step 1 of {STEPS}")
    reply = await say(bot, ALICE, "<b>no</b> & yes", "Sorry, I couldn't use that")
    assert "<b>" not in reply.text


async def test_full_assessment_with_buttons_and_typed_numbers(bot: BotApiEmulator) -> None:
    start = await say(bot, ALICE, "/start", "I'm CalfCoach")
    safety = await press(bot, ALICE, start, "a:start", f"Step 1 of {STEPS}")
    step = await press(bot, ALICE, safety, "a:safety:no", f"Step 2 of {STEPS}")
    assert "How to:" in step.text
    for number, nxt in [("22", "Step 3"), ("20", "Step 4"), ("9", "Step 5"), ("15", "Step 6")]:
        step = await say(bot, ALICE, number, nxt)
    step = await say(bot, ALICE, "12", f"Step 7 of {STEPS}")
    heel = await say(bot, ALICE, "30", f"Step 8 of {STEPS}")
    history = await press(bot, ALICE, heel, "a:heel:left", f"Step 9 of {STEPS}")
    toggled = await press(bot, ALICE, history, "a:hist:ankle_sprain", "Selected: ankle sprain")
    assert toggled.method == "editMessageText"  # the same message, ticked, not a new one
    mark = len(bot.calls)
    await press(bot, ALICE, toggled, "a:hist:done", "Your weekly program")
    findings = await bot.wait_for(sent_to(ALICE, "Here is what your numbers show"), after=mark)
    assert "left: 9 bent-knee vs 22 straight-knee reps" in findings.text
    assert "left 12 s vs right 30 s" in findings.text
    chart = await bot.wait_for(lambda c: c.method == "sendPhoto" and c.chat_id == ALICE, after=mark)
    assert isinstance(chart.params["photo"], bytes) and chart.params["photo"].startswith(b"\x89PNG")
    assert all(len(c.text) <= 4096 for c in bot.calls if c.method == "sendMessage")
    program = await say(bot, ALICE, "/program", "Your weekly program")
    assert "Resistance band eversion" in program.text


async def test_mistyped_number_question_mid_test_and_cancel(bot: BotApiEmulator) -> None:
    await say(bot, ALICE, "/assess", f"Step 1 of {STEPS}")
    await say(bot, ALICE, "no", f"Step 2 of {STEPS}")
    reask = await say(bot, ALICE, "lots", "didn't find a number")
    assert "whole number" in reask.text
    mark = len(bot.calls)
    bot.message(ALICE, "what does the soleus do?")
    await bot.wait_for(sent_to(ALICE, "<i>Section"), after=mark)
    await bot.wait_for(sent_to(ALICE, f"Step 2 of {STEPS}"), after=mark)
    await say(bot, ALICE, "20", f"Step 3 of {STEPS}")
    await say(bot, ALICE, "/cancel", "Self-test cancelled")
    await say(bot, ALICE, "/cancel", "no self-test running")


async def test_deep_links(bot: BotApiEmulator) -> None:
    await say(bot, ALICE, "/start assess", f"Step 1 of {STEPS}")
    faq = await say(bot, BOB, "/start faq_rep_range", "What rep range is best for calf training?")
    assert "15 to 25" in faq.text and "8 to 15" in faq.text
    listing = await say(bot, BOB, "/faq", "Tap one")
    assert "faq:weak_soleus" in listing.callback_data()
    answer = await press(
        bot, BOB, listing, "faq:weak_soleus", "Why do most people have weak soleus"
    )
    assert "default to standing calf raise" in answer.text


async def test_inline_query_offers_forwardable_answers(bot: BotApiEmulator) -> None:
    mark = len(bot.calls)
    bot.inline_query(ALICE, "how do I fix a weak soleus")
    call = await bot.wait_for(lambda c: c.method == "answerInlineQuery", after=mark)
    results = call.params["results"]
    assert 1 <= len(results) <= 3
    message = results[0]["input_message_content"]["message_text"]
    assert "seated calf raise" in message.lower() and "Section:" in message
    assert f"https://t.me/{bot.username}" in message
    mark = len(bot.calls)
    bot.inline_query(ALICE, "")
    call = await bot.wait_for(lambda c: c.method == "answerInlineQuery", after=mark)
    assert len(call.params["results"]) == 4
    assert "?start=faq_" in call.params["results"][0]["input_message_content"]["message_text"]


async def test_two_users_interleaved_keep_their_own_state(bot: BotApiEmulator) -> None:
    await say(bot, ALICE, "/assess", f"Step 1 of {STEPS}")
    await say(bot, BOB, "/assess", f"Step 1 of {STEPS}")
    await say(bot, ALICE, "no", f"Step 2 of {STEPS}")
    await say(bot, ALICE, "25", f"Step 3 of {STEPS}")
    await say(bot, BOB, "no", f"Step 2 of {STEPS}")
    await say(bot, BOB, "30", f"Step 3 of {STEPS}")
    await say(bot, ALICE, "24", f"Step 4 of {STEPS}")
    await say(bot, BOB, "/back", f"Step 2 of {STEPS}")
    await say(bot, ALICE, "23", f"Step 5 of {STEPS}")  # Bob's /back did not move Alice back


@pytest.mark.typing_at_once
async def test_a_slow_answer_shows_typing_first(bot: BotApiEmulator) -> None:
    mark = len(bot.calls)
    await say(bot, ALICE, "how do I fix a weak soleus", "<i>Section")
    methods = [c.method for c in bot.calls[mark:] if c.chat_id == ALICE]
    assert methods.index("sendChatAction") < methods.index("sendMessage")


@pytest.mark.typing_at_once  # the failing "typing" call is made
async def test_failing_auxiliary_calls_do_not_lose_the_reply(bot: BotApiEmulator) -> None:
    bot.failures["sendChatAction"] = (500, "Internal Server Error")
    bot.failures["sendPhoto"] = (400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
    reply = await say(bot, ALICE, "what is plantar flexion", "<i>Section")
    assert reply.text
    await say(bot, ALICE, "/assess", f"Step 1 of {STEPS}")
    for answer, nxt in [
        ("no", "Step 2"),
        ("25", "Step 3"),
        ("25", "Step 4"),
        ("25", "Step 5"),
        ("25", "Step 6"),
        ("skip", "Step 8"),
        ("neither", "Step 9"),
    ]:
        await say(bot, ALICE, answer, nxt)
    await say(bot, ALICE, "none", "Your weekly program")
    assert any(c.method == "sendPhoto" for c in bot.calls)  # tried, failed, and the program came


async def test_groups_answer_only_when_mentioned(bot: BotApiEmulator) -> None:
    group = -5005
    mark = len(bot.calls)
    bot.message(ALICE, "why are my calves weak?", chat_id=group, chat_type="supergroup")
    bot.message(
        ALICE, f"@{bot.username} why are my calves weak?", chat_id=group, chat_type="supergroup"
    )
    reply = await bot.wait_for(sent_to(group, "Section"), after=mark)
    assert reply.chat_id == group
    assert len([c for c in bot.sent(group, after=mark, method="sendMessage")]) == 1


async def test_redelivered_update_is_answered_once(bot: BotApiEmulator) -> None:
    update_id = bot.message(ALICE, "/assess")
    await bot.wait_for(sent_to(ALICE, f"Step 1 of {STEPS}"))
    bot.redeliver(update_id)  # reaches the bot in both modes; deduplication must drop it
    await asyncio.sleep(0.5)  # time to answer it, if it were answered
    await say(bot, ALICE, "no", f"Step 2 of {STEPS}")
    assert len([c for c in bot.calls if sent_to(ALICE, f"Step 1 of {STEPS}")(c)]) == 1
    assert not [c for c in bot.calls if sent_to(ALICE, "where you left off")(c)]


async def test_unknown_commands_are_answered_and_commands_mid_test_reask(
    bot: BotApiEmulator,
) -> None:
    reply = await say(bot, ALICE, "/nope", "I don't know the command /nope")
    assert "/assess" in reply.text
    await say(bot, ALICE, "/assess", f"Step 1 of {STEPS}")
    await say(bot, ALICE, "/privacy", "What CalfCoach keeps")
    mark = len(bot.calls)
    await say(bot, ALICE, "/nope2", "I don't know the command /nope2")
    await bot.wait_for(sent_to(ALICE, f"Step 1 of {STEPS}"), after=mark)  # the step, asked again
    await say(bot, ALICE, "no", f"Step 2 of {STEPS}")


@pytest.mark.parametrize("bot", ["webhook"], indirect=True)
async def test_webhook_rejects_a_wrong_secret(bot: BotApiEmulator) -> None:
    assert bot.webhook_url is not None
    update = {
        "update_id": 999,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": ALICE, "type": "private"},
            "from": {"id": ALICE, "is_bot": False, "first_name": "A"},
            "text": "hi",
        },
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            bot.webhook_url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        ) as response,
    ):
        assert response.status == 403
    assert bot.webhook_secret == SECRET
