"""Red-flag triage: every red flag referred, ordinary complaints answered."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.assessment.models import AssessmentInput
from bot.engine.form import parse_safety
from bot.qa.service import QAService
from bot.safety import RULE_IDS, Triage, triage
from bot.triage_model import (
    Neighbours,
    TriageDataError,
    Triager,
    check_ids,
    load_examples,
    load_or_build_neighbours,
)
from knowledge.facts import load_facts
from tests.conftest import OWN_EVAL, SHARED_EVAL


def _questions(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["q"] for line in path.read_text().splitlines() if line.strip()]


RED = (
    _questions(OWN_EVAL / "red_flags.jsonl")
    + _questions(SHARED_EVAL / "red_flags.jsonl")
    + [
        "I felt a pop at my heel and now I can't push off",
        "felt like someone kicked me in the back of the leg during squash",
        "my calf is hot, red and swollen since yesterday",
        "I have chest pain and my calf hurts",
        "my foot keeps going numb",
        "can't put any weight on my ankle after the game",
        "suddenly I can't rise onto my toes on the left",
        "i'm 45 years old, fell off a ladder, think i broke my ankle",
        "not sure if it's broken, fell off a ladder",
        "my heel is not broken but i can't put my foot down after the fall",
        "is my foot broken?",
        "rolled my ankle and it's the size of a grapefruit",
        "my foot is numb and cold since the injury",
    ]
)
ORDINARY = (
    _questions(OWN_EVAL / "not_red_flags.jsonl")
    + _questions(OWN_EVAL / "questions.jsonl")
    + [
        "my Achilles aches after runs",
        "heel pain in the morning",
        "I did not feel any pop, just soreness the next day",
        "my calves burn during high-rep seated raises",
        "how do I prevent an Achilles rupture?",
        "one calf is bigger than the other",
        "I can only do 8 single-leg calf raises with my knee bent",
        "my ankle gets a bit swollen after long runs",
        "my feet get cold on winter runs",
        "i cant curl my toes very well, is that weak toe flexors?",
        "i cant bend my ankle much when i squat",
        "calves look pumped and swollen after a session lol",
        "i have a small bruise on my calf from foam rolling",
        "i broke my ankle three years ago, now fully healed, calf is still smaller",
        "old fracture in my foot from years ago, can I train calves now",
        "ankle swelled up a bit after my first run back",
        "i cant put my heel down when i squat, tight calves?",
        "I can't move my foot much in dorsiflexion, how to improve",
        "can't lift my toes off the floor, how do I strengthen my tibialis",
        "I can't wiggle my toes as well as my other foot",
        "toes are pale after a cold shower",
        "how do I get balloon calves",
        "huge swelling after drop sets",
        "purple bruise on my calf after cupping",
        "stress fracture prevention for runners",
        "post fracture rehab calf raises",
        "I had a fracture 6 weeks ago, cast off now",
        "i fractured my ankle in 2019 and its fine now",
        "i think i broke my PR on calf raises",
        "there's a gap in my training because of work, how do I restart calf raises",
        "I bang out 3 sets of calf raises at the end of leg day",
        "no one around me at the gym trains calves, but I want to",
        "a dent in my motivation lately, how often should I train calves",
        # The "I" of a how-to question is nobody's body (the vote made it an emergency).
        "how do I treat an ingrown toenail",
    ]
)


REAL_WORLD = SHARED_EVAL / "real-world"
# Blind sets, folded in after their first-contact figures were reported (README).
BLIND = sorted(OWN_EVAL.glob("blind-*"))
RED_ALL = RED + _questions(REAL_WORLD / "red_flags.jsonl")
RED_ALL += [q for folder in BLIND for q in _questions(folder / "red_flags.jsonl")]
ORDINARY_ALL = ORDINARY + _questions(REAL_WORLD / "not_red_flags.jsonl")
ORDINARY_ALL += [q for folder in BLIND for q in _questions(folder / "not_red_flags.jsonl")]
WORDING = load_facts().triage_text


@pytest.mark.parametrize("message", RED_ALL)
def test_red_flags_are_referred(qa: QAService, message: str) -> None:
    """End to end: the rules and the example vote, on the real encoder's vector."""
    result = qa.triage(message)
    assert result.is_red_flag, message
    text = result.referral_text(WORDING)
    assert text.startswith(WORDING.urgency_openings[result.urgency])
    assert "sets" not in text and "reps" not in text


@pytest.mark.parametrize("message", ORDINARY_ALL)
def test_ordinary_complaints_are_not_red_flags(qa: QAService, message: str) -> None:
    assert not qa.triage(message).is_red_flag, message


def test_most_urgent_referral_comes_first() -> None:
    result = triage("chest pain, and numb toes", load_facts().red_flags)
    assert result.ids[0] == "suspected_pe"
    assert result.urgency == "emergency"
    assert result.referral_text(WORDING).startswith("EMERGENCY")
    assert "numbness_tingling" in result.ids


def test_a_suspected_fracture_is_referred_for_an_x_ray_not_for_weight_bearing() -> None:
    result = triage("I think I broke my foot jumping off a wall", load_facts().red_flags)
    assert result.ids == ("suspected_fracture",)
    assert "X-ray" in result.referral_text(WORDING)


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("my calf is swollen and warm. I flew back from Sydney yesterday", "suspected_dvt"),
        ("ruptured my achilles 4 years ago, fully healed, calf still smaller", None),
        ("not sure if it's broken, fell off a ladder", "suspected_fracture"),
        ("calves feel like I was hit with a baseball bat after leg day", None),
        ("how do I make my calves pop?", None),
        ("redness on my shin is spreading and I feel feverish", "infection"),
        ("i ruptured my plantar fascia yesterday i think", "plantar_fascia_rupture"),
    ],
)
def test_rules_for_time_hedges_and_risk_context(message: str, kind: str | None) -> None:
    found = triage(message, load_facts().red_flags).ids
    assert (kind in found) if kind else not found, (message, found)


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        # Stress fracture: a bone, more running, and one spot, hopping, or pain at rest.
        ("doubled my weekly km and one spot on my shin bone hurts to touch", "suspected_fracture"),
        (
            "marching every day in training, the top of my foot aches even at rest now",
            "suspected_fracture",
        ),
        (
            "hopping on my right leg is agony since I upped my mileage, sore on the bone",
            "suspected_fracture",
        ),
        ("I get sore shins during runs that settle once I warm up", None),
        ("i cant hop very well on my left leg, balance work?", None),
        # Out of shape or a bone sore to press, after an injury.
        ("got tackled and my foot is pointing off to the side", "suspected_fracture"),
        (
            "fell on the stairs and now there's a lump where there shouldn't be",
            "suspected_fracture",
        ),
        (
            "went over on my ankle, pressing the bony bit on the outside is unbearable",
            "suspected_fracture",
        ),
        ("my feet point outwards when I walk, does that affect my calves", None),
        # DOMS on the stairs is not a broken bone.
        ("after a leg day i cant walk down the stairs lol", None),
        # One calf swollen or bigger and warm, compared with the other.
        ("my left leg is swollen compared to the other one, no injury", "suspected_dvt"),
        ("my lower leg is bigger than the other one and warm", "suspected_dvt"),
        ("my right calf is bigger than my left and gets sore after runs", None),
        ("my left calf is warmer than the right after a massage", None),
        ("my left calf is warmer than the right and tender to touch", "suspected_dvt"),
        # One calf swollen for days without a clear injury.
        ("calf cramp woke me up and it's been sore and swollen for two days", "suspected_dvt"),
        ("my calf has been a bit swollen for a few days, no injury", "suspected_dvt"),
        # Travel and sitting told in hours; a risk still to come is none.
        ("drove 11 hrs straight and now one calf throbs", "suspected_dvt"),
        ("economy seat all the way to Perth and my calf is tender", "suspected_dvt"),
        ("my left calf is sore. I have a long flight tomorrow", None),
        ("my left calf aches, going to have knee surgery next month", None),
        ("my calf aches at night in bed sometimes after long runs", None),
        # "Pop up" and "crack on" are not injuries; a pop up the leg is.
        ("my heels pop up when i squat, is that tight calves", None),
        ("i just crack on with training when my ankle is a bit sore", None),
        ("felt a pop up the back of my leg sprinting", "achilles_calf_rupture"),
        # "Like being hit" while doing something is the rupture story; after leg day or
        # "by a truck" it is soreness.
        (
            "sharp stab in the calf while sprinting, like being hit by a stone",
            "achilles_calf_rupture",
        ),
        ("during leg day i felt like i was hit by a truck lol", None),
        # A calf raise that is impossible since something happened, not from weakness.
        (
            "since the game on saturday i cant do a single heel raise on my left leg",
            "achilles_calf_rupture",
        ),
        ("im 80 and cant do even one calf raise without holding on", None),
        # Breath, wounds, fever in people's words.
        ("calf has ached for days and i couldn't catch my breath on the stairs", "suspected_pe"),
        ("3 weeks after surgery the wound is red and oozing and smells", "infection"),
        ("red patch on my shin spreading, got a temp", "infection"),
        # Chest pain worse on breathing in, with a calf that hurts.
        ("calf cramp that won't go and now it hurts to take a deep breath", "suspected_pe"),
        ("it hurts to breathe after sprints", None),
        ("i have a cut on my heel that smells a bit", None),
        # One foot colder or paler than the other, no injury needed (the checklist's words).
        ("my left foot is colder and paler than the right", "foot_circulation"),
        ("my toes look bluish compared to the other foot", "foot_circulation"),
        ("my feet get cold on winter runs", None),
        # From the first blind set (round 1): signs in words the rules did not read.
        (
            "felt like someone booted me in the back of the ankle, nobody there",
            "achilles_calf_rupture",
        ),
        (
            "achilles went bang on a box jump, squeeze test = foot didnt move",
            "achilles_calf_rupture",
        ),
        ("walking flat footed but theres no push off at all", "achilles_calf_rupture"),
        ("i have no push-off problems, just tight calves", None),
        (
            "started the pill 2 months ago and since the weekend my right calf is hot to touch",
            "suspected_dvt",
        ),
        (
            "stress fracture in my metatarsal last year. now one spot on top hurts when i "
            "press it and aches in bed at night, marathon in 5 weeks",
            "suspected_fracture",
        ),
        ("one spot in my calf aches at night after long runs", None),
        (
            "went over on my foot, the bony bump is really painful to touch, walking 4 steps "
            "is impossible",
            "suspected_fracture",
        ),
        (
            "calf burnout challenge yesterday, calves swollen and tight as drums, pee is dark "
            "like cola",
            "rhabdomyolysis",
        ),
        ("my calves hurt so bad i cant sleep and theyre tight as drums", "compartment_syndrome"),
        ("sprained it 6 years ago (fine since) and another 3 times since then, why", None),
        # From the blind conversations (round 1): an old break told without a count, and
        # an injection "shot" for the achilles.
        ("my foot feels limited since i broke my ankle years ago", None),
        ("my doctor offered a cortisone shot for my achilles, should i take it", None),
        ("felt like i got shot in the back of my calf while sprinting", "achilles_calf_rupture"),
        # From the second blind set (round 2).
        (
            "leg pain one side + breath short + heart 120 just sitting. after bus 20h",
            "suspected_pe",
        ),
        ("one calf aching since the bus 20h from bucharest", "suspected_dvt"),
        (
            "basketball, midfoot pain, one point on the bone thats really tender, getting "
            "worse for weeks and aches even when resting",
            "suspected_fracture",
        ),
        ("achilles is the thickest tendon, so how does it even snap?", None),
    ],
)
def test_rules_read_signs_told_in_everyday_words(message: str, kind: str | None) -> None:
    found = triage(message, load_facts().red_flags).ids
    assert (kind in found) if kind else not found, (message, found)


def test_every_id_the_code_uses_is_in_the_catalogue() -> None:
    check_ids({label for _, label in load_examples()}, load_facts().red_flags)
    assert {f.id for f in load_facts().red_flags} >= RULE_IDS


def test_an_unknown_id_stops_start_up(tmp_path: Path) -> None:
    flags = load_facts().red_flags
    with pytest.raises(TriageDataError, match="made_up"):
        check_ids({"made_up", "none"}, flags)
    with pytest.raises(KeyError, match="made_up"):
        Triage.of(("made_up",), flags)
    with pytest.raises(ValueError, match="made_up"):
        AssessmentInput.model_validate(
            {
                "straight_knee_reps": {"left": 20, "right": 20},
                "bent_knee_reps": {"left": 20, "right": 20},
                "red_flags": ["made_up"],
            }
        )
    examples = tmp_path / "examples.yaml"
    examples.write_text("made_up:\n  - my calf hurts\n")
    with pytest.raises(TriageDataError, match="made_up"):
        load_or_build_neighbours(tmp_path / "t", lambda t: None, "fp", flags, examples)  # type: ignore[arg-type,return-value]


def test_earlier_ids_in_saved_results_are_read_as_todays() -> None:
    data = AssessmentInput.model_validate(
        {
            "straight_knee_reps": {"left": 20, "right": 20},
            "bent_knee_reps": {"left": 20, "right": 20},
            "red_flags": ["sudden_pop", "cannot_bear_weight", "calf_swelling_redness_warmth"],
        }
    )
    assert data.red_flags == ("achilles_calf_rupture", "suspected_fracture", "suspected_dvt")
    assert Triage.of(("chest_pain_breathless",), load_facts().red_flags).ids == ("suspected_pe",)


def test_example_vectors_are_rebuilt_when_stale_and_loaded_when_fresh(
    qa: QAService, tmp_path: Path
) -> None:
    flags = load_facts().red_flags
    embed = qa.retriever.encoder.encode
    fingerprint = qa.retriever.encoder.fingerprint
    first, notice = load_or_build_neighbours(tmp_path, embed, fingerprint, flags)
    assert notice and "none on disk" in notice
    again, notice = load_or_build_neighbours(tmp_path, embed, fingerprint, flags)
    assert notice is None and again.labels == first.labels
    _, notice = load_or_build_neighbours(tmp_path, embed, "another-encoder", flags)
    assert notice and "stale" in notice


def test_checklist_numbers_do_not_depend_on_file_order() -> None:
    flags = load_facts().red_flags
    by_number = {f.checklist: f.id for f in flags}
    parse = parse_safety("red_flags", load_facts())
    assert parse("3").values == {"red_flags": [by_number[3]]}
    reordered = load_facts().model_copy(update={"red_flags": tuple(reversed(flags))})
    assert parse_safety("red_flags", reordered)("3").values == {"red_flags": [by_number[3]]}
    assert sorted(by_number) == list(range(1, len(flags) + 1))


# Messages referred before, answered from the guide now (found in conversations).
GUIDE_NOT_CLINIC = [
    # Plantar fasciitis told as the guide tells it: the vote read "agony" as an injury.
    "really sharp pain under my heel when I get out of bed, first few steps are agony, "
    "then it eases off",
    # A follow-up question, no story: the vote read "shin pain" as a broken shin.
    "why would that muscle cause shin pain?",
    # Someone else's rupture, the reason for a prevention question: the rule read "snapped".
    "im 38, play pickup 3x a week and im paranoid about my achilles after a guy at my gym "
    "snapped his last month. how do i bulletproof mine",
    # A night cramp that was gone by lunch: the vote read it as a clot.
    "calf cramp woke me up screaming at 3am, calf was a bit sore the next morning but no "
    "swelling and fine by lunch. should i be doing calf work or will that make it worse",
    # Someone else's rupture, asked about: the vote read "ruptured her achilles".
    "a girl in my netball team ruptured her achilles, is that common?",
    "my brother snapped his achilles at 40, im 39, what should I be doing",
]


@pytest.mark.parametrize("message", GUIDE_NOT_CLINIC)
def test_questions_the_guide_answers_are_not_referred(qa: QAService, message: str) -> None:
    assert not qa.triage(message).is_red_flag, (message, qa.triage(message).ids)


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        # Someone else's injury told as the past is not the user's...
        ("a guy at my gym snapped his achilles last month, how do I bulletproof mine", None),
        ("worried about my calf since my friend tore his", None),
        ("my teammate tore his calf last season, how do i avoid that", None),
        ("my friend broke her ankle last month, how do i avoid that", None),
        # ...but it is referred when told as now, guessed at, or the user's own too.
        ("my friend just did one, heard a snap and now he can't walk on it", "suspected_fracture"),
        ("my son snapped his achilles at football today, what can he do", "achilles_calf_rupture"),
        ("i think my son broke his ankle", "suspected_fracture"),
        (
            "a guy at my gym snapped his achilles last month and now i felt a pop in mine",
            "achilles_calf_rupture",
        ),
        ("heard a pop in my calf and my mate said i tore it", "achilles_calf_rupture"),
    ],
)
def test_someone_elses_injury_is_referred_only_when_told_as_now(
    message: str, kind: str | None
) -> None:
    found = triage(message, load_facts().red_flags).ids
    assert (kind in found) if kind else not found, (message, found)


class _AlwaysVotes(Neighbours):
    """Neighbours whose vote always raises a clot, to test what the vote is allowed to add."""

    def vote(self, vector: np.ndarray, *, skip: int | None = None) -> set[str]:
        return {"suspected_dvt"}


@pytest.fixture(scope="module")
def always_votes() -> Triager:
    neighbours = _AlwaysVotes(vectors=np.zeros((1, 4), dtype=np.float32), labels=("none",))
    return Triager(neighbours, load_facts().red_flags)


@pytest.mark.parametrize(
    ("message", "referred"),
    [
        # A general question tells of nobody's leg: the vote is not read.
        ("why would that muscle cause shin pain?", False),
        ("can a weak soleus cause heel pain?", False),
        # A story, a sign or a change, even told without "my", is.
        ("why does my calf hurt so much", True),
        ("ankle ballooned straight away after the tackle", True),
        ("calf tight and painful for two days", True),
        # A pain that eases or a morning stiffness is a pattern, not an injury...
        ("first few steps out of bed are agony, then it eases off", False),
        ("calf was sore after the cramp but fine by lunch", False),
        ("my achilles is stiff in the morning, better once I warm up", False),
        # ...unless something is still wrong, or it does not ease.
        ("the pain eased off but now my calf is swollen", True),
        ("the pain in my calf won't settle", True),
        ("first few steps were agony this morning after I felt something go in my arch", True),
        # Someone else's injury told as the past, and nothing of the user's own...
        ("a girl in my netball team ruptured her achilles, is that common?", False),
        # ...but the user's own event beside it is read.
        ("my mate tore his calf last year and yesterday my calf went swollen", True),
        # An old, healed injury was already left to the rules.
        ("tore my calf two years ago, fully healed", False),
    ],
)
def test_the_vote_counts_only_for_a_story_told_as_now(
    always_votes: Triager, message: str, referred: bool
) -> None:
    assert always_votes(message, np.zeros(4, dtype=np.float32)).is_red_flag is referred, message


def test_a_rule_is_never_held_back_by_the_vote_gates(always_votes: Triager) -> None:
    """The gates hold back only the vote: "eases off" does not excuse a pop."""
    result = always_votes(
        "felt a pop in my calf and can't go on tiptoe, the pain eased off",
        np.zeros(4, dtype=np.float32),
    )
    assert "achilles_calf_rupture" in result.ids


def test_a_recurring_pain_told_as_a_pattern_is_not_an_emergency(qa: QAService) -> None:
    """The vote alone raised a compartment syndrome and a clot for this (blind round 1)."""
    message = (
        "unrelated but my mum is 58, flat feet, and gets pain on the inside of her ankle "
        "after walks. could that be one of these calf muscles"
    )
    assert not qa.answer(message).red_flag
    swollen = "my calf gets sore after runs since the long flight, and its swollen and warm"
    assert qa.answer(swollen).red_flag  # a rule is never held back


def test_a_groups_screen_never_hides_a_match_of_its_patterns() -> None:
    """The one-search screen of each pattern group only rules out sentences that none of
    the group's patterns match; every story of the eval sets is checked."""
    from bot import safety

    texts: list[str] = []
    for path in sorted(OWN_EVAL.rglob("*.jsonl")):
        for line in path.read_text().splitlines():
            case = json.loads(line) if line.strip() else {}
            texts += [case["q"]] if "q" in case else [t["q"] for t in case.get("turns", [])]
    sentences = {s for text in texts for s in safety._sentences(safety._normalize(text))}
    assert len(safety._SCREENS) == len(safety._GROUPS)  # every group has one
    for group, screen in safety._SCREENS.items():
        for sentence in sentences:
            if any(p.search(sentence) for p in safety._GROUPS[group]):
                assert screen.search(sentence), (group, sentence)
