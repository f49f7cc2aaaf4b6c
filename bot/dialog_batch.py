"""Conversation turns answered through the dialog engine, mapped to the ``ask --json`` contract.

``calfcoach ask --json --batch`` and ``calfcoach eval`` both need "this message, given the
earlier turns of the same chat". Running the turns through the real
:class:`~bot.conversation.Conversations` (engine + in-memory store, user id = conversation
id) rather than a second code path means whatever context the engine keeps in the
conversation state applies here unchanged, and what is measured is what chat users get.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot.engine import Incoming, Reply
from bot.qa.service import QAService
from bot.rendering import to_plain
from bot.storage.memory import MemoryStore

CHANNEL = "batch"  # conversations of `calfcoach ask --batch` and `calfcoach eval`
# Replies that are not part of an answer: the self-test's next question is kept in the
# text (a user sees it) but never decides what kind of turn it was.
_PROMPT_KINDS = frozenset({"prompt", "chart", "reminder_offer"})


def replies_to_contract(question: str, replies: Sequence[Reply]) -> dict[str, object]:
    """Map one engine step to the answer contract (plus ``kind``).

    A red-flag reply makes the turn a referral (``red_flag`` true); an out-of-scope decline
    makes it ``in_scope`` false; the text is what the user would read, section lines
    included. Sources and passages come from the QA answer the step used, if any.
    """
    kinds = [r.kind for r in replies]
    red_flag = "red_flag" in kinds
    declined = "out_of_scope" in kinds and not red_flag
    main = next((k for k in kinds if k not in _PROMPT_KINDS), kinds[0] if kinds else "text")
    text = "\n\n".join(part for part in (to_plain(r).strip() for r in replies) if part)
    answer = next((r.answer for r in replies if r.answer is not None), None)
    referral = next((r.answer for r in replies if r.kind == "red_flag" and r.answer), None)
    contract = answer.contract() if answer is not None else {"sources": [], "passages": []}
    return {
        "question": question,
        "in_scope": not declined,
        "red_flag": red_flag,
        "answer": text,
        "sources": contract["sources"],
        "passages": contract["passages"],
        "triage": referral.contract()["triage"] if referral is not None else None,
        "kind": "red_flag" if red_flag else main,
    }


class DialogRunner:
    """Answers turns of many conversations, each with the context of its earlier turns."""

    def __init__(self, service: QAService) -> None:
        from bot.bootstrap import bootstrap

        app = bootstrap(store=MemoryStore(), qa=service, charts=False)
        self.conversations = app.conversations

    async def ask(self, conversation_id: str, question: str) -> dict[str, object]:
        """One turn of one conversation (turns of a conversation must be awaited in order)."""
        incoming = Incoming(channel=CHANNEL, user_id=conversation_id, text=question)
        replies = await self.conversations.handle(incoming)
        contract = replies_to_contract(question, replies)
        contract["conversation"] = conversation_id
        return contract

    async def ask_all(self, turns: Sequence[tuple[str, str]]) -> list[dict[str, object]]:
        """``(conversation id, question)`` pairs in file order, answered in that order."""
        return [await self.ask(cid, question) for cid, question in turns]

    def run(self, turns: Sequence[tuple[str, str]]) -> list[dict[str, object]]:
        """Synchronous :meth:`ask_all` for the CLI and the evaluation."""
        return asyncio.run(self.ask_all(turns))
