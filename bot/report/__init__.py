"""The shareable report: one user's latest self-test as one image (and the same as a
one-page PDF): the findings with their numbers, the chart, and the week's program by
session. ``content`` gathers what it says from stored results; ``render`` draws it."""

from bot.report.content import ReportContent, build_report, change_summary, findings_summary
from bot.report.render import render_pdf, render_png

__all__ = [
    "ReportContent",
    "build_report",
    "change_summary",
    "findings_summary",
    "render_pdf",
    "render_png",
]
