"""A real conversation: follow-ups read with the topic of the last turn, through the
composed application (store, engine, QA) as a channel drives it."""

from __future__ import annotations

import pytest

from bot.bootstrap import App
from bot.engine import Incoming, Reply
from bot.storage.memory import MemoryStore


class Talk:
    """One user talking to the whole application, turn after turn."""

    def __init__(self, app: App, user: str = "u1") -> None:
        self.app, self.user = app, user

    async def say(self, text: str) -> list[Reply]:
        return await self.app.conversations.handle(Incoming("test", self.user, text))

    async def answer(self, text: str) -> Reply:
        replies = await self.say(text)
        return next(r for r in replies if r.answer is not None)


@pytest.fixture
def talk(make_app) -> Talk:
    return Talk(make_app(MemoryStore(), charts=False))


async def test_follow_ups_are_read_with_the_topic(talk: Talk) -> None:
    first = await talk.answer("my calves are weak, why?")
    assert first.kind != "out_of_scope"
    soleus = await talk.answer("what about the soleus then")
    assert soleus.kind != "out_of_scope" and "soleus" in soleus.text.lower()
    sets = await talk.answer("how many sets of that?")
    assert sets.kind != "out_of_scope"
    assert "15 to 25" in sets.text or "sets" in sets.text.lower(), sets.text
    why = await talk.answer("why?")
    assert why.kind != "out_of_scope"


async def test_a_bare_follow_up_is_not_declined(talk: Talk) -> None:
    await talk.answer("what's the eccentric protocol for achilles problems?")
    sets = await talk.answer("how many sets?")
    assert sets.kind != "out_of_scope"
    assert "3 to 4 sets of 15" in sets.text, sets.text
    legs = await talk.answer("both legs or one?")
    assert legs.kind != "out_of_scope"


async def test_an_unrelated_message_is_not_rescued_by_the_topic(talk: Talk) -> None:
    await talk.answer("why do most people have weak soleus muscles?")
    unrelated = await talk.answer("what's the capital of France?")
    assert unrelated.kind == "out_of_scope"


async def test_the_topic_survives_a_restart(make_app) -> None:
    store = MemoryStore()
    await Talk(make_app(store, charts=False)).answer(
        "what's the eccentric protocol for achilles problems?"
    )
    restarted = Talk(make_app(store, charts=False))  # a new process on the same store
    sets = await restarted.answer("how many sets?")
    assert "3 to 4 sets of 15" in sets.text, sets.text


async def test_near_domain_subjects_are_declined_by_name(talk: Talk) -> None:
    shoes = await talk.answer("best running shoes for achilles problems")
    assert shoes.kind == "out_of_scope" and "shoes" in shoes.text
    protein = await talk.answer("how much protein should i eat to grow my calves")
    assert protein.kind == "out_of_scope" and "diet" in protein.text
    genetics = await talk.answer("are calf genetics a thing? can you fix high calf insertions")
    assert genetics.kind == "out_of_scope" and "genetics" in genetics.text
    mixed = await talk.answer("how do i fix a weak tibialis posterior, do i need orthotics")
    assert mixed.kind != "out_of_scope"  # the in-scope half is answered
    # A clause that only tells is context for the off-topic question beside it.
    cramps = await talk.answer(
        "i get calf cramps at night that wake me up, should i take magnesium"
    )
    assert cramps.kind == "out_of_scope" and "supplements" in cramps.text
    knee = await talk.answer("IT band pain on the outside of my knee on long runs, what helps")
    assert knee.kind == "out_of_scope"  # not a referral: a pain that comes on runs
    brand = await talk.answer("brooks adrenaline or asics kayano for flat feet, which is better")
    assert brand.kind == "out_of_scope" and "shoes" in brand.text
    knees = await talk.answer("seated calf raise: what angle should my knees be at?")
    assert knees.kind != "out_of_scope"  # the exercise's knee angle, not a knee question


async def test_insoles_are_declined_alone_but_not_in_a_follow_up(talk: Talk) -> None:
    """The guide mentions orthotic support only inside the tibialis posterior fix."""
    await talk.answer("how do i fix a weak tibialis posterior?")
    insoles = await talk.answer("and should I get insoles?")
    assert insoles.kind != "out_of_scope"
    fresh = Talk(talk.app, user="u2")
    alone = await fresh.answer("what insoles should i buy for flat feet")
    assert alone.kind == "out_of_scope"


@pytest.mark.parametrize(
    "text", ["thank you dear", "ok cool", "thanks so much!", "hi there", "got it, thanks", "bye"]
)
async def test_small_talk_gets_a_short_friendly_reply(talk: Talk, text: str) -> None:
    (reply,) = await talk.say(text)
    assert reply.kind == "text" and "only know" not in reply.text, reply.text
    assert len(reply.text) < 400 or text == "hi there"  # the greeting is the menu


async def test_inside_the_test_questions_about_the_step_get_its_how_to(talk: Talk) -> None:
    await talk.say("/assess")
    await talk.say("no")
    help_, prompt = await talk.say("what does straight knee mean?")
    assert help_.kind == "step_help" and "How to" in help_.text
    assert prompt.kind == "prompt" and "LEFT leg, knee straight" in prompt.text
    await talk.say("20")
    help_, prompt = await talk.say("do I sit down for this one?")  # "one" is not a count
    assert help_.kind == "step_help" and "RIGHT leg" in prompt.text
    thanks, prompt = await talk.say("thanks")
    assert "welcome" in thanks.text.lower() and prompt.kind == "prompt"
    assert not any(
        b.label == "Start the self-test" for r in (thanks, prompt) for row in r.buttons for b in row
    )


async def test_a_referral_stays_in_force_until_the_subject_clearly_changes(talk: Talk) -> None:
    first = await talk.answer(
        "playing tennis, sudden pain in my calf, felt like a ball from the next court hit me"
    )
    assert first.kind == "red_flag"
    for follow_up in ("can i at least do the seated ones gently?", "how long till i can run"):
        reply = await talk.answer(follow_up)
        assert reply.kind == "red_flag" and "Not until a clinician" in reply.text, follow_up
    new = await talk.answer("unrelated question: how many sets a week for calves?")
    assert new.kind != "red_flag"


async def test_a_follow_up_keeps_the_subject_and_asks_its_own_question(talk: Talk) -> None:
    """ "What problems can it cause?" after a soleus test is about *that* imbalance: the
    consequences of gastrocnemius dominance, not those of another imbalance."""
    await talk.answer(
        "Is it normal that I can do 20 reps with the straight leg but the bent knee ones "
        "are way harder?"
    )
    problems = await talk.answer("what problems can it cause")
    assert "running economy" in problems.text, problems.text
    assert problems.answer is not None
    assert "Imbalance 1:" in problems.answer.sources[0].section


async def test_a_follow_up_naming_an_exercise_gets_that_exercise(talk: Talk) -> None:
    await talk.answer("i keep rolling my ankle playing basketball, like 4 times this season")
    await talk.answer("what exercises")
    sets = await talk.answer("how many sets of the band one?")
    assert "3 sets of 15 to 20" in sets.text, sets.text


async def test_a_generic_follow_up_is_read_with_the_chat(talk: Talk) -> None:
    await talk.answer("why are calves so hard to train")
    wrong = await talk.answer("what do most people get wrong")
    assert wrong.kind != "out_of_scope", wrong.text
    right = await talk.answer("so what's the right way")
    assert right.kind != "out_of_scope", right.text


async def test_a_follow_up_asking_another_part_gets_it_and_the_right_band(talk: Talk) -> None:
    await talk.answer("my heel rolls in when i do single leg raises, physio noticed")
    ignore = await talk.answer("what happens if i ignore it")
    assert ignore.answer is not None and ignore.answer.sources[0].section.endswith("Consequences")
    await talk.answer("exercises?")
    band = await talk.answer("how many sets of the band one")
    assert "inversion" in band.text and "eversions" not in band.text, band.text


async def test_a_follow_up_without_guide_words_is_not_declined(talk: Talk) -> None:
    """ "tempo?" names no term of the guide; read with a topic the guide
    answered, it is about the guide (third blind round: it was declined)."""
    await talk.answer("how long do i rest between sets")
    tempo = await talk.answer("tempo?")
    assert tempo.kind != "out_of_scope", tempo.text
    unrelated = await talk.answer("who won the game last night?")
    assert unrelated.kind == "out_of_scope"
    mum = Talk(talk.app, user="u-mum")
    await mum.answer(
        "My mum is 70, her arches have flattened a lot the last few years and her ankles "
        "roll in when she walks. is that just getting old?"
    )
    await mum.answer("does it even matter, she's not an athlete")
    home = await mum.answer("what can she do at home for it")
    assert home.kind != "out_of_scope", home.text  # the topic's long text diluted it
