"""Findings and programs as chat text (plain; adapters escape and split it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.assessment.models import AssessmentResult, Finding, Program, ProgramExercise

if TYPE_CHECKING:
    from bot.storage.base import StoredResult

FINDING_NAMES = {
    "gastrocnemius_dominance": "Gastrocnemius dominance (soleus weaker)",
    "bilateral_asymmetry": "Left-right asymmetry",
    "peroneal_weakness": "Peroneal weakness / ankle instability",
    "tibialis_posterior_weakness": "Tibialis posterior weakness (heel rolls in)",
    "overall_weakness": "Overall calf weakness",
}


def _side_text(finding: Finding) -> str:
    if finding.side == "both":
        return " - both sides"
    if finding.side:
        return f" - {finding.side} side"
    return ""


def findings_text(result: AssessmentResult) -> str:
    if not result.findings:
        return (
            "Your numbers are inside all of the guide's thresholds: no imbalance found. "
            "Here is a balanced program to keep it that way."
        )
    lines = ["Here is what your numbers show:"]
    for n, finding in enumerate(result.findings, 1):
        title = finding.section.split(" > ")[-1]
        lines.append(
            f"\n{n}. {FINDING_NAMES.get(finding.id, finding.id)}{_side_text(finding)}\n"
            f"   Evidence: {finding.evidence}\n"
            f"   Guide: {title}"
        )
    return "\n".join(lines)


def _dose(line: ProgramExercise) -> str:
    reps = f"{line.reps[0]}-{line.reps[1]}" if isinstance(line.reps, tuple) else str(line.reps)
    text = f"{line.sets} x {reps}"
    if line.tempo:
        text += f", {line.tempo}"
    if line.rest_s:
        text += f", rest {line.rest_s} s"
    if line.priority_side:
        text += f" ({line.priority_side} side first)"
    return text


def program_text(program: Program) -> str:
    lines = [
        f"Your weekly program: {program.sessions_per_week} sessions a week, "
        f"{program.weekly_sets} direct calf sets, re-test in {program.retest_after_weeks} weeks.",
        "Each session:",
    ]
    for n, line in enumerate(program.exercises, 1):
        lines.append(f"\n{n}. {line.name}: {_dose(line)}\n   Why: {line.why}")
    lines.append("\nNotes:")
    lines.extend(f"- {note}" for note in program.notes)
    return "\n".join(lines)


def _change(now: int, before: int) -> str:
    diff = now - before
    return f"{now} ({'+' if diff > 0 else ''}{diff})" if diff else f"{now} (=)"


def history_text(results: list[StoredResult]) -> str:
    """Earlier self-tests with dates and how each number changed since the one before."""
    if not results:
        return "No self-tests yet. Type /assess to take one."
    lines = [f"Your self-tests ({len(results)}):"]
    previous = None
    for stored in results:
        data = stored.input
        line = f"\n{stored.taken_at:%Y-%m-%d}:"
        tests = [
            ("straight knee", data.straight_knee_reps, previous and previous.straight_knee_reps),
            ("bent knee", data.bent_knee_reps, previous and previous.bent_knee_reps),
            ("balance s", data.balance_seconds, previous and previous.balance_seconds),
        ]
        for name, now, before in tests:
            if now is None:
                continue
            if before is None:
                line += f"\n  {name}: left {now.left}, right {now.right}"
            else:
                line += (
                    f"\n  {name}: left {_change(now.left, before.left)}, "
                    f"right {_change(now.right, before.right)}"
                )
        found = ", ".join(FINDING_NAMES.get(f.id, f.id) for f in stored.result.findings) or "none"
        line += f"\n  findings: {found}"
        lines.append(line)
        previous = data
    return "\n".join(lines)
