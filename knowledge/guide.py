"""Parse the cleaned guide (``knowledge/guide.md``) into a tree of sections.

The guide is kept as Markdown so people can read and review it; this module turns it
into sections with a *path* (``"Common Plantar Flexion Imbalances > Imbalance 3: ..."``)
so that every chunk, fact and answer can name where it came from.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

GUIDE_PATH = Path(__file__).with_name("guide.md")
SOURCE_PATH = Path(__file__).parent / "source" / "plantar-flexion-guide.txt"
PATH_SEPARATOR = " > "

_HEADING = re.compile(r"^(#{1,6})\s+(.*\S)\s*$")


@dataclass(frozen=True)
class Block:
    """One paragraph, bullet list or table of a section, as written in the guide."""

    kind: str  # "paragraph" | "list" | "table"
    text: str
    items: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


@dataclass
class Section:
    """A heading of the guide with the blocks directly under it."""

    titles: tuple[str, ...]
    blocks: list[Block] = field(default_factory=list)

    @property
    def path(self) -> str:
        """The human-readable section path, e.g. ``"Soleus > Training implications"``."""
        return PATH_SEPARATOR.join(self.titles)

    @property
    def depth(self) -> int:
        return len(self.titles)

    @property
    def text(self) -> str:
        return "\n\n".join(block.text for block in self.blocks)


@dataclass
class Guide:
    """The parsed guide: its title, sections in reading order and the source hash."""

    title: str
    sections: list[Section]
    sha256: str

    def section(self, path: str) -> Section:
        """Return the section with exactly this path; ``KeyError`` names the bad path."""
        for section in self.sections:
            if section.path == path:
                return section
        raise KeyError(f"no guide section {path!r}")

    def has_section(self, path: str) -> bool:
        return any(section.path == path for section in self.sections)

    @property
    def full_text(self) -> str:
        return "\n\n".join(s.text for s in self.sections if s.blocks)

    def contains(self, quote: str) -> bool:
        """True when ``quote`` appears in the guide, ignoring case and white space.

        Used to prove that facts, FAQ answers and rule thresholds quote the guide.
        """
        return normalize(quote) in _normalized_text(self)


def normalize(text: str) -> str:
    """Fold case, white space and typographic quotes so quotes can be matched."""
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = text.replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"\s+", " ", text).strip().lower()


_NORMALIZED: dict[int, str] = {}


def _normalized_text(guide: Guide) -> str:
    key = id(guide)
    if key not in _NORMALIZED:
        parts = []
        for section in guide.sections:
            parts.append(section.titles[-1])
            if section.blocks and section.depth >= 3:
                # Parts were written "Label: text" in the guide; keep that reading.
                parts.append(f"{section.titles[-1]}: {section.text}")
            else:
                parts.append(section.text)
        _NORMALIZED[key] = normalize("\n".join(parts))
    return _NORMALIZED[key]


def parse_guide(markdown: str) -> Guide:
    """Parse guide Markdown: ``#`` title, ``##``-``####`` sections, paragraphs, lists, tables."""
    title = ""
    stack: list[str] = []
    sections: list[Section] = []
    current: Section | None = None
    for raw_block in re.split(r"\n\s*\n", markdown.strip()):
        block = raw_block.strip()
        heading = _HEADING.match(block)
        if heading and "\n" not in block:
            level, text = len(heading.group(1)), heading.group(2)
            if level == 1:
                title = text
                continue
            depth = level - 1
            stack = [*stack[: depth - 1], text]
            current = Section(titles=tuple(stack))
            sections.append(current)
            continue
        if current is None:
            raise ValueError(f"guide text before the first section: {block[:60]!r}")
        current.blocks.append(_parse_block(block))
    digest = hashlib.sha256(markdown.encode("utf-8")).hexdigest()
    return Guide(title=title, sections=sections, sha256=digest)


def _parse_block(block: str) -> Block:
    lines = [line.strip() for line in block.splitlines()]
    if all(line.startswith("- ") for line in lines):
        items = tuple(line[2:].strip() for line in lines)
        return Block(kind="list", text="\n".join(f"- {item}" for item in items), items=items)
    if all(line.startswith("|") for line in lines):
        rows = tuple(
            tuple(cell.strip() for cell in line.strip("|").split("|"))
            for line in lines
            if not re.fullmatch(r"\|?[\s|:-]+\|?", line)
        )
        return Block(kind="table", text=block, rows=rows)
    return Block(kind="paragraph", text=" ".join(lines))


@lru_cache(maxsize=1)
def load_guide(path: Path = GUIDE_PATH) -> Guide:
    """Load and parse the cleaned guide shipped with the package (cached)."""
    return parse_guide(path.read_text(encoding="utf-8"))
