"""BM25 over the chunks, with stemming and the client-vocabulary expansion.

Dense MiniLM vectors miss exact guide terms ("valgus", "fibularis", "25 single-leg") and
BM25 misses paraphrase; the retriever fuses both. The BM25 model is rebuilt in memory at
start-up from the stored chunks (milliseconds for this corpus), so nothing is pickled.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import bm25s
import numpy as np
import Stemmer

from index.chunking import Chunk
from knowledge.models import SynonymGroup

# bm25s logs every index build at DEBUG through its own handler; keep it quiet.
logging.getLogger("bm25s").setLevel(logging.WARNING)
_STEMMER = Stemmer.Stemmer("english")
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def tokenize(text: str) -> list[str]:
    """Lower-case, split on non-word characters, drop stop words and stem."""
    words = [w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]
    # "single-leg" also counts as "single" and "leg".
    parts = [p for w in words for p in ([w, *w.split("-")] if "-" in w else [w])]
    return _STEMMER.stemWords(parts)


def _loose_phrase(phrase: str) -> str:
    """A phrase pattern allowing two extra words between its words and a plural ending:
    "one calf smaller" matches "one calf looks smaller", "arch collapse" "arch collapses"."""
    words = [re.escape(w) for w in phrase.lower().split()]
    return r"\W+(?:\w+\W+){0,2}?".join(words) + r"(?:e?s)?"


def _group_pattern(group: SynonymGroup, flags: int = 0) -> re.Pattern[str]:
    """One pattern for a group: its phrases (loosely) and its regular expressions."""
    phrases = [r"\b(?:" + "|".join(map(_loose_phrase, group.says)) + r")\b"] if group.says else []
    return re.compile("|".join([*phrases, *group.patterns]), flags)


class SynonymExpander:
    """Append the guide's words for phrases clients use ("rolled my ankle" -> sprain)."""

    def __init__(self, groups: Sequence[SynonymGroup]) -> None:
        self._rewrites = [(_group_pattern(g, re.IGNORECASE), g.means) for g in groups if g.rewrite]
        self._rules = [(_group_pattern(g), g.means) for g in groups]

    def expansions(self, question: str) -> list[str]:
        text = question.lower()
        return [means for pattern, means in self._rules if pattern.search(text)]

    def rewrite(self, question: str) -> str:
        """The question with abbreviations spelled out, for the embedding model."""
        text = question
        for pattern, means in self._rewrites:
            text = pattern.sub(means, text)
        return text


class LexicalIndex:
    """BM25 scores for every chunk, normalised to 0..1 by the best match."""

    def __init__(self, chunks: Sequence[Chunk], keys: dict[int, list[str]]) -> None:
        corpus = [
            tokenize(" ".join([c.section, c.text, *keys.get(i, [])])) for i, c in enumerate(chunks)
        ]
        self._size = len(corpus)
        bm25 = bm25s.BM25()
        bm25.index(corpus, show_progress=False)
        # bm25s scores a query with one ``np.add.at`` per query word, holding the GIL for
        # most of a search; for a guide this size the whole term x chunk table is small
        # (vocabulary x chunks floats), so a query is one row gather and a sum.
        self._vocab: dict[str, int] = dict(bm25.vocab_dict)
        data, indices, indptr = (bm25.scores[k] for k in ("data", "indices", "indptr"))
        self._table = np.zeros((len(indptr) - 1, self._size), dtype=np.float32)
        rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        np.add.at(self._table, (rows, indices), data)
        self._bm25 = bm25  # the reference the table is checked against (tests)

    def scores(self, query: str) -> np.ndarray:
        """Each chunk's BM25 score for ``query`` (a word said twice counts twice)."""
        ids = [self._vocab[t] for t in tokenize(query) if t in self._vocab]
        if not ids:
            return np.zeros(self._size, dtype=np.float32)
        return self._table[ids].sum(axis=0)


_STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours
    yourself yourselves im ive dont doesnt cant get got really pls please thanks thx hey hi
    hello ok okay u ur anyone someone something thing things know tell
    """.split()
)
