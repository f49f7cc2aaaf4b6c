"""Heading-aware chunks of the guide: each chunk knows its section path.

Chunks follow the guide's own structure (a paragraph, or a short intro with its bullet
list, or one row of the muscle table) instead of fixed character windows, so a passage
never mixes two muscles or two imbalances and can be quoted as an answer on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge.guide import Block, Guide

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"(])")


@dataclass(frozen=True)
class ChunkingParams:
    """Parameters recorded in the index manifest; changing them makes the index stale."""

    max_chars: int = 700
    version: int = 1

    def as_dict(self) -> dict[str, int]:
        return {"max_chars": self.max_chars, "version": self.version}


@dataclass(frozen=True)
class Chunk:
    """A passage of the guide: what we embed, search and quote."""

    id: str
    section: str
    text: str
    sentences: tuple[str, ...] = field(default_factory=tuple)

    @property
    def embedding_text(self) -> str:
        """Section path as context before the text: it disambiguates "Correction" passages."""
        return f"{self.section}: {self.text}"


def split_sentences(text: str) -> list[str]:
    """Split guide prose into sentences; list items are sentences of their own."""
    sentences: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("- "):
            sentences.append(line[2:].strip())
        elif line:
            sentences.extend(s.strip() for s in _SENTENCE_END.split(line) if s.strip())
    return sentences


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _table_rows(block: Block) -> list[str]:
    header, *rows = block.rows
    lines = []
    for row in rows:
        facts = "; ".join(
            f"{name.lower()}: {value}" for name, value in zip(header[1:], row[1:], strict=True)
        )
        lines.append(f"{row[0]} - {facts}.")
    return lines


def _pieces(blocks: list[Block], params: ChunkingParams) -> list[str]:
    """Group a section's blocks into passages no longer than ``max_chars`` where possible."""
    texts: list[str] = []
    for block in blocks:
        if block.kind == "table":
            texts.extend(_table_rows(block))
        elif block.kind == "paragraph" and len(block.text) > params.max_chars:
            current = ""
            for sentence in split_sentences(block.text):
                if current and len(current) + 1 + len(sentence) > params.max_chars:
                    texts.append(current)
                    current = sentence
                else:
                    current = f"{current} {sentence}".strip()
            if current:
                texts.append(current)
        else:
            texts.append(block.text)
    merged: list[str] = []
    for text in texts:
        if merged and merged[-1].endswith(":"):
            # "... because:" or "Consequences:" belongs with what it introduces.
            sep = "\n" if text.startswith("- ") else " "
            merged[-1] = f"{merged[-1]}{sep}{text}"
        else:
            merged.append(text)
    return merged


def chunk_guide(guide: Guide, params: ChunkingParams | None = None) -> list[Chunk]:
    """Cut the guide into section-aware chunks, in reading order."""
    params = params or ChunkingParams()
    chunks: list[Chunk] = []
    for section in guide.sections:
        if not section.blocks:
            continue
        for n, text in enumerate(_pieces(section.blocks, params)):
            if n == 0 and section.depth >= 3:
                # The guide writes parts as "Label: text"; keep the label so the passage
                # reads on its own ("Programming for soleus: 3 to 4 sets of ...").
                sep = "\n" if text.startswith("- ") else " "
                text = f"{section.titles[-1]}:{sep}{text}"
            chunks.append(
                Chunk(
                    id=f"c{len(chunks):03d}-{_slug(section.titles[-1])}",
                    section=section.path,
                    text=text,
                    sentences=tuple(split_sentences(text)),
                )
            )
    return chunks
