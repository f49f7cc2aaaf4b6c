"""Telegram as an output channel: replies as HTML messages, photos and edits."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Sequence
from typing import Any

from telegram import Bot
from telegram.error import TelegramError

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
        self, address: str, replies: Sequence[Reply], *, pressed_message_id: int | None = None
    ) -> None:
        """Send each reply; an ``edit`` reply replaces the message whose button was pressed
        (``pressed_message_id``) when it fits one message, else it is sent anew."""
        chat_id = int(address)
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
            if reply.edit and pressed_message_id is not None and len(parts) == 1:
                try:
                    await self.bot.edit_message_text(
                        parts[0],
                        chat_id=chat_id,
                        message_id=pressed_message_id,
                        reply_markup=markup,
                    )
                    continue
                except TelegramError:
                    log.info("could not edit message %s; sending a new one", pressed_message_id)
            for n, part in enumerate(parts):
                last = n == len(parts) - 1
                await self.bot.send_message(chat_id, part, reply_markup=markup if last else None)
