"""Answer cards trace to the guide: quotes are guide text, and the first line says nothing
(no number, no technical term) that its quotes do not hold."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from knowledge.cards import card_problems, numbers, terms, untraced
from knowledge.facts import DATA_DIR, KnowledgeError, check_against_guide, load_facts
from knowledge.guide import load_guide
from knowledge.models import AnswerCard

INTENTS = {"do", "number", "why", "test", "consequences", "what"}


def _card(**changes: object) -> AnswerCard:
    base = load_facts().answer_card("eversion_dose")
    assert base is not None
    return base.model_copy(update=changes)


def test_cards_load_cover_every_intent_and_trace_to_the_guide() -> None:
    knowledge = load_facts()
    assert check_against_guide(knowledge, load_guide()) == []
    assert len(knowledge.answer_cards) >= 40
    assert {card.intent for card in knowledge.answer_cards} == INTENTS
    topics = {t for card in knowledge.answer_cards for t in card.topics}
    assert {"achilles_tendinopathy", "plantar_fasciitis", "shin_splints", "fall_risk"} <= topics
    for card in knowledge.answer_cards:
        assert 5 <= len(card.asks) <= 12
        assert card.answer.startswith(card.first_line)


def test_numbers_and_terms_are_read_as_a_client_would() -> None:
    assert numbers("a three-second eccentric, twice or three-times-weekly") == {3.0, 2.0}
    assert numbers("10-15% or more, 15.2% greater") == {10.0, 15.0, 15.2}
    assert terms("band eversions for your peroneals") == {"band", "eversion", "peroneal"}
    assert untraced("Do 3 sets of 15.", ["3 sets of 15 to 20 reps."]) == []


def test_an_invented_number_in_a_first_line_is_caught() -> None:
    guide, knowledge = load_guide(), load_facts()
    card = _card(first_line="Do 4 sets of 12 band eversions.")
    problems = card_problems(card, guide, knowledge.topic_ids)
    assert "answer_cards eversion_dose: first line: number 4 is not in its quotes" in problems
    assert any("number 12 is not in its quotes" in p for p in problems)
    words = _card(first_line="Do three sets of fifteen band eversions, five times a day.")
    assert any("number 5 is not" in p for p in card_problems(words, guide, knowledge.topic_ids))


def test_an_invented_term_coach_voice_quote_section_or_topic_is_caught() -> None:
    guide, topic_ids = load_guide(), load_facts().topic_ids
    cases = {
        "term 'orthotic'": _card(first_line="Wear an orthotic while doing band eversions."),
        "speaks about a client": _card(first_line="Ask the client to do 3 sets of 15 to 20."),
        "not in the guide": _card(quotes=("Do 3 sets of 15 to 20 eversions daily.",)),
        "unknown section": _card(sections=("Peroneal Magic",)),
        "has no text of its own": _card(
            sections=(
                "Best Exercises for Plantar Flexor Training and Imbalance Correction"
                " > Peroneal Strengthening (Lateral Ankle Stability)",
            )
        ),
        "unknown topic 'hamstring'": _card(topics=("hamstring",)),
    }
    for expected, card in cases.items():
        assert any(expected in p for p in card_problems(card, guide, topic_ids)), expected


def test_the_loader_refuses_a_card_with_an_invented_number(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    cards = yaml.safe_load((data / "answer_cards.yaml").read_text("utf-8"))
    cards[0]["first_line"] = cards[0]["first_line"].rstrip(".") + ", 5 days a week."
    (data / "answer_cards.yaml").write_text(yaml.safe_dump(cards), "utf-8")
    with pytest.raises(KnowledgeError, match="number 5 is not in its quotes"):
        load_facts(data)
