"""The self-test chart: left vs right for each test, against the guide's thresholds.

Pure: results in, PNG bytes out. matplotlib is imported lazily (it costs ~0.3 s) and uses
the non-interactive Agg backend, so this runs in a worker thread on a server.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.assessment.models import AssessmentInput
from bot.assessment.thresholds import (
    BALANCE_ASYMMETRY,
    BENT_TO_STRAIGHT_RATIO,
    MIN_SINGLE_LEG_REPS,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

LEFT, RIGHT, LINE = "#4C78A8", "#F58518", "#B22222"


def chart_panels(
    data: AssessmentInput, previous: AssessmentInput | None = None
) -> list[tuple[str, Any, Any]]:
    """(title, now, before) for each test the results have, in drawing order."""
    panels = [
        ("Straight knee (reps)", data.straight_knee_reps, previous and previous.straight_knee_reps),
        ("Bent knee (reps)", data.bent_knee_reps, previous and previous.bent_knee_reps),
    ]
    if data.balance_seconds is not None:
        panels.append(
            ("Balance (seconds)", data.balance_seconds, previous and previous.balance_seconds)
        )
    return panels


def results_chart(data: AssessmentInput, previous: AssessmentInput | None = None) -> bytes:
    """A PNG with one panel per test; ``previous`` (an earlier test) is drawn hatched."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    panels = chart_panels(data, previous)
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.6), dpi=110)
    draw_panels(list(axes), data, previous)
    title = "Your calf self-test (dashed: the guide's thresholds"
    title += "; hatched: your previous test)" if previous is not None else ")"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def draw_panels(
    axes: Sequence[Axes],
    data: AssessmentInput,
    previous: AssessmentInput | None = None,
    *,
    scale: float = 1.0,
    labels: bool = True,
) -> None:
    """Draw each test's panel into ``axes`` (one per :func:`chart_panels` entry), fonts
    times ``scale``: the chat's chart and the report draw the same bars and thresholds.
    ``labels=False`` leaves the thresholds' words to a legend (narrow panels, the report)."""
    from matplotlib.ticker import MaxNLocator

    panels = chart_panels(data, previous)

    def label(ax: Axes, y: float, text: str) -> None:
        if labels:
            ax.text(1.45, y, text, color=LINE, fontsize=7 * scale, va="center")

    for ax, (title, now, before) in zip(axes, panels, strict=True):
        xs = [0, 1]
        if before is not None:
            ax.bar(
                [x - 0.2 for x in xs],
                [before.left, before.right],
                0.35,
                color=[LEFT, RIGHT],
                alpha=0.35,
                hatch="//",
                label="before",
            )
            ax.bar(
                [x + 0.2 for x in xs], [now.left, now.right], 0.35, color=[LEFT, RIGHT], label="now"
            )
        else:
            ax.bar(xs, [now.left, now.right], 0.6, color=[LEFT, RIGHT])
        for x, value in zip(xs, [now.left, now.right], strict=True):
            ax.annotate(
                str(value),
                (x + (0.2 if before is not None else 0), value),
                ha="center",
                va="bottom",
                fontsize=9 * scale,
                # a white backing keeps the number readable where a threshold crosses it
                bbox={"boxstyle": "square,pad=0.05", "fc": "white", "ec": "none", "alpha": 0.85},
            )
        ax.set_xticks(xs, ["Left", "Right"])
        ax.tick_params(labelsize=9 * scale)
        ax.set_title(title, fontsize=10 * scale)
        ax.spines[["top", "right"]].set_visible(False)
        best = max(now.left, now.right)
        if title.startswith("Straight"):
            ax.axhline(MIN_SINGLE_LEG_REPS.value, color=LINE, ls="--", lw=1)
            label(ax, MIN_SINGLE_LEG_REPS.value, "25: overall\nstrength")
        elif title.startswith("Bent"):
            straight = data.straight_knee_reps
            for x, s in zip(xs, [straight.left, straight.right], strict=True):
                level = float(BENT_TO_STRAIGHT_RATIO.value) * s
                ax.hlines(level, x - 0.3, x + 0.3, color=LINE, ls="--", lw=1)
            label(ax, float(BENT_TO_STRAIGHT_RATIO.value) * straight.right, "2/3 of\nstraight")
        else:
            level = (1 - BALANCE_ASYMMETRY.value) * best
            ax.axhline(level, color=LINE, ls="--", lw=1)
            label(ax, level, "30% below\nbetter side")
        ax.set_xlim(-0.6, 2.1 if labels else 1.6)
        # Room above the tallest bar, threshold or earlier bar for the value labels, so
        # a threshold above every bar (25 raises, when both legs did 18) is still drawn.
        shown = [now.left, now.right, *((before.left, before.right) if before else ())]
        if title.startswith("Straight"):
            shown.append(MIN_SINGLE_LEG_REPS.value)
        elif title.startswith("Bent"):
            straight = data.straight_knee_reps
            shown.append(float(BENT_TO_STRAIGHT_RATIO.value) * max(straight.left, straight.right))
        ax.set_ylim(0, max(max(shown) * 1.2, 1))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))  # reps and seconds are whole
