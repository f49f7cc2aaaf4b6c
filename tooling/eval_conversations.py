"""The conversation report of ``calfcoach eval``: first turns and follow-ups, separately.

A follow-up ("and the soleus?", "how many sets of that?") only makes sense with the turns
before it, so the chats are played through :class:`~bot.dialog_batch.DialogRunner`, the
same path as ``ask --json --batch`` lines with a ``conversation`` id. Single client
questions and near-domain off-topic questions take the independent fast path, as
``ask --batch`` lines without an id do.

Scoring follows ``../shared/eval/README.md``: a turn with ``any`` is right when the answer
is in scope, not a referral, and contains a phrase; a ``refer`` turn is right when it is
referred. Follow-ups declined as off-topic are counted on their own, because the issue's
target is that none is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from pydantic import BaseModel

from bot.dialog_batch import DialogRunner
from bot.qa.service import QAService
from tooling.evaluation import EvalSet, EvalTurn


class ConversationMetrics(BaseModel):
    """Rates are 0..1; counts are turns or questions."""

    conversations: int
    first_turns: int
    first_turns_right: float
    follow_ups: int
    follow_ups_right: float
    follow_ups_declined: int
    refer_turns: int
    refer_right: float
    client_questions: int
    client_questions_right: float
    near_domain: int
    near_domain_declined: float
    misses: list[str] = []


def _rate(hits: int, total: int) -> float:
    return round(hits / total, 4) if total else 1.0


def turn_right(turn: EvalTurn, contract: dict[str, object]) -> bool:
    """The README's rule for one turn, given its answer contract."""
    if turn.refer:
        return bool(contract["red_flag"])
    return (
        bool(contract["in_scope"])
        and not contract["red_flag"]
        and turn.matches(str(contract["answer"]))
    )


def evaluate_conversations(service: QAService, sets: Iterable[EvalSet]) -> ConversationMetrics:
    """Play every chat through the dialog engine and score single questions alongside."""
    sets = list(sets)
    chats = [(n, chat) for n, s in enumerate(sets) for chat in s.conversations]
    turns = [(f"{n}:{chat.id}", turn) for n, chat in chats for turn in chat.turns]
    contracts = DialogRunner(service).run([(cid, turn.q) for cid, turn in turns])
    first = follow = first_ok = follow_ok = declined = refer = refer_ok = 0
    misses: list[str] = []
    previous = None
    for (cid, turn), contract in zip(turns, contracts, strict=True):
        is_first, previous = cid != previous, cid
        ok = turn_right(turn, contract)
        if is_first:
            first, first_ok = first + 1, first_ok + ok
        else:
            follow, follow_ok = follow + 1, follow_ok + ok
            declined += turn.any is not None and not contract["in_scope"]
        if turn.refer:
            refer, refer_ok = refer + 1, refer_ok + ok
        if not ok:
            where = "first" if is_first else "follow-up"
            text = str(contract["answer"]).replace("\n", " ")[:90]
            misses.append(f"{cid} {where} {turn.q!r} -> {contract['kind']}: {text!r}")
    client = [item for s in sets for item in s.client_questions]
    near = [item for s in sets for item in s.near_domain]
    client_answers = service.answer_many([i.q for i in client]) if client else []
    near_answers = service.answer_many([i.q for i in near]) if near else []
    client_ok = 0
    for item, answer in zip(client, client_answers, strict=True):
        if answer.in_scope and not answer.red_flag and item.matches(answer.answer):
            client_ok += 1
        else:
            misses.append(f"CLIENT {item.q!r} -> {answer.kind}: {answer.answer[:90]!r}")
    misses += [f"NEAR-DOMAIN ACCEPTED {a.question!r}" for a in near_answers if a.in_scope]
    return ConversationMetrics(
        conversations=len(chats),
        first_turns=first,
        first_turns_right=_rate(first_ok, first),
        follow_ups=follow,
        follow_ups_right=_rate(follow_ok, follow),
        follow_ups_declined=declined,
        refer_turns=refer,
        refer_right=_rate(refer_ok, refer),
        client_questions=len(client),
        client_questions_right=_rate(client_ok, len(client)),
        near_domain=len(near),
        near_domain_declined=_rate(sum(not a.in_scope for a in near_answers), len(near)),
        misses=misses,
    )


def has_conversation_data(eval_set: EvalSet) -> bool:
    return bool(eval_set.conversations or eval_set.client_questions or eval_set.near_domain)


def format_conversation_report(rows: list[tuple[str, ConversationMetrics]]) -> str:
    """A plain table: chats, first turns, follow-ups (and how many were declined), single
    client questions and near-domain declines."""
    header = (
        f"{'set':<36} {'chats':>5} {'first':>5} {'right':>6} {'follow':>6} {'right':>6} "
        f"{'declined':>8} {'refer':>5} {'right':>6} {'client':>6} {'right':>6} "
        f"{'near':>4} {'declined':>8}"
    )
    lines = [header, "-" * len(header)]
    for name, m in rows:
        lines.append(
            f"{name[-36:]:<36} {m.conversations:>5} {m.first_turns:>5} "
            f"{m.first_turns_right:>6.3f} {m.follow_ups:>6} {m.follow_ups_right:>6.3f} "
            f"{m.follow_ups_declined:>8} {m.refer_turns:>5} {m.refer_right:>6.3f} "
            f"{m.client_questions:>6} {m.client_questions_right:>6.3f} {m.near_domain:>4} "
            f"{m.near_domain_declined:>8.3f}"
        )
    return "\n".join(lines)


def dump_conversation_json(rows: list[tuple[str, ConversationMetrics]]) -> dict[str, object]:
    return {name: m.model_dump() for name, m in rows}


def as_json(retrieval: str, rows: list[tuple[str, ConversationMetrics]]) -> str:
    """The retrieval metrics JSON with the conversation figures under ``"conversations"``."""
    payload = json.loads(retrieval)
    payload["conversations"] = dump_conversation_json(rows)
    return json.dumps(payload, indent=2)
