"""Turn retrieved passages into a short answer a client can read on a phone.

The answer is taken from the guide, never generated: the best passage when it fits the
budget, otherwise the sentences of it that match the question best, kept in the guide's
order with their neighbours so pronouns still have their referents.
"""

from __future__ import annotations

from bot.qa.sections import with_section_line
from index.retrieval import Hit, Retrieval

NEIGHBOR_MARGIN = 0.15  # a same-section passage joins when its cosine is this close to the top
RUNNER_UP_MARGIN = 0.1  # the second hit from another section joins when its score is this close


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


def _render_hit(hit: Hit, indexes: list[int]) -> str:
    items = _list_items(hit)
    return _render_sentences(
        [hit.chunk.sentences[i] for i in indexes], {n for n, i in enumerate(indexes) if i in items}
    )


def compose_answer(retrieval: Retrieval, max_chars: int) -> tuple[str, list[str]]:
    """Return ``(body, sections)``; the body plus its section line fits ``max_chars``.

    The top passage comes first (whole when it fits). Other passages of the same section
    join it, in the guide's order, when they fit and score nearly as well: a section's
    paragraphs often answer one question together ("what happens when I bend my knee").
    A runner-up from another section joins last when it scores almost as well and fits:
    questions such as "which calf muscles are fast and which slow twitch" span two parts.
    """
    top = retrieval.hits[0]
    budget = max_chars - len(with_section_line("", [top.chunk.section]))
    indexes = select_sentences(top, budget)
    if len(indexes) < len(top.chunk.sentences):
        return _render_hit(top, indexes), [top.chunk.section]
    chosen = {top.chunk.id: top}
    used = len(top.chunk.text)
    for neighbor in sorted(retrieval.section_hits, key=lambda h: -h.dense):
        if neighbor.chunk.id in chosen or neighbor.dense < top.dense - NEIGHBOR_MARGIN:
            continue
        if used + 2 + len(neighbor.chunk.text) <= budget:
            chosen[neighbor.chunk.id] = neighbor
            used += 2 + len(neighbor.chunk.text)
    ordered = [h for h in retrieval.section_hits if h.chunk.id in chosen] or [top]
    sections = [top.chunk.section]
    body = "\n\n".join(_render_hit(h, list(range(len(h.chunk.sentences)))) for h in ordered)
    for runner_up in retrieval.hits[1:2]:
        if runner_up.chunk.section in sections or runner_up.score < top.score - RUNNER_UP_MARGIN:
            continue
        longer = f"{body}\n\n{_render_hit(runner_up, list(range(len(runner_up.chunk.sentences))))}"
        both = [*sections, runner_up.chunk.section]
        if len(with_section_line(longer, both)) <= max_chars:
            body, sections = longer, both
    return body, sections
