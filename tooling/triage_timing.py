"""What triage adds to an answer, in milliseconds: ``python -m tooling.triage_timing``.

The budget is 0.5 ms at the median on top of retrieval. The question's vector is computed
once (retrieval needs it anyway), so it is computed here before the clock starts; what is
timed is what triage itself does per message: the rules and the example vote on that
vector, and, on a turn that follows an unflagged message, the rules over the two joined
(:meth:`bot.triage_model.Triager.across`). For comparison it also times what the joined
turn cost before, one more encode of the two messages joined.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

from bot import safety
from bot.qa.service import QAService

EVAL = Path(__file__).resolve().parent.parent / "tests" / "eval"
FILES = ("questions.jsonl", "not_red_flags.jsonl", "red_flags.jsonl", "client_questions.jsonl")


def eval_messages(directory: Path = EVAL) -> list[str]:
    """Every single message of the project's eval sets, in file order."""
    messages: list[str] = []
    for name in FILES:
        path = directory / name
        if path.exists():
            lines = path.read_text(encoding="utf-8").splitlines()
            messages += [json.loads(line)["q"] for line in lines if line.strip()]
    return messages


def _clear() -> None:
    safety._live_sentences.cache_clear()
    safety._counts_in.cache_clear()


def _ms(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) * 1000


def measure(service: QAService, messages: list[str], repeat: int = 5) -> dict[str, float]:
    """Median and 90th-percentile milliseconds per message, for each part of triage.

    Each turn is played as in a conversation: the previous message was triaged on its
    own turn (untimed), then this one is triaged on its own vector, then the two joined.
    The rules' caches are emptied before each turn, so nothing is read from a message
    that the conversation has not seen; the best of ``repeat`` plays is kept, so a
    scheduler hiccup on a shared machine is not counted as triage's cost.
    """
    triager = service.triager
    vectors = service.retriever.encode(messages)
    own: list[float] = []
    across: list[float] = []
    for (previous, vp), (question, vq) in pairwise(zip(messages, vectors, strict=True)):
        best_own = best_across = float("inf")
        for _ in range(repeat):
            _clear()
            triager(previous, vp)
            best_own = min(best_own, _ms(lambda q=question, v=vq: triager(q, v)))
            best_across = min(best_across, _ms(lambda p=previous, q=question: triager.across(p, q)))
        own.append(best_own)
        across.append(best_across)
    pairs = list(pairwise(messages))[:60]
    reencode = [_ms(lambda p=p, q=q: service.retriever.encode([f"{p}\n{q}"])) for p, q in pairs]
    added = [a + b for a, b in zip(own, across, strict=True)]

    def stats(name: str, values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {
            f"{name}_p50": round(statistics.median(ordered), 3),
            f"{name}_p90": round(ordered[int(0.9 * (len(ordered) - 1))], 3),
        }

    return {
        "messages": len(messages),
        **stats("own_message", own),
        **stats("across_two", across),
        **stats("added_per_answer", added),
        **stats("old_reencode", reencode),
    }


def main() -> None:
    from bot.bootstrap import build_qa
    from bot.settings import get_settings

    service, _ = build_qa(get_settings())
    print(json.dumps(measure(service, eval_messages()), indent=2))


if __name__ == "__main__":
    main()
