"""Is a question about what the guide covers? Decline the rest politely.

Two signals: the best dense similarity between the question and any view of the guide,
and whether the question uses lower-leg vocabulary. A question with lower-leg words needs
only a modest similarity; one without (e.g. "a good squat program?") must match the
guide closely, because the guide mentions squats only in passing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.retrieval import Retrieval

DOMAIN_TERMS = re.compile(
    r"\b(?:calf|calves|calfs|calve|ankles?|achill\w*|heels?|foot|feet|toes?|tip ?toes?|tiptoes?|"
    r"shins?|soleus|gastroc\w*|plantar\w*|dorsiflex\w*|peroneal?s?|peroneus|fibular\w*|"
    r"tibialis|tib post|hallucis|digitorum|malleolus|calcaneus|talus|talocrural|subtalar|"
    r"arch(?:es)?|sprain\w*|tendon\w*|tendin\w*|fasci\w*|evers\w*|invers\w*|valgus|supinat\w*|"
    r"pronat\w*|lower legs?|wobble board|tennis leg|eccentric\w*|triceps surae|single-leg|"
    r"heel raises?|calf raises?|balance|unsteady|wobbly|falls|falling|fall risk|"
    r"(?:single|one)[- ]legs?|(?:leg|toe) raises?|heel drops?|donkey|tip ?toe\w*|"
    r"(?:bent|straight)[- ]knee|knees? (?:bent|straight)|push[- ]?off|shuffl\w*|"
    r"had a fall|fallen|fell over|trip(?:ped|ping)? over|legs? (?:give|gave) (?:out|way))\b"
)


@dataclass(frozen=True)
class ScopeThresholds:
    """Cosine floors, tuned with ``calfcoach eval`` on in-scope and off-topic questions."""

    with_domain_terms: float = 0.30
    without_domain_terms: float = 0.62
    # A follow-up read with the topic the guide just answered ("what can she do at home
    # for it"): the topic's long text dilutes the similarity of the two read together.
    follow_up: float = 0.25


def has_domain_terms(question: str) -> bool:
    return bool(DOMAIN_TERMS.search(question.lower()))


def in_scope(
    retrieval: Retrieval, thresholds: ScopeThresholds | None = None, *, about_guide: bool = False
) -> bool:
    """True when the guide can answer the question. ``about_guide``: the text is known to
    be about the guide's subject although it names none of its terms (a follow-up such as
    "tempo?" read with a topic the guide answered), so the follow-up floor applies."""
    thresholds = thresholds or ScopeThresholds()
    if about_guide:
        floor = thresholds.follow_up
    elif has_domain_terms(retrieval.question):
        floor = thresholds.with_domain_terms
    else:
        floor = thresholds.without_domain_terms
    return retrieval.best_dense >= floor
