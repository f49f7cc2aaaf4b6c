"""Inline mode for coaches: ``@bot question`` offers forwardable answer articles.

An article is posted into someone else's chat, so it must stand alone: the question, the
answer, its section and a link to the bot; no "type /assess" (commands there would go to
another chat). Result ids are random (uuid4, as python-telegram-bot's inline example),
and a long answer is cut before it is escaped, so no entity or tag is ever split.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING
from uuid import uuid4

from telegram import InlineQueryResultArticle, InputTextMessageContent

from bot.qa.models import Answer, Source
from bot.qa.question import InvalidQuestion
from bot.qa.sections import section_line

if TYPE_CHECKING:
    from bot.bootstrap import App

MAX_RESULTS = 3
MESSAGE_MAX_CHARS = 4096
ALTERNATIVE_MAX_CHARS = 700


def _message(title: str, answer: Answer, link: str) -> str:
    """A self-contained message: the question, the answer, its section, a link to the bot."""
    head = [f"<b>{html.escape(title)}</b>"]
    tail = []
    line = section_line([s.section for s in answer.sources])
    if line:
        tail.append(f"<i>{html.escape(line)}</i>")
    tail.append(f'Ask CalfCoach more: <a href="{html.escape(link)}">{html.escape(link)}</a>')
    room = MESSAGE_MAX_CHARS - sum(len(p) + 2 for p in (*head, *tail))
    body = answer.body
    while len(html.escape(body)) > room:  # cut the plain text, then escape it whole
        body = body[: max(0, len(body) - (len(html.escape(body)) - room) - 1)].rstrip() + "…"
    return "\n\n".join([*head, html.escape(body), *tail])


def _article(title: str, answer: Answer, link: str) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        id=uuid4().hex,
        title=title[:100],
        description=answer.body[:120],
        input_message_content=InputTextMessageContent(_message(title, answer, link)),
    )


def inline_results(app: App, query: str, username: str) -> list[InlineQueryResultArticle]:
    """Articles for an inline query; an empty query lists the FAQ (CPU-bound: run in a thread)."""
    qa = app.qa
    bot_link = f"https://t.me/{username}"
    query = query.strip()
    faq = qa.knowledge.faq
    if not query or query.startswith("faq:"):
        wanted = query.removeprefix("faq:")
        entries = [e for e in faq if not wanted or e.id == wanted] or list(faq)
        return [
            _article(e.question, qa.faq_answer(e.id), f"{bot_link}?start=faq_{e.id}")
            for e in entries
        ]
    try:
        answer = qa.answer(query)
    except InvalidQuestion as exc:
        return [
            InlineQueryResultArticle(
                id=uuid4().hex,
                title="Can't use that question",
                description=str(exc),
                input_message_content=InputTextMessageContent(html.escape(str(exc))),
            )
        ]
    link = f"{bot_link}?start=faq_{answer.faq_id}" if answer.faq_id else bot_link
    results = [_article(answer.question, answer, link)]
    if answer.kind in {"answer", "faq"}:
        used = {s.section for s in answer.sources}
        for passage in answer.passages[1:MAX_RESULTS]:
            if passage.section in used:
                continue
            alternative = answer.model_copy(
                update={
                    "body": passage.text[:ALTERNATIVE_MAX_CHARS],
                    "sources": [Source(section=passage.section, score=passage.score)],
                    "kind": "answer",
                }
            )
            results.append(_article(passage.section.split(" > ")[-1], alternative, bot_link))
    return results
