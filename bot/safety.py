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
        rf"\b{_CANT} (?:\w+ ){{0,2}}stand on (?:it|(?:the|that|my)(?: left| right| injured| bad| hurt)? (?:leg|foot|ankle))\b",
        r"\b(?:bent funny|looks deformed|deformed|at a (?:weird|funny|strange) angle|out of place|bone (?:sticking|poking) out)\b",
        r"\b(?:unable|impossible) to (?:bear|take) weight\b",
        r"\bnon[- ]weight[- ]bearing\b",
        r"\b(?:had to be|have to be|got) carried\b",
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
    "foot_circulation": [
        # Toes that will not move at all (not "as well as the other foot"), with or
        # without an injury; colour and cold count only after one (_AFTER_INJURY).
        rf"\b{_CANT} (?:\w+ ){{0,2}}(?:move|wiggle) (?:my |the |any )?toes\b"
        r"(?! (?:as|much|very|well|properly|enough|that|so|far|fully|independently|separately|one))",
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

# Signs that mean an emergency only after an injury: "my foot went pale" after a sprain is
# not "my toes are pale after a cold shower", and "huge swelling" after a fall is not the
# pump after drop sets. These count when the message also tells of an injury.
_INJURY = re.compile(
    r"\b(?:rolled|rolling|twist\w*|sprain\w*|fell|fall(?:en|ing)?|landed|landing (?:on|badly)|"
    r"tackle\w*|kicked|collision|crash\w*|accident|injur\w*|went over on|tripped|slipped|"
    r"stepped (?:on|in|off)|gave (?:out|way)|cast|hurt it|"
    r"(?:hit|smashed|struck|whacked) (?:my|the|it)|got (?:hit|stamped|stepped on))\b"
)
_AFTER_INJURY: dict[str, list[str]] = {
    "cannot_bear_weight": [
        rf"\b{_CANT} (?:\w+ ){{0,2}}put (?:my |the |that |this )?(?:foot|leg) (?:down|on the (?:floor|ground))",
        r"\b(?:it'?s|it is|is it|if it'?s) (?:broken|fractured)\b",
    ],
    "rapid_swelling_bruising": [
        r"\b(?:swell\w*|swollen|puff\w*|blew up|blown up|balloon\w*)\b[^.!?]{0,30}\b(?:like|the size of|as big as) (?:a |an )?(?:balloon|golf ?ball|tennis ball|egg|grapefruit|orange|melon|softball|baseball)",
        r"\b(?:the size of|as big as) (?:a |an )?(?:golf ?ball|tennis ball|egg|grapefruit|orange|melon|softball|baseball)",
        r"\bballoon(?:ed|ing) (?:up|out)\b",
        r"\b(?:swell\w*|swollen|puffed|blew|blown) (?:up )?(?:immediately|instantly|right away|straight away|within (?:minutes|seconds)|in (?:minutes|seconds)|(?:really |super |so |very )?(?:fast|quickly))",
        r"\bswelling (?:came|come|comes|went) up\b",
        r"\b(?:immediately|instantly|right away|straight away|within minutes)\b[^.!?]{0,30}\b(?:swell\w*|swollen|puffed up)",
        r"\b(?:huge|massive|enormous|giant|insane|crazy|really bad|severe|massively|hugely|badly)\b[^.!?]{0,15}\b(?:swollen|swelling|swelled|bruis\w*)",
        r"\b(?:swollen|swelling|swelled)\b[^.!?]{0,20}\b(?:purple|black|blue)\b",
        r"\b(?:purple|black and blue|black|blue)\b[^.!?]{0,20}\b(?:all over|everywhere|bruis\w*|and swollen)",
        r"\bbruis\w*\b[^.!?]{0,30}\b(?:all over|everywhere|spreading|down to (?:my|the) (?:toes|foot|heel))",
    ],
    "foot_circulation": [
        r"\b(?:foot|feet|toes?)\b[^.!?]{0,25}\b(?:is|are|turned|turning|gone|going|went|looks?|feels?) (?:\w+ ){0,2}(?:pale|white|(?<!black and )blue|bluish|purple|grey|gray|ice[- ]cold|icy|freezing)\b",
        r"\b(?:pale|white|(?<!black and )blue|bluish|ice[- ]cold|icy)(?: and (?:pale|white|blue|numb|cold))? (?:foot|feet|toes)\b",
        r"\b(?:numb|numbness) and (?:cold|pale|blue)\b|\b(?:cold|pale|blue) and numb\b",
    ],
}
# A possibly broken bone, unless that sentence tells of an old or treated fracture ("broke
# my ankle three years ago", "post-fracture rehab"): returning trainees are this bot's
# users. A stress fracture is a question, not an acute injury.
_PART = r"(?:ankle|heel|foot|leg|shin|tibia|fibula|toe|toes|bone|metatarsal)"
_FRACTURE = [
    re.compile(p)
    for p in [
        rf"\b(?:broken|broke|break|fractured?|cracked) (?:my |the |a |his |her )?{_PART}\b",
        rf"\b{_PART}\b[^.!?]{{0,15}}\b(?:is|was|got|be|being) (?:broken|fractured)\b",
        rf"\b(?:is|was|are|were) (?:my|the|it) (?:{_PART}s?|it) (?:broken|fractured)\b",
        r"\b(?:is it|could it be|might it be|would it be|think it'?s|maybe it'?s|it might be|it could be|it may be) (?:a )?(?:broken|fractured?|a fracture|a break)\b",
        r"(?<!stress )\bfracture[sd]? (?:in|of) (?:my|the) " + _PART,
    ]
]
_OLD_INJURY = re.compile(
    r"\b(?:\d+|a|an|one|two|three|four|five|six|few|several|many|couple(?: of)?) (?:years?|months?|weeks?) ago\b"
    r"|\bin (?:19|20)\d\d\b|\b(?:last|previous) (?:year|season|summer|winter|spring|autumn|fall)\b"
    r"|\b(?:healed|recover\w*|rehab\w*|cleared|cast (?:is |came |come )?off|"
    r"out of (?:the |my )?cast|post[- ]?(?:fracture|op|surgery)|old (?:fracture|break|injury)|"
    r"as a (?:kid|child|teen\w*)|years back|long ago|fully fine|fine now)\b"
)
_CLAUSE_BREAK = re.compile(r"[,;:]|\b(?:but|though|although|however|yet)\b")
_HEDGE = re.compile(
    r"\b(?:not sure|not certain|don'?t know|do not know|no idea|unsure|wondering)\b"
)
_COMPILED = {key: [re.compile(p) for p in patterns] for key, patterns in _PATTERNS.items()}
_COMPILED_AFTER_INJURY = {
    key: [re.compile(p) for p in patterns] for key, patterns in _AFTER_INJURY.items()
}
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
    """ "No pop", "didn't snap"; but "not sure if it's broken" is a hedge, not a denial."""
    window = _CLAUSE_BREAK.split(text[max(0, start - 30) : start])[-1]
    return bool(_NEGATION.search(window)) and not _HEDGE.search(window)


def _matches(patterns: list[re.Pattern[str]], text: str) -> bool:
    return any(not _negated(text, m.start()) for p in patterns for m in p.finditer(text))


def _recent_fracture(text: str) -> bool:
    return any(
        _matches(_FRACTURE, sentence) and not _OLD_INJURY.search(sentence)
        for sentence in re.split(r"(?<=[.!?;])\s+", text)
    )


def triage(text: str, red_flags: tuple[RedFlag, ...]) -> Triage:
    """Return the red flags raised by ``text`` (an empty :class:`Triage` when none)."""
    normalized = _normalize(text)
    found = {flag_id for flag_id, patterns in _COMPILED.items() if _matches(patterns, normalized)}
    if _INJURY.search(normalized):
        found |= {
            f for f, patterns in _COMPILED_AFTER_INJURY.items() if _matches(patterns, normalized)
        }
    if _recent_fracture(normalized):
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
