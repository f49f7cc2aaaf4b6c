"""Telegram's side of the durable inbox: updates become inbox rows before they are
acknowledged, by webhook or by long polling, and are processed from there through the
python-telegram-bot ``Application`` and our handlers.

Polling: python-telegram-bot's ``Updater`` moves the offset as soon as an update is on
its queue, so an update fetched and not yet handled is gone after a crash (Telegram
forgets what an offset confirms). :func:`poll` drives ``getUpdates`` itself instead:
each batch is stored in the inbox before the next ``getUpdates`` call, whose offset is
what confirms the batch to Telegram. Webhook: :func:`webhook_accept` is the server's
``accept`` hook, which returns (and so lets the server answer 200) only once the update
is stored.

When the store cannot take an update (down, hung), the update is still acknowledged, and
its user is told at once to try again in a moment: Telegram's redelivery of it minutes
later, after the user has retried, would apply it twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from telegram import Update
from telegram.error import InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from bot.inbox import Dispatcher
from bot.ratelimit import UserRateLimit
from bot.storage.base import InboxRow, Store
from bot.telegram.output import CHANNEL, auxiliary
from bot.telegram.webhook import Accept, IncomingUpdate
from knowledge.texts import Phrases

log = logging.getLogger(__name__)

POLL_TIMEOUT = 30  # seconds a getUpdates call waits for updates
POLL_LIMIT = 100
MAX_POLL_DELAY = 30.0


def inbox_row(update: Update, data: dict[str, Any]) -> InboxRow:
    """The row for ``update`` (``data``: its JSON as received)."""
    user, chat = update.effective_user, update.effective_chat
    return InboxRow(
        channel=CHANNEL,
        update_id=update.update_id,
        user_id=str(user.id) if user is not None else "",
        address=str(chat.id) if chat is not None else None,
        body=data,
        received_at=datetime.now(UTC),
        parsed=update,
    )


class TelegramInbox:
    """The dispatcher wired to the ``Application``: stores updates, processes them."""

    def __init__(
        self, application: Application, store: Store, phrases: Phrases, limit: UserRateLimit
    ) -> None:
        self.application = application
        self.phrases = phrases
        self.dispatcher = Dispatcher(store, self._process, limit=limit, on_limited=self._limited)

    async def _process(self, row: InboxRow) -> None:
        # A row read back from the store (a recovery, another replica's) has no object yet.
        parsed = row.parsed
        update = (
            parsed if isinstance(parsed, Update) else Update.de_json(row.body, self.application.bot)
        )
        await self.application.process_update(update)

    async def _limited(self, row: InboxRow) -> None:
        if row.address is not None:
            await self.application.bot.send_message(int(row.address), self.phrases.rate_limited)

    async def accept(self, updates: Sequence[tuple[Update, dict[str, Any]]]) -> None:
        """Store the updates, then process them; if the store fails, apologise instead."""
        rows = [inbox_row(update, data) for update, data in updates]
        try:
            await self.dispatcher.accept(rows)
        except Exception:
            log.warning("could not store %d update(s); telling their users", len(rows))
            chats = {row.address for row in rows if row.address is not None and row.user_id}
            for chat in chats:
                await auxiliary(
                    self.application.bot.send_message(int(chat), self.phrases.store_unavailable),
                    "store unavailable notice",
                )


def webhook_accept(inbox: TelegramInbox) -> Accept:
    """The webhook server's ``accept`` hook: returns once the update is stored."""

    async def accept(incoming: IncomingUpdate) -> None:
        await inbox.accept([(incoming.update, incoming.data)])

    return accept


async def poll(application: Application, inbox: TelegramInbox) -> None:
    """Long polling that confirms a batch only after storing it (until cancelled)."""
    bot = application.bot
    await auxiliary(bot.delete_webhook(), "delete webhook")
    offset: int | None = None
    delay = 0.5
    while True:
        try:
            updates = await bot.get_updates(
                offset=offset,
                timeout=POLL_TIMEOUT,
                limit=POLL_LIMIT,
                allowed_updates=Update.ALL_TYPES,
                read_timeout=POLL_TIMEOUT + 10,
            )
        except InvalidToken:
            raise
        except RetryAfter as exc:
            after = exc.retry_after
            await asyncio.sleep(after if isinstance(after, int | float) else after.total_seconds())
            continue
        except (NetworkError, TimedOut) as exc:
            log.warning("getUpdates failed (%s); retrying in %.1f s", type(exc).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_POLL_DELAY)
            continue
        delay = 0.5
        if not updates:
            continue
        await inbox.accept([(u, u.to_dict()) for u in updates])
        # Only now may the next call's offset confirm this batch to Telegram.
        offset = max(u.update_id for u in updates) + 1
