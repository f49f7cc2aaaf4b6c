"""The question-answering service: validate, triage, retrieve, check scope, compose.

Transport-independent: the CLI, the terminal chat, the dialog engine and the Telegram
adapter all call :meth:`QAService.answer` and render the :class:`Answer` their own way.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence

from bot.payloads import Related, encode
from bot.qa.compose import compose_answer
from bot.qa.models import Answer, Passage, Source
from bot.qa.question import validate_question
from bot.qa.scope import ScopeThresholds, in_scope
from bot.qa.sections import with_section_line
from bot.safety import Triage
from bot.triage_model import Triager, build_neighbours, load_examples
from index.retrieval import Hit, Retrieval, Retriever
from knowledge.models import Knowledge
from knowledge.texts import Phrases, load_phrases

log = logging.getLogger(__name__)

FAQ_MATCH = 0.86  # cosine to an FAQ question above which its composed answer is used
TOP_PASSAGES = 3  # passages reported, one per guide section
SEARCH_DEPTH = 10  # chunks retrieved; those of one section are merged into its passage


class AnswerCache:
    """A small thread-safe LRU of answers by question (FAQ buttons, broadcasts)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, Answer] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(question: str) -> str:
        return " ".join(question.lower().split())

    def get(self, question: str) -> Answer | None:
        if not self.size:
            return None
        with self._lock:
            key = self._key(question)
            answer = self._items.get(key)
            if answer is not None:
                self._items.move_to_end(key)
            return answer

    def put(self, question: str, answer: Answer) -> None:
        if not self.size:
            return
        with self._lock:
            self._items[self._key(question)] = answer
            while len(self._items) > self.size:
                self._items.popitem(last=False)


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
        phrases: Phrases | None = None,
        triager: Triager | None = None,
    ) -> None:
        self.retriever = retriever
        # Never without triage: with no stored example vectors, embed them here.
        self.triager = triager or Triager(
            build_neighbours(retriever.encode, load_examples()), knowledge.red_flags
        )
        self.cache = AnswerCache(cache_size)
        self.knowledge = knowledge
        self.max_chars = max_chars
        self.thresholds = thresholds or ScopeThresholds()
        self.phrases = phrases or load_phrases()
        self._chunk_number = {c.id: n for n, c in enumerate(retriever.index.chunks)}

    def answer(self, question: str) -> Answer:
        """Answer one question (raises ``InvalidQuestion`` for unusable input)."""
        cleaned = validate_question(question)
        cached = self.cache.get(cleaned)
        if cached is not None:
            return cached
        answer = self._answer_cleaned([cleaned])[0]
        self.cache.put(cleaned, answer)
        return answer

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
        results: list[Answer] = []
        for question, vector in zip(cleaned, vectors, strict=True):
            flags = self.triager(question, vector)
            if flags.is_red_flag:
                results.append(self.referral_answer(question, flags))
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

    def _from_retrieval(self, retrieval: Retrieval) -> Answer:
        passages = self._passages(retrieval)
        if not in_scope(retrieval, self.thresholds):
            return Answer(
                question=retrieval.question,
                in_scope=False,
                red_flag=False,
                answer=self.phrases.out_of_scope,
                body=self.phrases.out_of_scope,
                passages=passages,
                kind="out_of_scope",
            )
        faq = retrieval.best_faq
        if faq and faq[1] >= FAQ_MATCH:
            entry = self.knowledge.faq_entry(faq[0])
            if entry is not None:
                return self.faq_answer(entry.id, question=retrieval.question, passages=passages)
        body, sections = compose_answer(retrieval, self.max_chars)
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
