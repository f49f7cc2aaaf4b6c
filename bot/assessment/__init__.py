"""The self-assessment domain: validated results in, findings and a weekly program out.

Pure functions over pydantic models; no engine, transport or storage imports.
"""

from bot.assessment.models import AssessmentInput, AssessmentResult, Finding, Program
from bot.assessment.program import build_program
from bot.assessment.rules import assess, find_imbalances

__all__ = [
    "AssessmentInput",
    "AssessmentResult",
    "Finding",
    "Program",
    "assess",
    "build_program",
    "find_imbalances",
]
