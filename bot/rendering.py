"""Render engine replies as plain text (terminal) or Telegram HTML, and split long ones.

Pure string functions, no Telegram imports: escaping and splitting live here so every
adapter gets them right the same way.
"""

from __future__ import annotations

import html

from bot.engine.messages import Reply
from bot.qa.sections import section_line

TELEGRAM_MAX_CHARS = 4096


def to_plain(reply: Reply) -> str:
    line = section_line(reply.sections)
    return f"{reply.text}\n\n{line}" if line else reply.text


def split_message(text: str, limit: int = TELEGRAM_MAX_CHARS) -> list[str]:
    """Split at paragraph, then line, then word boundaries so each part fits ``limit``."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = -1
        for sep in ("\n\n", "\n", " "):
            cut = rest.rfind(sep, 0, limit)
            if cut > 0:
                break
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def html_parts(reply: Reply, limit: int = TELEGRAM_MAX_CHARS) -> list[str]:
    """The reply as Telegram HTML messages, each within ``limit`` characters.

    The text is escaped first and split only at white space, so no entity (``&amp;``) or
    tag is cut; the italic section line goes with the last part when it fits.
    """
    text = html.escape(reply.text, quote=False)
    line = section_line(reply.sections)
    section = f"<i>{html.escape(line, quote=False)}</i>" if line else ""
    parts = split_message(text, limit) if text else []
    if section:
        if parts and len(parts[-1]) + 2 + len(section) <= limit:
            parts[-1] = f"{parts[-1]}\n\n{section}"
        else:
            parts.append(section)
    return parts
