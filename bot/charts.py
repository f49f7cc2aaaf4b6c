"""The self-test chart: left vs right for each test, against the guide's thresholds.

Pure: results in, PNG bytes out. matplotlib is imported lazily (it costs ~0.3 s) and uses
the non-interactive Agg backend, so this runs in a worker thread on a server.
"""

from __future__ import annotations

import io

from bot.assessment.models import AssessmentInput
from bot.assessment.thresholds import (
    BALANCE_ASYMMETRY,
    BENT_TO_STRAIGHT_RATIO,
    MIN_SINGLE_LEG_REPS,
)

LEFT, RIGHT, LINE = "#4C78A8", "#F58518", "#B22222"


def results_chart(data: AssessmentInput, previous: AssessmentInput | None = None) -> bytes:
    """A PNG with one panel per test; ``previous`` (an earlier test) is drawn hatched."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    panels = [
        ("Straight knee (reps)", data.straight_knee_reps, previous and previous.straight_knee_reps),
        ("Bent knee (reps)", data.bent_knee_reps, previous and previous.bent_knee_reps),
    ]
    if data.balance_seconds is not None:
        panels.append(
            ("Balance (seconds)", data.balance_seconds, previous and previous.balance_seconds)
        )
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.6), dpi=110)
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
                fontsize=9,
            )
        ax.set_xticks(xs, ["Left", "Right"])
        ax.set_title(title, fontsize=10)
        ax.spines[["top", "right"]].set_visible(False)
        best = max(now.left, now.right)
        if title.startswith("Straight"):
            ax.axhline(MIN_SINGLE_LEG_REPS.value, color=LINE, ls="--", lw=1)
            ax.text(
                1.45,
                MIN_SINGLE_LEG_REPS.value,
                "25: overall\nstrength",
                color=LINE,
                fontsize=7,
                va="center",
            )
        elif title.startswith("Bent"):
            straight = data.straight_knee_reps
            for x, s in zip(xs, [straight.left, straight.right], strict=True):
                level = float(BENT_TO_STRAIGHT_RATIO.value) * s
                ax.hlines(level, x - 0.3, x + 0.3, color=LINE, ls="--", lw=1)
            ax.text(
                1.45,
                float(BENT_TO_STRAIGHT_RATIO.value) * straight.right,
                "2/3 of\nstraight",
                color=LINE,
                fontsize=7,
                va="center",
            )
        else:
            level = (1 - BALANCE_ASYMMETRY.value) * best
            ax.axhline(level, color=LINE, ls="--", lw=1)
            ax.text(1.45, level, "30% below\nbetter side", color=LINE, fontsize=7, va="center")
        ax.set_xlim(-0.6, 2.1)
    title = "Your calf self-test (dashed: the guide's thresholds"
    title += "; hatched: your previous test)" if previous is not None else ")"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
