"""Build the python-telegram-bot ``Application`` from the composed :class:`App`.

One factory for tests and entry points, as in python-telegram-bot's examples: handlers are
short functions in :mod:`bot.telegram.handlers`; every command goes to one catch-all
handler that routes through the command table, so unknown commands are answered too.
"""

from __future__ import annotations

import asyncio
import logging

import uvloop
from telegram import BotCommand, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.bootstrap import App
from bot.conversation import use_engine_workers
from bot.reminders import reminder_loop
from bot.telegram import handlers
from bot.telegram.aiohttp_request import AiohttpRequest
from bot.telegram.handlers import SERVICES, BotServices
from bot.telegram.output import CHANNEL, TelegramOutput, auxiliary

log = logging.getLogger(__name__)

# Messages a person sends expecting an answer that carry no text the bot can read.
UNREADABLE = (
    filters.Sticker.ALL
    | filters.PHOTO
    | filters.VOICE
    | filters.AUDIO
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.ANIMATION
    | filters.Document.ALL
    | filters.LOCATION
    | filters.VENUE
    | filters.CONTACT
    | filters.POLL
    | filters.Dice.ALL
)


async def _post_init(application: Application) -> None:
    """Migrate the store, start the reminder loop, set the command menu (best effort)."""
    services: BotServices = application.bot_data[SERVICES]
    use_engine_workers(asyncio.get_running_loop())
    app = services.app
    await app.store.migrate()
    services.reminder_task = asyncio.create_task(
        reminder_loop(app.store, {CHANNEL: services.output}, app.settings.reminder_poll_seconds),
        name="reminders",
    )
    commands = [BotCommand(name, text) for name, text in app.engine.commands.menu()]
    await auxiliary(application.bot.set_my_commands(commands), "set commands")


async def _post_stop(application: Application) -> None:
    services: BotServices = application.bot_data[SERVICES]
    if services.reminder_task is not None:
        services.reminder_task.cancel()
    await services.app.conversations.drain()  # reports still on their way to coaches
    await services.app.store.close()


def create_application(app: App, *, max_rate: float | None = None) -> Application:
    """The bot, wired to the application; ``TELEGRAM_API_URL`` redirects the Bot API."""
    settings = app.settings
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
    output = TelegramOutput(application.bot)
    # One delivery for every outbox entry of this process: the step's replies, coach
    # notifications and coach-to-client notes, and the sweeper's retries.
    app.conversations.outputs[CHANNEL] = output
    delivery = app.conversations.delivery
    application.bot_data[SERVICES] = BotServices(app=app, output=output, delivery=delivery)
    # Edits first: the text filters below match an edited message too.
    application.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, handlers.on_edited))
    application.add_handler(MessageHandler(filters.COMMAND, handlers.on_command))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, handlers.on_text))
    application.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & UNREADABLE, handlers.on_unreadable)
    )
    application.add_handler(CallbackQueryHandler(handlers.on_button))
    application.add_handler(InlineQueryHandler(handlers.on_inline_query))
    application.add_error_handler(handlers.on_error)
    return application


def run(app: App) -> None:
    """Long polling, or our webhook server (``bot/telegram/webhook.py``) that checks
    Telegram's secret token header before reading a body; see ``bot/telegram/runner.py``."""
    from bot.telegram.runner import serve

    settings = app.settings
    if settings.webhook_url and settings.webhook_secret is None:
        raise ValueError("WEBHOOK_SECRET is required with WEBHOOK_URL")
    application = create_application(app)
    # uvloop's libuv loop: the event loop's own work (sockets, callbacks, futures from
    # the store's and the engine's threads) is most of this thread's time under load;
    # Telegram end to end flat out rose about 15 % (README, Performance).
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(application, settings, app.store, app.qa))
