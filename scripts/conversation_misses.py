"""Print each missed conversation turn with the turns before it, the phrases it needed
and the sections it was answered from (a tuning aid; never run on a blind set)."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.bootstrap import build_qa
from bot.dialog_batch import DialogRunner
from bot.settings import Settings
from tooling.eval_conversations import turn_right
from tooling.evaluation import load_eval_set


def main(folder: str) -> None:
    service, _ = build_qa(Settings())
    eval_set = load_eval_set(Path(folder))
    turns = [(chat.id, turn) for chat in eval_set.conversations for turn in chat.turns]
    contracts = DialogRunner(service).run([(cid, t.q) for cid, t in turns])
    history: dict[str, list[str]] = {}
    for (cid, turn), contract in zip(turns, contracts, strict=True):
        before = history.setdefault(cid, [])
        if not turn_right(turn, contract):
            print(f"== {cid} turn {len(before) + 1}")
            for q in before:
                print(f"   > {q}")
            print(f"   Q {turn.q}")
            print(f"   want {turn.any or 'REFER'}")
            sections = [s["section"] for s in contract["sources"]]
            print(f"   got [{contract['kind']}] {sections}")
            print("   " + str(contract["answer"]).replace("\n", " ")[:220])
        before.append(turn.q)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/eval")
