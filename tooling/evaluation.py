"""``calfcoach eval``: measure answers, retrieval, scope and triage on eval sets.

Eval folders hold JSONL files in the format of ``../shared/eval/README.md``:
``questions.jsonl`` (``{"q", "any"|"all"}``), ``out_of_scope.jsonl`` and
``red_flags.jsonl`` (``{"q"}``). ``not_red_flags.jsonl`` (ordinary complaints, with
``any`` phrases) counts as in-scope questions and measures red-flag false alarms.
``conversations.jsonl`` (``{"id", "turns": [{"q", "any"} | {"q", "refer": true}]}``),
``client_questions.jsonl`` (``{"q", "any"}``) and ``near_domain_out_of_scope.jsonl``
(``{"q"}``) are scored by :mod:`tooling.eval_conversations`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.qa.models import Answer
from bot.qa.service import QAService

T = TypeVar("T", bound=BaseModel)


class EvalItem(BaseModel):
    q: str
    any: list[str] | None = None
    all: list[str] | None = None
    kind: str | None = None  # a red flag's expected id, for recall by kind

    @model_validator(mode="after")
    def _one_kind(self) -> EvalItem:
        if self.any is not None and self.all is not None:
            raise ValueError("give either 'any' or 'all', not both")
        return self

    def matches(self, text: str) -> bool:
        text = text.lower()
        if self.all:
            return all(p.lower() in text for p in self.all)
        return any(p.lower() in text for p in self.any or [])


class EvalTurn(BaseModel):
    """One turn of an eval chat: right when it contains a phrase, or when it is referred."""

    model_config = ConfigDict(extra="forbid")

    q: str
    any: list[str] | None = Field(default=None, min_length=1)
    refer: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> EvalTurn:
        if (self.any is not None) == self.refer:
            raise ValueError('a turn needs either "any" phrases or "refer": true')
        return self

    def matches(self, text: str) -> bool:
        text = text.lower()
        return any(p.lower() in text for p in self.any or [])


class EvalConversation(BaseModel):
    """A chat whose later turns only make sense with the earlier ones."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    turns: list[EvalTurn] = Field(min_length=1)


@dataclass
class EvalSet:
    name: str
    questions: list[EvalItem] = field(default_factory=list)
    out_of_scope: list[EvalItem] = field(default_factory=list)
    red_flags: list[EvalItem] = field(default_factory=list)
    not_red_flags: list[EvalItem] = field(default_factory=list)
    conversations: list[EvalConversation] = field(default_factory=list)
    client_questions: list[EvalItem] = field(default_factory=list)
    near_domain: list[EvalItem] = field(default_factory=list)


def _read_jsonl(path: Path, model: type[T]) -> list[T]:
    if not path.exists():
        return []
    items = []
    for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if line.strip():
            try:
                items.append(model.model_validate_json(line))
            except ValueError as exc:
                raise ValueError(f"{path}:{n}: {exc}") from exc
    return items


def load_eval_set(directory: Path) -> EvalSet:
    return EvalSet(
        name=str(directory),
        questions=_read_jsonl(directory / "questions.jsonl", EvalItem),
        out_of_scope=_read_jsonl(directory / "out_of_scope.jsonl", EvalItem),
        red_flags=_read_jsonl(directory / "red_flags.jsonl", EvalItem),
        not_red_flags=_read_jsonl(directory / "not_red_flags.jsonl", EvalItem),
        conversations=_read_jsonl(directory / "conversations.jsonl", EvalConversation),
        client_questions=_read_jsonl(directory / "client_questions.jsonl", EvalItem),
        near_domain=_read_jsonl(directory / "near_domain_out_of_scope.jsonl", EvalItem),
    )


class Metrics(BaseModel):
    """The figures the issue asks for; rates are 0..1."""

    questions: int
    hit_at_1: float
    hit_at_3: float
    mrr: float
    out_of_scope: int
    out_of_scope_rejection: float
    in_scope_false_rejection: float
    red_flags: int
    red_flag_recall: float
    red_flag_false_alarms: float
    ordinary: int = 0
    ordinary_false_alarms: float = 0.0
    recall_by_kind: dict[str, str] = {}
    misses: list[str] = []


def _rank(item: EvalItem, answer: Answer) -> int | None:
    for rank, passage in enumerate(answer.passages, 1):
        if item.matches(f"{passage.section} {passage.text}"):
            return rank
    return None


def _rate(hits: int, total: int) -> float:
    return round(hits / total, 4) if total else 1.0


def evaluate(service: QAService, sets: Iterable[EvalSet]) -> Metrics:
    """Run every eval question through the service (batched) and compute the metrics."""
    scored: list[EvalItem] = []
    oos: list[EvalItem] = []
    red: list[EvalItem] = []
    ordinary: list[EvalItem] = []
    for eval_set in sets:
        scored += eval_set.questions + [i for i in eval_set.not_red_flags if i.any or i.all]
        oos += eval_set.out_of_scope
        red += eval_set.red_flags
        ordinary += eval_set.not_red_flags
    answers = service.answer_many([i.q for i in scored])
    hit1 = hit3 = 0
    reciprocal = 0.0
    rejected = 0
    false_alarms = 0
    misses: list[str] = []
    for item, answer in zip(scored, answers, strict=True):
        rank = _rank(item, answer)
        if answer.red_flag:
            false_alarms += 1
        if not answer.in_scope:
            rejected += 1
        if answer.in_scope and not answer.red_flag and item.matches(answer.answer):
            hit1 += 1
        else:
            misses.append(f"{item.q!r} -> {answer.kind}: {answer.answer[:90]!r}")
        if rank is not None:
            hit3 += rank <= 3
            reciprocal += 1 / rank
    oos_answers = service.answer_many([i.q for i in oos])
    red_answers = service.answer_many([i.q for i in red])
    misses += [f"OUT-OF-SCOPE ACCEPTED {a.question!r}" for a in oos_answers if a.in_scope]
    misses += [f"RED FLAG MISSED {a.question!r}" for a in red_answers if not a.red_flag]
    ordinary_answers = service.answer_many([i.q for i in ordinary])
    misses += [
        f"FALSE ALARM {a.red_flag_ids} {a.question!r}" for a in ordinary_answers if a.red_flag
    ]
    by_kind: dict[str, list[int]] = {}
    for item, answer in zip(red, red_answers, strict=True):
        counts = by_kind.setdefault(item.kind or "unlabelled", [0, 0])
        counts[0] += answer.red_flag
        counts[1] += 1
    return Metrics(
        questions=len(scored),
        hit_at_1=_rate(hit1, len(scored)),
        hit_at_3=_rate(hit3, len(scored)),
        mrr=_rate(int(reciprocal * 10000), len(scored) * 10000),
        out_of_scope=len(oos),
        out_of_scope_rejection=_rate(sum(not a.in_scope for a in oos_answers), len(oos)),
        in_scope_false_rejection=_rate(rejected, len(scored)),
        red_flags=len(red),
        red_flag_recall=_rate(sum(a.red_flag for a in red_answers), len(red)),
        red_flag_false_alarms=_rate(false_alarms, len(scored)),
        ordinary=len(ordinary),
        ordinary_false_alarms=_rate(sum(a.red_flag for a in ordinary_answers), len(ordinary))
        if ordinary
        else 0.0,
        recall_by_kind={k: f"{hit}/{n}" for k, (hit, n) in sorted(by_kind.items())},
        misses=misses,
    )


def format_report(rows: list[tuple[str, Metrics]]) -> str:
    """A plain table, one row per eval set plus the combined row."""
    header = (
        f"{'set':<36} {'n':>4} {'hit@1':>6} {'hit@3':>6} {'MRR':>6} "
        f"{'oos':>4} {'oos-rej':>7} {'false-rej':>9} {'red':>4} {'red-rec':>7} {'false-red':>9} "
        f"{'ordin':>5} {'ord-alarm':>9}"
    )
    lines = [header, "-" * len(header)]
    for name, m in rows:
        lines.append(
            f"{name[-36:]:<36} {m.questions:>4} {m.hit_at_1:>6.3f} {m.hit_at_3:>6.3f} "
            f"{m.mrr:>6.3f} {m.out_of_scope:>4} {m.out_of_scope_rejection:>7.3f} "
            f"{m.in_scope_false_rejection:>9.3f} {m.red_flags:>4} {m.red_flag_recall:>7.3f} "
            f"{m.red_flag_false_alarms:>9.3f} {m.ordinary:>5} {m.ordinary_false_alarms:>9.3f}"
        )
    name, combined = rows[-1]
    if combined.recall_by_kind:
        lines.append("")
        lines.append(f"red-flag recall by kind ({name}):")
        lines += [f"  {kind:<28} {share}" for kind, share in combined.recall_by_kind.items()]
    return "\n".join(lines)


def dump_json(rows: list[tuple[str, Metrics]]) -> str:
    return json.dumps({name: m.model_dump() for name, m in rows}, indent=2)
