"""Near-domain subjects the guide does not cover, declined by name.

Retrieval alone lets a question about calf implants or running shoes through: it shares
the guide's words ("calf", "achilles"), so a passage scores well enough. The subjects are
data (``knowledge/data/off_topics.yaml``); a match declines with the subject's name, so
the person knows why. Triage runs before this: an injury is referred whatever else the
message mentions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.qa.scope import has_domain_terms
from knowledge.models import OffTopic

_CLAUSES = re.compile(r"[?.!;\n]+|,|\b(?:and|also|but|plus)\b")
# A clause that asks or asks for something. One that only tells ("i get calf cramps at
# night that wake me up", "my calves are super sore 2 days after calf day") is context
# for the question beside it ("should i take magnesium", "is DOMS a sign it worked"),
# not an in-scope question of its own (third blind conversation round).
_ASKS = re.compile(
    r"\b(?:how|what|whats|why|which|when|where|who|should|can|could|would|will|is|are|do|does|"
    r"did|any|help|tips?|advice|recommend\w*|want|need|fix|tell|explain|show|give)\b"
)


class OffTopicMatcher:
    """Finds the first off-topic subject a message is about, if any."""

    def __init__(self, topics: Iterable[OffTopic]) -> None:
        self._topics = [
            (topic, [re.compile(pattern) for pattern in topic.says]) for topic in topics
        ]

    def match(self, text: str, *, leaning: bool = False) -> OffTopic | None:
        """The subject ``text`` is about; ``leaning``: it continues the conversation.

        A message with a clause that asks about the lower leg and names no off-topic
        subject is not declined: that clause is what the guide answers.
        """
        lowered = text.lower()
        clauses = [c for c in _CLAUSES.split(lowered) if c.strip()]
        found = None
        for clause in clauses:
            subject = self._subject(clause, leaning=leaning, about=has_domain_terms(lowered))
            if (
                subject is None
                and has_domain_terms(clause)
                and len(clause.split()) >= 3
                and _ASKS.search(clause)
            ):
                return None  # an in-scope question of its own
            found = found or subject
        return found

    def _subject(self, clause: str, *, leaning: bool, about: bool) -> OffTopic | None:
        for topic, patterns in self._topics:
            if topic.when == "not_leaning" and leaning:
                continue
            if topic.when == "alone" and (about or leaning):
                continue
            if any(p.search(clause) for p in patterns):
                return topic
        return None
