"""Longest program message over every combination of findings (issue 15's phone check).

For each of the 32 subsets of the five imbalances, crossed with the history answers that
change the program (none, Achilles pain, plantar fasciitis, all of them), build results that
show exactly those findings, run the assessment and measure the messages a user receives.
Run: ``.venv/bin/python scripts/program_lengths.py``.

Before issue 15 (one program message with every reason inline): longest program message
3,585 characters, findings 1,244. After: program (the week by session) 1,405, findings 1,194,
and the reasons, sent only when asked for, 2,073.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

from bot.assessment import AssessmentInput, assess, report

FINDINGS = (
    "gastrocnemius_dominance",
    "bilateral_asymmetry",
    "peroneal_weakness",
    "tibialis_posterior_weakness",
    "overall_weakness",
)
HISTORIES: tuple[tuple[str, ...], ...] = (
    (),
    ("achilles_pain",),
    ("plantar_fasciitis",),
    ("achilles_pain", "plantar_fasciitis", "calf_strain", "shin_splints", "medial_ankle_pain"),
)


def results_for(chosen: set[str], history: tuple[str, ...]) -> dict[str, Any]:
    """Self-test numbers that show exactly the ``chosen`` imbalances."""
    straight = 20 if "overall_weakness" in chosen else 30
    bent = straight // 2 if "gastrocnemius_dominance" in chosen else straight
    weak = 0.8 if "bilateral_asymmetry" in chosen else 1.0
    data: dict[str, Any] = {
        "straight_knee_reps": {"left": round(straight * weak), "right": straight},
        "bent_knee_reps": {"left": round(bent * weak), "right": bent},
        "balance_seconds": {"left": 15 if "peroneal_weakness" in chosen else 30, "right": 30},
        "heel_valgus": {"left": "tibialis_posterior_weakness" in chosen, "right": False},
        "history": [h for h in history if h != "ankle_sprain"],
    }
    return data


def grid() -> list[tuple[set[str], tuple[str, ...], AssessmentInput]]:
    cases = []
    for n in range(len(FINDINGS) + 1):
        for chosen in combinations(FINDINGS, n):
            for history in HISTORIES:
                data = AssessmentInput.model_validate(results_for(set(chosen), history))
                cases.append((set(chosen), history, data))
    return cases


def messages(data: AssessmentInput) -> dict[str, str]:
    """The messages the chat sends for these results, by kind."""
    result = assess(data)
    assert result.program is not None
    if hasattr(report, "result_messages"):
        return report.result_messages(result)
    return {
        "findings": report.findings_text(result),
        "program": report.program_text(result.program),
    }


def main() -> None:
    longest: dict[str, tuple[int, str]] = {}
    for chosen, history, data in grid():
        found = {f.id for f in assess(data).findings}
        assert found == chosen, (chosen, found)
        for kind, text in messages(data).items():
            label = f"{sorted(chosen)} history={list(history)}"
            if len(text) > longest.get(kind, (0, ""))[0]:
                longest[kind] = (len(text), label)
    print(f"{len(grid())} inputs (32 finding combinations x {len(HISTORIES)} histories)")
    for kind, (length, label) in longest.items():
        print(f"longest {kind} message: {length} characters ({label})")


if __name__ == "__main__":
    main()
