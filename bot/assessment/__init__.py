"""The self-assessment domain: validated results in, findings and a weekly program out.

Pure functions over pydantic models; no engine, transport or storage imports. The layers:
``thresholds`` (guide numbers) <- ``rules`` (findings) and ``program`` (the week) <-
``outcome.assess`` (both together) <- ``report`` (words).
"""

from bot.assessment.models import AssessmentInput, AssessmentResult, Finding, Program
from bot.assessment.outcome import assess
from bot.assessment.program import build_program
from bot.assessment.rules import find_imbalances

__all__ = [
    "AssessmentInput",
    "AssessmentResult",
    "Finding",
    "Program",
    "assess",
    "build_program",
    "find_imbalances",
]
