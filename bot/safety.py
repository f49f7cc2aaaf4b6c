"""Red-flag triage: messages that describe an injury needing a clinician.

Runs before retrieval on every free-text message and feeds the self-test's safety
screen. It errs on the side of referring: a false alarm costs a user one extra sentence,
a missed Achilles rupture or blood clot costs far more. Ordinary complaints the guide
covers ("my Achilles aches after runs", "heel pain in the morning") must not match.

The referral wording lives in ``knowledge/data/red_flags.yaml``; the patterns live here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.models import RedFlag

_CANT = r"(?:can'?t|cannot|can not|could ?n'?t|could not|unable to|not able to|no longer able to|impossible to|cant even|can barely|can hardly|barely able to)"
_BODY = (
    r"(?:achill\w*|calf|calves|heel|ankle|leg|tendon|back of (?:my|the) (?:leg|ankle|heel|calf))"
)
_NEGATION = re.compile(
    r"\b(?:no|not|never|without|didn'?t|did not|wasn'?t|haven'?t)\b[^.!?]{0,25}$"
)

_PATTERNS: dict[str, list[str]] = {
    "sudden_pop": [
        rf"\b(?:pop|popped|popping|snap|snapped|snapping|crack(?:ed)?|twang)\b[^.!?]{{0,50}}\b{_BODY}",
        rf"\b{_BODY}[^.!?]{{0,50}}\b(?:pop|popped|popping|snap|snapped|snapping|crack(?:ed)?|twang)\b",
        r"\b(?:felt|heard|there was|i had|got) (?:a |an |this |some )?(?:loud |sudden |huge |big )?(?:pop|snap|crack|twang)\b",
        r"\b(?:kick(?:ed)?|hit|struck|shot|whacked|smacked)\b[^.!?]{0,40}\b(?:back of (?:my|the) (?:leg|calf|ankle|heel)|my (?:calf|achilles|heel))",
        r"\blike (?:someone|somebody|something|a ball|a rock|a stone)[^.!?]{0,30}\b(?:kick|hit|struck|threw|shot|smack)",
        r"\b(?:tore|torn|rupture[sd]?|ripped) (?:my )?(?:achill\w*|calf)",
        r"\bmy (?:achill\w*|calf)[^.!?]{0,30}\b(?:tore|torn|rupture[sd]?|ripped|snapped)\b",
        rf"\b{_CANT} (?:\w+ ){{0,3}}(?:stand|get|go|rise|come up|push up|lift (?:myself )?up)\b[^.!?]{{0,20}}\b(?:on|onto|up on) (?:my |the )?(?:toes|tip ?toes?|tippy ?toes|tiptoes?|ball of)",
        rf"\b{_CANT} (?:\w+ ){{0,2}}push off\b",
        r"\bno (?:push[- ]off|power to push)\b",
        r"\b(?:someone|somebody|something)\b[^.!?]{0,20}\b(?:kick|hit|struck|shot|whack|smack)\w*\b[^.!?]{0,25}\b(?:leg|calf|heel|ankle|achill\w*)\b",
        r"\b(?:ripping|tearing|torn) (?:feeling|sensation)\b",
        rf"\b{_CANT} (?:\w+ ){{0,2}}(?:tip ?toe|tiptoe|tippy ?toe)",
        rf"\b{_CANT} (?:do|manage|perform) (?:a single|even one|one|any) (?:calf|heel|toe) raises?\b",
    ],
    "cannot_bear_weight": [
        rf"\b{_CANT} (?:\w+ ){{0,2}}(?:bear|put|take|place) (?:any |much |my )?weight\b",
        rf"\b{_CANT} (?:\w+ ){{0,2}}walk\b",
        rf"\b{_CANT} (?:\w+ ){{0,2}}put (?:my |the |that |this )?(?:foot|leg|heel) (?:down|on the (?:floor|ground))",
        rf"\b{_CANT} (?:\w+ ){{0,2}}stand on (?:it|(?:the|that|my)(?: left| right| injured| bad| hurt)? (?:leg|foot|ankle))\b",
        r"\b(?:bent funny|looks deformed|deformed|at a (?:weird|funny|strange) angle|out of place|bone (?:sticking|poking) out)\b",
        r"\b(?:unable|impossible) to (?:bear|take) weight\b",
        r"\bnon[- ]weight[- ]bearing\b",
        r"\b(?:had to be|have to be|got) carried\b",
    ],
    "rapid_swelling_bruising": [
        r"\b(?:swell\w*|swollen|puff\w*|blew up|blown up|ballooned)\b[^.!?]{0,30}\blike (?:a |an )?(?:balloon|golf ?ball|tennis ball|egg|grapefruit|orange|melon|softball|baseball)",
        r"\bballoon(?:ed|ing)?\b",
        r"\b(?:swell\w*|swollen|puffed) (?:up )?(?:immediately|instantly|right away|straight away|within (?:minutes|seconds)|really fast|super fast|so fast)",
        r"\b(?:immediately|instantly|right away|straight away|within minutes)\b[^.!?]{0,30}\b(?:swell\w*|swollen|puffed up)",
        r"\b(?:huge|massive|enormous|giant|insane|crazy|really bad|severe|massively|hugely|badly)\b[^.!?]{0,15}\b(?:swollen|swelling|swelled|bruis\w*)",
        r"\b(?:purple|black and blue|black|blue)\b[^.!?]{0,20}\b(?:all over|everywhere|bruis\w*)",
        r"\b(?:bruis\w*)\b[^.!?]{0,30}\b(?:all over|everywhere|spreading|down to (?:my|the) (?:toes|foot|heel))",
    ],
    "foot_circulation": [
        r"\b(?:foot|feet|toes?)\b[^.!?]{0,25}\b(?:is|are|turned|turning|gone|going|went|looks?|feels?) (?:\w+ ){0,2}(?:pale|white|(?<!black and )blue|bluish|grey|gray|ice[- ]cold|icy|freezing cold)\b",
        r"\b(?:pale|white|(?<!black and )blue|bluish|ice[- ]cold|icy)(?: and (?:pale|white|blue|numb|cold))? (?:foot|feet|toes)\b",
        rf"\b{_CANT} (?:\w+ ){{0,2}}(?:move|wiggle|lift) (?:my |the )?(?:toes|foot|feet)\b",
    ],
    "calf_swelling_redness_warmth": [
        r"\b(?:swollen|swelling|swelled|swell|puffy|puffed)\b[^.!?]{0,80}\b(?:red|redness|warm|warmth|hot|heat|burning hot)\b",
        r"\b(?:red|redness|warm|warmth|hot)\b[^.!?]{0,80}\b(?:swollen|swelling|swelled|puffy)\b",
        r"\b(?:suddenly|all of a sudden|overnight)\b[^.!?]{0,60}\b(?:swollen|swelling|swelled|puffy|bigger|larger|fatter)\b",
        r"\b(?:swollen|swelling|swelled|puffy|bigger|larger)\b[^.!?]{0,60}\b(?:suddenly|all of a sudden|overnight)\b",
        r"\b(?:swollen|swelling|swelled|puffy|tight and painful)\b[^.!?]{0,80}\b(?:flight|flew|plane|surgery|operation|bed ?rest|long (?:drive|car ride|trip|journey)|hospital|cast|the pill)\b",
        r"\b(?:flight|flew|plane|surgery|operation|bed ?rest|long (?:drive|car ride|trip|journey)|cast)\b[^.!?]{0,80}\b(?:swollen|swelling|swelled|puffy)\b",
        r"\b(?:blood clot|clot|dvt|deep vein thrombosis|thrombosis)\b",
        r"\bcalf[^.!?]{0,40}\b(?:red|warm|hot) (?:to the touch|and (?:swollen|painful|tender|sore))",
        r"\b(?:warm|hot|red) (?:and )?(?:tender|painful|sore)? ?(?:spot|patch|area)? ?(?:on|in) my calf\b",
    ],
    "numbness_tingling": [
        r"\b(?:numb|numbness|numbed|tingl\w*|pins (?:and|&|n) needles)\b",
        r"\b(?:electric(?:al)?|shooting|zapping|zaps?)\b[^.!?]{0,40}\b(?:leg|foot|feet|calf|toes|heel|sole)\b",
        rf"\b{_CANT} (?:\w+ ){{0,2}}feel (?:my )?(?:foot|feet|toes|heel|leg)\b",
        r"\b(?:foot drop|dropped foot|floppy foot|foot (?:is )?(?:slapping|flopping|dragging)|drag(?:ging)? my foot)\b",
        r"\bburning\b[^.!?]{0,40}\b(?:down (?:my|the) leg|into (?:my|the) (?:foot|toes))",
        r"\b(?:lost|losing|loss of) (?:all )?(?:feeling|sensation)\b",
    ],
    "chest_pain_breathless": [
        r"\bchest (?:pain|pains|tight\w*|pressure|hurts|is hurting|feels tight)\b",
        r"\b(?:pain|tightness|pressure) in (?:my|the) chest\b",
        r"\b(?:short(?:ness)? of breath|breathless\w*|can'?t (?:catch my )?breathe?|hard to breathe|struggling to breathe|trouble breathing|difficulty breathing|coughing (?:up )?blood|out of breath)\b",
        r"\bpain\w* (?:when|while|as) (?:i )?(?:breathe|breathing|inhale|take a (?:deep )?breath)",
    ],
}

# A possible fracture is a red flag when it is recent; "I broke my ankle years ago, it
# has healed" is a returning trainee's history, not an emergency.
_FRACTURE = [
    re.compile(p)
    for p in [
        r"\b(?:is it|could it be|might be|may be|think it'?s|think i|might have|may have|did i)\b[^.!?]{0,15}\b(?:broken|broke|fractured?|cracked)\b",
        r"\b(?:broken|broke|fractured?|cracked) (?:my )?(?:ankle|heel|foot|leg|shin|tibia|fibula|bone)",
        r"\b(?:ankle|heel|foot|leg|shin|tibia|fibula|bone)\b[^.!?]{0,15}\b(?:is|was|got|be) (?:broken|fractured|cracked)\b",
        r"\bfracture[sd]?\b",
    ]
]
_OLD_INJURY = re.compile(
    r"\b(?:\d+|a|an|one|two|three|four|five|few|several|many|couple(?: of)?) (?:years?|months?) ago\b"
    r"|\b(?:last|previous) (?:year|season|summer|winter|spring|autumn|fall)\b"
    r"|\b(?:healed|old|previous|past|years back|long ago|as a (?:kid|child|teen\w*)|when i was)\b"
)
_COMPILED = {key: [re.compile(p) for p in patterns] for key, patterns in _PATTERNS.items()}
_URGENCY_ORDER = {"emergency": 0, "urgent": 1, "soon": 2}


@dataclass(frozen=True)
class Triage:
    """The red flags a message raises, most urgent first."""

    flags: tuple[RedFlag, ...]

    @classmethod
    def of(cls, ids: set[str] | tuple[str, ...], red_flags: tuple[RedFlag, ...]) -> Triage:
        """The flags with these ids, most urgent first (a checklist answer or a match)."""
        chosen = [flag for flag in red_flags if flag.id in set(ids)]
        return cls(flags=tuple(sorted(chosen, key=lambda f: _URGENCY_ORDER[f.urgency])))

    @property
    def is_red_flag(self) -> bool:
        return bool(self.flags)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(flag.id for flag in self.flags)

    def referral_text(self) -> str:
        """A calm referral: what to do and how soon, never a program or exercise advice."""
        if not self.flags:
            return ""
        urgent = self.flags[0].urgency
        opening = {
            "emergency": "This needs medical attention right away, not a training plan.",
            "urgent": "Please have this checked by a clinician before any training.",
            "soon": "This is something for a clinician to look at, not a training plan.",
        }[urgent]
        body = "\n\n".join(flag.referral for flag in self.flags)
        closing = (
            "I can't assess injuries, so I won't suggest exercises for this. Once a clinician "
            "has cleared you, I'm happy to help with calf and ankle training."
        )
        return f"{opening}\n\n{body}\n\n{closing}"


def _normalize(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"\s+", " ", text)


def _negated(text: str, start: int) -> bool:
    return bool(_NEGATION.search(text[max(0, start - 30) : start]))


def triage(text: str, red_flags: tuple[RedFlag, ...]) -> Triage:
    """Return the red flags raised by ``text`` (an empty :class:`Triage` when none)."""
    normalized = _normalize(text)
    found: set[str] = set()
    for flag_id, patterns in _COMPILED.items():
        for pattern in patterns:
            if any(not _negated(normalized, m.start()) for m in pattern.finditer(normalized)):
                found.add(flag_id)
                break
    if not _OLD_INJURY.search(normalized) and any(
        not _negated(normalized, m.start()) for p in _FRACTURE for m in p.finditer(normalized)
    ):
        found.add("cannot_bear_weight")
    # Breathlessness alone is common after hard training; with a painful or swollen calf
    # (or chest pain) it can mean a clot in the lungs.
    if "chest_pain_breathless" in found and not (
        re.search(r"\bchest\b", normalized)
        or (
            re.search(r"\b(?:calf|calves|leg)\b", normalized)
            and re.search(
                r"\b(?:swollen|swelling|pain\w*|killing|hurts?|tender|flight|flying|flew|dizzy)\b",
                normalized,
            )
        )
    ):
        found.discard("chest_pain_breathless")
    return Triage.of(found, red_flags)
