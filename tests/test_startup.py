"""Starting `calfcoach telegram` when things are wrong: a rejected token or a bad webhook
secret is reported without being repeated; a Bot API that is unreachable at start is
retried with backoff (and the bot comes up once it answers), not an exit at once."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

from bot.telegram.emulator import BotApiEmulator

TOKEN = "24680:AAF-startup-token_Hq3Lx8Vz2Mw6Kp4Rt9Ny"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(index_dir: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "INDEX_DIR": str(index_dir),
        "DATA_DIR": str(index_dir.parent),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "LOG_LEVEL": "DEBUG",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        **extra,
    }
    for name in ("WEBHOOK_URL", "WEBHOOK_SECRET", "WEBHOOK_PATH"):
        if name not in extra:
            env.pop(name, None)
    return env


async def _run(env: dict[str, str], timeout: float = 90) -> tuple[int, str, float]:
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "telegram",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, stderr.decode("utf-8", "replace"), time.monotonic() - started


async def test_a_rejected_token_is_not_repeated(index_dir: Path, tmp_path: Path) -> None:
    async with BotApiEmulator(token="13579:another-token-the-emulator-knows_abcdef") as api:
        code, stderr, _ = await _run(_env(index_dir, tmp_path, TELEGRAM_API_URL=api.url))
    assert code == 2
    assert "rejected TELEGRAM_BOT_TOKEN" in stderr
    assert TOKEN not in stderr and TOKEN.split(":")[1] not in stderr


@pytest.mark.parametrize("secret", ["not allowed!", "x" * 300, "spaces in-secret_ABCDEFGH"])
async def test_a_bad_webhook_secret_is_not_repeated(
    index_dir: Path, tmp_path: Path, secret: str
) -> None:
    env = _env(
        index_dir, tmp_path, WEBHOOK_URL="https://example.invalid/hook", WEBHOOK_SECRET=secret
    )
    code, stderr, _ = await _run(env, timeout=30)
    assert code == 2
    assert "WEBHOOK_SECRET" in stderr
    assert secret not in stderr and TOKEN not in stderr


async def test_an_unreachable_bot_api_is_retried_then_reported(
    index_dir: Path, tmp_path: Path
) -> None:
    closed = f"http://127.0.0.1:{_free_port()}"
    env = _env(index_dir, tmp_path, TELEGRAM_API_URL=closed, BOT_API_RETRY_SECONDS="3")
    code, stderr, took = await _run(env)
    assert code == 2
    assert stderr.count("Bot API unreachable at start") >= 2  # retried, with backoff
    assert "did not answer for 3 s" in stderr
    assert took >= 3
    assert TOKEN not in stderr


async def test_the_bot_comes_up_once_the_bot_api_answers(index_dir: Path, tmp_path: Path) -> None:
    port = _free_port()
    env = _env(
        index_dir, tmp_path, TELEGRAM_API_URL=f"http://127.0.0.1:{port}", LOG_LEVEL="WARNING"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "telegram",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await asyncio.sleep(4)  # past the model load: it has been retrying meanwhile
        assert process.returncode is None, "the bot exited instead of retrying"
        api = BotApiEmulator(token=TOKEN)
        await api.start(port)
        try:
            await api.wait_for(lambda c: c.method == "setMyCommands", timeout=60)
            mark = len(api.calls)
            api.message(7007, "/start")
            await api.wait_for(lambda c: c.method == "sendMessage", after=mark)
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 30)
            await api.stop()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
