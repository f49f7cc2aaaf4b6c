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
from functools import lru_cache

from knowledge.models import URGENCY_ORDER, RedFlag, TriageText, Urgency

_CANT = r"(?:can'?t|cannot|can not|could ?n'?t|could not|unable to|not able to|no longer able to|impossible to|cant even|can barely|can hardly|barely able to)"
_BODY = (
    r"(?:achill\w*|calf|calves|heel|ankle|leg|tendon|back of (?:my|the) (?:leg|ankle|heel|calf))"
)
_NEGATION = re.compile(
    r"\b(?:no|not|never|without|nothing|none|doesn'?t|does not|didn'?t|did not|wasn'?t|haven'?t)\b[^.!?]{0,25}$"
)

# Fever in the words people use: "a temp of 38.5", "hot and cold", "fluey".
_FEVERISH = (
    r"\b(?:fever\w*|temperature|temp\b|shivery|shivering|chills|rigors|pus|hot and cold|"
    r"flu-?ey|flu-?like|feel(?:ing)? (?:really )?(?:unwell|ill))"
)

_LIKE_HIT = (
    r"\blike (?:being|getting|i was|i'?d been|i got|someone|somebody|something) (?:\w+ )?"
    r"(?:hit|kicked|struck|shot|whacked|smacked|booted|punched)\b"
    r"(?! (?:by|with) (?:a |an )?(?:truck|bus|train|lorry|freight|ton of bricks))"
)

_PATTERNS: dict[str, list[str]] = {
    "achilles_calf_rupture": [
        rf"\b(?:pop|popped|popping|snap|snapped|snapping|crack(?:ed)?|twang)\b[^.!?]{{0,50}}\b{_BODY}",
        rf"\b{_BODY}[^.!?]{{0,50}}\b(?:pop|popped|popping|snap|snapped|snapping|crack(?:ed)?|twang)\b",
        r"\b(?:felt|heard|there was|i had|got) (?:a |an |this |some )?(?:loud |sudden |huge |big )?(?:pop|snap|crack|twang)\b",
        r"\b(?:kick(?:ed)?|boot(?:ed)?|hit|struck|(?<!cortisone )(?<!steroid )(?<!prp )shot(?! for\b)|whacked|smacked)\b[^.!?]{0,40}\b(?:back of (?:my|the) (?:leg|calf|ankle|heel)|my (?:calf|achilles|heel))",
        r"\blike (?:someone|somebody|something|a ball|a rock|a stone)[^.!?]{0,30}\b(?:kick|hit|struck|threw|shot|smack)",
        r"\b(?:tore|torn|rupture[sd]?|ripped) (?:my )?(?:achill\w*|calf)",
        r"\b(?:tore|torn|ripped|rupture[sd]?) (?:something|a muscle) (?:in|at) (?:my|the) (?:calf|achill\w*|lower leg|heel)",
        r"\bmy (?:achill\w*|calf)[^.!?]{0,30}\b(?:tore|torn|rupture[sd]?|ripped|snapped)\b",
        rf"\b{_CANT} (?:\w+ ){{0,3}}(?:stand|get|go|rise|come up|push up|lift (?:myself )?up)\b[^.!?]{{0,20}}\b(?:on|onto|up on) (?:my |the )?(?:toes|tip ?toes?|tippy ?toes|tiptoes?|ball of)",
        rf"\b{_CANT} (?:\w+ ){{0,2}}push off\b",
        r"(?#own-negation)\bno (?:push[- ]off|power to push)\b(?![- ](?:problems?|issues?|pain|trouble))",
        r"\b(?:someone|somebody|something)\b[^.!?]{0,20}\b(?:kick|boot|hit|struck|(?<!cortisone )(?<!steroid )shot(?! for\b)|whack|smack)\w*\b[^.!?]{0,25}\b(?:leg|calf|heel|ankle|achill\w*)\b",
        # The tendon "went bang" (or twang, ping); the squeeze (Thompson) test: squeezing
        # the calf does not move the foot.
        r"\b(?:achill\w*|calf|tendon|heel)\b[^.!?]{0,20}\b(?:went|goes|gone|go) (?:\w+ )?(?:bang|twang|ping|pop|snap)\b",
        r"(?#own-negation)\bsqueez\w*(?: \w+){0,3}\b[^.!?]{0,30}\b(?:didn'?t|didnt|did not|doesn'?t|doesnt|does not|won'?t|no) (?:\w+ )?(?:move|movement|point|react)\w*",
        r"\b(?:ripping|tearing|torn) (?:feeling|sensation)\b",
        # A gap or dent in the tendon; a bang at the heel as a noun ("a sharp bang at the
        # back of my heel"); a blow felt with nobody there (third blind triage round).
        r"\b(?:gap|dent|divot|hollow|dip)\b (?:in|where|above|at|on|along) (?:my |the )?(?:achill\w*|tendon|heel|calf)",
        r"\b(?:a|like a|the)\b (?:\w+ )?(?:gap|dent|divot)\b[^.!?]{0,25}\b(?:achill\w*|tendon|back of (?:my|the) (?:heel|ankle))",
        r"\b(?:achill\w*|tendon|heel)\b[^.!?]{0,40}\b(?:there'?s|theres|there is|now) (?:a |like a )?(?:\w+ )?(?:gap|dent|divot)\b",
        r"\b(?:a|an) (?:\w+ )?bang\b[^.!?]{0,15}\b(?:at|in|on) (?:the back of )?(?:my|the) (?:heel|achill\w*|ankle|calf)",
        r"\b(?:except|but|yet|though|turned (?:a)?round and)\b[^.!?]{0,12}\b(?:no ?one|no-one|nobody)\b[^.!?]{0,10}\b(?:near|behind|around|close|within|there)\b",
        rf"\b{_CANT} (?:\w+ ){{0,2}}(?:tip ?toe|tiptoe|tippy ?toe)",
        # "Like being hit by a stone" while doing something (not "calves feel like I was
        # hit by a truck after leg day", which is soreness told afterwards).
        rf"\b(?:while|during|mid|when i)\b[^.!?]{{0,60}}{_LIKE_HIT}",
        rf"{_LIKE_HIT}[^.!?]{{0,40}}\b(?:while|during|mid)\b",
    ],
    "suspected_fracture": [
        rf"\b{_CANT} (?:\w+ ){{0,2}}(?:bear|put|take|place) (?:any |much |my )?weight\b",
        rf"\b{_CANT} (?:\w+ ){{0,2}}walk\b(?! (?:down|up) (?:the |any |a )?(?:stairs|steps|hill))",
        rf"\b{_CANT} (?:\w+ ){{0,2}}stand on (?:it|(?:the|that|my)(?: left| right| injured| bad| hurt)? (?:leg|foot|ankle))\b",
        r"\b(?:bent funny|looks deformed|deformed|at a (?:weird|funny|strange|odd) angle|out of place|bone (?:sticking|poking) out|"
        r"out of shape|(?:bent|facing|pointing) (?:in )?(?:the wrong way|(?:a|the) (?:weird|wrong|funny|strange|odd) (?:way|direction))|looks (?:crooked|bent))\b",
        r"\b(?:unable|impossible) to (?:bear|take) weight\b",
        # The Ottawa rules' "unable to take four steps", in people's words.
        rf"\b{_CANT} (?:\w+ ){{0,2}}(?:take|walk|manage|do) (?:even |more than )?(?:4|four|a few|2|two|3|three) steps\b",
        r"\b(?:walk\w*|tak\w*|manag\w*) (?:even |more than )?(?:4|four|a few|2|two|3|three) steps\b[^.!?]{0,20}\b(?:is |was )?(?:impossible|agony|no way)\b",
        r"\bnon[- ]weight[- ]bearing\b",
        r"\b(?:had to be|have to be|got) carried\b",
    ],
    "suspected_dvt": [
        r"\b(?:swollen|swelling|swelled|swell|puffy|puffed)\b[^.!?]{0,80}\b(?:red|redness|warm|warmth|hot|heat|burning hot)\b",
        r"\b(?:red|redness|warm|warmth|hot)\b[^.!?]{0,80}\b(?:swollen|swelling|swelled|puffy)\b",
        r"\b(?:suddenly|all of a sudden|overnight)\b[^.!?]{0,60}\b(?:swollen|swelling|swelled|puffy|bigger|larger|fatter)\b",
        r"\b(?:swollen|swelling|swelled|puffy|bigger|larger)\b[^.!?]{0,60}\b(?:suddenly|all of a sudden|overnight)\b",
        r"\b(?:swollen|swelling|swelled|puffy|tight and painful)\b[^.!?]{0,80}\b(?:flight|flew|plane|surgery|operation|bed ?rest|long (?:drive|car ride|trip|journey)|hospital|cast|the pill)\b",
        r"\b(?:flight|flew|plane|surgery|operation|bed ?rest|long (?:drive|car ride|trip|journey)|cast)\b[^.!?]{0,80}\b(?:swollen|swelling|swelled|puffy)\b",
        r"\b(?:is it|could it be|might it be|could this be|might be|may be|maybe|think (?:it'?s|i have|i'?ve got)|worried (?:it'?s|about)|scared (?:it'?s|of)) (?:a |an )?(?:blood clot|clot|dvt|deep vein thrombosis|thrombosis)\b",
        r"\bcalf[^.!?]{0,40}\b(?:red|warm|hot) (?:to (?:the )?touch|and (?:swollen|painful|tender|sore))",
        r"\b(?:warm|hot|red) (?:and )?(?:tender|painful|sore)? ?(?:spot|patch|area)? ?(?:on|in) my calf\b",
    ],
    "foot_circulation": [
        # Toes that will not move at all (not "as well as the other foot"), with or
        # without an injury; colour and cold count only after one (_AFTER_INJURY).
        rf"\b{_CANT} (?:\w+ ){{0,2}}(?:move|wiggle) (?:my |the |any )?toes\b"
        r"(?! (?:as|much|very|well|properly|enough|that|so|far|fully|independently|separately|one))",
        # One foot colder, paler or bluer than the other (the catalogue's own question),
        # with or without an injury: "my toes go white in cold water" compares nothing.
        r"\b(?:foot|toes?)\b[^.!?]{0,40}\b(?:cold|colder|pale|paler|white|whiter|(?<!black and )blue|"
        r"bluer|bluish|purple|grey|gray|ice[- ]cold)\b[^.!?]{0,40}"
        r"\b(?:than|compared (?:to|with)|next to) (?:the |my )?(?:other|left|right|good)\b",
        # Toes going dusky or black, and a foot that hurts at night until it hangs over
        # the side of the bed, are a limb short of blood (NHS, complications of
        # peripheral arterial disease: toes "turning red and then black", "contact your
        # GP immediately"; NHS BNSSG: pain "worse when the leg is elevated (e.g. at
        # night), then relieved by hanging the leg down"). Not a black toenail: "toenail"
        # is not "toe".
        r"\b(?:toes?|foot)\b[^.!?]{0,40}\b(?:purplish|purple-?black|blackish|dusky|black and (?:cold|blue))\b",
        r"\b(?:hang\w*|dangl\w*)\b[^.!?]{0,30}\b(?:over|off|out of) (?:the )?(?:side|edge) of (?:the )?bed\b",
    ],
    "numbness_tingling": [
        r"\b(?:numb|numbness|numbed|tingl\w*|pins (?:and|&|n) needles)\b",
        r"\b(?:electric(?:al)?|shooting|zapping|zaps?)\b[^.!?]{0,40}\b(?:leg|foot|feet|calf|toes|heel|sole)\b",
        rf"\b{_CANT} (?:\w+ ){{0,2}}feel (?:my )?(?:foot|feet|toes|heel|leg)\b",
        r"\b(?:foot drop|dropped foot|floppy foot|foot (?:feels|is|went|goes|feeling) floppy|foot (?:is )?(?:slapping|flopping|dragging)|drag(?:ging)? my foot)\b",
        r"\bburning\b[^.!?]{0,40}\b(?:down (?:my|the) leg|into (?:my|the) (?:foot|toes))",
        r"\b(?:lost|losing|loss of) (?:all )?(?:feeling|sensation)\b",
    ],
    "suspected_pe": [
        r"\bchest (?:pain|pains|tight\w*|pressure|hurts|is hurting|feels tight)\b",
        r"\btight chest\b",
        # A racing heart at rest ("heart 120 just sitting"), with the calf checked below.
        r"\bheart\b[^.!?]{0,15}\b(?:racing|pounding|1[0-9]{2}|hammering)\b",
        r"\bcough\w*\b[^.!?]{0,40}\bblood\b",
        r"\bpain\w*\b[^.!?]{0,50}\b(?:when|while|as|on) (?:i )?(?:breath\w*|inhal\w*|take a (?:deep )?breath)",
        rf"\b{_CANT} (?:\w+ ){{0,1}}catch (?:my |a )?breath\b",
        r"\b(?:get|gets|getting|got) puffed\b",
        r"\b(?:pain|tightness|pressure) in (?:my|the) chest\b",
        r"\b(?:short(?:ness)? of breath|breath(?:ing)? (?:is |feels )?short|short breath|breathless\w*|can'?t (?:catch my )?breathe?|hard to breathe|struggling to breathe|trouble breathing|difficulty breathing|coughing (?:up )?blood|out of breath)\b",
        r"\bpain\w* (?:when|while|as) (?:i )?(?:breathe|breathing|inhale|take a (?:deep )?breath)",
        # Chest pain worse on breathing in, told without "pain": "it hurts to take a deep
        # breath" (counted only with a painful or swollen calf, below).
        r"\b(?:hurts?|hurting|sore|stabs?|stabbing|sharp) (?:\w+ )?(?:to |when (?:i )?|while (?:i )?)"
        r"(?:breathe|breathing|inhale|take a (?:deep |big )?breath|breath in)\b",
    ],
    "infection": [
        r"\b(?:red|redness|hot|warm|swollen|inflamed)\b[^.!?]{0,60}\b(?:spreading|spread|getting bigger|grown|growing|got bigger)\b",
        r"\bred (?:streaks?|lines?)\b",
        rf"\b(?:redness|red|hot|swollen|infected)\b[^.!?]{{0,80}}{_FEVERISH}",
        rf"{_FEVERISH}[^.!?]{{0,80}}\b(?:redness|red|hot|swollen)\b",
        # A wound that is red or swollen and oozes or smells (a weeping graze alone heals).
        r"^(?=.*\b(?:wound|cut|incision|scar|stitches|graze|blister|bite)\b)"
        r"(?=.*\b(?:red|redness|hot|swollen|inflamed)\b)"
        r"(?=.*\b(?:ooz\w*|pus|discharg\w*|smell\w*|stink\w*)\b)",
    ],
    # Muscle breakdown after extreme exercise: dark urine with sore or swollen muscles.
    "rhabdomyolysis": [
        r"^(?=.*\b(?:pee|urine|wee|piss)\b[^.!?]{0,30}\b(?:dark|brown|cola|coke|tea|black|red)\w*)"
        r"(?=.*\b(?:calf|calves|legs?|muscles?|quads?|thighs?)\b)",
        r"\b(?:dark|brown|cola|coke|tea)[- ](?:colou?red )?(?:pee|urine|wee)\b",
    ],
    "plantar_fascia_rupture": [
        r"\b(?:ruptured|tore|torn|snapped|ripped) (?:my |the )?plantar\b",
        r"\bplantar fascia\b[^.!?]{0,25}\b(?:ruptured|rupture|tore|torn|went|snapped|popped|gave)\b",
        r"\b(?:pop|popped|popping|snap|snapped|tear|tore|tearing|ripp\w*|gave way|gave)\b[^.!?]{0,40}\b(?:under (?:my|the) foot|(?:bottom|sole) of (?:my|the) foot|in (?:my|the) (?:left |right )?arch|my arch|the arch|under (?:my|the) heel|in the sole)\b",
        r"\bbruis\w*\b[^.!?]{0,20}\b(?:on|in|under|along) (?:the |my )?(?:sole|arch|bottom of (?:my|the) foot)\b",
    ],
}

# Signs that mean an emergency only after an injury: "my foot went pale" after a sprain is
# not "my toes are pale after a cold shower", and "huge swelling" after a fall is not the
# pump after drop sets. These count when the message also tells of an injury.
_INJURY = re.compile(
    r"\b(?:rolled|rolling|twist\w*|sprain\w*|fell|fall(?:en|ing)?|landed|landing (?:on|badly)|"
    r"tackle\w*|kicked|collision|crash\w*|accident|injur\w*|(?:went|going|gone|go) over on|tripped|slipped|"
    r"stepped (?:on|in|off)|gave (?:out|way)|cast|hurt it|"
    r"(?:hit|smashed|struck|whacked) (?:my|the|it)|got (?:hit|stamped|stepped on))\b"
)
_AGONY = (
    r"(?:agony|agonising|agonizing|unbearable|excruciating|scream\w*|yell\w*|"
    r"(?:really|very|super|so|extremely) (?:tender|sore|painful))"
)
_AFTER_INJURY: dict[str, list[str]] = {
    "suspected_fracture": [
        rf"\b{_CANT} (?:\w+ ){{0,2}}put (?:my |the |that |this )?(?:foot|leg) (?:down|on the (?:floor|ground))",
        r"\b(?:it'?s|it is|is it|if it'?s) (?:broken|fractured)\b",
        # Out of shape: "pointing off to the side", "looks wrong", "a lump where there
        # shouldn't be", "a bony lump sticking out" (feet that point out are not, uninjured).
        r"\b(?:foot|ankle|toes?|leg|heel)\b[^.!?]{0,25}\b(?:pointing|points|pointed|facing|turned|sitting) "
        r"(?:\w+ ){0,2}(?:to the side|sideways|outwards?|inwards?|off to one side)",
        r"\blooks?\W+(?:\w+ )?(?:wrong|not right|all wrong|misshapen)\b",
        r"\b(?:doesn'?t|does not|don'?t) look right\b",
        r"\b(?:lump|bump)\b[^.!?]{0,20}\bwhere (?:there )?(?:shouldn'?t|should not|never) (?:be )?",
        r"\b(?:bon(?:e|y)|lump|bump)\b[^.!?]{0,20}\b(?:sticking|poking) (?:out|up)\b",
        # A bone sore to press (the Ottawa rules' bone tenderness): "pressing on the bony
        # bump is agony", "squeezing the sides of the heel is unbearable".
        r"\b(?:press\w*|push\w*|touch\w*|squeez\w*|pok\w*)\b[^.!?]{0,50}\b(?:bon(?:e|y)|heel|ankle bone)\b[^.!?]{0,40}"
        rf"{_AGONY}",
        rf"{_AGONY}[^.!?]{{0,40}}\b(?:press\w*|touch\w*|squeez\w*|pok\w*)\b[^.!?]{{0,30}}\b(?:bon(?:e|y)|heel|ankle bone)\b",
        rf"\b(?:bon(?:e|y)|ankle bone)\b[^.!?]{{0,30}}{_AGONY}[^.!?]{{0,15}}\b(?:to (?:the )?touch|to press|when (?:i )?(?:press|touch))",
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
# "Can't do a single calf raise" is a beginner's or an older person's weakness (the guide's
# own test); told as something that changed ("since sunday", "on it", "anymore") or after
# an injury, it is the sign of a torn Achilles or calf.
_NO_RAISE = re.compile(
    rf"\b{_CANT} (?:do|manage|perform) (?:a single|even one|one|any) (?:calf|heel|toe) raises?\b"
)
_CHANGED = re.compile(
    r"\b(?:since|suddenly|all of a sudden|any ?more|no longer|incident|"
    r"on (?:it|that (?:leg|side|foot)|the (?:injured|bad|hurt) (?:leg|side|foot)))\b"
)
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
    r"|\byears ago\b|\bin (?:19|20)\d\d\b|\b(?:last|previous) (?:year|season|summer|winter|spring|autumn|fall)\b"
    r"|\b(?:healed|recover\w*|rehab\w*|cleared|cast (?:is |came |come )?off|"
    r"out of (?:the |my )?cast|post[- ]?(?:fracture|op|surgery)|old (?:fracture|break|injury)|"
    r"as a (?:kid|child|teen\w*)|years back|long ago|fully fine|fine now)\b"
)
_CLAUSE_BREAK = re.compile(r"[,;:]|\b(?:but|though|although|however|yet)\b")
_HEDGE = re.compile(
    r"\b(?:not sure|not certain|don'?t know|do not know|no idea|unsure|wondering)\b"
)
# A stress fracture (the catalogue's "a bone that hurts at rest or at night after a lot of
# running"): in a bone, after more running or marching, one of its signs: one spot to
# point at, pain on hopping, pain at night or at rest.
_BONE = re.compile(
    r"\b(?:bon(?:e|es|y)|shin ?bones?|shins?|tibia|fibula|metatarsals?|top of (?:my|the|his|her) foot)\b"
)
_STRESS_KINDS = re.compile(
    r"(?P<spot>\b(?:one|a|single|exact|specific|particular|tiny|small|precise) (?:\w+ )?(?:spot|point)\b"
    r"|\bpinpoint\b)"
    r"|(?P<rest>\b(?:at night|in bed|at rest|when resting|while resting|even (?:walking|resting|at rest|"
    r"when i'?m resting|when resting|lying|sitting)))"
    r"|(?P<worse>\b(?:getting|got|gets) worse\b)"
)
_MUSCLE = re.compile(r"\b(?:calf|calves|achill\w*|soleus|gastroc\w*|muscles?|tendons?|arch)\b")
_OVERLOAD = re.compile(
    r"\b(?:mileage|marathon|miles|km|k a week|distance|volume|running|runs?|ran|training|upped|increased|"
    r"ramped|doubled|marching|marches|route march\w*)\b"
)
_STRESS_SIGN = re.compile(
    r"\b(?:one|a|single|exact|specific|particular|tiny|small|precise) (?:\w+ )?(?:spot|point)\b"
    r"|\bpoint (?:to )?(?:it )?with (?:one|a|my) finger\b|\bpinpoint\b"
    rf"|\bhop\w*\b[^.!?]{{0,40}}(?:{_AGONY}|impossible|too painful|(?:really|so) (?:hurts|painful))"
    rf"|\b{_CANT} (?:\w+ ){{0,2}}hop\b(?! (?:very |as |that )?(?:well|much|far|long|high|many|for|fast))"
    r"|\b(?:hurts?|aches?|aching|pain\w*|sore|throb\w*)\b[^.!?]{0,30}\b(?:at night|in bed|at rest|"
    r"when resting|while resting|even (?:walking|resting|at rest|lying|sitting|standing))"
)
# Pain far beyond what the injury or workout explains, in a tight or swollen leg: the
# earliest sign of acute compartment syndrome (see red_flags.yaml sources).
_SEVERE_PAIN = re.compile(
    r"\b(?:unbearable|excruciating|agony|agonising|agonizing|out of (?:all )?proportion|"
    r"(?:way|much|far) (?:more|worse) than (?:normal|usual|it should|expected|i'?d expect)|"
    r"(?:way|much|far) worse than normal|like (?:it'?s|it is) going to (?:burst|explode)|"
    r"painkillers? (?:don'?t|do not|aren'?t|are not|isn'?t|not) (?:help|touch|work|do)\w*|"
    r"hurts like crazy|keeps? getting worse|getting worse and worse|"
    r"(?:hurts?|hurting|pain\w*|sore) (?:so|too) (?:bad|much)\W+(?:\w+\W+){0,2}(?:can'?t|cant|cannot) sleep)\b"
)
_TENSE = re.compile(
    r"\b(?:rock hard|hard as (?:a )?rock|tight|tense|swollen|swelling|shiny|hard|(?:tight|hard) as (?:a )?drums?)\b"
)
# One calf's symptoms and a reason for a clot (NICE CG92 and NHS risk factors): the two can
# be sentences apart ("my calf is swollen and warm. I flew back from Sydney yesterday").
_CALF = re.compile(r"\b(?:calf|calves|lower leg|leg|back of (?:my|the) (?:leg|knee))\b")
# "Calves" alone are both legs ("my calves are sore and I fly next week"): a clot is
# usually in one.
_ONE_CALF = re.compile(r"\b(?:calf|lower leg|leg|back of (?:my|the) (?:leg|knee))\b")
_CALF_SYMPTOM = re.compile(
    r"\b(?:pain\w*|ach\w*|sore|tender\w*|swollen|swelling|swelled|puffy|puffed up|warm|hot|red|"
    r"throb\w*|hurts?|hurting|cramp\w*|darker|discolou?red)\b"
)
# Long travel and long sitting are told as hours ("22h door to door", "drove 14 hrs
# straight", "sat 12h+ a day"), not only as "a long flight". Time in bed counts when it is
# bed rest ("laid up in bed for 2 weeks"), not "it aches at night in bed". Cancer treatment
# is a NICE risk factor too (NICE NG89).
_HOURS = r"\d+ ?(?:h|hrs?|hours?)\b\+?"
_CLOT_RISK = re.compile(
    r"\b(?:flight|flights|flew|flying|plane|long[- ]haul|economy|door to door|jet ?lag\w*|"
    rf"(?:long|{_HOURS}) (?:drive|car ride|trip|journey|coach|bus|train)|"
    rf"(?:drive|car ride|trip|journey|coach|bus|train|flight)\w* (?:of )?{_HOURS}|"
    rf"(?:drove|driven|driving|sat|sitting|seated|stuck)\b[^.!?]{{0,25}}\b{_HOURS}|"
    r"travell?ing|surgery|operation|op\b|post[- ]?op|arthroscopy|replacement|replaced|cast|plaster|boot|"
    r"bed ?rest|bedridden|(?:stuck|laid up|confined|lying|been|bed-?bound) in bed|in bed (?:for|with|since|all)|"
    r"laid up|hospital|pregnan\w*|weeks pregnant|postpartum|gave birth|"
    r"had (?:a|my) baby|(?:the|combined|contraceptive|birth control|mini) pill|contracepti\w*|hrt|immobili[sz]\w*|chemo\w*|cancer)\b"
)
# A risk still to come is no reason for a clot now: "sore calves, I fly next week".
_FUTURE_BEFORE = re.compile(
    r"\b(?:will|'ll|going to|gonna|about to|plan(?:ning)? to|due to|booked|have|got|upcoming|"
    r"before (?:my|the|a))\s+(?:\w+\s+){0,2}$"
)
_FUTURE_AFTER = re.compile(
    r"^\W*(?:\w+\W+){0,4}?(?:next|tomorrow|soon|later|in (?:a|an|\d+|two|three|a few|few) "
    r"(?:days?|weeks?|months?|hours?))\b"
)
_A_LEG = re.compile(
    r"\b(?:calf|calves|legs?|ankles?|shins?|knees?|thighs?|achill\w*|soleus|gastroc\w*)\b"
)
_BOTH_SIDES = re.compile(
    r"\bboth (?:of )?(?:my |the |his |her |their )?(?:legs|lower legs|calves|sides|ankles|feet)\b"
    r"|\beach (?:leg|side|calf)\b"
)
_COMPILED = {key: [re.compile(p) for p in patterns] for key, patterns in _PATTERNS.items()}
_COMPILED_AFTER_INJURY = {
    key: [re.compile(p) for p in patterns] for key, patterns in _AFTER_INJURY.items()
}


@dataclass(frozen=True)
class Triage:
    """The red flags a message raises, most urgent first."""

    flags: tuple[RedFlag, ...]

    @classmethod
    def of(cls, ids: set[str] | tuple[str, ...], red_flags: tuple[RedFlag, ...]) -> Triage:
        """The flags with these ids (earlier ids mapped), most urgent first.

        An id the catalogue does not know is a programming error, raised, never dropped:
        a silently lost flag is a missed referral.
        """
        by_id = {flag.id: flag for flag in red_flags}
        by_id |= {old: flag for flag in red_flags for old in flag.replaces}
        unknown = set(ids) - set(by_id)
        if unknown:
            raise KeyError(f"unknown red-flag ids {sorted(unknown)}")
        chosen = {by_id[i].id: by_id[i] for i in ids}.values()
        return cls(
            flags=tuple(sorted(chosen, key=lambda f: (URGENCY_ORDER[f.urgency], f.checklist)))
        )

    @property
    def is_red_flag(self) -> bool:
        return bool(self.flags)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(flag.id for flag in self.flags)

    @property
    def urgency(self) -> Urgency | None:
        """The most urgent flag's urgency (``None`` when nothing was raised)."""
        return self.flags[0].urgency if self.flags else None

    def referral_text(self, text: TriageText) -> str:
        """A calm referral, urgency first: what to do now and what not to do, never a
        program or exercise advice."""
        if not self.flags:
            return ""
        body = "\n\n".join(flag.referral for flag in self.flags)
        return f"{text.urgency_openings[self.flags[0].urgency]}\n\n{body}\n\n{text.closing}"


def _normalize(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"\s+", " ", text)


def _negated(text: str, start: int) -> bool:
    """ "No pop", "didn't snap"; but "not sure if it's broken" is a hedge, not a denial."""
    window = _CLAUSE_BREAK.split(text[max(0, start - 30) : start])[-1]
    return bool(_NEGATION.search(window)) and not _HEDGE.search(window)


_RECENT = re.compile(
    r"\b(?:today|yesterday|tonight|this (?:morning|afternoon|evening|week)|last night|just now|"
    r"an hour ago|re-?(?:injur|ruptur|tore|tear)\w*|now (?:it|i|my)|"
    r"since (?:the weekend|last night|this morning|(?:mon|tues|wednes|thurs|fri|satur|sun)day)|"
    r"(?:did it|done it|tore it|hurt it|injured it|went|gone|popped|snapped|happened|broke it) again)\b"
)
# Told as the past: explicit years, months or seasons ago, or healed and back to normal. Not
# "rehab" (people ask how to rehab a fresh tear) and not "weeks ago" on its own.
_RESOLVED = re.compile(
    r"\b(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|few|several|many|couple(?: of)?) "
    r"(?:years?|yrs?|months?|seasons?|summers?|winters?) (?:ago|back)\b|\byears (?:ago|back)\b"
    r"|\bin (?:19|20)\d\d\b|\bback in\b|\b(?:last|previous) (?:year|season|summer|winter|spring|autumn|fall)\b"
    r"|\b(?:fully |all )?(?:healed|recovered|resolved|cleared|discharged)\b|\b(?:fine|good|ok|okay) now\b"
    r"|\bback (?:to|playing|running|training|lifting|at)\b|\bas a (?:kid|child|teen\w*)\b|\byears back\b|\blong ago\b"
)


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?;])\s+|\n+", text) if s.strip()]


def _told_as_past(sentence: str) -> bool:
    """An old or healed injury ("ruptured it 4 years ago, fully healed"), not a new one."""
    return bool(_RESOLVED.search(sentence)) and not _RECENT.search(sentence)


def told_as_past(text: str) -> bool:
    """The whole message is about an old or healed injury: no sentence is told as now."""
    sentences = _sentences(_normalize(text))
    return any(_RESOLVED.search(s) for s in sentences) and not any(
        _RECENT.search(s) for s in sentences
    )


# "Pop" as a wish or a what-if ("make my calves pop", "feels like it could snap"), a
# painless click ("my ankle pops when I rotate it, doesn't hurt"), heels that "pop up" in a
# squat and "just crack on" (carry on) are not injuries.
_EVENT_WORD = re.compile(r"\b(?:pop|popped|popping|snap|snapped|snapping|crack(?:ed)?|twang)\b")
_NOT_AN_EVENT = re.compile(
    r"\b(?:to|could|might|would|will|gonna|really|make|makes|making|want|wanna)\s+(?:\w+\s+){0,2}$"
    r"|\bhow (?:does|do|can|could|would|come) (?:\w+\s+){0,3}$"
)
_PAINLESS = re.compile(
    r"\b(?:doesn'?t|does not|didn'?t|don'?t|no|not|never|without) (?:really )?"
    r"(?:hurt\w*|pain\w*|sore)\b|\bpainless\b"
    # A joint cracked like knuckles, or a pop that felt good, is a release, not a tear
    # (fourth blind round: "heard a pop in my ankle when I stretched it, like cracking my
    # knuckles, felt kind of nice").
    r"|\bknuckles?\b|\bfelt (?:\w+ ){0,2}(?:nice|good|great|satisfying|better)\b"
)


_RISE_OR_CARRY_ON = re.compile(
    r"pop\w* (?:up|off the floor)\b|crack\w* on\b(?! (?:landing|impact))"
)
_A_NOISE = re.compile(r"\b(?:a|an|the|loud|big|huge|heard|felt|some)\s+$")


# Someone else's injury ("a guy at my gym snapped his last month", "my friend tore hers")
# is the reason for a prevention question, not the user's own injury. It is referred when
# it is told as happening now ("my friend just did one ... now he can't walk on it", "my
# son tore his calf today, what can he do"): a parent or a coach asking for someone else.
_PEOPLE = (
    r"(?:he|she|they|guy|girl|man|woman|lad|bloke|friend|mate|buddy|pal|team ?mate|colleague|"
    r"co-?worker|brother|sister|dad|father|mum|mom|mother|son|daughter|wife|husband|partner|"
    r"boyfriend|girlfriend|client|patient|player|runner|coach|someone|somebody|\w+ (?:of|at) (?:my|our) \w+)"
)
_THEIR_OBJECT = re.compile(r"\s+(?:his|her|hers|their|theirs)\b")
_CLAUSE_START = re.compile(
    r"[,;:]|\b(?:and|but|after|when|because|since|so|then|while|as|though|although|if|until|before)\b"
)
_THEIR_SUBJECT = re.compile(
    rf"^\s*(?:(?:a|an|the|my|our|one of my|this|that|some)\s+)?(?:\w+\s+)?{_PEOPLE}\b"
)
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|im|i've|ive|me|my|mine)\b")
_THEIRS_NOW = re.compile(
    r"\b(?:just|now|currently|still|at the moment|today|tonight|yesterday|last night|"
    r"this (?:morning|afternoon|evening|week))\b"
    r"|\b(?:he|she|they)(?:'s|'re| is| are| can'?t| cant| cannot| has| have| says| feels| keeps)\b"
    r"|\b(?:for|help|can|should|does|will|could) (?:him|her|them|he|she|they)\b"
)


# A guess about what happened is told as now: "I think my son broke his ankle".
_GUESS = re.compile(
    r"\b(?:think|thinks|thought|reckon\w*|might|may|maybe|could|probably|possibly|wonder\w*|"
    r"not sure|suspect\w*|looks like|is it|did (?:he|she|they))\b"
)
_INJURY_VERB = re.compile(
    r"\b(?:pop(?:ped|ping)?|snap(?:ped|ping)?|crack(?:ed)?|twang|tore|torn|tear|ripped|"
    r"rupture[sd]?|broke|broken|fractured?)\b"
)


def _someone_elses(sentence: str, match: re.Match[str]) -> bool:
    """The match's injury word tells of another person's injury, told as the past."""
    verb = _INJURY_VERB.search(match.group())
    if verb is None:
        return False
    start, end = match.start() + verb.start(), match.start() + verb.end()
    clause = _CLAUSE_START.split(sentence[max(0, start - 60) : start])[-1]
    theirs = bool(_THEIR_OBJECT.match(sentence, end)) or (
        bool(_THEIR_SUBJECT.search(clause))
        and not _FIRST_PERSON.search(clause)
        and not re.match(r"\s+(?:my|mine)\b", sentence[end:])
    )
    return theirs and not _GUESS.search(clause) and not _THEIRS_NOW.search(sentence)


def _is_event(sentence: str, match: re.Match[str]) -> bool:
    word = _EVENT_WORD.search(match.group())
    if word is None:
        return True
    start = match.start() + word.start()
    before = sentence[max(0, start - 25) : start]
    if _RISE_OR_CARRY_ON.match(sentence, start) and not _A_NOISE.search(before):
        return False
    return not _NOT_AN_EVENT.search(before) and not _PAINLESS.search(sentence)


def _last_word_at(match: re.Match[str]) -> int:
    last = re.search(r"\w+\W*$", match.group())
    return match.start() + (last.start() if last else 0)


def _counts(sentence: str, match: re.Match[str]) -> bool:
    """A match counts unless its first or last word is denied, or its "pop" is no event."""
    own_negation = match.re.pattern.startswith("(?#own-negation)")  # "no push off"
    return (
        not _negated(sentence, match.start())
        and (own_negation or not _negated(sentence, _last_word_at(match)))
        and _is_event(sentence, match)
        and not _someone_elses(sentence, match)
    )


@lru_cache(maxsize=256)
def _live_sentences(text: str) -> tuple[str, ...]:
    """The sentences not told as the past; cached because every flag asks again."""
    return tuple(s for s in _sentences(text) if not _told_as_past(s))


def _groups() -> dict[str, list[re.Pattern[str]]]:
    return {
        **_COMPILED,
        **{f"after:{key}": patterns for key, patterns in _COMPILED_AFTER_INJURY.items()},
        "fracture": _FRACTURE,
        "no_raise": [_NO_RAISE],
    }


@lru_cache(maxsize=8192)
def _counts_in(group: str, sentence: str) -> bool:
    """Whether one of a group's patterns counts in one sentence.

    Cached by sentence: a conversation's previous message and this one are read again,
    joined, to see details told across the two (:func:`rule_flags` on the joined text);
    their sentences were read moments ago, so only what spans the two costs anything,
    which keeps triage within its budget of half a millisecond per answer.
    """
    screen = _SCREENS.get(group)
    if screen is not None and screen.search(sentence) is None:
        return False  # no pattern of the group matches at all: one regex search, not dozens
    return any(_counts(sentence, m) for p in _GROUPS[group] for m in p.finditer(sentence))


def _matches(group: str, text: str) -> bool:
    """A pattern of the group counts in some sentence told as now."""
    return any(_counts_in(group, sentence) for sentence in _live_sentences(text))


def _recent_fracture(text: str) -> bool:
    return any(
        _counts_in("fracture", sentence) and not _OLD_INJURY.search(sentence)
        for sentence in _live_sentences(text)
    )


def _clot_risk_context(text: str) -> bool:
    """A painful or swollen calf and a clot risk in the same message, on one side."""
    if _BOTH_SIDES.search(text):
        return False
    live = [s for s in _sentences(text) if not _told_as_past(s)]
    symptom = any(
        not _negated(s, m.start())
        for s in live
        if _ONE_CALF.search(s)
        for m in _CALF_SYMPTOM.finditer(s)
    )
    risk = any(
        not _negated(s, m.start()) and not _still_to_come(s, m)
        for s in live
        for m in _CLOT_RISK.finditer(s)
    )
    return (symptom and risk) or _one_sided_swelling(live) or _lasting_swelling(live)


def _still_to_come(sentence: str, match: re.Match[str]) -> bool:
    """ "I fly next week", "going to have surgery": a risk not yet taken."""
    return bool(
        _FUTURE_BEFORE.search(sentence[max(0, match.start() - 30) : match.start()])
        or _FUTURE_AFTER.search(sentence[match.end() : match.end() + 40])
    )


# One calf or lower leg swollen, bigger, warmer or redder than the other, without a named
# injury, is the sign the catalogue asks about ("one calf ... swollen, warm, or red or
# darker than the other"). A calf that is only bigger is muscle ("my left calf is bigger
# than my right, looks weird in shorts", "bigger and sore after runs"), and only warmer
# can be a massage, unless it is also warm, red, tender or throbbing. After an injury, swelling is the injury's own rules' call.
_ONE_SIDED = re.compile(
    r"\b(?:than|compared (?:to|with)|next to) (?:the |my |his |her )?(?:other|left|right|good)\b"
    r"|\b(?:the )?other (?:leg|calf|one|side) (?:is|looks|feels|seems) (?:\w+ )?(?:fine|normal|ok|okay)\b"
    r"|\b(?:left|right) (?:leg|calf|one|side) (?:is|looks|feels) (?:\w+ )?(?:fine|normal|ok|okay)\b"
    r"|\bonly (?:on )?(?:that|one|this) (?:side|leg)\b"
)
_SWELLING = re.compile(r"\b(?:swollen|swelling|swelled|puffy|puffier|puffed up)\b")
_BIGGER = re.compile(
    r"\b(?:bigger|larger|fatter|thicker|twice the size|warmer|hotter|redder|darker)\b"
)
_WARM_OR_TENDER = re.compile(
    r"\b(?:warm|hot|red|reddish|red-?ish|tender\w*|throb\w*)\b"
    r"|\b(?:hurts?|pain\w*|worse)\b[^.!?]{0,20}\b(?:pull|bend|flex|lift)\w* (?:my |the )?(?:toes|foot) (?:up|back)"
)


def _one_sided_swelling(sentences: list[str]) -> bool:
    text = " ".join(sentences)
    injured = any(not _negated(text, m.start()) for m in _INJURY.finditer(text))
    if not _ONE_SIDED.search(text) or not _CALF.search(text) or injured:
        return False

    def said(pattern: re.Pattern[str]) -> bool:
        return any(not _negated(text, m.start()) for m in pattern.finditer(text))

    return said(_SWELLING) or (said(_BIGGER) and said(_WARM_OR_TENDER))


# One calf swollen for days without a clear injury (the catalogue's "one calf ... swollen
# ... without a clear injury"): "calf cramp woke me and it's been sore and swollen for two
# days". Not calves after a session ("calves look pumped and swollen"), which is both.
_LASTING = re.compile(
    r"\b(?:for|over|about|nearly|almost) (?:the (?:last|past) )?(?:\d+|two|three|four|five|six|"
    r"a few|few|several|a couple(?: of)?) (?:days|weeks)\b|\b(?:for|all) (?:a|the) week\b"
)


def _lasting_swelling(sentences: list[str]) -> bool:
    text = " ".join(sentences)
    injured = any(not _negated(text, m.start()) for m in _INJURY.finditer(text))
    if not re.search(r"\bcalf\b", text) or injured:
        return False
    return any(
        not _negated(s, m.start()) and _LASTING.search(s)
        for s in sentences
        if re.search(r"\bcalf\b", s)
        for m in _SWELLING.finditer(s)
    )


def _stress_fracture(text: str) -> bool:
    """A bone that hurts now in a stress fracture's way. The bone may be named in another
    sentence ("stress fracture in my 2nd metatarsal last year. now one spot on top hurts
    when i press it"), but then the sign's own sentence must name no muscle."""
    live = [s for s in _sentences(text) if not _told_as_past(s)]
    named = bool(_BONE.search(text))
    signs = any(
        not _negated(s, m.start()) and (_BONE.search(s) or (named and not _MUSCLE.search(s)))
        for s in live
        for m in _STRESS_SIGN.finditer(s)
    )
    joined = " ".join(live)
    # Two of its signs on a named bone (one spot, and pain at rest or worse for weeks)
    # need no overload told: "basketball, one point on the bone really tender, aches even
    # when resting".
    kinds = {m.lastgroup for m in _STRESS_KINDS.finditer(joined)}
    return signs and named and (bool(_OVERLOAD.search(joined)) or len(kinds) >= 2)


def _compartment(text: str) -> bool:
    live = " ".join(s for s in _sentences(text) if not _told_as_past(s))
    severe = any(not _negated(live, m.start()) for m in _SEVERE_PAIN.finditer(live))
    return (
        severe
        and len({m.group(0) for m in _TENSE.finditer(live)}) >= 1
        and bool(re.search(r"\b(?:calf|calves|shin|lower leg|leg)\b", live))
    )


# What the learned vote may add (bot/triage_model.py): the nearest examples are injuries
# told as stories, and a message near them in wording is not always one. "Why would that
# muscle cause shin pain?" is a question about the guide, not about anyone's leg; "sharp
# pain under my heel when I get out of bed, first few steps are agony, then it eases off"
# is the recurring pattern the guide covers, not an injury. A rule that fires is precise
# on its own and is never held back by these.
_SOMEONE = re.compile(
    r"\b(?:i|i'm|im|i've|ive|i'd|id|i'll|me|my|mine|myself|we|our|us|he|she|his|her|hers|him|"
    r"they|their|them)\b"
)
_HAPPENED = re.compile(
    r"\b(?:felt|heard|went|gone|got|happened|woke|landed|fell|twisted|rolled|tripped|slipped|"
    r"swollen|swelling|swelled|bruis\w*|numb\w*|tingl\w*|limp\w*|since|now|suddenly|"
    r"yesterday|today|tonight|this morning|last night|knock\w*|balloon\w*|blew up|blown up|"
    r"sudden\w*|during|while|mid|"
    r"puff\w*|purple|(?:has|have|had|'s|'ve) been|(?:for|after|since) (?:\w+ )?(?:hours?|days?|weeks?))\b"
)
# Pain that eases, settles or is gone by lunch, or stiffness on the first steps of the
# morning, is a pattern, not an acute injury (unless something is still wrong "but now").
_SETTLES = re.compile(
    r"\b(?:eases?|eased|easing|settles?|settled|settling|wears? off|wore off|goes away|went away|"
    r"goes off|gone by|loosens? up|loosened up|warms? up|warmed up|"
    r"(?:fine|ok|okay|good|better|normal) (?:by|after|once|within|again)|"
    r"(?:goes|went|go|disappears?|disappeared) (?:\w+ )?after (?:a |an )?(?:\w+ )?(?:minute|min|rest|while))\b"
    r"|\bfirst (?:few |couple of )?steps\b|\b(?:every|each) morning\b"
    # A pain that comes with an activity and is told as a pattern ("gets pain on the
    # inside of her ankle after walks"), not as something that happened.
    r"|\b(?:gets?|getting) (?:\w+ )?(?:pain|aches?|sore\w*|tight\w*)\b[^.!?]{0,40}\bafter (?:\w+ )?"
    r"(?:walks?|runs?|runn\w+|sessions?|games?|training|work|hikes?)\b"
    r"|\b(?:after|during) (?:every|each) (?:walk|run|session|game|workout)\b"
    # ... or that comes on runs, told in the plural ("pain on the outside of my knee on
    # long runs": third blind conversation round, a false emergency from the vote).
    r"|\b(?:pain|aches?|sore\w*|tight\w*)\b[^.!?]{0,60}\b(?:on|during|in) (?:my |the )?"
    r"(?:long |longer |easy |hill )?(?:runs|walks|hikes|rides)\b"
    r"|\bstiff\w*\b[^.!?]{0,40}\b(?:in the morning|first thing|out of bed)\b"
)
_NOT_SETTLING = re.compile(
    r"\b(?:not|never|won'?t|wont|hasn'?t|hasnt|isn'?t|doesn'?t|doesnt|didn'?t|didnt)\s+(?:\w+\s+)?$"
)
_STILL_WRONG = re.compile(
    r"\b(?:but now|and now|still|getting worse|worse and worse|anymore|any more|since then)\b"
)


# Something happened to the user's own leg: a pain that eases does not excuse it ("first few
# steps were agony after I felt something go in my arch"), and someone else's injury
# beside it does not hide it.
_OWN_EVENT = re.compile(
    r"\b(?:i|i've|ive|i'm|im|my (?:calf|calves|achill\w*|ankle|foot|heel|leg|shin|arch|toes?|knee))\b"
    r"[^.!?]{0,30}\b(?:felt|heard|got|went|gone|gave|pop\w*|snap\w*|tore|torn|rupture\w*|rip\w*|"
    r"hurt|injur\w*|twist\w*|rolled|fell|landed|swollen|swelling|bruis\w*|numb|tingl\w*|"
    r"limp\w*|can'?t|cannot)\b"
)


# The leg works now: "walking totally fine, no swelling", "stung for a few minutes, then
# totally fine", "did my calf raises after with no pain". A message near an injury story in
# wording but told with this is a knock or a tight calf, not a tear or a clot (fourth blind
# round: a toddler's kick, a heavy box-jump landing and a tight calf after football were
# referred by the vote). Rules still refer whatever it says.
_FINE_NOW = re.compile(
    r"\bwalk\w* (?:on it |around )?(?:all day )?(?:totally |completely |perfectly |absolutely |100% |just )?"
    r"(?:fine|normally|normal|ok|okay|no problem|no bother|without (?:any )?(?:pain|problems?|issues?))\b"
    r"|\bno pain (?:at all|whatsoever)\b|\bwith no pain\b|\bpain[- ]free\b"
    r"|\b(?:then|now|after that|since) (?:\w+ )?(?:totally |completely |perfectly )?(?:fine|normal)\b"
)

# Something still wrong after the reassurance ("walking fine but now it's swollen"); not
# "can I still do my leg workout".
_STILL_HURTS = re.compile(
    r"\b(?:but now|and now|getting worse|worse and worse|since then)\b"
    r"|\bstill (?:\w+ )?(?:hurt\w*|sore|swollen|swelling|pain\w*|ach\w*|tender|limp\w*|can'?t|"
    r"cannot|unable|bruis\w*|weak|numb|warm|hot|red)\b"
)


def told_as_fine(text: str) -> bool:
    """The message says the leg works normally now, and nothing is still wrong after it;
    a vote-only flag is then held back (the rules still refer)."""
    normalized = _normalize(text)
    for match in _FINE_NOW.finditer(normalized):
        before = normalized[max(0, match.start() - 20) : match.start()]
        if not _NOT_SETTLING.search(before) and not _STILL_HURTS.search(normalized, match.end()):
            return True
    return False


def told_of_someone_else(text: str) -> bool:
    """The message's injury is another person's, told as the past ("a girl in my team
    ruptured her achilles, is that common?"), and the user tells of nothing of their own;
    a vote-only flag is then held back (the rules read someone else's injury told as now)."""
    normalized = _normalize(text)
    theirs = any(
        _someone_elses(sentence, verb)
        for sentence in _sentences(normalized)
        for verb in _INJURY_VERB.finditer(sentence)
    )
    return theirs and not _OWN_EVENT.search(normalized)


# The "I" of a how-to question tells of nobody's body: "how do I treat an ingrown
# toenail" was an emergency by the vote (its nearest examples are foot stories).
_ASKING_ME = re.compile(
    r"\b(?:how|what|when|where|why|which|should|can|could|do|would) (?:\w+ )?(?:do|can|should|would|could|will|"
    r"did|to)? ?(?:i|we)\b(?! (?:have|had|felt|heard|hurt|think|might))"
)


def tells_of_someone(text: str) -> bool:
    """The message tells of someone's body (an event, a change, a sign, or simply "my
    calf"), rather than asking a general question; a vote-only flag needs this."""
    normalized = _normalize(text)
    told = _ASKING_ME.sub(" ", normalized)
    return bool(_SOMEONE.search(told) or _HAPPENED.search(normalized) or _INJURY.search(normalized))


def told_as_settling(text: str) -> bool:
    """The message tells of a pain that eases or a morning stiffness, no injury, and
    nothing still wrong after it; a vote-only flag is then held back (rules still refer)."""
    normalized = _normalize(text)
    if _OWN_EVENT.search(normalized) or _INJURY.search(normalized):
        return False
    for match in _SETTLES.finditer(normalized):
        before = normalized[max(0, match.start() - 20) : match.start()]
        if not _NOT_SETTLING.search(before) and not _STILL_WRONG.search(normalized, match.end()):
            return True
    return False


def rule_flags(text: str) -> set[str]:
    """The red-flag ids the hand-written rules find in ``text`` (already normalised)."""
    normalized = _normalize(text)
    found = {flag_id for flag_id in _COMPILED if _matches(flag_id, normalized)}
    if _INJURY.search(normalized):
        found |= {f for f in _COMPILED_AFTER_INJURY if _matches(f"after:{f}", normalized)}
    if _matches("no_raise", normalized) and (
        _CHANGED.search(normalized) or _INJURY.search(normalized) or _EVENT_WORD.search(normalized)
    ):
        found.add("achilles_calf_rupture")
    if _recent_fracture(normalized) or _stress_fracture(normalized):
        found.add("suspected_fracture")
    if _clot_risk_context(normalized):
        found.add("suspected_dvt")
    if _compartment(normalized):
        found.add("compartment_syndrome")
    # A clot is usually in one leg (NHS): swelling in both, evenly, is something else;
    # and a clot in a leg is told about a leg ("big toe joint red and swollen after a
    # night out" is not one).
    if _BOTH_SIDES.search(normalized) or not _A_LEG.search(normalized):
        found.discard("suspected_dvt")
    # Breathlessness alone is common after hard training; with a painful or swollen calf
    # (or chest pain) it can mean a clot in the lungs.
    if "suspected_pe" in found and not (
        re.search(r"\bchest\b|\bcough\w*\b[^.!?]{0,40}\bblood\b", normalized)
        or (
            re.search(r"\b(?:calf|calves|leg)\b", normalized)
            and re.search(
                r"\b(?:swollen|swelling|swelled|pain\w*|ach(?:e|es|ed|ing|y)\b|killing|hurts?|sore|tender|flight|flying|flew|dizzy|op|operation|surgery)\b",
                normalized,
            )
        )
    ):
        found.discard("suspected_pe")
    return found


_GROUPS = _groups()


def _screen(patterns: list[re.Pattern[str]]) -> re.Pattern[str] | None:
    """One alternation of a group's patterns, to rule a sentence out in one search (the
    patterns themselves then say which match counts). None where they cannot be joined
    (different flags, a group reference)."""
    if len({p.flags for p in patterns}) != 1 or any(p.groups for p in patterns):
        return None
    try:
        return re.compile("|".join(f"(?:{p.pattern})" for p in patterns), patterns[0].flags)
    except re.error:
        return None


_SCREENS = {group: screen for group, ps in _GROUPS.items() if (screen := _screen(ps))}
RULE_IDS = frozenset(
    {*_PATTERNS, *_AFTER_INJURY, "suspected_fracture", "suspected_dvt", "compartment_syndrome"}
)


def triage(text: str, red_flags: tuple[RedFlag, ...]) -> Triage:
    """The red flags the rules alone raise in ``text`` (the learned vote is added by
    :class:`bot.triage_model.Triager`, which the service uses)."""
    return Triage.of(rule_flags(text), red_flags)
