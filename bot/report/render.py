"""Draw a :class:`ReportContent` once, as a phone-sized PNG or an A4 PDF page.

Both come from the same matplotlib drawing (the chart is :func:`bot.charts.draw_panels`,
so the report's bars are the chat's): the content is laid out in *content inches* on a
column 6 inches wide with fonts sized for a phone screen (about 55 characters a line, so
a photo shown at full width reads like a chat message). The PNG is that column; the PDF
puts the same column on an A4 page, scaled to fit, with matplotlib's own PDF backend
(vector text and bars, no extra dependency, and the page cannot drift from the image).
A ``Figure`` is made directly, not through pyplot, so renders in worker threads share
no global state.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from bot.charts import chart_panels, draw_panels
from bot.report.content import ReportContent
from knowledge.texts import ReportWords

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH = 6.0  # the content column, inches
MARGIN = 0.32
PNG_DPI = 160  # 960 px wide: sharp on a phone, and Telegram keeps photos up to 1280 px
A4 = (8.27, 11.69)
PDF_MARGIN = 0.45
LINE = 1.3  # line height as a multiple of the font size
# Font sizes (points) on the 6-inch column.
TITLE, SUBTITLE, HEADING, BODY, DETAIL, SMALL = 20.0, 12.0, 15.5, 13.0, 12.0, 10.0
INK, MUTED, ACCENT, BAND, SOFT = "#1b1f24", "#555d66", "#1f4e79", "#1f4e79", "#eef2f6"
CHART_HEIGHT = 2.35


def _height(size: float, lines: int = 1) -> float:
    return lines * size * LINE / 72


@lru_cache(maxsize=4096)
def _measure(text: str, size: float, bold: bool) -> float:
    """The width of ``text`` in inches, measured with matplotlib's own font metrics (the
    font it will draw with), so wrapped lines never run off the page."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    prop = FontProperties(size=size, weight="bold" if bold else "normal")
    width, _, _ = TextToPath().get_text_width_height_descent(text, prop, ismath=False)
    return width / 72 * 1.03  # Agg's hinting at PNG resolution draws a little wider


def _wrap(text: str, size: float, width: float, bold: bool = False) -> list[str]:
    """Lines of ``text`` that fit ``width`` inches at ``size`` points, broken at spaces."""
    lines: list[str] = []
    for word in text.split():
        if lines and _measure(f"{lines[-1]} {word}", size, bold) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


@dataclass
class _Layout:
    """Drawing steps in content inches; ``y`` grows downwards from the top."""

    width: float = WIDTH
    y: float = 0.0
    steps: list[Callable[[_Page], None]] = field(default_factory=list)

    def text(
        self,
        text: str,
        size: float,
        *,
        x: float = MARGIN,
        color: str = INK,
        bold: bool = False,
        width: float | None = None,
        gap: float = 0.0,
    ) -> None:
        lines = _wrap(text, size, width or (self.width - MARGIN - x), bold)
        top = self.y
        self.steps.append(
            lambda page: page.text(x, top, "\n".join(lines), size, color=color, bold=bold)
        )
        self.y += _height(size, len(lines)) + gap

    def pair(self, name: str, detail: str, *, x: float, indent: float, gap: float) -> None:
        """``name`` then ``detail`` (muted, smaller) on the same line when both fit, else
        ``detail`` wrapped on the lines below, indented."""
        room = self.width - MARGIN - x
        joined = _measure(name, BODY, False) + _measure(f"  {detail}", DETAIL, False)
        if joined <= room:
            top, offset = self.y, _measure(name + "  ", BODY, False)
            self.steps.append(lambda page: page.text(x, top, name, BODY, color=INK, bold=False))
            self.steps.append(
                lambda page: page.text(
                    x + offset, top + 0.015, detail, DETAIL, color=MUTED, bold=False
                )
            )
            self.y += _height(BODY) + gap
            return
        self.text(name, BODY, x=x)
        self.text(detail, DETAIL, x=x + indent, color=MUTED, gap=gap)

    def band(self, height: float, color: str, *, x: float = 0.0) -> None:
        top = self.y
        width = self.width - 2 * x
        self.steps.append(lambda page: page.rect(x, top, width, height, color))


class _Page:
    """Content inches → figure coordinates: ``scale`` and an offset place the column."""

    def __init__(self, fig: Figure, scale: float, left: float, top: float) -> None:
        self.fig, self.scale, self.left, self.top = fig, scale, left, top
        self.width, self.height = fig.get_size_inches()

    def _x(self, x: float) -> float:
        return (self.left + x * self.scale) / self.width

    def _y(self, y: float) -> float:
        return 1 - (self.top + y * self.scale) / self.height

    def text(self, x: float, y: float, text: str, size: float, *, color: str, bold: bool) -> None:
        self.fig.text(
            self._x(x),
            self._y(y),
            text,
            fontsize=size * self.scale,
            color=color,
            weight="bold" if bold else "normal",
            va="top",
            ha="left",
            linespacing=LINE,
            parse_math=False,  # a "$" in a user's name is a dollar sign, not mathtext
        )

    def rect(self, x: float, y: float, w: float, h: float, color: str) -> None:
        from matplotlib.patches import Rectangle

        self.fig.patches.append(
            Rectangle(
                (self._x(x), self._y(y + h)),
                w * self.scale / self.width,
                h * self.scale / self.height,
                transform=self.fig.transFigure,
                facecolor=color,
                edgecolor="none",
                zorder=0,
            )
        )

    def axes(self, x: float, y: float, w: float, h: float) -> Axes:
        return self.fig.add_axes(
            (
                self._x(x),
                self._y(y + h),
                w * self.scale / self.width,
                h * self.scale / self.height,
            )
        )


def _layout(content: ReportContent, words: ReportWords, width: float) -> _Layout:
    out = _Layout(width)
    # Title band.
    out.band(1.05, BAND)
    out.y += 0.18
    out.text(words.title, TITLE, color="white", bold=True)
    date = f"{content.taken_at:%d %b %Y}"
    subtitle = (
        words.subtitle.format(name=content.name, date=date)
        if content.name
        else words.subtitle_no_name.format(date=date)
    )
    if content.previous_at is not None:
        subtitle += words.previous.format(date=f"{content.previous_at:%d %b %Y}")
    out.text(subtitle, SUBTITLE, color="white")
    out.y = max(out.y, 1.05) + 0.22

    out.text(words.findings_heading, HEADING, color=ACCENT, bold=True, gap=0.06)
    if not content.findings:
        out.text(words.no_findings, DETAIL, gap=0.08)
    for n, (name, evidence) in enumerate(content.findings, 1):
        out.text(f"{n}. {name}", BODY, bold=True, gap=0.02)
        out.text(evidence, DETAIL, x=MARGIN + 0.28, color=MUTED, gap=0.1)
    out.y += 0.1

    out.text(words.chart_heading, HEADING, color=ACCENT, bold=True, gap=0.04)
    panels = len(chart_panels(content.data, content.previous))
    top, gap = out.y + 0.05, 0.3
    panel_width = (width - 2 * MARGIN - gap * (panels - 1)) / panels

    def chart(page: _Page) -> None:
        axes = [
            page.axes(MARGIN + 0.3 + i * (panel_width + gap), top + 0.3, panel_width - 0.3, 1.7)
            for i in range(panels)
        ]
        draw_panels(axes, content.data, content.previous, scale=1.15 * page.scale, labels=False)

    out.steps.append(chart)
    out.y += CHART_HEIGHT
    legend = words.chart_legend
    if content.previous is not None:
        legend += " " + words.chart_legend_previous
    out.text(legend, SMALL, color=MUTED, gap=0.22)

    out.text(words.program_heading, HEADING, color=ACCENT, bold=True, gap=0.02)
    if content.program_heading is None:
        out.text(words.no_program, BODY, gap=0.1)
    else:
        out.text(content.program_heading, DETAIL, gap=0.12)
    for session in content.sessions:
        band_height = _height(BODY) + 0.1
        out.band(band_height, SOFT, x=MARGIN - 0.08)
        out.y += 0.05
        out.text(session.title, BODY, bold=True, color=ACCENT, gap=0.1)
        for name, dose in session.lines:
            out.pair(name, dose, x=MARGIN + 0.1, indent=0.28, gap=0.07)
        out.y += 0.08
    if content.program_heading is not None:
        out.text(content.program_footnote, SMALL, color=MUTED, gap=0.12)
    out.y += 0.06
    out.text(words.footer, SMALL, color=MUTED)
    out.y += MARGIN
    return out


def _draw(content: ReportContent, words: ReportWords, *, page: bool) -> Figure:
    from matplotlib.figure import Figure

    if page:
        # The page's own column: as wide as A4 allows, so lines wrap less and the report
        # fits one page at (nearly) the image's type size; scaled down only if it must.
        width = A4[0] - 2 * PDF_MARGIN
        layout = _layout(content, words, width)
        scale = min(1.0, (A4[1] - 2 * PDF_MARGIN) / layout.y)
        fig = Figure(figsize=A4)
        target = _Page(fig, scale, (A4[0] - width * scale) / 2, PDF_MARGIN)
    else:
        layout = _layout(content, words, WIDTH)
        fig = Figure(figsize=(WIDTH, layout.y))
        target = _Page(fig, 1.0, 0.0, 0.0)
    fig.patch.set_facecolor("white")
    for step in layout.steps:
        step(target)
    return fig


def render_png(content: ReportContent, words: ReportWords) -> bytes:
    """The report as one PNG, 1200 px wide, as tall as its content."""
    buffer = io.BytesIO()
    # zlib level 3: ~30 ms less than the default 6 on a long report, for a file 3 % bigger.
    figure = _draw(content, words, page=False)
    figure.savefig(buffer, format="png", dpi=PNG_DPI, pil_kwargs={"compress_level": 3})
    return buffer.getvalue()


def render_pdf(content: ReportContent, words: ReportWords) -> bytes:
    """The same report on one A4 page (vector PDF)."""
    buffer = io.BytesIO()
    _draw(content, words, page=True).savefig(buffer, format="pdf")
    return buffer.getvalue()
