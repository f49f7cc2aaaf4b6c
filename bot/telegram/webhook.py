"""Our own webhook server (aiohttp), in place of python-telegram-bot's tornado one.

Why not ``Application.run_webhook``: tornado reads a whole request body (up to 100 MB)
before any handler runs, so unauthenticated 99 MB posts were buffered before the secret
was checked (1.4 GB peak RSS for twelve of them), and a signed but malformed body raised
a 500 or, worse, was acknowledged and then crashed a handler. Here:

* the ``X-Telegram-Bot-Api-Secret-Token`` header is compared (``hmac.compare_digest``)
  before a byte of the body is read; a wrong or missing one gets 403 and the connection
  is closed, so nothing of the body is buffered or drained;
* a body over :data:`MAX_BODY` (an update is a few KB) gets 413, judged from its
  ``Content-Length`` or while it streams, never buffering more than the cap;
* the body is parsed and checked strictly (:func:`parse_update`); anything malformed is a
  400 and one log line, never a 500 and never handed on;
* a valid update goes to one function, ``accept(incoming)``, and the 200 is sent only once
  that returns: the place to store the update in a durable inbox first.

``GET /healthz`` answers 200 when the store answers and the index is loaded (503
otherwise), for load balancers and ``docker compose`` health checks.

Same pattern as python-telegram-bot's ``examples/customwebhookbot.py``: our server feeds
``application.update_queue`` while the ``Application`` runs without its ``Updater``.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update
from telegram.ext import Application

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024  # bytes; Telegram's updates are a few KB
MAX_DEPTH = 32  # JSON nesting; a real update nests about 6 deep
MAX_UPDATE_ID = 2**63 - 1  # fits a BIGINT column

# Update fields whose value is a message: it must carry a chat to be answered.
MESSAGE_FIELDS = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_message",
        "edited_business_message",
    }
)
# Update fields whose value must say who sent it.
SENDER_FIELDS = frozenset(
    {
        "callback_query",
        "inline_query",
        "chosen_inline_result",
        "shipping_query",
        "pre_checkout_query",
    }
)


class MalformedUpdate(ValueError):
    """A signed request whose body is not a usable Telegram update (answered with 400)."""


@dataclass(frozen=True)
class IncomingUpdate:
    """A checked update: the JSON as Telegram sent it (what a durable inbox would store)
    and the python-telegram-bot object made from it."""

    update_id: int
    data: dict[str, Any]
    update: Update


Accept = Callable[[IncomingUpdate], Awaitable[None]]
HealthCheck = Callable[[], Awaitable[dict[str, bool]]]


def webhook_path(url: str | None, configured: str | None) -> str:
    """The path to serve: ``WEBHOOK_PATH`` if set, else the path of ``WEBHOOK_URL`` (so
    ``WEBHOOK_URL=https://host/mybot`` serves ``/mybot``), else ``/telegram``."""
    path = configured if configured else (urlsplit(url).path if url else "")
    path = "/" + path.strip("/")
    return path if path != "/" else "/telegram"


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of decoded JSON, iteratively (a deep body cannot blow the stack)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_update_json(data: Any) -> dict[str, Any]:
    """The checks python-telegram-bot does not do, so a bad update never reaches a handler:
    an object with an integer ``update_id``, messages with a chat, queries with a sender."""
    if not isinstance(data, dict):
        raise MalformedUpdate("the body is not a JSON object")
    if _depth(data, MAX_DEPTH) > MAX_DEPTH:
        raise MalformedUpdate(f"the body nests deeper than {MAX_DEPTH} levels")
    update_id = data.get("update_id")
    if not _is_int(update_id) or not 0 <= update_id <= MAX_UPDATE_ID:
        raise MalformedUpdate("update_id is missing or not a non-negative integer")
    for field in MESSAGE_FIELDS & data.keys():
        message = data[field]
        chat = message.get("chat") if isinstance(message, dict) else None
        if not isinstance(chat, dict) or not _is_int(chat.get("id")):
            raise MalformedUpdate(f"{field} has no chat with an integer id")
        if not _is_int(message.get("message_id")):
            raise MalformedUpdate(f"{field} has no integer message_id")
    for field in SENDER_FIELDS & data.keys():
        query = data[field]
        sender = query.get("from") if isinstance(query, dict) else None
        if not isinstance(sender, dict) or not _is_int(sender.get("id")):
            raise MalformedUpdate(f"{field} has no sender with an integer id")
    return data


def parse_update(body: bytes, application: Application) -> IncomingUpdate:
    """Decode and check a webhook body; :class:`MalformedUpdate` says why it is unusable
    (the reason never quotes the body: it may hold a user's words)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedUpdate("the body is not UTF-8") from exc
    try:
        raw = json.loads(text)
    except RecursionError as exc:
        raise MalformedUpdate(f"the body nests deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:  # JSONDecodeError, and int strings over Python's digit limit
        raise MalformedUpdate(f"the body is not JSON ({type(exc).__name__})") from exc
    data = check_update_json(raw)
    try:
        update = Update.de_json(data, application.bot)
    except Exception as exc:  # any shape python-telegram-bot cannot read
        raise MalformedUpdate(f"not a Telegram update ({type(exc).__name__})") from exc
    return IncomingUpdate(update_id=data["update_id"], data=data, update=update)


def queue_accept(application: Application) -> Accept:
    """The default hand-off: put the update on the application's queue (what PTB's own
    webhook does). A durable inbox would store ``incoming.data`` here before returning."""

    async def accept(incoming: IncomingUpdate) -> None:
        await application.update_queue.put(incoming.update)

    return accept


class _TooLarge(Exception):
    pass


async def _read_capped(request: web.Request, cap: int) -> bytes:
    """The body, streamed, refusing as soon as it passes ``cap`` bytes."""
    if request.content_length is not None and request.content_length > cap:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > cap:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _refuse(status: int) -> web.Response:
    """An empty answer that also closes the connection: the unread rest of the body is
    dropped with it instead of being drained or buffered."""
    response = web.Response(status=status)
    response.force_close()  # with lingering_time=0 (see start) nothing more is read
    return response


class WebhookServer:
    """The aiohttp application serving Telegram's posts and ``/healthz``."""

    def __init__(
        self,
        application: Application,
        *,
        secret: str,
        path: str,
        accept: Accept | None = None,
        health: HealthCheck | None = None,
        max_body: int = MAX_BODY,
    ) -> None:
        self.application = application
        self._secret = secret.encode("utf-8")
        self.path = path
        self.accept = accept or queue_accept(application)
        self._health = health
        self.max_body = max_body
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def web_app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_body)
        app.router.add_post(self.path, self._on_update)
        app.router.add_get("/healthz", self._on_health)
        return app

    def _authorised(self, header: str | None) -> bool:
        if header is None:
            return False
        return hmac.compare_digest(header.encode("utf-8", "surrogateescape"), self._secret)

    async def _on_update(self, request: web.Request) -> web.Response:
        if not self._authorised(request.headers.get(SECRET_HEADER)):
            log.info("webhook: refused a request without the right secret token")
            return _refuse(403)
        try:
            body = await _read_capped(request, self.max_body)
        except _TooLarge:
            log.warning("webhook: refused a body over %d bytes", self.max_body)
            return _refuse(413)
        try:
            incoming = parse_update(body, self.application)
        except MalformedUpdate as exc:
            log.warning("webhook: refused a malformed update: %s", exc)
            return web.Response(status=400)
        await self.accept(incoming)
        return web.Response(status=200)

    async def _on_health(self, request: web.Request) -> web.Response:
        checks = await self._health() if self._health is not None else {}
        healthy = all(checks.values())
        return web.json_response({"ok": healthy, **checks}, status=200 if healthy else 503)

    async def start(self, listen: str, port: int) -> int:
        """Serve on ``listen:port`` (port 0 picks a free one); returns the port."""
        # lingering_time=0: a refused body is not read to its end after the answer.
        # access_log=None: paths and peers are not worth a line per update (and a path
        # might be the token, which the log filter would have to catch).
        self._runner = web.AppRunner(self.web_app(), access_log=None, lingering_time=0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, listen, port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = int(server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
