"""Turn retrieved passages into a short answer a client can read on a phone.

The answer is taken from the guide, never generated: the best passage when it fits the
budget, otherwise the sentences of it that match the question best, kept in the guide's
order with their neighbours so pronouns still have their referents.
"""

from __future__ import annotations

from index.retrieval import Hit

SECTION_SEPARATOR = " > "


def short_section(path: str) -> str:
    """The last two levels of a section path: enough to find it, short enough to read."""
    return SECTION_SEPARATOR.join(path.split(SECTION_SEPARATOR)[-2:])


def _render_sentences(sentences: list[str], list_items: set[int]) -> str:
    out: list[str] = []
    for i, sentence in enumerate(sentences):
        if i in list_items:
            out.append(f"\n• {sentence}")
        else:
            out.append(("\n" if out and out[-1].startswith("\n•") else " ") + sentence)
    return "".join(out).strip()


def _list_items(hit: Hit) -> set[int]:
    """Indexes of the chunk's sentences that are bullet items."""
    bullets = {line[2:].strip() for line in hit.chunk.text.splitlines() if line.startswith("- ")}
    return {i for i, s in enumerate(hit.chunk.sentences) if s in bullets}


def select_sentences(hit: Hit, budget: int) -> list[int]:
    """Pick sentence indexes of ``hit``: the whole chunk if it fits, else the best window."""
    sentences = hit.chunk.sentences
    lengths = [len(s) + 1 for s in sentences]
    if sum(lengths) <= budget:
        return list(range(len(sentences)))
    scores = hit.sentence_scores or tuple(0.0 for _ in sentences)
    best = max(range(len(sentences)), key=lambda i: scores[i])
    chosen = {best}
    used = lengths[best]
    left, right = best - 1, best + 1
    # Grow towards the better-scoring neighbour; the sentence before usually carries the
    # subject ("The soleus ..."), so it wins ties.
    while True:
        candidates = [i for i in (left, right) if 0 <= i < len(sentences)]
        candidates = [i for i in candidates if used + lengths[i] <= budget]
        if not candidates:
            break
        pick = max(candidates, key=lambda i: (scores[i], i == left))
        chosen.add(pick)
        used += lengths[pick]
        if pick == left:
            left -= 1
        else:
            right += 1
    return sorted(chosen)


def compose_answer(hits: tuple[Hit, ...], max_chars: int) -> tuple[str, str]:
    """Return ``(body, section)``; the body plus its section line fits ``max_chars``."""
    top = hits[0]
    budget = max_chars - len(with_section_line("", top.chunk.section))
    indexes = select_sentences(top, budget)
    items = _list_items(top)
    body = _render_sentences(
        [top.chunk.sentences[i] for i in indexes], {n for n, i in enumerate(indexes) if i in items}
    )
    return body, top.chunk.section


def with_section_line(body: str, section: str) -> str:
    return f"{body}\n\nSection: {short_section(section)}"
