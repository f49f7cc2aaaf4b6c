"""The question-answering service: validate, triage, retrieve, check scope, compose.

Transport-independent: the CLI, the terminal chat, the dialog engine and the Telegram
adapter all call :meth:`QAService.answer` and render the :class:`Answer` their own way.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import numpy as np

from bot.payloads import Related, encode
from bot.qa.compose import compose_answer
from bot.qa.followup import (
    RELATED_FLOOR,
    Topic,
    focus_of,
    leans_on_context,
    new_subject,
    next_topic,
    with_topic,
)
from bot.qa.models import Answer, Passage, Source
from bot.qa.off_topic import OffTopicMatcher
from bot.qa.question import validate_question
from bot.qa.scope import ScopeThresholds, in_scope
from bot.qa.sections import with_section_line
from bot.safety import Triage
from bot.triage_model import Triager, build_neighbours, load_examples
from index.retrieval import Hit, Retrieval, Retriever
from knowledge.models import Knowledge
from knowledge.texts import Phrases, load_phrases

log = logging.getLogger(__name__)
T = TypeVar("T")

FAQ_MATCH = 0.86  # cosine to an FAQ question above which its composed answer is used
# Cosine to one of an answer card's client phrasings above which the card answers: tuned
# with `calfcoach eval` on the client questions and conversations (see README).
CARD_MATCH = 0.6  # a card this close also makes a question in scope
NEW_SUBJECT_ALONE = True
# A follow-up's meaning vector is its own plus this much of its topic's (then normalised):
# measured on the conversations against embedding "topic + follow-up" as one text (0.65
# -> 0.67 follow-ups right on ours, 0.52 -> 0.59 on a set written apart) and weights 0.25
# to 1.2 (flat between 0.25 and 0.6, worse above). Its words are still searched together.
TOPIC_WEIGHT = 0.4
VECTOR_CACHE_SIZE = 4096  # recent messages' vectors (384 floats each: about 6 MB)
# The intent prior for a follow-up, stronger than for a first question (0.08): in "what's
# the fix?" the intent is nearly all there is (measured 0.08 -> 0.25: follow-ups right 0.66
# -> 0.69 on ours, 0.60 -> 0.65 on a set written apart; flat above).
FOLLOW_UP_INTENT = 0.25
FOCUS_WEIGHT = 0.1
# The follow-up's own words count once more in the lexical search than the topic's: in
# "can she do them on consecutive days?" after the eccentric protocol, "consecutive days"
# picks the paragraph (measured: follow-ups right 0.752 -> 0.761 on ours; 2 no better).
FOLLOW_UP_WORDS = 1
# A follow-up asking for another kind of part than the section just given ("what happens
# if I ignore it?" after "How to identify it") is not given that section again (measured:
# follow-ups right 0.761 -> 0.778 ours, 0.676 -> 0.691 blind round 1, 0.824 -> 0.882
# shared; 0.15 and 0.25 less).
AVOID_WEIGHT = 0.1
CARD_LEAD = 0.6  # a card whose sections the answer uses lends its first line above this
CARD_ALONE = 0.85  # above this a card answers by itself
TOP_PASSAGES = 3  # passages reported, one per guide section
SEARCH_DEPTH = 10  # chunks retrieved; those of one section are merged into its passage


def _about(resolved: str, answer: Answer) -> Topic:
    """The topic a turn leaves behind: its words, its answer's sections and passage."""
    return next_topic(resolved, tuple(s.section for s in answer.sources))


class LruCache(Generic[T]):
    """A small thread-safe least-recently-used cache (size 0: off)."""

    def __init__(self, size: int, key: Callable[[str], str] = str) -> None:
        self.size = size
        self._key = key
        self._items: OrderedDict[str, T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> T | None:
        if not self.size:
            return None
        with self._lock:
            key = self._key(text)
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, text: str, value: T) -> None:
        if not self.size:
            return
        with self._lock:
            self._items[self._key(text)] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def _question_key(question: str) -> str:
    return " ".join(question.lower().split())


class AnswerCache(LruCache[Answer]):
    """Answers by question (FAQ buttons, broadcasts): case and spacing do not matter."""

    def __init__(self, size: int) -> None:
        super().__init__(size, key=_question_key)


class QAService:
    """Answers questions from the guide; one instance serves every user."""

    def __init__(
        self,
        retriever: Retriever,
        knowledge: Knowledge,
        *,
        max_chars: int = 700,
        thresholds: ScopeThresholds | None = None,
        cache_size: int = 0,
        card_match: float = CARD_MATCH,
        phrases: Phrases | None = None,
        triager: Triager | None = None,
    ) -> None:
        self.retriever = retriever
        # Never without triage: with no stored example vectors, embed them here.
        self.triager = triager or Triager(
            build_neighbours(retriever.encode, load_examples()), knowledge.red_flags
        )
        self.cache = AnswerCache(cache_size)
        self.vectors: LruCache[np.ndarray] = LruCache(VECTOR_CACHE_SIZE)
        self.knowledge = knowledge
        self.max_chars = max_chars
        self.thresholds = thresholds or ScopeThresholds()
        self.phrases = phrases or load_phrases()
        self.card_match = card_match
        self.off_topics = OffTopicMatcher(knowledge.off_topics)
        self.card_lead = CARD_LEAD
        self.card_alone = CARD_ALONE
        self._chunk_number = {c.id: n for n, c in enumerate(retriever.index.chunks)}
        self._subjects = [(re.compile(s.words), s) for s in knowledge.subjects]
        self._intents = [(re.compile(i.asks), re.compile(i.part)) for i in knowledge.intents]

    def asks_another_part(self, text: str, topic: Topic) -> bool:
        """True when ``text`` asks for a kind of part ("what happens if I ignore it?":
        consequences) that the topic's section is not (its "How to identify it"): the
        section just given is then the one answer the person did not ask for again."""
        if not topic.sections:
            return False
        lowered = text.lower()
        parts = [part for asks, part in self._intents if asks.search(lowered)]
        return bool(parts) and not any(part.search(topic.sections[0]) for part in parts)

    def named_part(self, text: str, focus: str | None = None) -> str | None:
        """The guide part a message names ("the seated ones", "the band one"), if any;
        ``focus``: the part the chat is about, for words that depend on it."""
        lowered = text.lower()
        for words, subject in self._subjects:
            if subject.after and not (focus and any(focus.startswith(a) for a in subject.after)):
                continue
            if words.search(lowered):
                return subject.part
        return None

    def answer(self, question: str) -> Answer:
        """Answer one question (raises ``InvalidQuestion`` for unusable input)."""
        cleaned = validate_question(question)
        cached = self.cache.get(cleaned)
        if cached is not None:
            return cached
        answer = self._answer_cleaned([cleaned])[0]
        self.cache.put(cleaned, answer)
        return answer

    def answer_in_context(self, question: str, topic: Topic | None) -> tuple[Answer, Topic]:
        """Answer a message of a conversation whose last answered turn was about ``topic``.

        Returns the answer and what it was about (the next turn's topic).
        Triage reads the message alone (details told across messages are combined by the
        engine's referral logic). A message that leans on the topic is answered from the
        topic's reading unless only its own reading is in scope; one that stands alone
        keeps its own reading unless only the topic's is in scope.
        """
        cleaned = validate_question(question)
        if topic is None:
            answer = self.answer(cleaned)
            return answer, _about(cleaned, answer)
        alone_vector = self._vector(cleaned)
        flags = self.triager(cleaned, alone_vector)
        if flags.is_red_flag:
            return self.referral_answer(cleaned, flags), topic
        subject = self.off_topics.match(cleaned, leaning=leans_on_context(cleaned))
        if subject is not None:
            return self.decline(cleaned, subject.name), topic
        alone_retrieval = self.retriever.search(cleaned, k=SEARCH_DEPTH, vector=alone_vector)
        alone = self._from_retrieval(alone_retrieval)
        cards = alone_retrieval.ranked_cards()
        relatedness = max(alone_retrieval.best_dense, cards[0][1] if cards else -1.0)
        named_new = new_subject(topic.text, cleaned)
        prefer_topic = leans_on_context(cleaned, relatedness) and not (
            NEW_SUBJECT_ALONE and named_new and alone.in_scope
        )
        # The topic's reading is worked out only when it can change the answer: for a
        # message that leans on it, or to rescue a decline of a message about the guide
        # at all ("what's the capital of France?" is not a follow-up to anything).
        if not prefer_topic and (alone.in_scope or relatedness < RELATED_FLOOR):
            return alone, _about(cleaned, alone)
        combined = with_topic(topic.text, cleaned)
        mixed = alone_vector + TOPIC_WEIGHT * self._vector(topic.text)
        together = self._from_retrieval(
            self.retriever.search(
                " ".join([combined, *[cleaned] * FOLLOW_UP_WORDS]),
                k=SEARCH_DEPTH,
                vector=mixed / np.linalg.norm(mixed),
                intent_text=cleaned,
                intent_weight=FOLLOW_UP_INTENT,
                focus=self.named_part(cleaned, focus_of(topic)) or focus_of(topic),
                focus_weight=FOCUS_WEIGHT,
                avoid=topic.sections[0] if self.asks_another_part(cleaned, topic) else None,
                avoid_weight=AVOID_WEIGHT,
            ),
            # A follow-up of a turn the guide answered is about the guide, whatever words
            # it uses ("thanks. tempo?"; third blind round: declined before).
            about_guide=prefer_topic and bool(topic.sections),
        )
        use_topic = together.in_scope or not alone.in_scope if prefer_topic else together.in_scope
        if use_topic:
            answer = together.model_copy(update={"question": cleaned})
            if not answer.in_scope:
                # A declined follow-up keeps what the chat was about: "so what's the right
                # way?" after it is still read with the calves, not with the decline alone.
                return answer, next_topic(combined, topic.sections)
            return answer, _about(combined, answer)
        return alone, _about(cleaned, alone)

    def _vector(self, text: str) -> np.ndarray:
        """A text's vector, remembered: a turn's words are the next turn's topic, so the
        topic's vector is usually already known (each text is embedded alone, so its
        vector does not depend on when or beside what it was embedded)."""
        vector = self.vectors.get(text)
        if vector is None:
            vector = self.retriever.encode([text])[0]
            self.vectors.put(text, vector)
        return vector

    def answer_many(self, questions: Sequence[str]) -> list[Answer]:
        """Answer several questions, encoding the ones that need retrieval in one batch
        (``calfcoach ask --batch``, eval); raises ``InvalidQuestion`` like :meth:`answer`."""
        return self._answer_cleaned([validate_question(q) for q in questions])

    def _answer_cleaned(self, cleaned: list[str]) -> list[Answer]:
        """The one answer path: one encode per batch; the vector serves triage and
        retrieval alike, so triage costs no second encode."""
        if not cleaned:
            return []
        vectors = self.retriever.encode(cleaned)
        for text, vector in zip(cleaned, vectors, strict=True):
            self.vectors.put(text, vector)  # the next turn's topic, if a conversation's
        results: list[Answer] = []
        for question, vector in zip(cleaned, vectors, strict=True):
            flags = self.triager(question, vector)
            if flags.is_red_flag:
                results.append(self.referral_answer(question, flags))
            elif (subject := self.off_topics.match(question)) is not None:
                results.append(self.decline(question, subject.name))
            else:
                retrieval = self.retriever.search(question, k=SEARCH_DEPTH, vector=vector)
                results.append(self._from_retrieval(retrieval))
        return results

    def triage(self, text: str) -> Triage:
        """The red flags in one message (the engine asks this of every free-text line)."""
        cleaned = validate_question(text)
        return self.triager(cleaned, self.retriever.encode([cleaned])[0])

    def triage_across(self, previous: str, question: str) -> Triage:
        """The red flags two consecutive messages raise together (rules only, no encode:
        see :meth:`Triager.across`). Both are messages already asked, so already valid."""
        return self.triager.across(previous, question)

    def referral_answer(self, question: str, flags: Triage) -> Answer:
        """The referral for ``flags`` as an answer (urgency first, no exercises)."""
        text = flags.referral_text(self.knowledge.triage_text)
        return Answer(
            question=question,
            in_scope=True,
            red_flag=True,
            answer=text,
            body=text,
            kind="red_flag",
            red_flag_ids=flags.ids,
            urgency=flags.urgency,
        )

    def _from_retrieval(self, retrieval: Retrieval, *, about_guide: bool = False) -> Answer:
        passages = self._passages(retrieval)
        card = self._card_for(retrieval)
        if card is None and not in_scope(retrieval, self.thresholds, about_guide=about_guide):
            return self.decline(retrieval.question, None, passages)
        faq = retrieval.best_faq
        if faq and faq[1] >= FAQ_MATCH:
            entry = self.knowledge.faq_entry(faq[0])
            if entry is not None:
                return self.faq_answer(entry.id, question=retrieval.question, passages=passages)
        body, sections = compose_answer(retrieval, self.max_chars)
        lead = self._card_lead(retrieval, sections)
        if lead is not None:
            body = f"{lead}\n\n{body}"
        elif card is not None and card[1] >= self.card_alone:
            return self.card_answer(
                card[0], card[1], question=retrieval.question, passages=passages
            )
        scores = {h.chunk.section: h.score for h in reversed(retrieval.hits)}
        return Answer(
            question=retrieval.question,
            in_scope=True,
            red_flag=False,
            answer=with_section_line(body, sections),
            body=body,
            sources=[Source(section=s, score=round(scores[s], 4)) for s in sections],
            passages=passages,
            related=self._related(retrieval, sections),
        )

    def decline(
        self, question: str, subject: str | None, passages: list[Passage] | None = None
    ) -> Answer:
        """The friendly "not in the guide": naming the subject when it is a known one."""
        text = (
            self.phrases.not_in_guide.format(subject=subject)
            if subject
            else self.phrases.out_of_scope
        )
        return Answer(
            question=question,
            in_scope=False,
            red_flag=False,
            answer=text,
            body=text,
            passages=passages or [],
            kind="out_of_scope",
        )

    def _card_lead(self, retrieval: Retrieval, sections: list[str]) -> str | None:
        """A card's plain first line, when a card matches and its guide sections are the
        ones the answer is composed from: the passage then supports what the line says."""
        for card_id, score in retrieval.ranked_cards()[:3]:
            if score < self.card_lead:
                break
            card = self.knowledge.answer_card(card_id)
            # Its sections must hold the answer's first passage: a card about the runner-up
            # ("3 sets of 15 to 20 band eversions" above a band inversion passage) would
            # put the wrong exercise's dose first.
            if card is not None and sections and sections[0] in card.sections:
                return card.first_line
        return None

    def _card_for(self, retrieval: Retrieval) -> tuple[str, float] | None:
        """The answer card that matches this question closely enough, if any."""
        ranked = retrieval.ranked_cards()
        if ranked and ranked[0][1] >= self.card_match:
            return ranked[0]
        return None

    def card_answer(
        self, card_id: str, score: float, *, question: str, passages: list[Passage]
    ) -> Answer:
        """An answer card: the first line that does what was asked, then the guide's own
        sentences behind it, then where they come from."""
        card = self.knowledge.answer_card(card_id)
        if card is None:
            raise KeyError(card_id)
        return Answer(
            question=question,
            in_scope=True,
            red_flag=False,
            answer=with_section_line(card.answer, card.sections),
            body=card.answer,
            sources=[Source(section=s, score=round(score, 4)) for s in card.sections],
            passages=passages,
            kind="card",
            card_id=card.id,
        )

    def _passages(self, retrieval: Retrieval) -> list[Passage]:
        """The best sections, each as one passage: its retrieved chunks in reading order.

        Two paragraphs of one section ("Calf Strains") are one source to a reader, so they
        are reported together rather than as two near-duplicate passages.
        """
        by_section: dict[str, list[Hit]] = {}
        for hit in retrieval.hits:
            by_section.setdefault(hit.chunk.section, []).append(hit)
        passages = []
        for section, hits in list(by_section.items())[:TOP_PASSAGES]:
            ordered = sorted(hits, key=lambda h: self._chunk_number[h.chunk.id])
            text = "\n\n".join(h.chunk.text for h in ordered)
            passages.append(Passage(section=section, text=text, score=round(hits[0].score, 4)))
        return passages

    def _related(self, retrieval: Retrieval, used: list[str]) -> tuple[tuple[str, str], ...]:
        """A client question for each of the next passages not already in the answer."""
        related: list[tuple[str, str]] = []
        for hit in retrieval.hits[1:]:
            number = self._chunk_number[hit.chunk.id]
            keys = self.retriever.index.keys.get(number, [])
            if hit.chunk.section in used or not keys:
                continue
            question = keys[0]
            related.append((question[:1].upper() + question[1:], encode(Related(number, 0))))
            used = [*used, hit.chunk.section]
        return tuple(related[:2])

    def related_question(self, payload: Related) -> str | None:
        """The question behind a related-question button, or None if it is stale."""
        keys = self.retriever.index.keys.get(payload.chunk, [])
        return keys[payload.key] if payload.key < len(keys) else None

    def faq_answer(
        self, faq_id: str, *, question: str | None = None, passages: list[Passage] | None = None
    ) -> Answer:
        """The composed answer to one of the guide's FAQ questions (for links and buttons)."""
        entry = self.knowledge.faq_entry(faq_id)
        if entry is None:
            raise KeyError(faq_id)
        return Answer(
            question=question or entry.question,
            in_scope=True,
            red_flag=False,
            answer=with_section_line(entry.answer, list(entry.sections)),
            body=entry.answer,
            sources=[Source(section=s, score=1.0) for s in entry.sections],
            passages=passages or [],
            kind="faq",
            faq_id=entry.id,
        )
