"""The knowledge data is valid, traces to the guide, and a drifting fact is caught."""

from __future__ import annotations

import pytest

from knowledge.facts import check_against_guide, load_facts
from knowledge.guide import SOURCE_PATH, load_guide
from knowledge.models import Exercise, Knowledge, Subject

ISSUE_EXERCISE_IDS = {
    "standing_calf_raise",
    "seated_calf_raise",
    "single_leg_calf_raise_straight",
    "single_leg_calf_raise_bent",
    "band_eversion",
    "standing_band_eversion",
    "single_leg_balance",
    "band_inversion",
    "single_leg_heel_raise_inversion_bias",
    "eccentric_calf_raise",
    "calf_stretch_straight_knee",
    "calf_stretch_bent_knee",
    "toe_gripping",
}


def test_knowledge_loads_and_traces_to_the_guide() -> None:
    knowledge = load_facts()
    assert check_against_guide(knowledge, load_guide()) == []
    assert len(knowledge.muscles) == 8
    assert {i.id for i in knowledge.imbalances} == {
        "gastrocnemius_dominance",
        "bilateral_asymmetry",
        "peroneal_weakness",
        "tibialis_posterior_weakness",
        "overall_weakness",
    }
    assert {e.id for e in knowledge.exercises} == ISSUE_EXERCISE_IDS
    assert {t.id for t in knowledge.self_tests} >= {"straight_knee_reps", "bent_knee_reps"}


def test_an_invented_quote_or_section_is_reported() -> None:
    knowledge = load_facts()
    fake = Exercise(
        id="fake",
        name="Fake",
        targets=("soleus",),
        section="No Such Section",
        quotes=("Calves grow best with 100 reps daily.",),
    )
    broken = knowledge.model_copy(update={"exercises": (*knowledge.exercises, fake)})
    problems = check_against_guide(broken, load_guide())
    assert any("unknown section 'No Such Section'" in p for p in problems)
    assert any("100 reps daily" in p for p in problems)


def test_schema_rejects_bad_ranges_and_unknown_muscles() -> None:
    with pytest.raises(ValueError, match="low <= high"):
        Exercise(id="x", name="X", targets=("soleus",), section="S", quotes=("q",), reps=(25, 15))
    knowledge = load_facts()
    stray = Exercise(id="x", name="X", targets=("biceps",), section="S", quotes=("q",))
    data = knowledge.model_dump()
    data["exercises"] = [*data["exercises"], stray.model_dump()]
    with pytest.raises(ValueError, match="unknown target muscles"):
        Knowledge.model_validate(data)


def test_faq_answers_the_four_unanswered_guide_questions_from_guide_sentences() -> None:
    knowledge, guide = load_facts(), load_guide()
    source = SOURCE_PATH.read_text("utf-8")
    assert len(knowledge.faq) == 4
    for entry in knowledge.faq:
        assert entry.question in source  # the guide's own FAQ question
        assert all(guide.contains(q) for q in entry.quotes)
        assert all(guide.has_section(s) for s in entry.sections)
        assert len(entry.answer) <= 700


def test_a_subject_must_point_at_a_guide_part() -> None:
    knowledge = load_facts()
    assert knowledge.subjects, "follow-ups need the subjects a message can name"
    stray = Subject(id="stray", words=r"\bmagic\b", part="Calf Magic")
    broken = knowledge.model_copy(update={"subjects": (*knowledge.subjects, stray)})
    problems = check_against_guide(broken, load_guide())
    assert problems == ["subjects.stray: unknown section 'Calf Magic'"]
