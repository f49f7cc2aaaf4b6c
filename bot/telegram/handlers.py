"""Telegram handlers: short functions that build an ``Incoming`` and deliver the replies.

Every command, known or not, goes to the conversation service, which routes it through
the one command table; free text and button presses go there too, as do messages the
bot cannot read (a sticker, a photo, a voice message: told so) and edits of earlier
messages (told why they change nothing). A step's replies are stored in the outbox with
its state, then sent from there (:mod:`bot.outbox`). A button is honoured only from the
user its message was sent for (:meth:`Store.button_owner`; in a private chat, its user).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from telegram import MaybeInaccessibleMessage, Message, Update
from telegram.constants import ChatAction, ChatType, MessageEntityType
from telegram.ext import ContextTypes

from bot.bootstrap import App
from bot.conversation import Special
from bot.engine.messages import Incoming
from bot.inbox import mark_claimed, mark_failed
from bot.outbox import Delivery
from bot.storage.base import StoreUnavailable
from bot.telegram.inline import inline_results
from bot.telegram.output import CHANNEL, TelegramOutput, auxiliary

log = logging.getLogger(__name__)
SERVICES = "calfcoach"


@dataclass
class BotServices:
    """What the handlers need, kept in ``application.bot_data``."""

    app: App
    output: TelegramOutput
    delivery: Delivery
    reminder_task: asyncio.Task[None] | None = None


def _services(context: ContextTypes.DEFAULT_TYPE) -> BotServices:
    return context.application.bot_data[SERVICES]


async def _converse(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    incoming: Incoming,
    pressed: MaybeInaccessibleMessage | None = None,
    special: Special | None = None,
) -> None:
    chat = update.effective_chat
    assert chat is not None
    services = _services(context)
    pressed_id = str(pressed.message_id) if pressed is not None else None
    # "typing..." only for an answer that keeps the user waiting: most take milliseconds,
    # and a Bot API call for each would cost more than the answer itself. A timer, not a
    # task racing the step: nothing extra per update unless it fires.
    typing: list[asyncio.Task[None]] = []

    def show_typing() -> None:
        action = context.bot.send_chat_action(chat.id, ChatAction.TYPING)
        typing.append(asyncio.ensure_future(auxiliary(action, "typing")))

    delay = services.app.settings.typing_after_seconds
    timer = asyncio.get_running_loop().call_later(delay, show_typing)
    try:
        outcome = await services.app.conversations.process(
            incoming, pressed=pressed_id, special=special
        )
    finally:
        timer.cancel()
        for task in typing:
            await task
    mark_claimed()
    replies = outcome.replies
    markup = pressed.reply_markup if isinstance(pressed, Message) else None
    if (
        pressed is not None
        and replies
        and not replies[0].edit
        and not replies[0].keep_buttons
        and markup
    ):
        # The choice is made: take the buttons off the question so it reads as a record.
        await auxiliary(
            context.bot.edit_message_reply_markup(chat.id, pressed.message_id, reply_markup=None),
            "remove keyboard",
        )
    if outcome.outbox is not None:
        await services.delivery.send(outcome.outbox)
    elif replies:
        await services.output.send(str(chat.id), replies, pressed=pressed_id)


def _incoming(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    text: str = "",
    payload: str | None = None,
) -> Incoming:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None
    return Incoming(
        channel=CHANNEL,
        user_id=str(user.id),
        text=text,
        payload=payload,
        update_id=update.update_id,
        address=str(chat.id) if chat is not None else None,
        first_name=user.first_name,
        # Telegram's deep link: t.me/<bot>?start=<argument> opens the chat with /start.
        start_link=f"https://t.me/{context.bot.username}?start={{start}}",
    )


async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every command (and /start deep links), known or not, goes to the conversation."""
    message = update.effective_message
    assert message is not None and message.text is not None
    await _converse(update, context, _incoming(update, context, message.text))


def _addressed_to_bot(message: Message, username: str) -> bool:
    if message.chat.type == ChatType.PRIVATE:
        return True
    reply_to = message.reply_to_message
    if (
        reply_to is not None
        and reply_to.from_user is not None
        and reply_to.from_user.username == username
    ):
        return True
    mentions = [
        *message.parse_entities([MessageEntityType.MENTION]).values(),
        *message.parse_caption_entities([MessageEntityType.MENTION]).values(),
    ]
    return any(m.lstrip("@").lower() == username.lower() for m in mentions)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Free text: a question, or an answer to the self-test. In groups only when addressed."""
    message = update.effective_message
    assert message is not None and message.text is not None
    username = context.bot.username
    if not _addressed_to_bot(message, username):
        return
    text = message.text.replace(f"@{username}", "").strip()
    await _converse(update, context, _incoming(update, context, text))


async def on_unreadable(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A sticker, photo (even with a caption), voice message, file, location...: the bot
    reads text only, and says so (mid-test, asking the open step again)."""
    message = update.effective_message
    if message is None or update.effective_user is None:
        return
    if not _addressed_to_bot(message, context.bot.username):
        return
    await _converse(update, context, _incoming(update, context), special="unreadable")


async def on_edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An edit of an earlier message is never new input: the user is told why it changes
    nothing (mid-test, an edited "21" must not become the answer to the current step)."""
    message = update.effective_message
    if message is None or update.effective_user is None:
        return
    if not _addressed_to_bot(message, context.bot.username):
        return
    await _converse(update, context, _incoming(update, context), special="edited")


async def _button_is_theirs(
    services: BotServices, message: MaybeInaccessibleMessage, user_id: int
) -> bool:
    """Whether the user pressing a button under ``message`` is the one it was sent for:
    as recorded when it was sent; unrecorded, only in the user's own private chat."""
    owner = await services.app.store.button_owner(
        CHANNEL, str(message.chat.id), str(message.message_id)
    )
    if owner is not None:
        return owner == str(user_id)
    return message.chat.type == ChatType.PRIVATE and message.chat.id == user_id


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An inline keyboard button: if it is the presser's, acknowledge it and treat its
    data as their input; anyone else's press changes nothing and is told so."""
    query = update.callback_query
    assert query is not None
    services = _services(context)
    phrases = services.app.phrases
    if query.message is None:  # a button under an inline-mode message: no chat of ours
        await auxiliary(query.answer(phrases.button_inline, show_alert=True), "answer callback")
        return
    if not await _button_is_theirs(services, query.message, query.from_user.id):
        log.info("refused a button press from someone the message was not for")
        await auxiliary(query.answer(phrases.button_not_yours, show_alert=True), "answer callback")
        return
    await auxiliary(query.answer(), "answer callback")
    incoming = _incoming(update, context, payload=query.data or "")
    await _converse(update, context, incoming, query.message)


async def on_inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Inline mode: answers a coach can forward, computed off the event loop."""
    query = update.inline_query
    assert query is not None
    app = _services(context).app
    results = await asyncio.to_thread(inline_results, app, query.query, context.bot.username)
    await query.answer(results, cache_time=60, is_personal=False)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log with the update id first, then tell the user something friendly: a database
    that did not answer gets "please try again in a moment" (the update is not retried
    later, since the user will send it again)."""
    mark_failed()
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("error while handling update %s", update_id, exc_info=context.error)
    if not isinstance(update, Update):
        return
    phrases = _services(context).app.phrases
    text = (
        phrases.store_unavailable
        if isinstance(context.error, StoreUnavailable)
        else phrases.something_went_wrong
    )
    if update.effective_chat is not None:
        await auxiliary(context.bot.send_message(update.effective_chat.id, text), "error notice")
    elif update.callback_query is not None:
        await auxiliary(update.callback_query.answer(text[:200]), "error notice")
