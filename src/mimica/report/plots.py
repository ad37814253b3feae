"""The report's plots, drawn with matplotlib's object API on the Agg canvas (no pyplot: no global figure state,
so two scan workers can draw at once) and returned as PNG bytes for inlining."""

from __future__ import annotations

import io

from mimica.scan.result import Track

#: colours shared with the report's CSS
COLOURS = {"fake": "#c62828", "real": "#2e7d32", "uncertain": "#ef8f00", "line": "#1f3b73"}


def timeline_png(track: Track, thresholds: dict[str, float], duration_s: float | None = None,
                 width_in: float = 6.4, height_in: float = 3.4, dpi: int = 120, still: bool = False,
                 track_score: float | None = None, who: str = "") -> bytes:
    """The face's score against video time, with the real/fake thresholds as lines over coloured bands: the one
    chart of every track, so a face seen once is a point that never hides a threshold line. still: a picture,
    whose faces have no time (one point in the middle). The face scores are the first detector's (`who`, e.g.
    "blend detector"), drawn against its own thresholds and its own track score (`track_score`), so that the
    chart never mixes one detector's scores with another's thresholds."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    times = [0.0 if still else d.time_s for d in track.detections]
    probs = [d.probability for d in track.detections]
    real, fake = thresholds.get("real", 0.5), thresholds.get("fake", 0.5)
    fig = Figure(figsize=(width_in, height_in), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.axhspan(fake, 1.0, color=COLOURS["fake"], alpha=0.10, lw=0)
    ax.axhspan(real, fake, color=COLOURS["uncertain"], alpha=0.10, lw=0)
    ax.axhspan(0.0, real, color=COLOURS["real"], alpha=0.08, lw=0)
    # the points go under the threshold lines (zorder), so no score can hide a line
    whose = f"{who}: " if who else ""
    mean = track.probability if track_score is None else track_score
    ax.plot(times, probs, color=COLOURS["line"], lw=1.6, marker="o", ms=3.5 if len(probs) > 1 else 7,
            label=f"{whose}face score", zorder=2)
    if len(probs) > 1:
        ax.axhline(mean, color=COLOURS["line"], ls=":", lw=1, alpha=0.8,
                   label=f"{whose}track score (mean) {mean:.2f}", zorder=2)
    ax.axhline(fake, color=COLOURS["fake"], ls="--", lw=1.4, label=f"fake threshold {fake:.2f}", zorder=3)
    ax.axhline(real, color=COLOURS["real"], ls="--", lw=1.4, label=f"real threshold {real:.2f}", zorder=3)
    ax.set_ylim(0, 1)
    if still:
        ax.set_xlim(-1, 1)
        ax.set_xticks([])
        ax.set_xlabel("the picture", fontsize=11)
    else:
        end = max(duration_s or 0.0, max(times, default=0.0)) or 1.0
        ax.set_xlim(-0.02 * end, 1.02 * end)  # a margin, so that a point at either end is drawn whole
        ax.set_xlabel("video time (s)", fontsize=11)
    ax.set_ylabel("score", fontsize=11)
    ax.tick_params(labelsize=10)
    ax.grid(alpha=0.25, lw=0.6)
    # below the axes, so that the plot keeps its width when a phone shrinks the picture
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=2, fontsize=10, frameon=False)
    return _png(fig)


def _png(fig) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
