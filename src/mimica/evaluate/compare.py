"""`mimica evaluate DATASET --compare A B`: two models on the same videos, decided by a paired bootstrap.

Two AUCs measured on the same 51 videos share most of their noise (the hard videos are hard for both), so their
separate 95% intervals overlap even where one model is reliably better. The paired test resamples videos once
and scores both models on each resample: the interval of the difference B - A is much narrower than either
interval, and it is the figure a recipe decision cites (docs/benchmarks.md).

Built on the record level (two lists of `VideoRecord` over the same items), so it does not depend on how the
records were scored: two scans, one scan with two detectors, or cached per-frame logits.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field
from sklearn.metrics import roc_auc_score

from mimica.evaluate.errors import EvaluationError
from mimica.evaluate.metrics import CI, CI_LEVEL, N_BOOT, resampled_auc, stratified_weights
from mimica.evaluate.report import Bootstrap, Skipped, VideoRecord

SCHEMA_VERSION = "1"


class PairedDifference(BaseModel):
    """Video-level AUC of both models on one set of videos and the paired bootstrap of B - A."""

    n: int = Field(0, description="videos (both classes)")
    n_real: int = 0
    n_fake: int = 0
    auc_a: float | None = None
    auc_b: float | None = None
    difference: float | None = Field(None, description="auc_b - auc_a")
    difference_ci95: CI | None = None
    p_value: float | None = Field(
        None, description="two-sided: twice the smaller share of resamples on either side of 0 (at most 1)")
    reason: str = ""


class CompareReport(BaseModel):
    schema_version: str = SCHEMA_VERSION
    dataset: str = ""
    layout: str = ""
    split: str = ""
    frames: int | None = None
    model_a: str = ""
    model_b: str = ""
    n_videos: int
    n_skipped: int = 0
    overall: PairedDifference
    by_method: dict[str, PairedDifference] = Field(
        default_factory=dict, description="each method's fakes against all reals")
    by_compression: dict[str, PairedDifference] = Field(default_factory=dict)
    bootstrap: Bootstrap = Bootstrap(unit="video, stratified by label; one resample scores both models")
    skipped: list[Skipped] = Field(default_factory=list, description="videos either model could not score")
    videos_a: list[VideoRecord] = Field(default_factory=list)
    videos_b: list[VideoRecord] = Field(default_factory=list)


def paired_difference(labels: np.ndarray, a: np.ndarray, b: np.ndarray, n_boot: int = N_BOOT,
                      seed: int = 0) -> PairedDifference:
    """AUC of scores `a` and `b` on the same items and the bootstrap of their difference: each resample draws
    as many reals and fakes as there are (with replacement) and weighs both models' scores by it."""
    y = np.asarray(labels, np.int64)
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    n_fake = int(y.sum())
    out = PairedDifference(n=len(y), n_real=len(y) - n_fake, n_fake=n_fake)
    if n_fake == 0 or n_fake == len(y):
        out.reason = f"only {'fake' if n_fake else 'real'} videos: AUC needs both classes"
        return out
    out.auc_a, out.auc_b = float(roc_auc_score(y, a)), float(roc_auc_score(y, b))
    out.difference = out.auc_b - out.auc_a
    if n_boot:
        w = stratified_weights(y, n_boot, seed)
        d = resampled_auc(y, b, w) - resampled_auc(y, a, w)
        lo, hi = np.percentile(d, [50 * (1 - CI_LEVEL), 50 * (1 + CI_LEVEL)])
        out.difference_ci95 = (float(lo), float(hi))
        out.p_value = float(min(1.0, 2 * min(np.mean(d <= 0), np.mean(d >= 0))))
    return out


def _key(path: str) -> str:
    """One video whatever the path's spelling: a CLI run records ../shared/data/..., a training run the
    absolute path."""
    return os.path.realpath(path)


def compare_records(
    records_a: Sequence[VideoRecord], records_b: Sequence[VideoRecord], n_boot: int = N_BOOT, seed: int = 0,
    **context: object,
) -> CompareReport:
    """The paired comparison of two models' records of the same videos (matched by real path, any order). A video
    that either model could not score is left out of both, so both AUCs are always over the same videos.
    `context`: dataset, layout, split, frames, model_a, model_b, copied into the report."""
    by_path_b = {_key(r.path): r for r in records_b}
    paths_a = [_key(r.path) for r in records_a]
    if len(set(paths_a)) != len(paths_a) or len(by_path_b) != len(records_b):
        raise EvaluationError("each video must appear once in each model's records")
    if set(paths_a) != set(by_path_b):
        extra = sorted(set(paths_a) ^ set(by_path_b))
        raise EvaluationError(f"the two models' records are not of the same videos ({len(extra)} differ, e.g. "
                              f"{extra[0]})")
    kept_a, kept_b, skipped = [], [], []
    for ra in records_a:
        rb = by_path_b[_key(ra.path)]
        if ra.label != rb.label:
            raise EvaluationError(f"{ra.path}: labelled {ra.label} in A's records and {rb.label} in B's")
        sa, sb = ra.video_score(), rb.video_score()
        if sa is None or sb is None:
            why = "; ".join(f"model {k}: {r.error or 'no score'}" for k, r, s in (("A", ra, sa), ("B", rb, sb))
                            if s is None)
            skipped.append(Skipped(path=ra.path, reason=why))
            continue
        kept_a.append(ra)
        kept_b.append(rb)
    if not kept_a:
        raise EvaluationError("no video was scored by both models")
    y = np.array([r.label for r in kept_a], np.int64)
    a = np.array([r.video_score() for r in kept_a], np.float64)
    b = np.array([r.video_score() for r in kept_b], np.float64)

    def group(sel: np.ndarray) -> PairedDifference:
        return paired_difference(y[sel], a[sel], b[sel], n_boot, seed)

    methods = np.array([r.method or "unknown" for r in kept_a])
    comps = np.array([r.compression for r in kept_a])
    real = y == 0
    return CompareReport(
        n_videos=len(kept_a), n_skipped=len(skipped), overall=group(np.ones(len(y), bool)),
        by_method={m: group(real | (methods == m)) for m in sorted(set(methods[~real]))},
        by_compression={c: group(comps == c) for c in sorted(set(comps) - {""})},
        bootstrap=Bootstrap(resamples=n_boot, seed=seed,
                            unit="video, stratified by label; one resample scores both models"),
        skipped=skipped, videos_a=list(records_a), videos_b=list(records_b),
        **context,  # type: ignore[arg-type]
    )


def compare_dataset(
    root: str | Path, model_a: str, model_b: str, frames: int = 32, split: str = "val", layout: str = "auto",
    progress: Callable[[str, int, int], None] | None = None, n_boot: int = N_BOOT, seed: int = 0,
    scanners: tuple[object, object] | None = None,
) -> CompareReport:
    """Scans one split with each model (`score_dataset`) and compares them. `scanners`: stand-ins for
    `mimica.scan.Scanner(model, frames)`, one per model."""
    from mimica.datasets import detect_layout
    from mimica.evaluate.run import score_dataset

    if layout == "auto" and Path(root).is_dir():
        layout = detect_layout(Path(root))
    recs = []
    for k, model in enumerate((model_a, model_b)):
        stage = f"scan {'AB'[k]}"
        report = (lambda s, d, t, stage=stage: progress(stage, d, t)) if progress else None
        recs.append(score_dataset(root, model, frames, split, layout, report,
                                  scanners[k] if scanners else None)[0])  # type: ignore[arg-type]
    return compare_records(recs[0], recs[1], n_boot=n_boot, seed=seed, dataset=str(root), layout=layout,
                           split=split, frames=frames, model_a=str(model_a), model_b=str(model_b))


def fmt_difference(d: PairedDifference, digits: int = 3) -> str:
    """'+0.041 [+0.008, +0.077]', or '-' when undefined."""
    if d.difference is None:
        return "-"
    ci = f" [{d.difference_ci95[0]:+.{digits}f}, {d.difference_ci95[1]:+.{digits}f}]" if d.difference_ci95 else ""
    return f"{d.difference:+.{digits}f}{ci}"
