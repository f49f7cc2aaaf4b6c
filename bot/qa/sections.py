"""How an answer names where it came from: short section labels (no heavy imports)."""

from __future__ import annotations

SECTION_SEPARATOR = " > "


def short_section(path: str) -> str:
    """The last two levels of a section path: enough to find it, short enough to read."""
    return SECTION_SEPARATOR.join(path.split(SECTION_SEPARATOR)[-2:])


def section_label(sections: list[str]) -> str:
    """``Soleus > Training implications`` or, for several, all of them joined by ``;``."""
    return "; ".join(dict.fromkeys(short_section(s) for s in sections))


def with_section_line(body: str, sections: list[str]) -> str:
    """The answer text as users see it: the body, then where it came from."""
    label = "Sections" if len(set(sections)) > 1 else "Section"
    return f"{body}\n\n{label}: {section_label(sections)}"
