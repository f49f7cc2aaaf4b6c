"""The self-test dialog through the real engine: every path a user can take."""

from __future__ import annotations

import numpy as np
import pytest

from bot.engine import ConversationState, Engine, Incoming, Reply
from bot.engine.form import build_steps
from bot.qa.service import QAService
from knowledge.facts import load_facts

STEPS = len(build_steps())  # "Step N of STEPS": the form's own length, not a literal


class Chat:
    """A scripted user talking to the engine, keeping the state between messages."""

    def __init__(self, engine: Engine, user: str = "u1") -> None:
        self.engine, self.user = engine, user
        self.state = ConversationState.new(user)

    def say(self, text: str = "", payload: str | None = None) -> list[Reply]:
        step = self.engine.handle(self.state, Incoming("test", self.user, text, payload))
        self.state = step.state
        return step.replies

    def last(self, text: str = "", payload: str | None = None) -> str:
        return self.say(text, payload)[-1].text


@pytest.fixture(scope="module")
def engine(qa: QAService) -> Engine:
    return Engine(qa)


def answer_all(chat: Chat, answers: list[str]) -> list[Reply]:
    replies: list[Reply] = []
    for answer in answers:
        replies = chat.say(answer)
    return replies


FULL = ["no", "22", "20", "9", "15", "12", "30", "left", "1 3", "done"]


def test_full_assessment_typed(engine: Engine) -> None:
    chat = Chat(engine)
    first = chat.say("/assess")
    assert f"Step 1 of {STEPS}" in first[-1].text and "safety check" in first[-1].text
    replies = answer_all(chat, FULL)
    findings, chart, program, offer = replies
    assert offer.kind == "reminder_offer" and "remind:8" in [b.payload for b in offer.buttons[0]]
    assert findings.kind == "findings" and program.kind == "program"
    assert chart.kind == "chart" and chart.image and chart.image.startswith(b"\x89PNG")
    assert "left: 9 bent-knee vs 22 straight-knee reps" in findings.text
    assert "balance: left 12 s vs right 30 s" in findings.text
    assert "Imbalance 4: Tibialis Posterior" in findings.text
    assert "calf stretch, knee bent" in program.text.lower()
    assert chat.state.assessment is None
    assert chat.state.last_result is not None and chat.state.last_result.program is not None
    assert chat.last("/program") == program.text


def test_progress_hint_and_how_to(engine: Engine) -> None:
    chat = Chat(engine)
    chat.say("/assess")
    prompt = chat.last("no")
    assert prompt.startswith(f"Step 2 of {STEPS}. Single-leg calf raise, straight knee. How to:")
    assert f"Step 3 of {STEPS}" in chat.last("18")


def test_buttons_drive_choices_and_history_multiselect(engine: Engine) -> None:
    chat = Chat(engine)
    chat.say("/start assess")  # the deep link
    chat.say(payload="a:safety:no")
    for n in ["25", "25", "25", "25"]:
        chat.say(n)

    assert f"Step 8 of {STEPS}" in chat.last(payload="a:balance:skip")
    assert f"Step 9 of {STEPS}" in chat.last(payload="a:heel:neither")
    assert "ankle sprain" in chat.last(payload="a:hist:ankle_sprain")
    chat.say(payload="a:hist:achilles_pain")
    chat.say(payload="a:hist:ankle_sprain")  # untick
    findings, _chart, program, _offer = chat.say(payload="a:hist:done")
    assert "ankle sprains" not in findings.text  # unticked, and balance was skipped
    assert "Eccentric calf raise" in program.text and "physiotherapist" in program.text


def test_wrong_answers_are_reasked_without_losing_anything(engine: Engine) -> None:
    chat = Chat(engine)
    chat.say("/assess")
    chat.say("no")
    chat.say("20")
    for bad, message in [
        ("abc", "didn't find a number"),
        ("-4", "outside 0-200"),
        ("12.5", "isn't a whole number"),
        ("500", "outside 0-200"),
        ("10 12", "one number"),
        ("I did 250 reps today", "outside 0-200"),
    ]:
        reply = chat.say(bad)
        assert message in reply[0].text, bad
        assert reply[-1].text.startswith(f"Step 3 of {STEPS}")
    assert chat.state.assessment is not None
    assert chat.state.assessment.answers["straight_left"] == 20


def test_back_restart_cancel(engine: Engine) -> None:
    chat = Chat(engine)
    chat.say("/assess")
    answer_all(chat, ["no", "20", "18"])
    assert chat.last("/back").startswith(f"Step 3 of {STEPS}")
    assert chat.state.assessment is not None
    assert chat.state.assessment.answers == {"red_flags": [], "straight_left": 20}
    assert chat.last("/back").startswith(f"Step 2 of {STEPS}")
    assert chat.last("/back").startswith(f"Step 1 of {STEPS}")
    assert "first question already" in chat.say("/back")[0].text
    chat.say("/restart")
    assert chat.state.assessment is not None and chat.state.assessment.answers == {}
    assert "cancelled" in chat.last("/cancel")
    assert chat.state.assessment is None
    assert "no self-test running" in chat.last("/cancel")


def test_back_over_a_skipped_balance_clears_both_sides(engine: Engine) -> None:
    chat = Chat(engine)
    chat.say("/assess")
    answer_all(chat, ["no", "20", "20", "20", "20", "skip"])
    assert chat.state.assessment is not None
    assert chat.state.assessment.answers["balance_right"] is None
    assert f"Step 6 of {STEPS}" in chat.last("/back")
    assert "balance_right" not in chat.state.assessment.answers


def test_question_mid_test_is_answered_then_the_step_is_asked_again(engine: Engine) -> None:
    chat = Chat(engine)
    chat.say("/assess")
    answer_all(chat, ["no", "20"])
    replies = chat.say("why does the knee angle matter for the soleus?")
    assert replies[0].sections  # an answer from the guide, with its section
    assert replies[-1].text.startswith(f"Step 3 of {STEPS}")
    assert chat.state.assessment is not None
    assert chat.state.assessment.answers["straight_left"] == 20
    assert f"Step 4 of {STEPS}" in chat.last("19")


def test_half_done_test_resumes_later(engine: Engine) -> None:
    chat = Chat(engine)
    chat.say("/assess")
    answer_all(chat, ["no", "20", "19"])
    saved = chat.state.model_dump_json()  # what a store keeps between sessions
    later = Chat(engine)
    later.state = ConversationState.model_validate_json(saved)
    replies = later.say("/assess")
    assert "where you left off" in replies[0].text
    assert replies[-1].text.startswith(f"Step 4 of {STEPS}")


def test_safety_screen_yes_ends_with_a_referral_and_no_program(engine: Engine) -> None:
    chat = Chat(engine)
    chat.say("/assess")
    assert "Which one?" in chat.say("yes")[0].text
    number = next(f.checklist for f in load_facts().red_flags if f.id == "suspected_dvt")
    replies = chat.say(str(number))
    assert replies[-1].kind == "red_flag"
    assert "blood clot" in replies[-1].text and "Your weekly program" not in replies[-1].text
    assert chat.state.assessment is None
    assert chat.state.last_result is not None and chat.state.last_result.referral
    assert "don't have a program" in chat.last("/program")


def test_red_flag_typed_mid_test_stops_it(engine: Engine) -> None:
    chat = Chat(engine)
    chat.say("/assess")
    answer_all(chat, ["no", "20"])
    replies = chat.say("14, but I felt a pop in my calf on the last one")
    assert replies[0].kind == "red_flag" and "urgent care" in replies[0].text
    assert chat.state.assessment is None
    # the referral stays in force after the test stopped
    after = chat.say("can I do eccentric raises to fix it?")
    assert after[0].kind == "red_flag" and "reps" not in after[0].text


def test_a_referral_stays_in_force_until_cleared(engine: Engine) -> None:
    chat = Chat(engine)
    first = chat.say("felt a pop in my calf at squash, can't go up on my toes")
    assert first[0].kind == "red_flag" and first[0].text.startswith("SEE A CLINICIAN TODAY")
    follow_up = chat.say("can I just do the eccentric raises to fix it?")
    assert follow_up[0].kind == "red_flag"
    assert follow_up[0].text.startswith("Not until a clinician has checked it")
    assert "3 to 4 sets" not in follow_up[0].text and "15 reps" not in follow_up[0].text
    cleared = chat.say("the physio checked it and said it's just a mild strain, all clear")
    assert (cleared[0].kind != "red_flag" and chat.state.referral is None) or not (
        chat.state.referral.flags
    )
    assert chat.say("what does the soleus do?")[0].kind != "red_flag"


def test_news_of_a_clearance_gets_the_acknowledgement_alone(engine: Engine) -> None:
    """It asks nothing, so no "I only know the calf and ankle guide" after the good news;
    a question told with it is answered."""
    chat = Chat(engine)
    chat.say("felt a pop in my calf and cant push off")
    replies = chat.say("it was checked by a doctor and cleared, just a strain")
    assert len(replies) == 1 and "Good to hear" in replies[0].text
    again = Chat(engine)
    again.say("felt a pop in my calf and cant push off")
    replies = again.say("the doctor cleared it, what does the soleus do?")
    assert len(replies) == 2 and "soleus" in replies[1].text.lower()


@pytest.mark.parametrize(
    "follow_up",
    [
        "can i at least do the seated ones gently?",
        "how many reps would help get the blood moving tho",
        "what about just the band work then",
    ],
)
def test_asking_about_a_workout_in_other_words_keeps_the_referral(
    engine: Engine, follow_up: str
) -> None:
    """ "The seated ones", "reps", "the band work" are training the injury, not a new
    subject: the referral stays until a clinician has checked it."""
    chat = Chat(engine)
    assert chat.say("felt a pop in my calf at squash, can't go up on my toes")[0].kind == (
        "red_flag"
    )
    reply = chat.say(follow_up)
    assert reply[0].kind == "red_flag", follow_up
    assert reply[0].text.startswith("Not until a clinician has checked it")
    assert chat.state.referral is not None and chat.state.referral.flags


def test_a_clear_change_of_subject_ends_the_referral(engine: Engine) -> None:
    chat = Chat(engine)
    assert chat.say("I think I broke my foot jumping off a wall")[0].kind == "red_flag"
    assert chat.say("can I still train calves on it?")[0].kind == "red_flag"
    assert chat.say("what does the soleus do?")[0].kind != "red_flag"
    assert chat.state.referral is None or not chat.state.referral.flags
    assert chat.say("I think I broke my foot jumping off a wall")[0].kind == "red_flag"
    chat.say("/restart")
    assert chat.state.referral is None


def test_details_across_two_messages_combine(engine: Engine) -> None:
    chat = Chat(engine)
    assert chat.say("my calf is swollen and warm")[0].kind == "red_flag"  # rules alone
    chat = Chat(engine)
    first = chat.say("my left calf is sore")
    assert first[0].kind != "red_flag"
    second = chat.say("I flew back from Sydney yesterday")
    assert second[0].kind == "red_flag" and "DVT" in second[0].text


def test_two_messages_combine_without_a_second_encode(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Combining costs rules, not another encoder pass over the joined text."""
    encoded: list[list[str]] = []
    real = engine.qa.retriever.encode

    def counting(texts: list[str]) -> np.ndarray:
        encoded.append(list(texts))
        return real(texts)

    monkeypatch.setattr(engine.qa.retriever, "encode", counting)
    chat = Chat(engine)
    assert chat.say("my left calf is sore")[0].kind != "red_flag"
    encoded.clear()
    second = chat.say("I flew back from Sydney yesterday")
    assert second[0].kind == "red_flag" and "DVT" in second[0].text
    # At most the message itself is encoded (its vector may be remembered from an
    # earlier test); never the two messages joined for triage.
    assert all(texts == ["I flew back from Sydney yesterday"] for texts in encoded), encoded
    assert len(encoded) <= 1


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("sore calves", "I fly next week"),
        ("my left calf is sore", "I'm flying to Spain next week"),
        ("my calf aches a bit after football", "going to have knee surgery next month, any tips?"),
    ],
)
def test_a_risk_still_to_come_does_not_combine_into_a_clot(
    engine: Engine, first: str, second: str
) -> None:
    chat = Chat(engine)
    assert chat.say(first)[0].kind != "red_flag"
    assert chat.say(second)[0].kind != "red_flag"


def test_one_sore_calf_alone_is_not_a_clot(engine: Engine) -> None:
    chat = Chat(engine)
    assert chat.say("my left calf has been sore since the weekend")[0].kind != "red_flag"


def test_two_users_do_not_share_state(engine: Engine) -> None:
    alice, bob = Chat(engine, "alice"), Chat(engine, "bob")
    alice.say("/assess")
    bob.say("/assess")
    alice.say("no")
    alice.say("30")
    bob.say("no")
    assert alice.state.assessment is not None and bob.state.assessment is not None
    assert alice.state.assessment.answers.get("straight_left") == 30
    assert "straight_left" not in bob.state.assessment.answers
