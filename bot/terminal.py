"""``calfcoach chat``: the engine in a terminal, the no-token way to try CalfCoach."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from bot.conversation import Conversations
from bot.engine import Incoming
from bot.rendering import to_plain

QUIT_WORDS = {"/quit", "/exit", "quit", "exit"}
CHANNEL = "terminal"  # one local user; the terminal cannot push reminders (no address)


def run_chat(
    conversations: Conversations,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    chart_dir: Path | None = None,
) -> int:
    """Read lines, answer each; ``/quit`` or end of input leaves. Returns an exit code.

    Charts and reports are written as files (PNG, PDF) into ``chart_dir`` (when given)
    and their path shown; their buttons (the report's "PDF") can be typed like any other.
    The conversation lives in the store, so a half-done self-test resumes next time.
    """
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(conversations.store.migrate())
        return _chat_loop(conversations, loop, stdin, stdout, chart_dir)
    finally:
        loop.run_until_complete(conversations.store.close())
        loop.close()


def _chat_loop(
    conversations: Conversations,
    loop: asyncio.AbstractEventLoop,
    stdin: TextIO,
    stdout: TextIO,
    chart_dir: Path | None,
) -> int:
    interactive = stdin.isatty()
    charts = 0
    buttons: dict[str, str] = {}  # label -> payload of the buttons on screen
    stdout.write("CalfCoach - ask about calves and ankles. /help for help, /quit to leave.\n")
    while True:
        if interactive:
            stdout.write("\nyou> ")
            stdout.flush()
        try:
            line = stdin.readline()
        except KeyboardInterrupt:
            line = ""
        except UnicodeDecodeError:
            stdout.write("coach> Sorry, I can only read UTF-8 text. Please type it again.\n")
            continue
        if not line:
            break
        text = line.strip()
        if not text:
            continue
        if text.lower() in QUIT_WORDS:
            break
        # Typing a button's label presses it, as a tap would in Telegram.
        payload = buttons.get(text.lower())
        incoming = Incoming(channel=CHANNEL, user_id="terminal", text=text, payload=payload)
        replies = loop.run_until_complete(conversations.handle(incoming))
        # Only the buttons of the latest replies are on screen: typing "9" at a later
        # step is an answer, not a press of the safety checklist's old [9].
        buttons = {}
        for reply in replies:
            if reply.image is not None or reply.document is not None:
                # Images and documents are written as files and their path shown.
                if chart_dir is not None:
                    chart_dir.mkdir(parents=True, exist_ok=True)
                    charts += 1
                    if reply.document is not None:
                        path = chart_dir / f"{charts}-{reply.filename or 'document'}"
                        path.write_bytes(reply.document)
                    else:
                        assert reply.image is not None
                        name = "report" if reply.kind == "report" else "chart"
                        path = chart_dir / f"{name}-{charts}.png"
                        path.write_bytes(reply.image)
                    what = f"{reply.text} " if reply.text else ""
                    stdout.write(f"\ncoach> {what}(saved to {path})\n")
            else:
                stdout.write(f"\ncoach> {to_plain(reply)}\n")
            for row in reply.buttons:
                labels = "  ".join(f"[{b.label}]" for b in row)
                stdout.write(f"       {labels}\n")
                buttons.update(
                    {b.label.removeprefix("✓ ").lower(): b.payload for b in row if b.payload}
                )
        stdout.flush()
    stdout.write("\nBye - train those calves!\n")
    return 0
