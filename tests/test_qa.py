"""Answers from the guide: focused, sourced, declined when off-topic, referred when unsafe,
with quality floors on the eval sets so retrieval cannot regress unnoticed."""

from __future__ import annotations

import pytest

from bot.qa.question import InvalidQuestion
from bot.qa.service import QAService
from knowledge.guide import load_guide, normalize
from tests.conftest import OWN_EVAL, SHARED_EVAL
from tooling.evaluation import evaluate, load_eval_set

# Floors sit a little under what `calfcoach eval` measures (see README); raise them as
# retrieval improves, never lower them to make a change pass.
FLOORS = {
    "hit_at_1": 0.90,
    "hit_at_3": 0.97,
    "mrr": 0.90,
    "out_of_scope_rejection": 0.95,
    "red_flag_recall": 1.0,
}
CEILINGS = {"in_scope_false_rejection": 0.03, "red_flag_false_alarms": 0.0}


@pytest.fixture(scope="module")
def metrics(qa: QAService):
    sets = [load_eval_set(OWN_EVAL)]
    if SHARED_EVAL.is_dir():
        sets.append(load_eval_set(SHARED_EVAL))
    return evaluate(qa, sets)


@pytest.mark.parametrize("name", FLOORS)
def test_quality_floor(metrics, name: str) -> None:
    assert getattr(metrics, name) >= FLOORS[name], "\n".join(metrics.misses)


@pytest.mark.parametrize("name", CEILINGS)
def test_quality_ceiling(metrics, name: str) -> None:
    assert getattr(metrics, name) <= CEILINGS[name], "\n".join(metrics.misses)


def test_answer_is_short_sourced_and_quoted_from_the_guide(qa: QAService) -> None:
    answer = qa.answer("why are my calves weak?")
    assert answer.in_scope and not answer.red_flag
    assert len(answer.answer) <= 700
    assert answer.sources and load_guide().has_section(answer.sources[0].section)
    assert "Section:" in answer.answer
    guide = load_guide()
    # Every line is the guide's own text, except an answer card's plain first line, which
    # the card check traced to guide quotes at load (knowledge/cards.py).
    first_lines = {card.first_line for card in qa.knowledge.answer_cards}
    for sentence in answer.body.replace("•", "\n").splitlines():
        if sentence.strip() and sentence.strip() not in first_lines:
            assert guide.contains(sentence.strip().rstrip(":")), sentence
    assert answer.body.splitlines()[0] in first_lines  # it says what to do first
    assert len(answer.passages) == 3
    assert normalize("soleus") in normalize(answer.answer)


def test_faq_question_gets_the_composed_faq_answer(qa: QAService) -> None:
    answer = qa.answer("What rep range is best for calf training?")
    assert answer.kind == "faq"
    assert "15 to 25" in answer.answer and "8 to 15" in answer.answer
    assert len(answer.sources) == 3


@pytest.mark.parametrize(
    "question", ["how do I get bigger biceps?", "what's the capital of France?"]
)
def test_off_topic_is_declined_with_examples(qa: QAService, question: str) -> None:
    answer = qa.answer(question)
    assert not answer.in_scope
    assert "I only know the calf and ankle guide" in answer.answer
    assert "Why are my calves weak?" in answer.answer
    assert answer.sources == []


def test_red_flag_is_triaged_before_retrieval(qa: QAService) -> None:
    answer = qa.answer("I heard a snap in my achilles and can't stand on my toes")
    assert answer.red_flag and answer.passages == [] and answer.sources == []
    assert "urgent care" in answer.answer


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 1001, "under 1000"),
        ("a\x00b", "binary"),
        (b"\xff\xfe", "UTF-8"),
        ("?!", "no words"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(qa: QAService, text, message: str) -> None:
    with pytest.raises(InvalidQuestion, match=message):
        qa.answer_many([text])


def test_batch_answers_keep_order(qa: QAService) -> None:
    questions = ["what is dorsiflexion", "sing me a song", "my foot is numb"]
    answers = qa.answer_many(questions)
    assert [a.question for a in answers] == questions
    assert [a.kind for a in answers] == ["answer", "out_of_scope", "red_flag"]


@pytest.mark.parametrize(
    ("question", "part"),
    [
        ("what happens if my peroneals are weak?", "Consequences"),
        ("how can I tell if my tibialis posterior is weak?", "How to identify it"),
        ("how do I fix gastrocnemius dominance?", "Correction"),
    ],
)
def test_question_intent_picks_the_matching_part(qa: QAService, question: str, part: str) -> None:
    answer = qa.answer(question)
    assert answer.sources[0].section.endswith(part), answer.sources[0].section
