"""Coach mode and /report through the real Telegram stack: python-telegram-bot's
Application over HTTP against the local Bot API emulator, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.bootstrap import bootstrap
from bot.qa.service import QAService
from bot.settings import Settings
from bot.storage.sql import SqlStore
from bot.telegram.app import create_application
from tests.test_storage import _drop, _pg_database
from tests.test_telegram import press, say, sent_to
from tooling.emulator import BotApiEmulator, Call

COACH, ALICE, BOB = 2001, 2002, 2003  # the emulator names users "User<id>"
TEST = ["/assess", "no", "25", "25", "25", "25", "skip", "neither"]


@pytest.fixture(params=["sqlite", "postgresql"])
async def bot(
    request: pytest.FixtureRequest, settings: Settings, qa: QAService, tmp_path: Path
) -> AsyncIterator[BotApiEmulator]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    if request.param == "postgresql":
        pg = await _pg_database()
        if pg is None:
            pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
        url = pg
    emulator = BotApiEmulator()
    await emulator.start()
    bot_settings = settings.model_copy(
        update={"telegram_bot_token": SecretStr(emulator.token), "telegram_api_url": emulator.url}
    )
    app = bootstrap(bot_settings, store=SqlStore(url), qa=qa, charts=False)
    application = create_application(app, max_rate=1000)
    await application.initialize()
    await application.post_init(application)  # type: ignore[misc]
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        yield emulator
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
        await emulator.stop()
        if request.param == "postgresql":
            await _drop(url)


def photo_to(user: int, *needles: str):
    def match(call: Call) -> bool:
        return (
            call.method == "sendPhoto"
            and call.chat_id == user
            and all(n in call.text for n in needles)
        )

    return match


async def invite_link(bot: BotApiEmulator) -> tuple[Call, str]:
    reply = await say(bot, COACH, "/coach", "Your invite link")
    link = next(word for word in reply.text.split() if word.startswith("https://t.me/"))
    return reply, link


async def share(bot: BotApiEmulator, user: int, link: str) -> Call:
    start = link.split("?start=", 1)[1]
    consent = await say(bot, user, f"/start {start}", "invites you to share")
    mark = len(bot.calls)
    shared = await press(bot, user, consent, consent.callback_data()[0], "you share")
    await bot.wait_for(sent_to(COACH, "User", "now shares"), after=mark)
    return shared


async def take_test(bot: BotApiEmulator, user: int) -> None:
    for text in TEST:
        await say(bot, user, text, "")
    await say(bot, user, "none", "Your weekly program")


async def test_invite_link_fits_telegram_and_a_new_one_replaces_it(bot: BotApiEmulator) -> None:
    _, link = await invite_link(bot)
    assert link.startswith(f"https://t.me/{bot.username}?start=coach_")
    start = link.split("?start=", 1)[1]
    assert len(start) <= 64 and all(c.isalnum() or c in "_-" for c in start)
    again = await say(bot, COACH, "/coach", "Your invite link")
    assert link in again.text  # the same link again
    renewed = await press(bot, COACH, again, "coach:newlink", "old one no longer works")
    assert link not in renewed.text
    old = await say(bot, ALICE, f"/start {start}", "not valid")
    assert old.buttons() == []  # nothing to press: nothing can be shared by the old link


async def test_consent_clients_notification_and_client_report(bot: BotApiEmulator) -> None:
    _, link = await invite_link(bot)
    consent_start = link.split("?start=", 1)[1]
    consent = await say(bot, ALICE, f"/start {consent_start}", "invites you to share")
    for words in ("self-test results", "findings", "programs", "never see your questions"):
        assert words in consent.text
    labels = [b["text"] for b in consent.buttons()]
    assert any("Share" in label for label in labels) and "Don't share" in labels
    await say(bot, COACH, "/clients", "No clients share with you yet")  # not before Share
    await press(bot, ALICE, consent, consent.callback_data()[0], "you share")
    listing = await say(bot, COACH, "/clients", "Your clients (1)")
    assert "User2002: no test yet" in listing.text

    mark = len(bot.calls)
    await take_test(bot, ALICE)
    note = await bot.wait_for(photo_to(COACH, "User2002 finished a self-test"), after=mark)
    assert note.params["photo"].startswith(b"\x89PNG")
    assert any(d.startswith("report:pdf:") for d in note.callback_data())

    listing = await say(bot, COACH, "/clients", "Your clients (1)")
    assert "last self-test" in listing.text and "Findings:" in listing.text
    assert "First self-test" in listing.text
    report_button = next(d for d in listing.callback_data() if d.startswith("cl:report:"))
    mark = len(bot.calls)
    bot.press(COACH, listing, report_button)
    image = await bot.wait_for(photo_to(COACH, "User2002's CalfCoach report"), after=mark)
    assert not bot.sent(COACH, after=mark, method="editMessageReplyMarkup")  # still a menu
    mark = len(bot.calls)
    bot.press(COACH, image, image.callback_data()[0])
    pdf = await bot.wait_for(
        lambda c: c.method == "sendDocument" and c.chat_id == COACH, after=mark
    )
    assert pdf.params["document"].startswith(b"%PDF")

    retest = next(d for d in listing.callback_data() if d.startswith("cl:retest:"))
    mark = len(bot.calls)
    await press(bot, COACH, listing, retest, "Sent User2002 a suggestion")
    nudge = await bot.wait_for(sent_to(ALICE, "Your coach User2001 suggests"), after=mark)
    assert "a:start" in nudge.callback_data()
    faqs = next(d for d in listing.callback_data() if d.startswith("cl:faqs:"))
    choose = await press(bot, COACH, listing, faqs, "Which answer shall I send User2002")
    mark = len(bot.calls)
    await press(bot, COACH, choose, choose.callback_data()[0], "Sent User2002 the answer")
    card = await bot.wait_for(sent_to(ALICE, "Your coach User2001 sent you"), after=mark)
    assert "Section" in card.text


async def test_decline_and_invalid_links_share_nothing(bot: BotApiEmulator) -> None:
    _, link = await invite_link(bot)
    start = link.split("?start=", 1)[1]
    consent = await say(bot, ALICE, f"/start {start}", "invites you to share")
    await press(bot, ALICE, consent, "coach:decline", "nothing is shared")
    for bad in ("coach_", "coach_xyz", "coach_" + "A" * 24, "coach_<b>hi</b>", "coach_" + "9" * 60):
        reply = await say(bot, BOB, f"/start {bad}", "not valid")
        assert reply.buttons() == []
    await say(bot, COACH, "/clients", "No clients share with you yet")
    await say(bot, ALICE, "/coaches", "You don't share your results with any coach")


async def test_stop_sharing_ends_access_and_forged_payloads_show_nothing(
    bot: BotApiEmulator,
) -> None:
    _, link = await invite_link(bot)
    await share(bot, ALICE, link)
    mark = len(bot.calls)
    await take_test(bot, ALICE)
    # The coach's copy is rendered in the background: let it arrive before counting photos.
    await bot.wait_for(photo_to(COACH, "User2002 finished a self-test"), after=mark)
    listing = await say(bot, COACH, "/clients", "Your clients (1)")
    report_button = next(d for d in listing.callback_data() if d.startswith("cl:report:"))
    link_id = report_button.rsplit(":", 1)[1]

    # Bob never consented to anything, and is no coach: every forged button shows nothing.
    mine = await say(bot, BOB, "/help", "")
    for forged in (
        report_button,
        f"report:pdf:{link_id}",
        f"cl:retest:{link_id}",
        f"cl:faq:{link_id}:rep_range",
        f"coach:stop:{link_id}",
        "cl:report:999999",
        "coach:share:short",
    ):
        mark = len(bot.calls)
        bot.press(BOB, mine, forged, forged=True)
        reply = await bot.wait_for(
            lambda c: c.chat_id == BOB and c.method != "sendChatAction", after=mark
        )
        assert reply.method in {"sendMessage", "editMessageText"}, forged
        assert "User2002" not in reply.text and "25" not in reply.text, forged
    assert not [c for c in bot.calls if c.chat_id == ALICE and "suggests" in c.text]

    coaches = await say(bot, ALICE, "/coaches", "User2001")
    stop = coaches.callback_data()[0]
    await press(bot, ALICE, coaches, stop, "no longer sees your results")
    mark = len(bot.calls)
    bot.press(COACH, listing, report_button)  # the coach's old button, pressed after the stop
    reply = await bot.wait_for(sent_to(COACH, "nothing to show"), after=mark)
    assert not bot.sent(COACH, after=mark, method="sendPhoto")
    assert reply.text
    await say(bot, COACH, "/clients", "No clients share with you yet")


async def test_report_with_and_without_a_test(bot: BotApiEmulator) -> None:
    empty = await say(bot, BOB, "/report", "nothing to report yet")
    assert not bot.sent(BOB, method="sendPhoto")
    assert "a:start" in empty.callback_data()
    await take_test(bot, BOB)
    program = next(c for c in reversed(bot.calls) if sent_to(BOB, "Your weekly program")(c))
    assert "report:png" in program.callback_data()  # the button after each program
    mark = len(bot.calls)
    bot.press(BOB, program, "report:png")
    image = await bot.wait_for(photo_to(BOB, "Your CalfCoach report"), after=mark)
    assert image.params["photo"].startswith(b"\x89PNG")
    mark = len(bot.calls)
    bot.message(BOB, "/report")
    image = await bot.wait_for(photo_to(BOB, "Your CalfCoach report"), after=mark)
    assert image.callback_data() == ["report:pdf"]
    mark = len(bot.calls)
    bot.press(BOB, image, "report:pdf")
    pdf = await bot.wait_for(lambda c: c.method == "sendDocument" and c.chat_id == BOB, after=mark)
    assert pdf.params["document"].startswith(b"%PDF")
    assert pdf.params["_document_filename"].endswith(".pdf")
    assert "PDF" in pdf.text


@pytest.mark.parametrize("who", [ALICE, COACH])
async def test_delete_my_data_removes_coach_links_both_ways(bot: BotApiEmulator, who: int) -> None:
    _, link = await invite_link(bot)
    await share(bot, ALICE, link)
    confirm = await say(bot, who, "/delete_my_data", "Delete everything")
    await press(bot, who, confirm, "data:delete", "everything CalfCoach kept about you is deleted")
    await say(bot, ALICE, "/coaches", "You don't share your results with any coach")
    expected = "No clients share with you yet" if who == ALICE else "You're not a coach yet"
    await say(bot, COACH, "/clients", expected)
    if who == COACH:
        await say(bot, BOB, f"/start {link.split('?start=', 1)[1]}", "not valid")
