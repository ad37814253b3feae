"""The evaluation report: the versioned schema of `mimica evaluate --json`, built from one record per video,
and its renderings (markdown table, ROC curve).

Protocol (DeepfakeBench's): frame level scores every face crop of the main face; video level is the mean of a
video's frame probabilities. Both are reported because they differ by 5 to 10 AUC points for the same model.

Schema history: 1 -- first release. Keys are never removed or renamed within a major version; new keys may be
added.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field, ValidationError, field_validator

from mimica.evaluate.errors import EvaluationError
from mimica.evaluate.metrics import CI, N_BOOT, LevelMetrics, level_metrics

SCHEMA_VERSION = "1"


class VideoRecord(BaseModel):
    """One scored video. `probability` is the video-level score; when absent it is the mean of `frame_probs`.
    A record with neither (no face found, unreadable file) is reported as skipped, with `error` saying why."""

    path: str
    label: int = Field(description="1 = fake, 0 = real")
    method: str = ""
    compression: str = ""
    frame_probs: list[float] = Field(default_factory=list)
    probability: float | None = None
    error: str = ""
    detectors: dict[str, float | None] = Field(default_factory=dict, description="each detector's probability "
                                               "for the main face track")
    fake_thresholds: dict[str, float] = Field(default_factory=dict)
    fused: float | None = Field(None, description="the scan's fused probability for the main face track")
    fused_verdict: str = ""

    @field_validator("label")
    @classmethod
    def _binary(cls, v: int) -> int:
        if v not in (0, 1):
            raise ValueError(f"label must be 0 (real) or 1 (fake), got {v}")
        return v

    def video_score(self) -> float | None:
        if self.probability is not None:
            return self.probability
        return float(np.mean(self.frame_probs)) if self.frame_probs else None


class GroupMetrics(BaseModel):
    """Video-level AUC of one slice: one manipulation method against all reals, or one compression level."""

    auc: float | None = None
    auc_ci95: CI | None = None
    n: int = Field(0, description="videos of this method (fakes) or of this compression (both classes)")
    n_real: int = 0
    n_fake: int = 0
    reason: str = ""


class DetectorMetrics(BaseModel):
    """One detector's (or the fusion's) video-level figures on the same videos, main face track."""

    video: LevelMetrics
    by_method: dict[str, GroupMetrics] = Field(default_factory=dict)
    by_compression: dict[str, GroupMetrics] = Field(default_factory=dict)
    false_alarms: float | None = Field(None, description="share of real videos called fake (its own fake "
                                                         "threshold; for the fusion, the fused verdict)")
    n_real: int = 0


class Skipped(BaseModel):
    path: str
    reason: str


class Bootstrap(BaseModel):
    resamples: int = N_BOOT
    seed: int = 0
    unit: str = "video, stratified by label (frame level resamples whole videos)"


class EvalReport(BaseModel):
    schema_version: str = SCHEMA_VERSION
    dataset: str = ""
    layout: str = ""
    split: str = ""
    model: str = ""
    frames: int | None = None
    threshold: float
    n_videos: int
    n_frames: int
    n_skipped: int = 0
    video: LevelMetrics
    frame: LevelMetrics
    by_method: dict[str, GroupMetrics] = Field(default_factory=dict)
    by_compression: dict[str, GroupMetrics] = Field(default_factory=dict)
    detectors: dict[str, DetectorMetrics] = Field(default_factory=dict, description="each detector of the scan")
    fused: DetectorMetrics | None = Field(None, description="the fused score of all detectors (docs/scan.md)")
    fused_vs_first: dict | None = Field(None, description="the fused score against the first detector's on the same "
                                        "videos: AUC difference with a paired bootstrap interval (evaluate.compare)")
    bootstrap: Bootstrap = Bootstrap()
    skipped: list[Skipped] = Field(default_factory=list)
    videos: list[VideoRecord] = Field(
        default_factory=list, description="every scored record, so a report can be re-scored or plotted later"
    )


def _group(labels: np.ndarray, scores: np.ndarray, n: int, n_boot: int, seed: int) -> GroupMetrics:
    m = level_metrics(labels, scores, n_boot=n_boot, seed=seed)
    return GroupMetrics(
        auc=m.auc, auc_ci95=m.auc_ci95, n=n, n_real=m.n_real, n_fake=m.n_fake, reason=m.reason
    )


def evaluate_records(
    records: Iterable[VideoRecord | dict],
    threshold: float = 0.5,
    n_boot: int = N_BOOT,
    seed: int = 0,
    **context: object,
) -> EvalReport:
    """Video- and frame-level metrics with 95% bootstrap intervals, per method and per compression.

    `threshold`: a probability at or above it is a fake detection (use the model card's `fake` threshold, what
    `mimica scan` calls fake). `context`: dataset, layout, split, model, frames, copied into the report.

    >>> r = evaluate_records([
    ...     {"path": "a.mp4", "label": 0, "frame_probs": [0.1, 0.3]},
    ...     {"path": "b.mp4", "label": 1, "method": "FaceSwap", "frame_probs": [0.9, 0.5]},
    ... ], n_boot=0)
    >>> r.video.auc, r.frame.auc, r.n_frames, r.by_method["FaceSwap"].n
    (1.0, 1.0, 4, 1)
    """
    recs = []
    for i, r in enumerate(records):
        try:
            recs.append(r if isinstance(r, VideoRecord) else VideoRecord.model_validate(r))
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            raise EvaluationError(f"record {i} ({where}): {first['msg']}") from err
    if not recs:
        raise EvaluationError("no videos to evaluate")
    scored = [(r, r.video_score()) for r in recs]
    skipped = [Skipped(path=r.path, reason=r.error or "no score") for r, p in scored if p is None]
    kept = [r for r, p in scored if p is not None]
    scores = np.array([p for _, p in scored if p is not None], np.float64)
    labels = np.array([r.label for r in kept], np.int64)
    fr_scores = np.array([p for r in kept for p in r.frame_probs], np.float64)
    fr_labels = np.array([r.label for r in kept for _ in r.frame_probs], np.int64)
    fr_video = np.array([i for i, r in enumerate(kept) for _ in r.frame_probs], np.int64)

    video = level_metrics(labels, scores, threshold, n_boot=n_boot, seed=seed)
    frame = level_metrics(fr_labels, fr_scores, threshold, clusters=fr_video, n_boot=n_boot, seed=seed)
    if not len(fr_scores):
        frame.reason = "no frame scores in the records"

    methods = np.array([r.method or "unknown" for r in kept])
    comps = np.array([r.compression for r in kept])
    by_method, by_compression = _groups(labels, scores, methods, comps, n_boot, seed)
    detectors = {}
    for name in dict.fromkeys(n for r in kept for n in r.detectors):
        probs = np.array([np.nan if r.detectors.get(name) is None else r.detectors[name] for r in kept])
        fake_t = next((r.fake_thresholds[name] for r in kept if name in r.fake_thresholds), threshold)
        detectors[name] = _detector_metrics(labels, probs, probs >= fake_t, methods, comps, fake_t, n_boot, seed)
    fused = fused_vs_first = None
    if any(r.fused is not None for r in kept):
        from mimica.evaluate.compare import paired_difference  # it reads this module's records

        probs = np.array([np.nan if r.fused is None else r.fused for r in kept])
        called = np.array([r.fused_verdict == "fake" for r in kept])
        fused = _detector_metrics(labels, probs, called, methods, comps, threshold, n_boot, seed)
        ok = ~np.isnan(probs)
        fused_vs_first = paired_difference(labels[ok], scores[ok], probs[ok], n_boot, seed).model_dump()
    return EvalReport(
        threshold=threshold, n_videos=len(kept), n_frames=len(fr_scores), n_skipped=len(skipped),
        video=video, frame=frame, by_method=by_method, by_compression=by_compression, detectors=detectors,
        fused=fused, fused_vs_first=fused_vs_first, bootstrap=Bootstrap(resamples=n_boot, seed=seed),
        skipped=skipped, videos=recs,
        **context,  # type: ignore[arg-type]
    )


def _groups(labels: np.ndarray, scores: np.ndarray, methods: np.ndarray, comps: np.ndarray, n_boot: int,
            seed: int) -> tuple[dict[str, GroupMetrics], dict[str, GroupMetrics]]:
    """AUC per method (its fakes against every real) and per compression (both classes)."""
    real = labels == 0
    by_method = {}
    for m in sorted(set(methods[~real])):
        sel = real | (methods == m)
        by_method[m] = _group(labels[sel], scores[sel], int((sel & ~real).sum()), n_boot, seed)
    by_compression = {
        c: _group(labels[comps == c], scores[comps == c], int((comps == c).sum()), n_boot, seed)
        for c in sorted(set(comps) - {""})
    }
    return by_method, by_compression


def _detector_metrics(labels: np.ndarray, probs: np.ndarray, called_fake: np.ndarray, methods: np.ndarray,
                      comps: np.ndarray, threshold: float, n_boot: int, seed: int) -> DetectorMetrics:
    ok = ~np.isnan(probs)
    y, p = labels[ok], probs[ok]
    by_method, by_compression = _groups(y, p, methods[ok], comps[ok], n_boot, seed)
    reals = (labels == 0) & ok
    return DetectorMetrics(video=level_metrics(y, p, threshold, n_boot=n_boot, seed=seed), by_method=by_method,
                           by_compression=by_compression, n_real=int(reals.sum()),
                           false_alarms=float(called_fake[reals].mean()) if reals.any() else None)


# -- renderings ----------------------------------------------------------------------------------------------


def fmt(value: float | None, ci: CI | None = None, digits: int = 3) -> str:
    """'0.912 [0.871, 0.948]', or '-' for an undefined value."""
    if value is None:
        return "-"
    return f"{value:.{digits}f}" + (f" [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]" if ci else "")


LEVEL_COLUMNS = ("AUC", "EER", "AP", "accuracy", "precision", "recall")


def level_row(m: LevelMetrics) -> list[str]:
    return [
        fmt(m.auc, m.auc_ci95), fmt(m.eer, m.eer_ci95), fmt(m.ap, m.ap_ci95),
        fmt(m.accuracy, m.accuracy_ci95), fmt(m.precision, m.precision_ci95), fmt(m.recall, m.recall_ci95),
    ]


def to_markdown(report: EvalReport) -> str:
    """The report as markdown tables (values with their 95% intervals), for a README or a model card."""

    def table(head: list[str], rows: list[list[str]]) -> list[str]:
        return ["| " + " | ".join(r) + " |" for r in (head, ["---"] * len(head), *rows)]

    title = " ".join(x for x in (report.dataset, f"({report.split} split)" if report.split else "") if x)
    lines = [f"## Evaluation{': ' + title if title else ''}", ""]
    lines.append(
        f"Model {report.model or '?'}, {report.frames or '?'} frames per video, "
        f"threshold {report.threshold:g}; "
        f"{report.n_videos} videos, {report.n_frames} frames"
        + (f", {report.n_skipped} skipped (no face or unreadable)" if report.n_skipped else "")
        + f". Intervals: 95% stratified bootstrap, {report.bootstrap.resamples} resamples of videos."
    )
    lines.append("")
    rows = [[lvl, str(m.n), *level_row(m)] for lvl, m in (("video", report.video), ("frame", report.frame))]
    lines += table(["level", "n", *LEVEL_COLUMNS], rows)
    levels = (("video", report.video), ("frame", report.frame))
    notes = [f"{lvl}: {m.reason}" for lvl, m in levels if m.reason]
    slices = (("method (against all reals)", report.by_method), ("compression", report.by_compression))
    for title_, groups in slices:
        if groups:
            lines += ["", f"Video-level AUC by {title_}:", ""]
            lines += table([title_.split()[0], "videos", "AUC"],
                           [[k, str(g.n), fmt(g.auc, g.auc_ci95)] for k, g in groups.items()])
            notes += [f"{k}: {g.reason}" for k, g in groups.items() if g.reason]
    if notes:
        lines += ["", *(f"- {n}" for n in notes)]
    return "\n".join(lines) + "\n"


def save_roc(report: EvalReport, path: str | Path, title: str | None = None) -> Path:
    """Write the video- and frame-level ROC curves (and one per method, thin) as a PNG; returns the path."""
    # a bare Figure on the Agg canvas: no pyplot global state, no GUI backend picked up from the environment
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from sklearn.metrics import roc_curve

    kept = [(r, r.video_score()) for r in report.videos if r.video_score() is not None]
    y = np.array([r.label for r, _ in kept])
    s = np.array([p for _, p in kept], np.float64)
    fy = np.array([r.label for r, _ in kept for _ in r.frame_probs])
    fs = np.array([p for r, _ in kept for p in r.frame_probs], np.float64)
    if not (0 < y.sum() < len(y)):
        raise EvaluationError("a ROC curve needs real and fake videos; this report has one class only")
    fig = Figure(figsize=(5.5, 5.5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    methods = np.array([r.method or "unknown" for r, _ in kept])
    if len(report.by_method) > 1:
        for m in report.by_method:
            sel = (y == 0) | (methods == m)
            fpr, tpr, _ = roc_curve(y[sel], s[sel])
            ax.plot(fpr, tpr, lw=0.8, alpha=0.6, label=f"{m} ({fmt(report.by_method[m].auc)})")
    if len(fs) and 0 < fy.sum() < len(fy):
        fpr, tpr, _ = roc_curve(fy, fs)
        ax.plot(fpr, tpr, lw=1.5, ls="--", color="0.3",
                label=f"frame level, AUC {fmt(report.frame.auc, report.frame.auc_ci95)}")
    fpr, tpr, _ = roc_curve(y, s)
    ax.plot(fpr, tpr, lw=2.2, color="C3",
            label=f"video level, AUC {fmt(report.video.auc, report.video.auc_ci95)}")
    pred = s >= report.threshold
    ax.plot([pred[y == 0].mean()], [pred[y == 1].mean()], "o", color="C3", ms=7,
            label=f"threshold {report.threshold:g}")
    ax.plot([0, 1], [0, 1], color="0.8", lw=0.8)
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="false positive rate (reals flagged)",
           ylabel="true positive rate (fakes caught)", aspect="equal")
    ax.set_title(title or " ".join(x for x in (report.model, report.dataset, report.split) if x) or "ROC",
                 fontsize=9)
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    out = Path(path)
    try:
        fig.savefig(out)
    except OSError as err:
        raise EvaluationError(f"{out}: cannot write the ROC curve ({err.strerror or err})") from err
    return out
