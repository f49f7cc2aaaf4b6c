"""A local Telegram Bot API emulator on loopback, for tests and the benchmark.

It speaks enough of the Bot API over HTTP for python-telegram-bot to run unmodified
against it (``base_url``): ``getMe``, ``getUpdates`` (long polling), ``setWebhook`` (then it
POSTs updates with the secret-token header), ``sendMessage``, ``editMessageText``,
``editMessageReplyMarkup``, ``sendPhoto``, ``sendDocument``, ``sendChatAction``,
``answerCallbackQuery``, ``answerInlineQuery``, ``setMyCommands``. Every call is
recorded; tests feed updates (messages, commands, button presses, inline queries) and
read what the bot did. A method can be made to fail, to test that auxiliary failures do
not lose replies.

Loopback by default: it binds 127.0.0.1 and only posts webhooks to the URL the bot
registered. ``host`` binds another address: the image check runs it inside a container on the
compose stack's private network, where the bot replicas must reach it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, web

JSON_PARAMS = {
    "reply_markup",
    "results",
    "commands",
    "allowed_updates",
    "entities",
    "link_preview_options",
    "button",
    "scope",
}
INT_PARAMS = {"chat_id", "message_id", "offset", "limit", "timeout", "cache_time", "user_id"}


@dataclass
class Call:
    """One request the bot made."""

    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)

    @property
    def chat_id(self) -> int | None:
        return self.params.get("chat_id")

    @property
    def text(self) -> str:
        return str(self.params.get("text", self.params.get("caption", "")))

    def callback_data(self) -> list[str]:
        markup = self.params.get("reply_markup") or {}
        return [
            b["callback_data"]
            for row in markup.get("inline_keyboard", [])
            for b in row
            if "callback_data" in b
        ]

    def buttons(self) -> list[dict[str, Any]]:
        markup = self.params.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]


class BotApiEmulator:
    """The fake ``api.telegram.org``: start it, point the bot's ``base_url`` at :attr:`url`."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        username: str = "CalfCoachTestBot",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.host = host
        self.username = username
        self.bot_id = int(token.split(":", 1)[0])
        self.calls: list[Call] = []
        self.failures: dict[str, tuple[int, str]] = {}
        # Failures for the next calls of a method only (a 502 once, a 429 once...).
        self.fail_once: dict[str, list[tuple[int, str]]] = {}
        self.delays: dict[str, float] = {}
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.webhook_statuses: list[int] = []
        self.webhook_acknowledged: set[int] = set()  # update ids the bot answered 200 to
        self.pushed_at: dict[int, float] = {}
        # getUpdates' highest offset: updates below it are acknowledged (Telegram forgets them).
        self.confirmed_offset = 0
        self.listeners: list[Callable[[Call], None]] = []  # told of every recorded call
        self._updates: list[dict[str, Any]] = []
        self._forced: list[dict[str, Any]] = []  # redelivered below the offset
        self._delivered: list[dict[str, Any]] = []
        self._next_update = 1
        self._next_message: dict[int, int] = {}
        self._arrived = asyncio.Event()
        self._called = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._client: ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = port  # 0: any free port, known once started

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self, port: int = 0) -> str:
        """Serve on ``port`` (0: the constructor's port, whose 0 is any free one); a fixed
        port lets a test start the bot first, to see it wait for an unreachable Bot API."""
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, port or self.port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]
        self._client = ClientSession()
        return self.url

    async def stop(self) -> None:
        self._arrived.set()  # long polls in progress return now, not after their timeout
        for task in list(self._tasks):
            task.cancel()
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> BotApiEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- feeding updates ---------------------------------------------------------------

    def _user(self, user_id: int) -> dict[str, Any]:
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": f"User{user_id}",
            "language_code": "en",
        }

    def _push(self, update: dict[str, Any]) -> int:
        update_id = self._next_update
        self._next_update += 1
        update["update_id"] = update_id
        self.pushed_at[update_id] = time.monotonic()
        self._deliver(update)
        return update_id

    def _deliver(self, update: dict[str, Any]) -> None:
        """POST it to the registered webhook, or queue it for getUpdates."""
        if self.webhook_url:
            task = asyncio.get_running_loop().create_task(self._post_webhook(update))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            self._updates.append(update)
            self._arrived.set()

    def redeliver(self, update_id: int) -> None:
        """Deliver an already-delivered update again: by webhook, as Telegram does after a
        timeout; by polling, as after a crash before the offset was confirmed (so it comes
        back even though the bot has moved its offset past it)."""
        update = next(u for u in self._delivered if u["update_id"] == update_id)
        if self.webhook_url:
            self._deliver(update)
        else:
            self._forced.append(update)
            self._arrived.set()

    def message(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
    ) -> int:
        """A user sends ``text``; commands and @mentions get their entities."""
        chat_id = chat_id if chat_id is not None else user_id
        entities = []
        if text.startswith("/"):
            entities.append({"type": "bot_command", "offset": 0, "length": len(text.split()[0])})
        mention = f"@{self.username}"
        if mention in text and not text.startswith("/"):
            entities.append(
                {"type": "mention", "offset": text.index(mention), "length": len(mention)}
            )
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type != "private":
            chat["title"] = "Group"
        message = {
            "message_id": self._message_id(chat_id),
            "date": int(time.time()),
            "chat": chat,
            "from": self._user(user_id),
            "text": text,
        }
        if entities:
            message["entities"] = entities
        update = {"message": message}
        self._delivered.append(update)
        return self._push(update)

    def push(self, update: dict[str, Any]) -> int:
        """Deliver any update (its ``update_id`` is assigned here)."""
        self._delivered.append(update)
        return self._push(update)

    def message_with(
        self, user_id: int, fields: dict[str, Any], *, chat_id: int | None = None
    ) -> int:
        """A message carrying ``fields`` instead of text (a sticker, a photo, a location)."""
        chat_id = chat_id if chat_id is not None else user_id
        message = {
            "message_id": self._message_id(chat_id),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id == user_id else "group"},
            "from": self._user(user_id),
            **fields,
        }
        return self.push({"message": message})

    def edit(self, user_id: int, message_id: int, text: str) -> int:
        """The user edits their earlier message ``message_id`` (a private chat) to ``text``."""
        message = {
            "message_id": message_id,
            "date": int(time.time()) - 60,
            "edit_date": int(time.time()),
            "chat": {"id": user_id, "type": "private"},
            "from": self._user(user_id),
            "text": text,
        }
        return self.push({"edited_message": message})

    def press_inline(self, user_id: int, data: str) -> int:
        """A tap on a button under an inline-mode message: no chat, no message."""
        query = {
            "id": f"cb{self._next_update}",
            "from": self._user(user_id),
            "chat_instance": "inline",
            "inline_message_id": "AAAA-inline",
            "data": data,
        }
        return self.push({"callback_query": query})

    def press(self, user_id: int, call: Call, data: str, *, forged: bool = False) -> int:
        """A user taps the button with callback ``data`` under the bot's message ``call``;
        ``forged``: data the message never offered (a client crafting callback data)."""
        if not forged:
            assert data in call.callback_data(), f"{data!r} not in {call.callback_data()}"
        chat_id = int(call.params["chat_id"])
        message = {
            "message_id": call.params["_message_id"],
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": {
                "id": self.bot_id,
                "is_bot": True,
                "first_name": "CalfCoach",
                "username": self.username,
            },
            "text": call.text,
            "reply_markup": call.params.get("reply_markup"),
        }
        update = {
            "callback_query": {
                "id": f"cb{self._next_update}",
                "from": self._user(user_id),
                "chat_instance": str(chat_id),
                "data": data,
                "message": message,
            }
        }
        self._delivered.append(update)
        return self._push(update)

    def inline_query(self, user_id: int, query: str) -> int:
        update = {
            "inline_query": {
                "id": f"iq{self._next_update}",
                "from": self._user(user_id),
                "query": query,
                "offset": "",
            }
        }
        self._delivered.append(update)
        return self._push(update)

    # -- reading what the bot did --------------------------------------------------------

    async def wait_for(
        self, predicate: Callable[[Call], bool], *, after: int = 0, timeout: float = 20.0
    ) -> Call:
        """The first call (from index ``after``) matching ``predicate``, waiting for it."""
        deadline = time.monotonic() + timeout
        async with self._called:
            while True:
                for call in self.calls[after:]:
                    if predicate(call):
                        return call
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    methods = [f"{c.method}:{c.text[:40]!r}" for c in self.calls[after:]]
                    raise TimeoutError(f"no matching call; calls since {after}: {methods}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._called.wait(), remaining)

    def sent(self, chat_id: int, *, after: int = 0, method: str | None = None) -> list[Call]:
        return [
            c
            for c in self.calls[after:]
            if c.chat_id == chat_id and (method is None or c.method == method)
        ]

    # -- the HTTP side -------------------------------------------------------------------

    def _message_id(self, chat_id: int) -> int:
        self._next_message[chat_id] = self._next_message.get(chat_id, 0) + 1
        return self._next_message[chat_id]

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return dict(await request.json())
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if isinstance(value, web.FileField):
                params[key] = value.file.read()
                params[f"_{key}_filename"] = value.filename
                continue
            if key in JSON_PARAMS or key in INT_PARAMS:
                try:
                    params[key] = json.loads(value)
                    continue
                except ValueError:
                    pass
            params[key] = value
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params = await self._params(request)
        if method in self.delays:
            await asyncio.sleep(self.delays[method])
        once = self.fail_once.get(method)
        if method in self.failures or once:
            code, description = once.pop(0) if once else self.failures[method]
            await self._record(Call(method, params))
            return web.json_response(
                {"ok": False, "error_code": code, "description": description}, status=code
            )
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            await self._record(Call(method, params))
            return web.json_response({"ok": True, "result": True})
        result = await handler(params)
        if method != "getUpdates":
            await self._record(Call(method, params))
        return web.json_response({"ok": True, "result": result})

    async def _record(self, call: Call) -> None:
        for listener in self.listeners:
            listener(call)
        async with self._called:
            self.calls.append(call)
            self._called.notify_all()

    def _bot_message(self, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message_id = self._message_id(chat_id)
        params["_message_id"] = message_id
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": {
                "id": self.bot_id,
                "is_bot": True,
                "first_name": "CalfCoach",
                "username": self.username,
            },
            **extra,
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        return message

    async def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "CalfCoach",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }

    async def _api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        self.confirmed_offset = max(self.confirmed_offset, offset)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and timeout > 0:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout)
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        limit = int(params.get("limit") or 100)
        forced, self._forced = self._forced, []
        return [*forced, *self._updates[:limit]]

    async def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = params.get("url") or None
        self.webhook_secret = params.get("secret_token")
        return True

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook_url = None
        return True

    async def _post_webhook(self, update: dict[str, Any]) -> None:
        assert self._client is not None and self.webhook_url
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook_secret or ""}
        for _attempt in range(50):
            try:
                async with self._client.post(
                    self.webhook_url, json=update, headers=headers
                ) as response:
                    self.webhook_statuses.append(response.status)
                    if response.status == 200:
                        self.webhook_acknowledged.add(update["update_id"])
                    return
            except OSError:
                await asyncio.sleep(0.1)  # the bot's server is still starting

    async def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._bot_message(params, text=params.get("text", ""))

    async def _api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        photo = params.get("photo")
        size = len(photo) if isinstance(photo, bytes) else 0
        return self._bot_message(
            params,
            photo=[
                {
                    "file_id": f"photo{size}",
                    "file_unique_id": f"u{size}",
                    "width": 800,
                    "height": 400,
                }
            ],
            caption=params.get("caption", ""),
        )

    async def _api_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        document = params.get("document")
        size = len(document) if isinstance(document, bytes) else 0
        name = params.get("_document_filename") or "document"
        return self._bot_message(
            params,
            document={
                "file_id": f"doc{size}",
                "file_unique_id": f"d{size}",
                "file_name": name,
                "file_size": size,
            },
            caption=params.get("caption", ""),
        )

    async def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._bot_message({**params}, text=params.get("text", ""))
        message["message_id"] = int(params["message_id"])
        params["_message_id"] = int(params["message_id"])
        return message

    async def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._bot_message({**params}, text="")
        message["message_id"] = int(params["message_id"])
        params["_message_id"] = int(params["message_id"])
        return message
