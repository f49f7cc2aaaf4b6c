"""Chunks follow the guide's headings and stay quotable."""

from __future__ import annotations

from index.chunking import ChunkingParams, chunk_guide, split_sentences
from knowledge.guide import load_guide


def test_chunks_know_their_section_and_fit_the_budget() -> None:
    guide = load_guide()
    chunks = chunk_guide(guide)
    assert len(chunks) > 80
    assert len({c.id for c in chunks}) == len(chunks)
    for chunk in chunks:
        assert guide.has_section(chunk.section)
        assert len(chunk.text) <= ChunkingParams().max_chars
        assert chunk.embedding_text.startswith(chunk.section)
    sections = [c.section for c in chunks]
    assert sections == sorted(sections, key=[s.path for s in guide.sections].index)


def test_a_part_keeps_its_label_and_a_list_stays_with_its_heading() -> None:
    chunks = chunk_guide(load_guide())
    soleus = next(c for c in chunks if c.section.endswith("Programming for soleus"))
    assert soleus.text.startswith("Programming for soleus: 3 to 4 sets of 15 to 25 reps")
    consequences = next(
        c
        for c in chunks
        if c.section.endswith(
            "Imbalance 5: Overall Plantar Flexor Weakness (Bilateral Calf Deficit) > Consequences"
        )
    )
    assert consequences.sentences[0] == "Consequences:"
    assert len(consequences.sentences) == 4


def test_each_muscle_table_row_is_its_own_chunk() -> None:
    rows = [c for c in chunk_guide(load_guide()) if c.section == "Muscle Summary Table"]
    assert len(rows) == 8
    assert rows[1].text.startswith("Soleus - joint crossed: Ankle only")


def test_sentence_split_keeps_abbreviations_and_list_items() -> None:
    text = "Use a wobble board (e.g., a foam pad). Then test.\n- first item\n- second item"
    assert split_sentences(text) == [
        "Use a wobble board (e.g., a foam pad).",
        "Then test.",
        "first item",
        "second item",
    ]
