"""Small talk: greetings, thanks and acknowledgements get a short friendly reply.

"thank you dear" or "ok cool" is not a question for the guide: answering it with a
decline ("I only know the calf and ankle guide…") or the whole menu reads as a machine
that did not listen. The whole message must be small talk; "thanks, and how many sets?"
is a question and goes on to be answered.
"""

from __future__ import annotations

import re
from typing import Literal

SmallTalk = Literal["greeting", "thanks", "ack", "bye"]

_POLITE = r"(?:\s+(?:so much|a lot|a bunch|heaps|loads|very much|again|dear|mate|man|buddy|"
_POLITE += r"pal|love|doc|coach|calfcoach|x+|!+))*"
_PATTERNS: dict[SmallTalk, re.Pattern[str]] = {
    "greeting": re.compile(
        r"^(?:hi|hello|hey|hiya|heya|howdy|yo|hi there|hello there|hey there|"
        r"good (?:morning|afternoon|evening)|morning|evening)" + _POLITE + r"[\s!.,:)]*$"
    ),
    "thanks": re.compile(
        r"^(?:(?:ok(?:ay)?|great|perfect|brilliant|awesome|cool|lovely|nice|super|got it|"
        r"gotcha|understood|right|ah|oh)[,!.]?\s+)*"
        r"(?:thanks?|thank you|thank u|thx|ty|tysm|cheers|much appreciated|appreciate it)"
        + _POLITE
        + r"[\s!.,:)]*$"
    ),
    "ack": re.compile(
        r"^(?:(?:ok(?:ay)?|k|kk|cool|great|perfect|nice|alright|all right|got it|gotcha|"
        r"understood|makes sense|sounds good|will do|sure|fine|good|brilliant|awesome|"
        r"lovely|super|right|i see|ah|oh|yes|yep|yeah)[\s!.,:)]*)+" + _POLITE + r"[\s!.,:)]*$"
    ),
    "bye": re.compile(
        r"^(?:bye|goodbye|good bye|see you|see ya|cya|later|good night|night|ttyl)"
        + _POLITE
        + r"[\s!.,:)]*$"
    ),
}


def small_talk(text: str) -> SmallTalk | None:
    """What kind of small talk the whole of ``text`` is, or None."""
    lowered = " ".join(text.lower().replace("\u2019", "'").split())
    for kind, pattern in _PATTERNS.items():
        if pattern.match(lowered):
            return kind
    return None
