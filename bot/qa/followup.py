"""Follow-ups: a message that leans on the conversation is read with its topic.

"how many sets of that?", "and the soleus?", "why?" mean nothing alone. The conversation
keeps the topic of the last answered turn (the words it was answered from); a follow-up
is retrieved twice, alone and after that topic, and the reading that is better supported
wins: the topic's reading when the message leans on it (an ellipsis, a pronoun, "what
about", a bare "why"), the message's own reading when it stands alone and is in scope.
Either way an in-scope reading is never thrown away for a decline.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from bot.qa.question import MAX_QUESTION_CHARS

TOPIC_MAX_CHARS = 300  # the topic carried to the next turn: the last words, not a whole chat

_OPENERS = re.compile(
    r"^(?:and|but|so|ok(?:ay)?|also|then|plus|or|what about|how about|what if|and if|"
    r"same|is that|is it|are they|does (?:it|that)|do (?:they|those|these)|why|why\?|how come|"
    r"how (?:many|much|long|often|slow|fast|heavy|far|hard)|which one|for how long|"
    r"can (?:she|he|they) |should (?:she|he|they) |what do (?:most )?people|"
    r"what(?:'s| is) the (?:right|best|correct|proper) way|what (?:else|next)|"
    r"(?:the )?(?:common |biggest |usual )?mistakes?)\b",
    re.IGNORECASE,
)
_ANAPHORA = re.compile(
    r"\b(?:it|its|that|this|those|these|them|they|one|ones|same|instead|the other|"
    r"either|both|there|then|such|him|her|he|she|his|hers|as well|too)\b",
    re.IGNORECASE,
)
SHORT_WORDS = 5  # a message this short is an ellipsis more often than a new topic
ANAPHORA_WORDS = 12  # up to this long, a pronoun most likely points back


BARE_WORDS = 3  # "why?", "and reps?", "how come": nothing but a pointer back
# A message with words of its own leans on the topic only if those words are at least this
# close (cosine) to something in the guide: "what's the capital of France?" is short, but
# it is a new subject, not a follow-up (measured: off-topic lines score 0.11-0.27, short
# follow-ups 0.33-0.62 against the guide's views and the answer cards).
RELATED_FLOOR = 0.3


class Topic(BaseModel):
    """What the last answered turn was about: the words it was answered from and the
    guide sections of its answer (a follow-up prefers those sections)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(max_length=MAX_QUESTION_CHARS)
    sections: tuple[str, ...] = ()


def leans_on_context(text: str, relatedness: float = 1.0) -> bool:
    """True when ``text`` most likely continues the previous turn rather than opening a
    topic of its own; ``relatedness`` is its own best cosine to the guide."""
    words = text.split()
    if len(words) <= BARE_WORDS or _OPENERS.search(text.strip()):
        return True
    if len(words) <= ANAPHORA_WORDS and _ANAPHORA.search(text):
        return True  # "what would you give her?" points back, whatever its own words
    return relatedness >= RELATED_FLOOR and len(words) <= SHORT_WORDS


def new_subject(topic: str, text: str) -> bool:
    """True when ``text`` names a lower-leg subject the topic did not ("and the soleus?"
    after a question about weak calves): its own reading then carries the subject."""
    from bot.qa.scope import DOMAIN_TERMS

    mine = {m.group(0).lower() for m in DOMAIN_TERMS.finditer(text.lower())}
    before = {m.group(0).lower() for m in DOMAIN_TERMS.finditer(topic.lower())}
    return bool(mine - before)


def focus_of(topic: Topic) -> str | None:
    """The guide part the topic's answer came from: an imbalance, a muscle, an exercise or
    an injury (a section path's first two headings), or a top-level section. "What
    problems can it cause?" after a soleus test asks for *that* imbalance's consequences,
    not another's: the follow-up's intent picks the part, the focus keeps the subject."""
    if not topic.sections:
        return None
    parts = topic.sections[0].split(" > ")
    # A top-level section (the introduction, the programming chapter) is no subject to
    # keep: what the next question asks for decides there.
    return " > ".join(parts[:2]) if len(parts) > 1 else None


def with_topic(topic: str, text: str) -> str:
    """The follow-up read after its topic, within the question length limit."""
    combined = f"{topic} {text}"
    return combined[-MAX_QUESTION_CHARS:]


def next_topic(resolved: str, sections: tuple[str, ...] = ()) -> Topic:
    """What the next turn is read after: the tail of the words this one was answered
    from, and the sections its answer came from."""
    return Topic(text=resolved[-TOPIC_MAX_CHARS:], sections=sections)
