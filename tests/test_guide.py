"""The cleaned guide keeps the guide's words and hierarchy and drops the page furniture."""

from __future__ import annotations

import re

from knowledge.guide import SOURCE_PATH, load_guide, normalize

SYNTHETIC_HEADINGS = {"Introduction"}


def _source() -> str:
    return normalize(SOURCE_PATH.read_text("utf-8"))


def test_every_block_of_the_clean_guide_is_verbatim_from_the_source() -> None:
    guide, source = load_guide(), _source()
    for section in guide.sections:
        for title in section.titles:
            assert title in SYNTHETIC_HEADINGS or normalize(title) in source, title
        for block in section.blocks:
            if block.kind == "table":
                pieces = [cell for row in block.rows for cell in row]
            elif block.kind == "list":
                pieces = list(block.items)
            else:
                pieces = [block.text]
            for piece in pieces:
                assert normalize(piece) in source, f"{section.path}: {piece[:80]!r}"


def test_marketing_forms_bios_and_article_links_are_gone() -> None:
    text = load_guide().full_text
    for junk in (
        "FitBudd",
        "free 30-day trial",
        "Written by",
        "Reviewed by",
        "credit card",
        "An image demonstrating",
        "Msg & data rates",
        "Recent article",
    ):
        assert junk.lower() not in text.lower(), junk


def test_hierarchy_section_muscle_imbalance_exercise_part() -> None:
    guide = load_guide()
    imbalances = [s for s in guide.sections if re.match(r"Imbalance \d:", s.titles[-1])]
    assert [s.titles[-1].split(":")[0] for s in imbalances] == [
        f"Imbalance {i}" for i in range(1, 6)
    ]
    assert all(s.titles[0] == "Common Plantar Flexion Imbalances" for s in imbalances)
    muscles = {s.titles[1] for s in guide.sections if s.depth >= 2 and "Muscles" in s.titles[0]}
    assert {
        "Gastrocnemius",
        "Soleus",
        "Plantaris",
        "Tibialis Posterior",
        "Peroneus (Fibularis) Longus and Brevis",
    } <= muscles
    part = guide.section(
        "Best Exercises for Plantar Flexor Training and Imbalance Correction > "
        "Seated Calf Raise (Primary Soleus) > Programming for soleus"
    )
    assert "15 to 25 reps" in part.text


def test_guide_body_keeps_nearly_all_knowledge_text() -> None:
    # The source minus its marketing is ~24k characters; losing a section would show here.
    assert len(load_guide().full_text) > 22_000
