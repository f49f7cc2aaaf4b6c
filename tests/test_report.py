"""The report as a person gets it (one PNG sized for a phone, one A4 PDF page), the words
of coach mode and the report, and the strictness of the new button payloads."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from bot.assessment import assess
from bot.assessment.models import AssessmentInput
from bot.payloads import (
    BadPayload,
    ClientAction,
    ClientFaq,
    Consent,
    NewInvite,
    ReportRequest,
    StopSharing,
    encode,
    parse_payload,
)
from bot.report import build_report, change_summary, findings_summary, render_pdf, render_png
from bot.storage.base import StoredResult
from knowledge.facts import load_facts
from knowledge.texts import load_coach_text

WORDS = load_coach_text()
FULL = {
    "straight_knee_reps": {"left": 18, "right": 24},
    "bent_knee_reps": {"left": 9, "right": 16},
    "balance_seconds": {"left": 10, "right": 30},
    "heel_valgus": {"left": True, "right": False},
    "history": ["ankle_sprain", "achilles_pain"],
}
LATER = {**FULL, "straight_knee_reps": {"left": 20, "right": 25}}


def stored(*inputs: dict) -> list[StoredResult]:
    knowledge = load_facts()
    out = []
    for n, raw in enumerate(inputs):
        data = AssessmentInput.model_validate(raw)
        taken = datetime(2026, 10, 1, tzinfo=UTC) + timedelta(weeks=8 * n)
        out.append(StoredResult(taken, data, assess(data, knowledge)))
    return out


def test_report_content_has_findings_numbers_and_sessions() -> None:
    content = build_report(stored(FULL, LATER), "Alice", load_facts())
    assert content is not None
    assert content.previous is not None and content.data.straight_knee_reps.left == 20
    assert any("20" in evidence for _, evidence in content.findings)
    assert [s.title.split()[1] for s in content.sessions] == ["A", "B", "C"]
    assert all(s.lines for s in content.sessions)
    assert build_report([], "Alice", load_facts()) is None


def test_summaries_for_clients_are_short() -> None:
    first, later = stored(FULL, LATER)
    summary = findings_summary(later.result, load_facts(), "none")
    assert "(left)" in summary and "(soleus weaker)" not in summary
    change = change_summary(later.input, first.input, WORDS.report)
    assert change == "straight knee L 20 (+2), R 25 (+1)"
    assert change_summary(first.input, first.input, WORDS.report) == ""


def test_png_is_one_phone_sized_image() -> None:
    content = build_report(stored(FULL, LATER), "Alice", load_facts())
    assert content is not None
    png = render_png(content, WORDS.report)
    image = Image.open(io.BytesIO(png))
    width, height = image.size
    assert width == 960  # a 6-inch column at 160 dpi
    assert height / width < 4  # within what Telegram shows as one photo
    assert len(png) < 10 * 1024 * 1024  # Telegram's photo limit


def test_pdf_is_one_a4_page() -> None:
    content = build_report(stored(FULL), "", load_facts())
    assert content is not None
    pdf = render_pdf(content, WORDS.report)
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
    box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)", pdf)
    assert box is not None
    assert (round(float(box[1])), round(float(box[2]))) == (595, 842)  # A4 in points


@pytest.mark.parametrize("section", ["coach", "report"])
def test_every_coach_and_report_phrase_renders(section: str) -> None:
    words = getattr(WORDS, section)
    for name in type(words).model_fields:
        text = getattr(words, name).format(**{f: "X" for f in words.fields_of(name)})
        assert text.strip(), name


CODE = "AbCdEfGhIjKlMnOpQrStUv-_"


@pytest.mark.parametrize(
    "payload",
    [
        NewInvite(),
        Consent(None),
        Consent(CODE),
        ClientAction("report", 1),
        ClientAction("retest", 12),
        ClientAction("faqs", 999999),
        ClientFaq(7, "rep_range"),
        StopSharing(3),
        ReportRequest(False),
        ReportRequest(True),
        ReportRequest(True, 5),
    ],
)
def test_new_payloads_round_trip_within_64_bytes(payload: object) -> None:
    raw = encode(payload)  # type: ignore[arg-type]
    assert len(raw.encode()) <= 64 and parse_payload(raw) == payload


@pytest.mark.parametrize(
    "raw",
    [
        "coach:share:short",
        "coach:share:" + "A" * 44,
        "coach:share:AbCdEfGhIjKlMnOp<>",
        "coach:stop:-1",
        "coach:stop:01",
        "coach:stop:1234567",
        "cl:delete:1",
        "cl:report:",
        "cl:report:٣",
        "cl:faq:1:Rep_Range",
        "report:jpg",
        "report:pdf:",
        "report:pdf:1:2",
        "coach:newlink:x",
    ],
)
def test_forged_payloads_are_refused(raw: str) -> None:
    with pytest.raises(BadPayload):
        parse_payload(raw)


def test_a_name_with_dollars_or_markup_is_drawn_as_text() -> None:
    """Names come from users: "$" must not start matplotlib's mathtext (a lone "$\\" would
    raise), and nothing in a name is markup."""
    content = build_report(stored(FULL), "$\\frac{$ <b>Zoë</b> $$", load_facts())
    assert content is not None
    assert render_png(content, WORDS.report).startswith(b"\x89PNG")
    assert render_pdf(content, WORDS.report).startswith(b"%PDF")
