"""Hybrid retrieval: dense views (passage, sentence, client-question keys) fused with BM25.

Scores per chunk:

* ``dense``: the best cosine between the question and any view of the chunk: the passage
  with its section path, one of its sentences, or a client question written for it;
* ``lexical``: BM25 over the chunk, its section path and its key questions, on the
  question expanded with the guide's words for what clients say, scaled to 0..1;
* ``score = dense_weight * dense + lexical_weight * lexical``.

The raw best cosine is kept as well: the scope check uses it as an absolute signal, since
fused scores are relative to the other chunks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.batching import MicroBatcher
from index.chunking import Chunk
from index.embedding import TextEncoder
from index.lexical import LexicalIndex, SynonymExpander
from index.store import GuideIndex
from knowledge.models import Intent, SynonymGroup


@dataclass(frozen=True)
class RetrievalWeights:
    """How the signals are fused; the defaults are what ``calfcoach eval --ablation`` chose."""

    dense: float = 0.7
    lexical: float = 0.3
    intent: float = 0.08  # added to chunks of the part a question's intent asks for
    views: frozenset[str] = frozenset({"passage", "sentence", "key"})


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its scores and per-sentence similarities."""

    chunk: Chunk
    score: float
    dense: float
    lexical: float
    sentence_scores: tuple[float, ...]


@dataclass(frozen=True)
class Retrieval:
    """The ranked hits for one question plus the signals the scope check needs."""

    question: str
    hits: tuple[Hit, ...]
    best_dense: float
    expansions: tuple[str, ...]
    faq: tuple[tuple[str, float], ...] = ()
    section_hits: tuple[Hit, ...] = ()  # every chunk of the top hit's section, in order
    cards: tuple[tuple[str, float], ...] = ()  # each answer card's best cosine over its asks

    @property
    def best_faq(self) -> tuple[str, float] | None:
        """The FAQ question most similar to this one, with its cosine."""
        return max(self.faq, key=lambda item: item[1]) if self.faq else None

    def ranked_cards(self) -> list[tuple[str, float]]:
        """Answer cards by their best cosine to this question, best first."""
        return sorted(self.cards, key=lambda item: -item[1])


class Retriever:
    """Search the guide index for the passages that answer a question."""

    def __init__(
        self,
        index: GuideIndex,
        encoder: TextEncoder,
        synonyms: Sequence[SynonymGroup] = (),
        weights: RetrievalWeights | None = None,
        *,
        batcher: MicroBatcher | None = None,
        intents: Sequence[Intent] = (),
    ) -> None:
        self.index = index
        self.encoder = encoder
        self.batcher = batcher or MicroBatcher(encoder.encode)
        self.weights = weights or RetrievalWeights()
        self.expander = SynonymExpander(synonyms)
        # For each intent: its question pattern and a 0/1 mask of the chunks it favours.
        self._intents = [
            (
                re.compile(intent.asks),
                np.array(
                    [bool(re.search(intent.part, c.section)) for c in index.chunks],
                    dtype=np.float32,
                ),
            )
            for intent in intents
        ]
        use_keys = "key" in self.weights.views
        self.lexical = LexicalIndex(index.chunks, index.keys if use_keys else {})
        self._n_chunks = len(index.chunks)
        view_chunk = np.array([v.chunk for v in index.views], dtype=np.int64)
        kinds = np.array([v.kind for v in index.views])
        self._chunk_rows = np.flatnonzero(
            (view_chunk >= 0) & np.isin(kinds, list(self.weights.views))
        )
        self._chunk_of_row = view_chunk[self._chunk_rows]
        self._faq_rows = [(row, v.ref) for row, v in enumerate(index.views) if v.kind == "faq"]
        card_rows = [(row, v.ref) for row, v in enumerate(index.views) if v.kind == "card"]
        self._card_ids = sorted({ref for _, ref in card_rows if ref})
        number = {card: n for n, card in enumerate(self._card_ids)}
        self._card_rows = np.array([row for row, _ in card_rows], dtype=np.int64)
        self._card_of_row = np.array([number[ref] for _, ref in card_rows if ref], dtype=np.int64)
        self._section_chunks: dict[str, list[int]] = {}
        for i, chunk in enumerate(index.chunks):
            self._section_chunks.setdefault(chunk.section, []).append(i)
        # The view row holding each sentence of each chunk, in sentence order.
        rows: list[list[int]] = [[0] * len(c.sentences) for c in index.chunks]
        for row, view in enumerate(index.views):
            if view.chunk < 0:
                continue
            if view.kind == "sentence" and view.sentence is not None:
                rows[view.chunk][view.sentence] = row
            elif view.kind == "passage" and len(rows[view.chunk]) == 1:
                rows[view.chunk][0] = row
        self._sentence_rows = [np.array(r, dtype=np.int64) for r in rows]
        self._focus_masks: dict[str, np.ndarray] = {}
        # Every view's similarity is needed (chunks, sentences, FAQ and card views), not
        # the top k: FAISS's search for k = all rows keeps a heap and sorts 1,224 rows;
        # the inner product over the flat index's own vectors is the same numbers
        # (tests/test_index.py), measured 155 -> 17 us a search in process.
        self._matrix = np.ascontiguousarray(
            index.vectors.reconstruct_n(0, index.vectors.ntotal), dtype=np.float32
        )

    def encode(self, questions: list[str]) -> np.ndarray:
        """One question goes through the micro-batcher (it may share a model call with
        other users' questions); an explicit batch is encoded as it is. Abbreviations the
        model does not know ("tib post") are spelled out first."""
        texts = [self.expander.rewrite(q) for q in questions]
        if len(texts) == 1:
            return self.batcher.encode_one(texts[0]).reshape(1, -1)
        return self.encoder.encode(texts)

    def search(
        self,
        question: str,
        k: int = 3,
        vector: np.ndarray | None = None,
        *,
        intent_text: str | None = None,
        intent_weight: float | None = None,
        focus: str | None = None,
        focus_weight: float = 0.0,
        avoid: str | None = None,
        avoid_weight: float = 0.0,
    ) -> Retrieval:
        """Rank chunks for ``question``; pass ``vector`` when it was encoded in a batch.

        A follow-up read after its topic passes its own words as ``intent_text``: what it
        asks for ("what's the fix?") is in the follow-up, not in the topic ("how do I test
        for it?"). Measured: follow-ups right on the conversations rose with it."""
        if vector is None:
            vector = self.encode([question])[0]
        sims = self._view_similarities(vector)
        dense = np.full(self._n_chunks, -1.0, dtype=np.float32)
        np.maximum.at(dense, self._chunk_of_row, sims[self._chunk_rows])
        expansions = self.expander.expansions(question)
        raw_lex = self.lexical.scores(" ".join([question, *expansions]))
        top_lex = float(raw_lex.max()) if raw_lex.size else 0.0
        lexical = raw_lex / top_lex if top_lex > 0 else raw_lex
        score = self.weights.dense * dense + self.weights.lexical * lexical
        lowered = (intent_text or question).lower()
        for pattern, mask in self._intents:
            if pattern.search(lowered):
                score = score + (intent_weight or self.weights.intent) * mask
        if focus and focus_weight:
            score = score + focus_weight * self._focus_mask(focus)
        if avoid and avoid_weight:
            score = score - avoid_weight * self._focus_mask(avoid)
        order = np.argsort(-score)[:k]

        def hit(i: int) -> Hit:
            return Hit(
                chunk=self.index.chunks[i],
                score=float(score[i]),
                dense=float(dense[i]),
                lexical=float(lexical[i]),
                sentence_scores=self._sentence_scores(i, sims),
            )

        hits = tuple(hit(int(i)) for i in order)
        section = hits[0].chunk.section if hits else ""
        section_hits = tuple(
            hits[0] if i == order[0] else hit(i) for i in self._section_chunks.get(section, [])
        )
        return Retrieval(
            question=question,
            hits=hits,
            best_dense=float(dense.max()),
            expansions=tuple(expansions),
            faq=tuple((ref, float(sims[row])) for row, ref in self._faq_rows if ref),
            cards=self._card_scores(sims),
            section_hits=section_hits,
        )

    def _focus_mask(self, prefix: str) -> np.ndarray:
        """1 for the chunks under the guide part ``prefix`` (a section path's start)."""
        mask = self._focus_masks.get(prefix)
        if mask is None:
            mask = np.array(
                [
                    c.section == prefix or c.section.startswith(f"{prefix} > ")
                    for c in self.index.chunks
                ],
                dtype=np.float32,
            )
            self._focus_masks[prefix] = mask
        return mask

    def _card_scores(self, sims: np.ndarray) -> tuple[tuple[str, float], ...]:
        if not self._card_ids:
            return ()
        best = np.full(len(self._card_ids), -1.0, dtype=np.float32)
        np.maximum.at(best, self._card_of_row, sims[self._card_rows])
        return tuple(zip(self._card_ids, (float(b) for b in best), strict=True))

    def _view_similarities(self, vector: np.ndarray) -> np.ndarray:
        return self._matrix @ vector.reshape(-1).astype(np.float32, copy=False)

    def _sentence_scores(self, chunk: int, sims: np.ndarray) -> tuple[float, ...]:
        """Each sentence's cosine to the question (a one-sentence chunk: its passage's)."""
        return tuple(float(s) for s in sims[self._sentence_rows[chunk]])
