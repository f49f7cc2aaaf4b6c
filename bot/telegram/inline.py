"""Inline mode for coaches: ``@bot question`` offers forwardable answer articles."""

from __future__ import annotations

import html

from telegram import InlineQueryResultArticle, InputTextMessageContent

from bot.qa.models import Answer
from bot.qa.question import InvalidQuestion
from bot.qa.service import QAService

MAX_RESULTS = 3


def _message(title: str, answer: Answer, link: str) -> str:
    """A self-contained message: the question, the answer, its section, a link to the bot."""
    parts = [f"<b>{html.escape(title)}</b>", html.escape(answer.body)]
    label = answer.section_label()
    if label:
        parts.append(f"<i>Section: {html.escape(label)}</i>")
    parts.append(f'Ask CalfCoach more: <a href="{html.escape(link)}">{html.escape(link)}</a>')
    return "\n\n".join(parts)[:4096]


def _article(result_id: str, title: str, answer: Answer, link: str) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        id=result_id[:64],
        title=title[:100],
        description=answer.body[:120],
        input_message_content=InputTextMessageContent(_message(title, answer, link)),
    )


def inline_results(qa: QAService, query: str, username: str) -> list[InlineQueryResultArticle]:
    """Articles for an inline query; an empty query lists the FAQ (CPU-bound: run in a thread)."""
    bot_link = f"https://t.me/{username}"
    query = query.strip()
    faq = qa.knowledge.faq
    if not query or query.startswith("faq:"):
        wanted = query.removeprefix("faq:")
        entries = [e for e in faq if not wanted or e.id == wanted] or list(faq)
        return [
            _article(f"faq-{e.id}", e.question, qa.faq_answer(e.id), f"{bot_link}?start=faq_{e.id}")
            for e in entries
        ]
    try:
        answer = qa.answer(query)
    except InvalidQuestion as exc:
        return [
            InlineQueryResultArticle(
                id="invalid",
                title="Can't use that question",
                description=str(exc),
                input_message_content=InputTextMessageContent(html.escape(str(exc))),
            )
        ]
    link = f"{bot_link}?start=faq_{answer.faq_id}" if answer.faq_id else bot_link
    results = [_article(f"a-{abs(hash(query))}", answer.question, answer, link)]
    if answer.kind in {"answer", "faq"}:
        for n, passage in enumerate(answer.passages[1:MAX_RESULTS], 1):
            if passage.section in {s.section for s in answer.sources}:
                continue
            alternative = answer.model_copy(
                update={
                    "body": passage.text[:700],
                    "sources": [
                        type(answer.sources[0])(section=passage.section, score=passage.score)
                    ],
                    "kind": "answer",
                }
            )
            title = passage.section.split(" > ")[-1]
            results.append(_article(f"p{n}-{abs(hash(query))}", title, alternative, bot_link))
    return results
