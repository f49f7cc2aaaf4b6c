"""Telegram handlers: short functions that build an ``Incoming`` and render the replies.

Every command, known or not, goes to the conversation service, which routes it through
the one command table; free text and button presses go there too.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from telegram import Message, Update
from telegram.constants import ChatAction, ChatType, MessageEntityType
from telegram.ext import ContextTypes

from bot.bootstrap import App
from bot.engine.messages import Incoming
from bot.telegram.inline import inline_results
from bot.telegram.output import CHANNEL, TelegramOutput, auxiliary

log = logging.getLogger(__name__)
SERVICES = "calfcoach"


@dataclass
class BotServices:
    """What the handlers need, kept in ``application.bot_data``."""

    app: App
    output: TelegramOutput
    reminder_task: asyncio.Task[None] | None = None


def _services(context: ContextTypes.DEFAULT_TYPE) -> BotServices:
    return context.application.bot_data[SERVICES]


async def _converse(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    incoming: Incoming,
    pressed: Message | None = None,
) -> None:
    chat = update.effective_chat
    assert chat is not None
    services = _services(context)
    # "typing..." goes out while the answer is being worked out, not before it.
    typing = asyncio.create_task(
        auxiliary(context.bot.send_chat_action(chat.id, ChatAction.TYPING), "typing")
    )
    replies = await services.app.conversations.handle(incoming)
    await typing
    if (
        pressed is not None
        and replies
        and not replies[0].edit
        and not replies[0].keep_buttons
        and pressed.reply_markup
    ):
        # The choice is made: take the buttons off the question so it reads as a record.
        await auxiliary(
            context.bot.edit_message_reply_markup(chat.id, pressed.message_id, reply_markup=None),
            "remove keyboard",
        )
    await services.output.send(
        str(chat.id), replies, pressed_message_id=pressed.message_id if pressed else None
    )


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
    mentions = message.parse_entities([MessageEntityType.MENTION]).values()
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


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An inline keyboard button: acknowledge it, then treat its data as the user's input."""
    query = update.callback_query
    assert query is not None
    await auxiliary(query.answer(), "answer callback")
    pressed = query.message if isinstance(query.message, Message) else None
    await _converse(update, context, _incoming(update, context, payload=query.data or ""), pressed)


async def on_inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Inline mode: answers a coach can forward, computed off the event loop."""
    query = update.inline_query
    assert query is not None
    app = _services(context).app
    results = await asyncio.to_thread(inline_results, app, query.query, context.bot.username)
    await query.answer(results, cache_time=60, is_personal=False)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log with the update id first, then tell the user something friendly."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("error while handling update %s", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        phrases = _services(context).app.phrases
        await auxiliary(
            context.bot.send_message(update.effective_chat.id, phrases.something_went_wrong),
            "error notice",
        )
