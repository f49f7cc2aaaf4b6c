"""``calfcoach eval --ablation``: what each retrieval choice is worth, measured in one run.

The baseline is the one the issue quotes: plain dense search over fixed 500-character
chunks (MiniLM, FAISS flat), the top chunk as the answer, no scope check. Red-flag triage
runs before retrieval in every row, so its figures do not change here. Each following
row adds one choice, ending with the shipped configuration.
"""

from __future__ import annotations

from dataclasses import replace

import faiss
import numpy as np

from bot.qa.scope import ScopeThresholds
from bot.qa.service import QAService
from index.chunking import Chunk
from index.retrieval import RetrievalWeights, Retriever
from index.store import GuideIndex, View
from knowledge.guide import load_guide
from tooling.evaluation import EvalSet, Metrics, evaluate

NO_SCOPE = ScopeThresholds(with_domain_terms=-1.0, without_domain_terms=-1.0)


def fixed_window_index(service: QAService, size: int = 500) -> GuideIndex:
    """Fixed character windows over the guide text, ignoring headings: the baseline."""
    text = load_guide().full_text
    chunks = [
        Chunk(
            id=f"w{i}",
            section=f"window {i}",
            text=text[i : i + size],
            sentences=(text[i : i + size],),
        )
        for i in range(0, len(text), size)
    ]
    views = [View(chunk=i, kind="passage", text=c.text) for i, c in enumerate(chunks)]
    vectors = service.retriever.encoder.encode([v.text for v in views])
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(np.ascontiguousarray(vectors))
    manifest = service.retriever.index.manifest
    return GuideIndex(manifest=manifest, chunks=chunks, views=views, keys={}, vectors=flat)


def run_ablation(service: QAService, sets: list[EvalSet]) -> list[tuple[str, Metrics]]:
    """Evaluate the baseline and each added choice on the same questions."""
    encoder, index = service.retriever.encoder, service.retriever.index
    synonyms = service.knowledge.synonyms
    dense = RetrievalWeights(dense=1.0, lexical=0.0, views=frozenset({"passage"}))
    variants: list[tuple[str, Retriever, ScopeThresholds, int]] = [
        (
            "baseline: dense, 500-char windows",
            Retriever(fixed_window_index(service), encoder, (), dense),
            NO_SCOPE,
            560,
        ),
        (
            "heading-aware chunks + path",
            Retriever(index, encoder, (), dense),
            NO_SCOPE,
            service.max_chars,
        ),
        (
            "+ sentence views",
            Retriever(index, encoder, (), replace(dense, views=frozenset({"passage", "sentence"}))),
            NO_SCOPE,
            service.max_chars,
        ),
        (
            "+ question keys",
            Retriever(
                index, encoder, (), replace(dense, views=frozenset({"passage", "sentence", "key"}))
            ),
            NO_SCOPE,
            service.max_chars,
        ),
        (
            "+ BM25 hybrid",
            Retriever(index, encoder, (), RetrievalWeights()),
            NO_SCOPE,
            service.max_chars,
        ),
        (
            "+ synonyms",
            Retriever(index, encoder, synonyms, RetrievalWeights()),
            NO_SCOPE,
            service.max_chars,
        ),
        (
            "+ question-intent prior",
            Retriever(
                index, encoder, synonyms, RetrievalWeights(), intents=service.knowledge.intents
            ),
            NO_SCOPE,
            service.max_chars,
        ),
        ("+ scope check (shipped)", service.retriever, service.thresholds, service.max_chars),
    ]
    rows = []
    for name, retriever, thresholds, max_chars in variants:
        variant = QAService(
            retriever, service.knowledge, max_chars=max_chars, thresholds=thresholds
        )
        rows.append((name, evaluate(variant, sets)))
    return rows
