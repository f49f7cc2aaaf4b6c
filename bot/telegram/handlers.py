"""Telegram handlers: short functions that build an ``Incoming`` and render the replies."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from telegram import Message, Update
from telegram.constants import ChatAction, ChatType, MessageEntityType
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.conversation import Conversations
from bot.engine.messages import Incoming, Reply
from bot.qa.service import QAService
from bot.rendering import html_parts
from bot.telegram.inline import inline_results
from bot.telegram.render import keyboard

log = logging.getLogger(__name__)
SERVICES = "calfcoach"
SORRY = "Sorry, something went wrong on my side. Please try again in a moment."


@dataclass
class BotServices:
    """What the handlers need, kept in ``application.bot_data``."""

    conversations: Conversations
    qa: QAService
    reminder_poll_seconds: float = 60.0
    reminder_task: asyncio.Task[None] | None = None


def _services(context: ContextTypes.DEFAULT_TYPE) -> BotServices:
    return context.application.bot_data[SERVICES]


async def auxiliary(call: Awaitable[Any], what: str) -> None:
    """Await a call whose failure must not lose the reply (chat action, chart, commands)."""
    try:
        await call
    except Exception:
        log.warning("auxiliary call failed: %s", what, exc_info=True)


async def send_replies(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, replies: list[Reply], pressed: Message | None
) -> None:
    """Send each reply; an ``edit`` reply replaces the message whose button was pressed."""
    bot = context.bot
    for reply in replies:
        if reply.image is not None:
            await auxiliary(bot.send_photo(chat_id, reply.image), "chart")
            continue
        markup = keyboard(reply.buttons)
        parts = html_parts(reply)
        if reply.edit and pressed is not None and len(parts) == 1:
            try:
                await bot.edit_message_text(
                    parts[0], chat_id=chat_id, message_id=pressed.message_id, reply_markup=markup
                )
                continue
            except TelegramError:
                log.info("could not edit message %s; sending a new one", pressed.message_id)
        for n, part in enumerate(parts):
            last = n == len(parts) - 1
            await bot.send_message(chat_id, part, reply_markup=markup if last else None)


async def _converse(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    incoming: Incoming,
    pressed: Message | None = None,
) -> None:
    chat = update.effective_chat
    assert chat is not None
    # "typing..." goes out while the answer is being worked out, not before it.
    typing = asyncio.create_task(
        auxiliary(context.bot.send_chat_action(chat.id, ChatAction.TYPING), "typing")
    )
    replies = await _services(context).conversations.handle(incoming)
    await typing
    if pressed is not None and replies and not replies[0].edit and pressed.reply_markup:
        # The choice is made: take the buttons off the question so it reads as a record.
        await auxiliary(
            context.bot.edit_message_reply_markup(chat.id, pressed.message_id, reply_markup=None),
            "remove keyboard",
        )
    await send_replies(context, chat.id, replies, pressed)


def _incoming(update: Update, text: str = "", payload: str | None = None) -> Incoming:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None
    return Incoming(
        user_id=str(user.id),
        text=text,
        payload=payload,
        update_id=update.update_id,
        chat_id=chat.id if chat is not None else None,
    )


async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Commands (and /start deep links) go to the conversation as typed."""
    message = update.effective_message
    assert message is not None and message.text is not None
    await _converse(update, context, _incoming(update, message.text))


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
    await _converse(update, context, _incoming(update, text))


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An inline keyboard button: acknowledge it, then treat its data as the user's input."""
    query = update.callback_query
    assert query is not None
    await auxiliary(query.answer(), "answer callback")
    pressed = query.message if isinstance(query.message, Message) else None
    await _converse(update, context, _incoming(update, payload=query.data or ""), pressed)


async def on_inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Inline mode: answers a coach can forward, computed off the event loop."""
    query = update.inline_query
    assert query is not None
    qa = _services(context).qa
    results = await asyncio.to_thread(inline_results, qa, query.query, context.bot.username)
    await query.answer(results, cache_time=60, is_personal=False)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log with the update id first, then tell the user something friendly."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("error while handling update %s", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        await auxiliary(context.bot.send_message(update.effective_chat.id, SORRY), "error notice")
