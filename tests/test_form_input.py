"""Issue 15: the self-test takes answers as people type them, through the real engine."""

from __future__ import annotations

import pytest

from bot.engine import ConversationState, Engine, Incoming, Reply
from bot.qa.service import QAService


class Chat:
    """A scripted user talking to the engine, keeping the state between messages."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.state = ConversationState.new("typist")

    def say(self, text: str = "", payload: str | None = None) -> list[Reply]:
        step = self.engine.handle(self.state, Incoming("test", "typist", text, payload))
        self.state = step.state
        return step.replies

    def answers(self) -> dict[str, object]:
        assert self.state.assessment is not None
        return self.state.assessment.answers


@pytest.fixture(scope="module")
def engine(qa: QAService) -> Engine:
    return Engine(qa, charts=False)


def started(engine: Engine, *answers: str) -> Chat:
    chat = Chat(engine)
    chat.say("/assess")
    for answer in answers:
        chat.say(answer)
    return chat


def test_numbers_in_words_are_numbers(engine: Engine) -> None:
    chat = started(engine, "no")
    assert chat.say("twenty")[-1].text.startswith("Step 3 of")
    assert chat.answers()["straight_left"] == 20
    chat.say("twenty-two")
    assert chat.answers()["straight_right"] == 22


def test_both_legs_at_the_right_leg_step_are_taken_and_a_change_is_named(engine: Engine) -> None:
    chat = started(engine, "no", "14")
    replies = chat.say("15 left 12 right")
    assert "left 15 (was 14), right 12" in replies[0].text
    assert replies[-1].text.startswith("Step 4 of")  # moved on to the bent knee
    assert chat.answers()["straight_left"] == 15 and chat.answers()["straight_right"] == 12
    assert chat.say("/back")[-1].text.startswith("Step 2 of")  # one answer, undone whole
    assert "straight_left" not in chat.answers()


def test_both_legs_at_the_left_leg_step_skip_the_right_one(engine: Engine) -> None:
    chat = started(engine, "no")
    replies = chat.say("L15 R12")
    assert replies[-1].text.startswith("Step 4 of")
    assert chat.answers()["straight_right"] == 12


def test_about_half_a_minute_is_30_seconds(engine: Engine) -> None:
    chat = started(engine, "no", "20", "20", "20", "20")
    chat.say("about half a minute")
    chat.say("a minute and a half")
    assert chat.answers()["balance_left"] == 30 and chat.answers()["balance_right"] == 90


def test_not_sure_at_the_heel_step_says_what_follows(engine: Engine) -> None:
    chat = started(engine, "no", "30", "30", "30", "30")
    heel = chat.say("skip")[-1]
    assert "not sure" in heel.text.lower()
    assert "a:heel:unsure" in [b.payload for row in heel.buttons for b in row]
    replies = chat.say(payload="a:heel:unsure")
    assert "can't judge tibialis posterior" in replies[0].text
    assert replies[-1].text.startswith("Step 9 of")
    chat.say("none")
    assert chat.state.last_input is not None and chat.state.last_input.heel_valgus is None
    assert chat.state.last_result is not None
    assert any("Heel alignment wasn't judged" in n for n in chat.state.last_result.notes)


def test_history_typed_numbers_tick_items_and_done_finishes(engine: Engine) -> None:
    chat = started(engine, "no", "30", "30", "30", "30", "skip", "neither")
    ticked = chat.say("5")
    assert chat.state.assessment is not None  # not finished at once
    assert "Selected: shin splints" in ticked[-1].text
    assert any(b.label.startswith("✓ Shin") for row in ticked[-1].buttons for b in row)
    findings = chat.say("done")
    assert chat.state.assessment is None and findings[0].kind == "findings"
    assert chat.state.last_input is not None and chat.state.last_input.history == ("shin_splints",)
    again = chat.say("done")  # a second "done" is not declined as off-topic
    assert "finished" in again[0].text and again[0].kind != "out_of_scope"
    at_once = started(engine, "no", "30", "30", "30", "30", "skip", "neither", "1 3 done")
    assert at_once.state.last_input is not None
    assert at_once.state.last_input.history == ("ankle_sprain", "plantar_fasciitis")


def test_findings_then_the_week_with_its_reasons_one_tap_away(engine: Engine) -> None:
    chat = started(engine, "no", "22", "20", "9", "15", "12", "30", "left")
    replies = chat.say("1 3 done")
    kinds = [r.kind for r in replies]
    assert kinds.index("findings") < kinds.index("program")
    plan = replies[kinds.index("program")]
    assert "Day A" in plan.text and "Why:" not in plan.text
    payloads = [b.payload for row in plan.buttons for b in row]
    assert "why:program" in payloads
    reasons = chat.say(payload="why:program")[0]
    result = chat.state.last_result
    assert result is not None and result.program is not None
    for exercise in result.program.exercises:
        assert exercise.why in reasons.text
    assert chat.say("/program")[0].text == plan.text


def test_a_question_naming_a_history_item_is_answered_not_ticked(engine: Engine) -> None:
    chat = started(engine, "no", "30", "30", "30", "30", "skip", "neither")
    replies = chat.say("what is plantar fasciitis?")
    assert replies[0].sections  # answered from the guide
    assert replies[-1].text.startswith("Step 9 of")
    assert chat.state.assessment is not None and chat.state.assessment.history_draft == []
