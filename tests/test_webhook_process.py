"""The real `calfcoach telegram` process in webhook mode at LOG_LEVEL=DEBUG, against the
local Bot API emulator, on loopback only:

* ``WEBHOOK_URL=http://127.0.0.1:PORT/mybot`` with no ``WEBHOOK_PATH`` receives updates;
* twelve unauthenticated 99 MB posts at once grow its memory by less than 50 MB;
* ``/healthz`` answers 200;
* nothing it logged holds the token, the webhook secret or a message's text.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from bot.telegram.emulator import BotApiEmulator

USER = 5005
SECRET = "Zq9-process_secret-7Xw"
TOKEN = "987654:AAH-process-token_Kx7Vb2Lq9Zt4Wm8Rn3Yp"
MARKER = "Quetzalcoatl"  # a word only the user's message holds
BODY = 99 * 1024 * 1024
ATTACKERS = 12


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


@dataclass
class BotProcess:
    emulator: BotApiEmulator
    process: asyncio.subprocess.Process
    port: int
    stderr: list[bytes] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mybot"


async def _drain(stream: asyncio.StreamReader, into: list[bytes]) -> None:
    """Keep reading stderr so DEBUG output never blocks the bot on a full pipe."""
    while chunk := await stream.read(65536):
        into.append(chunk)


@pytest.fixture(scope="module")
async def bot(
    index_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[BotProcess]:
    port = _free_port()
    emulator = BotApiEmulator(token=TOKEN)
    await emulator.start()
    env = {
        **os.environ,
        "INDEX_DIR": str(index_dir),
        "DATA_DIR": str(index_dir.parent),
        "LOG_LEVEL": "DEBUG",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emulator.url,
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/mybot",
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('hook') / 'bot.db'}",
    }
    env.pop("WEBHOOK_PATH", None)
    env.pop("WEBHOOK_LISTEN", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "telegram",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    running = BotProcess(emulator, process, port)
    drain = asyncio.create_task(_drain(process.stderr, running.stderr))
    try:
        await emulator.wait_for(lambda c: c.method == "setWebhook", timeout=90)
        yield running
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 30)
        if process.returncode is None:
            process.kill()
            await process.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(drain, 5)
        await emulator.stop()


async def test_the_path_of_webhook_url_receives_updates(bot: BotProcess) -> None:
    assert bot.emulator.webhook_url == bot.url
    mark = len(bot.emulator.calls)
    bot.emulator.message(USER, f"how do I fix a weak soleus, {MARKER}?")
    reply = await bot.emulator.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == USER and "Section:" in c.text,
        after=mark,
    )
    assert "seated calf raise" in reply.text.lower()
    assert bot.emulator.webhook_statuses and set(bot.emulator.webhook_statuses) == {200}


async def _unauthenticated_upload(port: int, deadline: float) -> int:
    """Announce and stream a 99 MB body with a wrong secret; stop when the server
    closes the connection or at the deadline. Returns the bytes the server took."""
    _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sent = 0
    chunk = b"x" * (1024 * 1024)
    try:
        writer.write(
            (
                f"POST /mybot HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {BODY}\r\nX-Telegram-Bot-Api-Secret-Token: nope\r\n\r\n"
            ).encode()
        )
        while sent < BODY and time.monotonic() < deadline:
            writer.write(chunk)
            await asyncio.wait_for(writer.drain(), max(0.1, deadline - time.monotonic()))
            sent += len(chunk)
    except (OSError, TimeoutError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return sent


async def test_twelve_unauthenticated_99_mb_bodies_barely_move_memory(bot: BotProcess) -> None:
    pid = bot.process.pid
    before = _rss_mb(pid)
    peak = before
    deadline = time.monotonic() + 60
    uploads = asyncio.gather(
        *(_unauthenticated_upload(bot.port, deadline) for _ in range(ATTACKERS))
    )
    while not uploads.done():
        peak = max(peak, _rss_mb(pid))
        await asyncio.sleep(0.05)
    taken = await uploads
    await asyncio.sleep(0.5)
    after = _rss_mb(pid)
    print(
        f"RSS before {before:.0f} MB, peak {peak:.0f} MB, after {after:.0f} MB; "
        f"bytes taken per upload {max(taken) / 1e6:.1f} MB at most"
    )
    assert peak - before < 50, (before, peak)
    assert after - before < 50, (before, after)
    assert max(taken) < BODY  # every upload was cut off, none read to its end


async def test_healthz(bot: BotProcess) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{bot.port}/healthz") as response,
    ):
        assert response.status == 200
        assert (await response.json())["ok"] is True


async def test_debug_logs_hold_no_token_secret_or_message_text(bot: BotProcess) -> None:
    """Runs last in this module: it stops the process to read everything it logged."""
    mark = len(bot.emulator.calls)
    bot.emulator.message(USER, f"/assess {MARKER}")
    await bot.emulator.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == USER, after=mark
    )
    replies = [c.text for c in bot.emulator.calls if c.method == "sendMessage" and c.text]
    assert replies
    bot.process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(bot.process.wait(), 30)
    await asyncio.sleep(0.2)
    log = b"".join(bot.stderr).decode("utf-8", "replace")
    assert " DEBUG telegram" in log, "the bot did not log at DEBUG: this test would prove nothing"
    assert "sendMessage" in log  # PTB's call logs are there, with their parameters summarised
    for secret in (TOKEN, TOKEN.split(":", 1)[1], SECRET, MARKER):
        assert secret not in log, f"{secret!r} is in the log"
    for reply in replies:  # the bot's replies are message text too
        for line in reply.splitlines():
            if len(line) > 25:
                assert line not in log, f"reply text {line!r} is in the log"
