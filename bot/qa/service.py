"""The question-answering service: validate, triage, retrieve, check scope, compose.

Transport-independent: the CLI, the terminal chat, the dialog engine and the Telegram
adapter all call :meth:`QAService.answer` and render the :class:`Answer` their own way.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence

from bot.qa.compose import compose_answer
from bot.qa.models import Answer, Passage, Source
from bot.qa.question import validate_question
from bot.qa.scope import ScopeThresholds, in_scope
from bot.qa.sections import with_section_line
from bot.safety import Triage
from bot.settings import Settings
from bot.triage_model import Triager, build_neighbours, load_examples
from index.embedding import TextEncoder
from index.retrieval import Hit, Retrieval, Retriever
from knowledge.models import Knowledge

log = logging.getLogger(__name__)

FAQ_MATCH = 0.86  # cosine to an FAQ question above which its composed answer is used
TOP_PASSAGES = 3  # passages reported, one per guide section
SEARCH_DEPTH = 10  # chunks retrieved; those of one section are merged into its passage

OUT_OF_SCOPE_TEXT = (
    "I only know the calf and ankle guide, so I can't help with that one. "
    "You can ask me things like:\n"
    "• Why are my calves weak?\n"
    "• What's the difference between the gastrocnemius and the soleus?\n"
    "• How do I fix a weak soleus?\n"
    "• How many sets a week should I do for calves?\n"
    "• What exercises help after an ankle sprain?\n"
    "Or type /assess to take the calf self-test."
)


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


def load_encoder(settings: Settings) -> tuple[TextEncoder, str | None]:
    """The encoder ``EMBEDDING_BACKEND`` names; it embeds the index and the questions alike.

    The ONNX backends use an export of the configured model kept beside the index
    (``models/`` next to ``INDEX_DIR``, so an image can ship it with the index), made on
    first use (that one time imports torch). Returns the encoder and a notice saying what
    had to be made, if anything.
    """
    from index.embedding import Encoder

    encoder = Encoder(settings.embedding_model)
    if settings.embedding_backend == "torch":
        return encoder, None
    from index.onnx_encoder import OnnxEncoder, prepare_onnx

    int8 = settings.embedding_backend == "onnx-int8"
    directory, notices = prepare_onnx(
        encoder.model_name,
        encoder.path,
        encoder.fingerprint,
        settings.resolved_index_dir.parent / "models",
        int8=int8,
    )
    onnx = OnnxEncoder(directory, threads=settings.encoder_threads)
    return onnx, "; ".join(notices) or None


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
        self._chunk_number = {c.id: n for n, c in enumerate(retriever.index.chunks)}

    @classmethod
    def from_settings(cls, settings: Settings) -> tuple[QAService, str | None]:
        """Load the index (rebuilding a stale one) and the query encoder.

        With an ONNX backend (the default) torch is imported only when the ONNX export or
        the index must be (re)built; a fresh start loads onnxruntime and the stored vectors.
        Returns the service and a notice saying what had to be rebuilt, if anything.
        """
        from bot.triage_model import load_or_build_neighbours
        from index.store import load_or_build
        from knowledge.facts import load_facts

        encoder, prepared = load_encoder(settings)
        index, rebuilt = load_or_build(settings.resolved_index_dir, encoder)
        notice = "; ".join(n for n in (prepared, rebuilt) if n) or None
        knowledge = load_facts()
        retriever = Retriever(index, encoder, knowledge.synonyms, intents=knowledge.intents)
        neighbours, examples_notice = load_or_build_neighbours(
            settings.resolved_index_dir.parent / "triage",
            retriever.encode,
            encoder.fingerprint,
            knowledge.red_flags,
        )
        notice = "; ".join(n for n in (notice, examples_notice) if n) or None
        service = cls(
            retriever,
            knowledge,
            max_chars=settings.answer_max_chars,
            cache_size=settings.answer_cache_size,
            triager=Triager(neighbours, knowledge.red_flags),
        )
        return service, notice

    def answer(self, question: str) -> Answer:
        """Answer one question (raises ``InvalidQuestion`` for unusable input)."""
        cleaned = validate_question(question)
        cached = self.cache.get(cleaned)
        if cached is not None:
            return cached
        answer = self.answer_many([cleaned])[0]
        self.cache.put(cleaned, answer)
        return answer

    async def answer_async(self, question: str) -> Answer:
        """Answer without blocking the event loop: the encode joins the micro-batch, the
        search runs in a worker thread. Repeated questions (FAQ buttons) hit the cache."""
        cleaned = validate_question(question)
        cached = self.cache.get(cleaned)
        if cached is not None:
            return cached
        # The vector serves triage and retrieval alike: triage costs no second encode.
        vector = await self.retriever.encode_async(cleaned)
        flags = self.triager(cleaned, vector)
        if flags.is_red_flag:
            answer = self._red_flag(cleaned, flags)
        else:
            retrieval = await asyncio.to_thread(
                self.retriever.search, cleaned, SEARCH_DEPTH, vector
            )
            answer = self._from_retrieval(retrieval)
        self.cache.put(cleaned, answer)
        return answer

    def answer_many(self, questions: Sequence[str]) -> list[Answer]:
        """Answer several questions, encoding the ones that need retrieval in one batch."""
        cleaned = [validate_question(q) for q in questions]
        if not cleaned:
            return []
        vectors = self.retriever.encode(cleaned)
        results: list[Answer] = []
        for question, vector in zip(cleaned, vectors, strict=True):
            flags = self.triager(question, vector)
            if flags.is_red_flag:
                results.append(self._red_flag(question, flags))
            else:
                retrieval = self.retriever.search(question, k=SEARCH_DEPTH, vector=vector)
                results.append(self._from_retrieval(retrieval))
        return results

    def triage(self, text: str) -> Triage:
        """The red flags in one message (the engine asks this of every free-text line)."""
        cleaned = validate_question(text)
        return self.triager(cleaned, self.retriever.encode([cleaned])[0])

    def _red_flag(self, question: str, flags: Triage) -> Answer:
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
                answer=OUT_OF_SCOPE_TEXT,
                body=OUT_OF_SCOPE_TEXT,
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
            related.append((question[:1].upper() + question[1:], f"rq:{number}:0"))
            used = [*used, hit.chunk.section]
        return tuple(related[:2])

    def related_question(self, payload: str) -> str | None:
        """The question behind a ``rq:<chunk>:<key>`` button, or None if it is stale."""
        try:
            _, chunk, key = payload.split(":")
            return self.retriever.index.keys[int(chunk)][int(key)]
        except (ValueError, KeyError, IndexError):
            return None

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
