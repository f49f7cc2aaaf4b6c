"""Red-flag triage: every red flag referred, ordinary complaints answered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.safety import triage
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
    ]
)


@pytest.mark.parametrize("message", RED)
def test_red_flags_are_referred(message: str) -> None:
    result = triage(message, load_facts().red_flags)
    assert result.is_red_flag, message
    text = result.referral_text()
    assert "clinician" in text or "doctor" in text or "emergency" in text
    assert "sets" not in text and "reps" not in text


@pytest.mark.parametrize("message", ORDINARY)
def test_ordinary_complaints_are_not_red_flags(message: str) -> None:
    assert not triage(message, load_facts().red_flags).is_red_flag, message


def test_most_urgent_referral_comes_first() -> None:
    result = triage("chest pain, and numb toes", load_facts().red_flags)
    assert result.ids[0] == "chest_pain_breathless"
    assert result.referral_text().startswith("This needs medical attention right away")
    assert "numbness_tingling" in result.ids


def test_a_suspected_fracture_is_referred_for_an_x_ray_not_for_weight_bearing() -> None:
    result = triage("I think I broke my foot jumping off a wall", load_facts().red_flags)
    assert result.ids == ("cannot_bear_weight",)
    assert "may be broken" in result.referral_text() and "X-ray" in result.referral_text()
