"""Running the bot: start-up that survives an unreachable Bot API, then long polling or
our own webhook server (:mod:`bot.telegram.webhook`), until SIGINT or SIGTERM.

python-telegram-bot's ``run_polling``/``run_webhook`` give up at once when ``getMe``
fails (``bootstrap_retries`` defaults to 0), so a Bot API that is briefly unreachable at
start (a network still coming up, a self-hosted Bot API server restarting) turned into an
exit and a restart loop. Here ``getMe`` is retried with exponential backoff for up to
``BOT_API_RETRY_SECONDS``; only a token Telegram rejects ends it at once, with a message
that does not repeat the token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from datetime import UTC, datetime, timedelta

from telegram import Update
from telegram.error import InvalidToken, NetworkError, TimedOut
from telegram.ext import Application

from bot.notices import notice
from bot.qa.service import QAService
from bot.ratelimit import UserRateLimit
from bot.settings import Settings
from bot.storage.base import Store
from bot.storage.maintenance import prune_loop
from bot.telegram.handlers import SERVICES, BotServices
from bot.telegram.inbox import TelegramInbox, poll, webhook_accept
from bot.telegram.webhook import HealthCheck, WebhookServer, webhook_path

log = logging.getLogger(__name__)

FIRST_RETRY_DELAY = 0.5  # seconds; doubles up to MAX_RETRY_DELAY
MAX_RETRY_DELAY = 30.0
DRAIN_SECONDS = 10.0  # on SIGTERM, how long updates in progress may take to finish


class StartupError(RuntimeError):
    """The bot cannot start (rejected token, Bot API unreachable for too long)."""


async def initialize_with_retry(
    application: Application, *, give_up_after: float, first_delay: float = FIRST_RETRY_DELAY
) -> None:
    """``application.initialize()`` (which calls ``getMe``), retried with backoff while the
    Bot API is unreachable; a rejected token raises :class:`StartupError` at once."""
    deadline = time.monotonic() + give_up_after
    delay = first_delay
    attempt = 0
    while True:
        attempt += 1
        try:
            await application.initialize()
            return
        except InvalidToken:
            # PTB's message repeats the token: replace it, and drop the chain that holds it.
            raise StartupError(notice("token_rejected")) from None
        except (NetworkError, TimedOut) as exc:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StartupError(
                    notice("bot_api_unreachable", seconds=round(give_up_after))
                ) from None
            wait = min(delay, remaining)
            log.warning(
                "Bot API unreachable at start (attempt %d: %s); retrying in %.1f s",
                attempt,
                type(exc).__name__,
                wait,
            )
            await asyncio.sleep(wait)
            delay = min(delay * 2, MAX_RETRY_DELAY)


def health_check(store: Store, qa: QAService, *, timeout: float = 2.0) -> HealthCheck:
    """``/healthz``: the store answers within ``timeout`` and the index has vectors."""

    async def check() -> dict[str, bool]:
        try:
            await asyncio.wait_for(store.ping(), timeout)
            store_ok = True
        except Exception:
            log.warning("health check: the store did not answer", exc_info=True)
            store_ok = False
        index_ok = qa.retriever.index.vectors.ntotal > 0
        return {"store": store_ok, "index": index_ok}

    return check


async def _wait_for_stop_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def serve(application: Application, settings: Settings, store: Store, qa: QAService) -> None:
    """Start, serve until a stop signal, stop: the lifecycle ``run_polling`` has, with our
    start-up retries, the durable inbox and outbox (:mod:`bot.telegram.inbox`,
    :mod:`bot.outbox`) and, with ``WEBHOOK_URL``, our webhook server."""
    started_at = datetime.now(UTC)
    await initialize_with_retry(application, give_up_after=settings.bot_api_retry_seconds)
    services: BotServices = application.bot_data[SERVICES]
    app = services.app
    limit = UserRateLimit(settings.user_rate_burst, settings.user_rate_period_seconds)
    inbox = TelegramInbox(application, store, app.phrases, limit)
    app.conversations.catch_up = inbox.dispatcher.catch_up
    server: WebhookServer | None = None
    tasks: list[asyncio.Task[None]] = []
    try:
        if application.post_init is not None:
            await application.post_init(application)
        retention = timedelta(hours=settings.processed_updates_retention_hours)
        worker = getattr(store, "worker", "memory")
        tasks += [
            asyncio.create_task(prune_loop(store, retention), name="prune"),
            asyncio.create_task(services.delivery.run(worker, started_at), name="outbox"),
            asyncio.create_task(inbox.dispatcher.run_recovery(started_at), name="inbox"),
        ]
        await application.start()
        if settings.webhook_url:
            assert settings.webhook_secret is not None
            secret = settings.webhook_secret.get_secret_value()
            path = webhook_path(settings.webhook_url, settings.webhook_path)
            server = WebhookServer(
                application,
                secret=secret,
                path=path,
                accept=webhook_accept(inbox),
                health=health_check(store, qa),
            )
            await server.start(settings.webhook_listen, settings.webhook_port)
            log.info(
                "webhook server on %s:%s%s", settings.webhook_listen, settings.webhook_port, path
            )
            await application.bot.set_webhook(
                url=settings.webhook_url,
                secret_token=secret,
                allowed_updates=Update.ALL_TYPES,
            )
        else:
            log.info("starting long polling")
            tasks.append(asyncio.create_task(poll(application, inbox), name="polling"))
        await _wait_for_stop_signal()
    finally:
        if server is not None:
            await server.stop()
        for task in tasks:
            task.cancel()
        await inbox.dispatcher.drain(DRAIN_SECONDS)
        if application.running:
            await application.stop()
            if application.post_stop is not None:
                await application.post_stop(application)
        with contextlib.suppress(Exception):
            await application.shutdown()
