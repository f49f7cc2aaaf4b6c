"""The project's eval sets are well formed and their phrases are the guide's words.

An ``any`` phrase that is not in the guide can never be matched by an answer quoted from
the guide, so it would silently make a turn unwinnable; this catches it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.guide import Guide, load_guide
from tests.conftest import OWN_EVAL
from tooling.evaluation import EvalConversation, EvalItem, EvalSet, EvalTurn, load_eval_set


def phrases_not_in_guide(eval_set: EvalSet, guide: Guide) -> list[str]:
    """Every ``any`` phrase of the chats and client questions that the guide lacks."""
    problems = []
    for chat in eval_set.conversations:
        for turn in chat.turns:
            problems += [f"{chat.id}: {p!r}" for p in turn.any or [] if not guide.contains(p)]
    for item in eval_set.client_questions:
        problems += [f"{item.q!r}: {p!r}" for p in item.any or [] if not guide.contains(p)]
    return problems


@pytest.fixture(scope="module")
def own() -> EvalSet:
    return load_eval_set(OWN_EVAL)


def test_sizes_and_shapes(own: EvalSet) -> None:
    assert len(own.conversations) >= 60
    assert all(2 <= len(chat.turns) <= 5 for chat in own.conversations)
    ids = [chat.id for chat in own.conversations]
    assert len(ids) == len(set(ids)), "conversation ids must be unique"
    assert sum(t.refer for chat in own.conversations for t in chat.turns) >= 5
    assert len(own.client_questions) >= 80
    assert all(item.any for item in own.client_questions)
    assert len(own.near_domain) >= 40
    assert all(item.any is None and item.all is None for item in own.near_domain)


def test_every_phrase_is_guide_text(own: EvalSet) -> None:
    assert phrases_not_in_guide(own, load_guide()) == []


def test_an_invented_phrase_is_caught() -> None:
    invented = EvalSet(
        name="invented",
        conversations=[
            EvalConversation(
                id="x",
                turns=[
                    EvalTurn(q="how many sets?", any=["5 sets of 12"]),
                    EvalTurn(q="ok", refer=True),
                ],
            )
        ],
        client_questions=[EvalItem(q="protein?", any=["1.6 g of protein per kg"])],
    )
    assert len(phrases_not_in_guide(invented, load_guide())) == 2


def test_a_turn_is_either_scored_by_phrases_or_a_referral(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        EvalTurn(q="and the soleus?")
    with pytest.raises(ValueError):
        EvalTurn(q="and the soleus?", any=["soleus"], refer=True)
    (tmp_path / "conversations.jsonl").write_text('{"id": "a", "turns": [{"q": "hi"}]}\n')
    with pytest.raises(ValueError, match=r"conversations\.jsonl:1"):
        load_eval_set(tmp_path)
