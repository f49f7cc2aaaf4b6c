"""The share of in-scope answers that open with an answer card's first line (client voice).

Over tests/eval/client_questions.jsonl and questions.jsonl (or the files given), each
question is answered alone as the bot would; an in-scope, non-referral answer counts as
client voice when its first paragraph is a card's first line (a card leading the guide
passage, or a card answering alone). Prints counts only, never the questions, so the
figure can be watched while writing cards without reading the eval sets.

    .venv/bin/python scripts/card_voice.py [FILE.jsonl ...] [--cards]
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from bot.bootstrap import build_qa
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = [ROOT / "tests/eval/client_questions.jsonl", ROOT / "tests/eval/questions.jsonl"]


def main(argv: list[str]) -> int:
    show_cards = "--cards" in argv
    files = [Path(a) for a in argv if not a.startswith("--")] or DEFAULT
    service, _ = build_qa(Settings())
    by_line = {c.first_line.strip(): c.id for c in service.knowledge.answer_cards}
    total_in = total_voice = 0
    used: Counter[str] = Counter()
    for path in files:
        questions = [json.loads(line)["q"] for line in path.read_text("utf-8").splitlines() if line]
        answers = service.answer_many(questions)
        in_scope = [a for a in answers if a.in_scope and not a.red_flag]
        voiced = [by_line.get(a.body.split("\n\n", 1)[0].strip()) for a in in_scope]
        voice = sum(1 for v in voiced if v)
        used.update(v for v in voiced if v)
        total_in += len(in_scope)
        total_voice += voice
        print(
            f"{path.name:28} in-scope {len(in_scope):4}  client voice {voice:4}  "
            f"share {voice / max(len(in_scope), 1):.3f}"
        )
    print(
        f"{'all':28} in-scope {total_in:4}  client voice {total_voice:4}  "
        f"share {total_voice / max(total_in, 1):.3f}"
    )
    if show_cards:
        print("cards used:", ", ".join(f"{c} {n}" for c, n in used.most_common()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
