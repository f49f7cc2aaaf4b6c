"""Build the python-telegram-bot ``Application`` (one factory for tests and entry points)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from telegram import BotCommand, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.conversation import Conversations
from bot.qa.service import QAService
from bot.settings import Settings
from bot.telegram import handlers
from bot.telegram.aiohttp_request import AiohttpRequest
from bot.telegram.handlers import SERVICES, BotServices, auxiliary

log = logging.getLogger(__name__)

COMMANDS = [
    ("start", "What I can do"),
    ("assess", "Take the calf self-test"),
    ("faq", "Questions coaches ask most"),
    ("program", "Your last program"),
    ("history", "Your earlier self-tests"),
    ("cancel", "Stop the self-test"),
    ("help", "How to use CalfCoach"),
    ("privacy", "What is kept and why"),
    ("delete_my_data", "Delete everything kept about you"),
]
ENGINE_COMMANDS = [name for name, _ in COMMANDS] + ["back", "restart"]


async def _post_init(application: Application) -> None:
    """Migrate the store, start the reminder loop, set the command menu (best effort)."""
    services: BotServices = application.bot_data[SERVICES]
    # Engine steps run in worker threads and wait on the shared encoder batch: enough
    # workers for concurrent users to share batches, few enough not to starve the loop.
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=16, thread_name_prefix="calfcoach")
    )
    await services.conversations.store.migrate()
    services.reminder_task = asyncio.create_task(
        reminder_loop(application, services.reminder_poll_seconds), name="reminders"
    )
    commands = [BotCommand(name, text) for name, text in COMMANDS]
    await auxiliary(application.bot.set_my_commands(commands), "set commands")


async def _post_stop(application: Application) -> None:
    services: BotServices = application.bot_data[SERVICES]
    if services.reminder_task is not None:
        services.reminder_task.cancel()
    await services.conversations.store.close()


async def send_due_reminders(application: Application, worker: str) -> int:
    """Claim due reminders (each goes to exactly one replica) and send them."""
    store = application.bot_data[SERVICES].conversations.store
    sent = 0
    for reminder in await store.claim_due_reminders(datetime.now(UTC), worker):
        try:
            await application.bot.send_message(reminder.chat_id, reminder.text)
        except Exception:
            log.warning("reminder %s not sent; releasing it", reminder.id, exc_info=True)
            await store.release(reminder.id)
            continue
        await store.mark_sent(reminder.id)
        sent += 1
    return sent


async def reminder_loop(application: Application, every: float) -> None:
    """Poll the store for due reminders; restarts pick up where the store says."""
    worker = f"{socket.gethostname()}-{os.getpid()}"
    while True:
        try:
            await send_due_reminders(application, worker)
        except Exception:
            log.exception("reminder loop failed; retrying")
        await asyncio.sleep(every)


def create_application(
    settings: Settings,
    conversations: Conversations,
    qa: QAService,
    *,
    max_rate: float | None = None,
) -> Application:
    """The bot, wired to the conversation service; ``TELEGRAM_API_URL`` redirects the Bot API."""
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    builder = (
        Application.builder()
        .token(settings.telegram_bot_token.get_secret_value())
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .rate_limiter(
            AIORateLimiter(overall_max_rate=max_rate or settings.telegram_max_rate, max_retries=2)
        )
        .concurrent_updates(True)
        # aiohttp instead of httpx for Bot API calls: several times less CPU per call,
        # which bounded throughput under load (see bot/telegram/aiohttp_request.py).
        .request(AiohttpRequest(connection_pool_size=64))
        .get_updates_request(AiohttpRequest(connection_pool_size=2, read_timeout=30.0))
        .post_init(_post_init)
        .post_stop(_post_stop)
    )
    if settings.telegram_api_url:
        base = settings.telegram_api_url.rstrip("/")
        builder = builder.base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
    application = builder.build()
    application.bot_data[SERVICES] = BotServices(
        conversations=conversations, qa=qa, reminder_poll_seconds=settings.reminder_poll_seconds
    )
    application.add_handler(CommandHandler(ENGINE_COMMANDS, handlers.on_command))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, handlers.on_text))
    application.add_handler(CallbackQueryHandler(handlers.on_button))
    application.add_handler(InlineQueryHandler(handlers.on_inline_query))
    application.add_error_handler(handlers.on_error)
    return application


def run(settings: Settings, conversations: Conversations, qa: QAService) -> None:
    """Long polling, or our webhook server (``bot/telegram/webhook.py``) that checks
    Telegram's secret token header before reading a body; see ``bot/telegram/runner.py``."""
    from bot.telegram.runner import serve

    if settings.webhook_url and settings.webhook_secret is None:
        raise ValueError("WEBHOOK_SECRET is required with WEBHOOK_URL")
    application = create_application(settings, conversations, qa)
    asyncio.run(serve(application, settings, conversations.store, qa))
