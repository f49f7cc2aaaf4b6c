"""Our webhook server (bot/telegram/webhook.py) over real HTTP on loopback, with the real
Application behind it and the Bot API emulator posting to it: the secret is checked
before the body is read, bodies are capped, malformed input is a 400 with one log line,
and /healthz tells a load balancer whether the store and the index are there."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest

from bot.conversation import Conversations
from bot.engine import Engine
from bot.qa.service import QAService
from bot.settings import Settings
from bot.storage.memory import MemoryStore
from bot.telegram.app import create_application
from bot.telegram.emulator import BotApiEmulator
from bot.telegram.runner import health_check
from bot.telegram.webhook import SECRET_HEADER, WebhookServer, webhook_path

ALICE = 4004
SECRET = "webhook-secret_42"


class FlakyStore(MemoryStore):
    """A memory store whose database can be 'down' for the health check."""

    down = False

    async def ping(self) -> None:
        if self.down:
            raise ConnectionError("database down")


@dataclass
class Served:
    emulator: BotApiEmulator
    server: WebhookServer
    store: FlakyStore

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}{self.server.path}"


@pytest.fixture
async def served(qa: QAService) -> AsyncIterator[Served]:
    emulator = BotApiEmulator()
    await emulator.start()
    settings = Settings(telegram_bot_token=emulator.token, telegram_api_url=emulator.url)
    store = FlakyStore()
    application = create_application(settings, Conversations(Engine(qa), store), qa, max_rate=1000)
    await application.initialize()
    await application.post_init(application)  # type: ignore[misc]
    await application.start()
    server = WebhookServer(application, secret=SECRET, path="/hook", health=health_check(store, qa))
    await server.start("127.0.0.1", 0)
    served = Served(emulator, server, store)
    await application.bot.set_webhook(served.url, secret_token=SECRET)
    try:
        yield served
    finally:
        await server.stop()
        await application.stop()
        await application.post_stop(application)  # type: ignore[misc]
        await application.shutdown()
        await emulator.stop()


def _update(update_id: int = 77, **message: object) -> dict[str, object]:
    body = {
        "message_id": 1,
        "date": 0,
        "chat": {"id": ALICE, "type": "private"},
        "from": {"id": ALICE, "is_bot": False, "first_name": "A"},
        "text": "what does the soleus do?",
        **message,
    }
    return {"update_id": update_id, "message": body}


async def _post(url: str, body: bytes, secret: str | None = SECRET) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as response,
    ):
        return response.status


async def _raw_headers_only(port: int, head: str, timeout: float = 3.0) -> bytes:
    """Send only a request's headers (announcing a body that never comes) and return the
    status line: an answer proves the server decided without reading the body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode("latin-1"))
        await writer.drain()
        return await asyncio.wait_for(reader.readline(), timeout)
    finally:
        writer.close()


async def test_a_signed_update_is_answered(served: Served) -> None:
    mark = len(served.emulator.calls)
    served.emulator.message(ALICE, "how do I fix a weak soleus")
    reply = await served.emulator.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == ALICE and "Section:" in c.text,
        after=mark,
    )
    assert "seated calf raise" in reply.text.lower()
    assert served.emulator.webhook_statuses[-1] == 200


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x", SECRET[:-1], "ü"])
async def test_a_wrong_or_missing_secret_is_refused(served: Served, secret: str | None) -> None:
    headers = {} if secret is None else {SECRET_HEADER: secret}
    async with (
        aiohttp.ClientSession() as session,
        session.post(served.url, json=_update(), headers=headers) as response,
    ):
        assert response.status == 403
    assert not [c for c in served.emulator.calls if c.method == "sendMessage"]


async def test_the_secret_is_checked_before_the_body_is_read(served: Served) -> None:
    """99 MB announced, none sent: the 403 comes at once (a server that read the body
    first would wait for it and time out here)."""
    port = served.server.port
    assert port is not None
    head = (
        f"POST {served.server.path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {99 * 1024 * 1024}\r\n{SECRET_HEADER}: wrong\r\n\r\n"
    )
    assert b" 403 " in await _raw_headers_only(port, head)


async def test_a_body_over_the_cap_is_refused_without_reading_it(served: Served) -> None:
    port = served.server.port
    assert port is not None
    head = (
        f"POST {served.server.path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {2 * 1024 * 1024}\r\n{SECRET_HEADER}: {SECRET}\r\n\r\n"
    )
    assert b" 413 " in await _raw_headers_only(port, head)


async def test_a_chunked_body_over_the_cap_is_refused(served: Served) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):  # 40 x 64 KB = 2.5 MB, no Content-Length
            yield b" " * 65536

    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session:
        try:
            async with session.post(served.url, data=chunks(), headers=headers) as response:
                status = response.status
        except aiohttp.ClientError:
            status = 413  # the server answered and closed while we were still sending
        assert status == 413


MALFORMED = {
    "not json": b"{not json",
    "not utf-8": b'{"update_id": 5, "x": "\xff\xfe"}',
    "deeply nested": b'{"update_id": 5, "x": ' + b"[" * 200_000 + b"]" * 200_000 + b"}",
    "nested within the recursion limit": b'{"update_id": 5, "x": ' + b"[" * 500 + b"]" * 500 + b"}",
    "update_id a string": json.dumps({**_update(), "update_id": "77"}).encode(),
    "update_id a bool": json.dumps({**_update(), "update_id": True}).encode(),
    "update_id negative": json.dumps({**_update(), "update_id": -1}).encode(),
    "update_id huge": json.dumps({**_update(), "update_id": 10**30}).encode(),
    "update_id missing": json.dumps({"message": _update()["message"]}).encode(),
    "a list": b"[1, 2, 3]",
    "a number with 5000 digits": b'{"update_id": ' + b"9" * 5000 + b"}",
    "message without chat": json.dumps(
        {"update_id": 9, "message": {"message_id": 1, "date": 0, "text": "hi"}}
    ).encode(),
    "message with a chat id string": json.dumps(
        _update(chat={"id": "x", "type": "private"})
    ).encode(),
    "message not an object": json.dumps({"update_id": 9, "message": "hi"}).encode(),
    "callback without sender": json.dumps(
        {"update_id": 9, "callback_query": {"id": "1", "chat_instance": "1", "data": "a"}}
    ).encode(),
    "message with a bad date": json.dumps(_update(date="yesterday")).encode(),
}


@pytest.mark.parametrize("name", list(MALFORMED))
async def test_malformed_signed_input_is_a_400_and_one_log_line(
    served: Served, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.telegram.webhook")
    caplog.clear()
    assert await _post(served.url, MALFORMED[name]) == 400
    lines = [r for r in caplog.records if r.name == "bot.telegram.webhook"]
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING
    assert "hi" not in lines[0].getMessage().split(":")[-1]  # never quotes the body
    # The server still serves: a good update after the bad one is answered.
    mark = len(served.emulator.calls)
    assert await _post(served.url, json.dumps(_update(1000 + len(name))).encode()) == 200
    await served.emulator.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == ALICE, after=mark
    )


async def test_healthz_reports_the_store_and_the_index(served: Served) -> None:
    health = f"http://127.0.0.1:{served.server.port}/healthz"
    async with aiohttp.ClientSession() as session:
        async with session.get(health) as response:
            assert response.status == 200
            assert await response.json() == {"ok": True, "store": True, "index": True}
        served.store.down = True
        async with session.get(health) as response:
            assert response.status == 503
            assert (await response.json())["store"] is False


@pytest.mark.parametrize(
    ("url", "configured", "path"),
    [
        ("https://host/mybot", None, "/mybot"),
        ("https://host/a/b/", None, "/a/b"),
        ("https://host", None, "/telegram"),
        ("https://host/mybot", "other", "/other"),
        ("https://host/mybot", "/other/", "/other"),
        (None, None, "/telegram"),
    ],
)
def test_webhook_path_defaults_to_the_path_of_the_url(
    url: str | None, configured: str | None, path: str
) -> None:
    assert webhook_path(url, configured) == path
