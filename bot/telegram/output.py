"""Telegram as an output channel: replies as HTML messages, photos and edits."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Sequence
from datetime import timedelta
from typing import Any

from telegram import Bot
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.channels import OutputChannel
from bot.engine.messages import Reply
from bot.rendering import html_parts
from bot.telegram.render import keyboard

log = logging.getLogger(__name__)
CHANNEL = "telegram"
CAPTION_MAX_CHARS = 1024


async def auxiliary(call: Awaitable[Any], what: str) -> None:
    """Await a call whose failure must not lose the reply (chat action, chart, commands)."""
    try:
        await call
    except Exception:
        log.warning("auxiliary call failed: %s", what, exc_info=True)


def _caption(reply: Reply) -> str | None:
    """A photo's or document's caption as HTML, within Telegram's 1,024 characters."""
    parts = html_parts(reply, CAPTION_MAX_CHARS)
    return parts[0] if parts else None


class TelegramOutput(OutputChannel):
    """Sends through a python-telegram-bot ``Bot``; the address is the chat id."""

    name = CHANNEL

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(
        self, address: str, replies: Sequence[Reply], *, pressed: str | None = None
    ) -> list[str]:
        """Send each reply; an ``edit`` reply replaces the message whose button was pressed
        (``pressed``, a message id) when it fits one message, else it is sent anew.
        Returns the ids of the messages that carry buttons."""
        chat_id = int(address)
        with_buttons: list[str] = []
        for reply in replies:
            markup = keyboard(reply.buttons)
            if reply.image is not None:
                # A chart is a nicety beside its messages; a report is the answer itself.
                photo = self.bot.send_photo(
                    chat_id, reply.image, caption=_caption(reply), reply_markup=markup
                )
                if reply.kind == "report":
                    await photo
                else:
                    await auxiliary(photo, "chart")
                continue
            if reply.document is not None:
                await self.bot.send_document(
                    chat_id,
                    reply.document,
                    filename=reply.filename or "calfcoach.pdf",
                    caption=_caption(reply),
                    reply_markup=markup,
                )
                continue
            parts = html_parts(reply)
            if reply.edit and pressed is not None and len(parts) == 1:
                try:
                    await self.bot.edit_message_text(
                        parts[0], chat_id=chat_id, message_id=int(pressed), reply_markup=markup
                    )
                    if markup is not None:
                        with_buttons.append(pressed)
                    continue
                except TelegramError as exc:
                    if self.retry_delay(exc) is not None:
                        raise  # transient: the outbox retries the edit
                    log.info("could not edit message %s; sending a new one", pressed)
            for n, part in enumerate(parts):
                last = n == len(parts) - 1
                message = await self.bot.send_message(
                    chat_id, part, reply_markup=markup if last else None
                )
                if last and markup is not None:
                    with_buttons.append(str(message.message_id))
        return with_buttons

    def retry_delay(self, error: Exception) -> float | None:
        """A 429 after its ``retry_after``; a timeout or a 5xx/connection failure after a
        short pause; anything else (a 400, a user who blocked the bot) never."""
        if isinstance(error, RetryAfter):
            after = error.retry_after
            return after.total_seconds() if isinstance(after, timedelta) else float(after)
        if isinstance(error, BadRequest):  # a NetworkError subclass in python-telegram-bot
            return None
        if isinstance(error, TimedOut | NetworkError):
            return 0.0
        return None
