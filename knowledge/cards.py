"""Load-time checks that an answer card says nothing its guide quotes do not.

A card's quotes are checked against the guide like every other fact; its ``first_line``
is our own wording, so it is traced to those quotes instead: every number (digits or
number words, "three-second" counts as 3) and every technical term in it must appear in
the card's quotes. A first line that promised "4 sets of 12" while the quotes say "3 sets
of 15 to 20" fails here, before a client ever reads it. The first line must also speak
to the client, not about them ("Ask the client to..." is the guide's voice, for coaches).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from knowledge.guide import Guide, normalize
from knowledge.models import AnswerCard

NUMBER_WORDS = {
    "one": 1,
    "once": 1,
    "two": 2,
    "twice": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "ninety": 90,
    "hundred": 100,
}
_NUMBER = re.compile(r"\d+(?:\.\d+)?|\b(?:" + "|".join(NUMBER_WORDS) + r")\b")

# Words a client could be misled by if the quotes did not back them: anatomy, conditions,
# methods and equipment. Matched as word prefixes ("peroneal" covers "peroneals").
TECHNICAL_TERMS = (
    "gastrocnemius",
    "gastroc",
    "soleus",
    "plantaris",
    "tibialis posterior",
    "tibialis anterior",
    "peroneal",
    "peroneus",
    "fibularis",
    "flexor digitorum",
    "flexor hallucis",
    "hamstring",
    "quadriceps",
    "achilles",
    "tendinopathy",
    "tendinitis",
    "tendonitis",
    "plantar fasci",
    "shin splints",
    "medial tibial stress",
    "patellofemoral",
    "valgus",
    "varus",
    "pronation",
    "overpronation",
    "supination",
    "eversion",
    "inversion",
    "eccentric",
    "concentric",
    "isometric",
    "plyometric",
    "dorsiflexion",
    "plantar flexion",
    "proprioceptive",
    "hypertrophy",
    "fast-twitch",
    "slow-twitch",
    "biarticular",
    "monoarticular",
    "talocrural",
    "subtalar",
    "malleolus",
    "calcaneus",
    "metatarsal",
    "orthotic",
    "wobble board",
    "foam pad",
    "band",
    "barbell",
    "dumbbell",
    "machine",
    "physio",
    "heavy slow resistance",
    "time under tension",
    "venous return",
    "arch",
    "fall",
    "tear",
    "rupture",
    "fracture",
)
_COACH_VOICE = re.compile(r"\b(?:clients?|coach(?:es)?|coaching)\b")


def numbers(text: str) -> set[float]:
    """Every number in ``text`` as a value: "15", "3.5", "three-second" (3), "twice" (2)."""
    found = set()
    for token in _NUMBER.findall(normalize(text)):
        found.add(float(NUMBER_WORDS.get(token, token)))
    return found


def terms(text: str) -> set[str]:
    """The technical terms used in ``text`` (see :data:`TECHNICAL_TERMS`)."""
    lowered = normalize(text)
    return {t for t in TECHNICAL_TERMS if re.search(r"\b" + re.escape(t), lowered)}


def untraced(first_line: str, quotes: Iterable[str]) -> list[str]:
    """The numbers and terms of ``first_line`` that none of ``quotes`` holds."""
    support = " ".join(quotes)
    problems = [
        f"number {n:g} is not in its quotes" for n in sorted(numbers(first_line) - numbers(support))
    ]
    problems += [
        f"term {t!r} is not in its quotes" for t in sorted(terms(first_line) - terms(support))
    ]
    return problems


def card_problems(card: AnswerCard, guide: Guide, topic_ids: frozenset[str]) -> list[str]:
    """Every way one card strays from the guide or from a client's voice."""
    owner = f"answer_cards {card.id}"
    problems = [
        f"{owner}: unknown section {s!r}" for s in card.sections if not guide.has_section(s)
    ]
    # A card leads an answer only when the answer is composed from one of its sections,
    # and answers are composed from the text under a heading: a heading with none of its
    # own ("Tibialis Posterior Strengthening", only sub-headings) never matches.
    problems += [
        f"{owner}: section {s!r} has no text of its own (name the sub-section)"
        for s in card.sections
        if guide.has_section(s) and not guide.section(s).blocks
    ]
    problems += [f"{owner}: not in the guide: {q!r}" for q in card.quotes if not guide.contains(q)]
    problems += [f"{owner}: unknown topic {t!r}" for t in card.topics if t not in topic_ids]
    problems += [f"{owner}: first line: {p}" for p in untraced(card.first_line, card.quotes)]
    line = card.first_line.strip()
    if "\n" in line or not line.endswith((".", "!")):
        problems.append(f"{owner}: first line must be one sentence ending with a full stop")
    if _COACH_VOICE.search(line.lower()):
        problems.append(f"{owner}: first line speaks about a client, not to them: {line!r}")
    asks = [normalize(a) for a in card.asks]
    if len(asks) != len(set(asks)):
        problems.append(f"{owner}: repeated asks")
    return problems
