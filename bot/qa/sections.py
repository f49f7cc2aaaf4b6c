"""How an answer names where it came from: the one place that words the section line.

The CLI's ``answer`` text, the terminal chat and Telegram all call :func:`section_line`,
so "Section: Soleus > Training implications" reads the same on every channel.
"""

from __future__ import annotations

from collections.abc import Sequence

from knowledge.texts import load_phrases

SECTION_SEPARATOR = " > "


def short_section(path: str) -> str:
    """The last two levels of a section path: enough to find it, short enough to read."""
    return SECTION_SEPARATOR.join(path.split(SECTION_SEPARATOR)[-2:])


def section_label(sections: Sequence[str]) -> str:
    """``Soleus > Training implications`` or, for several, all of them joined by ``;``."""
    return "; ".join(dict.fromkeys(short_section(s) for s in sections))


def section_line(sections: Sequence[str]) -> str:
    """``Section: …`` (or ``Sections: …`` for several); empty when there is none."""
    if not sections:
        return ""
    phrases = load_phrases()
    template = phrases.sections_line if len(set(sections)) > 1 else phrases.section_line
    return template.format(label=section_label(sections))


def with_section_line(body: str, sections: Sequence[str]) -> str:
    """The answer text as users see it: the body, then where it came from."""
    line = section_line(sections)
    return f"{body}\n\n{line}" if line else body
