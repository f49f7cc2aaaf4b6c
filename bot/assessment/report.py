"""Findings and programs as chat text (plain; adapters escape and split it)."""

from __future__ import annotations

from bot.assessment.models import AssessmentResult, Finding, Program, ProgramExercise

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
