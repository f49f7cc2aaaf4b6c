"""Load ``knowledge/data/*.yaml`` into :class:`knowledge.models.Knowledge` and check it
against the guide: every section must exist and every quote must be in the guide."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import yaml

from knowledge.cards import card_problems
from knowledge.guide import Guide, load_guide
from knowledge.models import Knowledge

DATA_DIR = Path(__file__).with_name("data")
_FILES = (
    "muscles",
    "self_tests",
    "imbalances",
    "exercises",
    "faq",
    "passage_keys",
    "synonyms",
    "intents",
    "subjects",
    "red_flags",
    "conditions",
    "answer_cards",
    "off_topics",
    "triage_text",
    "history",
    "self_test_steps",
    "assessment_text",
)
# Files that feed retrieval: the index is stale when one of these changes. The assessment's
# data (history, steps, wording) does not touch the index, so editing it rebuilds nothing.
_INDEX_FILES = tuple(
    name
    for name in _FILES
    if name not in {"history", "self_test_steps", "assessment_text", "off_topics", "subjects"}
)


class KnowledgeError(ValueError):
    """The knowledge data does not match its schema or the guide."""


def _read(data_dir: Path) -> dict[str, object]:
    raw: dict[str, object] = {}
    for name in _FILES:
        path = data_dir / f"{name}.yaml"
        raw[name] = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if raw["assessment_text"] == []:
        raw["assessment_text"] = {}
    return raw


def check_against_guide(knowledge: Knowledge, guide: Guide) -> list[str]:
    """Return every way the data strays from the guide (empty when it traces fully)."""
    problems: list[str] = []

    def check_section(owner: str, path: str) -> None:
        if not guide.has_section(path):
            problems.append(f"{owner}: unknown section {path!r}")

    def check_quote(owner: str, quote: str) -> None:
        if not guide.contains(quote):
            problems.append(f"{owner}: not in the guide: {quote!r}")

    sourced = (
        *knowledge.muscles,
        *knowledge.self_tests,
        *knowledge.imbalances,
        *knowledge.exercises,
        *knowledge.conditions,
    )
    for item in sourced:
        check_section(item.id, item.section)
        for quote in item.quotes:
            check_quote(item.id, quote)
    for imbalance in knowledge.imbalances:
        for text in (imbalance.identify, imbalance.correction, *imbalance.consequences):
            check_quote(imbalance.id, text)
    for exercise in knowledge.exercises:
        for text in (exercise.setup, exercise.execution):
            if text:
                check_quote(exercise.id, text)
    for subject in knowledge.subjects:
        for path in (subject.part, *subject.after):
            check_section(f"subjects.{subject.id}", path)
    for entry in knowledge.faq:
        for path in entry.sections:
            check_section(entry.id, path)
        for quote in entry.quotes:
            check_quote(entry.id, quote)
    for name, reason in knowledge.assessment_text.sourced():
        check_quote(f"assessment_text.{name}", reason.quote)
    for keys in knowledge.passage_keys:
        check_section("passage_keys", keys.section)
        if keys.anchor and not guide.contains(keys.anchor):
            problems.append(f"passage_keys: anchor not in the guide: {keys.anchor!r}")
    for card in knowledge.answer_cards:
        problems += card_problems(card, guide, knowledge.topic_ids)
    return problems


@lru_cache(maxsize=1)
def load_facts(data_dir: Path = DATA_DIR) -> Knowledge:
    """Load, validate and guide-check the knowledge data (cached; raises KnowledgeError)."""
    try:
        knowledge = Knowledge.model_validate(_read(data_dir))
    except (yaml.YAMLError, ValueError) as exc:
        raise KnowledgeError(f"knowledge data in {data_dir} is invalid: {exc}") from exc
    problems = check_against_guide(knowledge, load_guide())
    if problems:
        raise KnowledgeError("knowledge data strays from the guide:\n" + "\n".join(problems))
    return knowledge


def data_sha256(data_dir: Path = DATA_DIR) -> str:
    """Hash of the data files, so an index built from older keys is detected as stale."""
    digest = hashlib.sha256()
    for name in _INDEX_FILES:
        digest.update((data_dir / f"{name}.yaml").read_bytes())
    return digest.hexdigest()
