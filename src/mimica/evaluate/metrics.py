"""Detection metrics with bootstrap confidence intervals: AUC, EER, AP, and accuracy/precision/recall at a
threshold.

Point estimates come straight from scikit-learn. The intervals come from a stratified bootstrap (each
resample keeps the number of real and of fake units, so AUC is always defined) written as weights over one
fixed sort of the scores: a resample is a vector of multiplicities and every curve of every resample is a
cumulative sum in that one order, so 1000 resamples of 16,000 frames take about a second instead of the
minute that 1000 calls of each scikit-learn function would. tests/evaluate/test_metrics.py checks these sums
against scikit-learn with `sample_weight`.

Frames of one video are not independent, so frame-level intervals resample whole videos (`clusters`):
resampling single frames would make the interval several times too narrow.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from mimica.evaluate.errors import EvaluationError

N_BOOT = 1000
CI_LEVEL = 0.95
#: elements per chunk of the (resamples x samples) weight matrix: about 32 MB of float64
_CHUNK_ELEMENTS = 4_000_000

CI = tuple[float, float]

__all__ = ["CI", "N_BOOT", "EvaluationError", "LevelMetrics", "eer_from_roc", "level_metrics", "resampled_auc",
           "stratified_weights"]


class LevelMetrics(BaseModel):
    """The metrics of one level (video or frame). Values that a one-class or empty set leaves undefined are
    null, and `reason` says why."""

    n: int = 0
    n_real: int = 0
    n_fake: int = 0
    threshold: float = 0.5
    auc: float | None = None
    auc_ci95: CI | None = None
    eer: float | None = None
    eer_ci95: CI | None = None
    ap: float | None = None
    ap_ci95: CI | None = None
    accuracy: float | None = None
    accuracy_ci95: CI | None = None
    precision: float | None = None
    precision_ci95: CI | None = None
    recall: float | None = None
    recall_ci95: CI | None = None
    reason: str = ""


def eer_from_roc(fpr: np.ndarray, tpr: np.ndarray) -> np.ndarray | float:
    """Equal error rate: where the miss rate 1 - TPR meets the false-alarm rate FPR, linearly interpolated
    between the two ROC points that straddle it. Works on one curve (1-D) or on one curve per row (2-D), which
    must start at (0, 0) and end at (1, 1) as scikit-learn's roc_curve does."""
    fpr2, tpr2 = np.atleast_2d(fpr), np.atleast_2d(tpr)
    gap = (1.0 - tpr2) - fpr2  # falls from 1 at (0, 0) to -1 at (1, 1), never rises
    k = np.argmax(gap <= 0, axis=1)
    rows = np.arange(len(k))
    k = np.maximum(k, 1)
    g0, g1 = gap[rows, k - 1], gap[rows, k]
    t = np.divide(g0, g0 - g1, out=np.zeros_like(g0), where=(g0 - g1) != 0)
    eer = fpr2[rows, k - 1] + t * (fpr2[rows, k] - fpr2[rows, k - 1])
    return float(eer[0]) if np.ndim(fpr) == 1 else eer


def _check(labels: np.ndarray, scores: np.ndarray) -> None:
    if labels.shape != scores.shape or labels.ndim != 1:
        raise EvaluationError(f"labels and scores must be 1-D of one length: {labels.shape}, {scores.shape}")
    if not np.isin(labels, (0, 1)).all():
        raise EvaluationError("labels must be 0 (real) or 1 (fake)")
    if not np.isfinite(scores).all():
        raise EvaluationError("scores must be finite numbers (a NaN or inf probability reached the metrics)")


def _nan_to_none(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def stratified_weights(
    labels: np.ndarray, n_boot: int = N_BOOT, seed: int = 0
) -> np.ndarray:
    """(n_boot, n) multiplicities of a stratified bootstrap: each row draws as many reals and as many fakes as
    there are, with replacement."""
    rng = np.random.default_rng(seed)
    w = np.zeros((n_boot, len(labels)), np.float64)
    for cls in (0, 1):
        idx = np.flatnonzero(labels == cls)
        if len(idx):
            w[:, idx] = rng.multinomial(len(idx), np.full(len(idx), 1.0 / len(idx)), size=n_boot)
    return w


def _weighted_curves(
    w: np.ndarray, y_sorted: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative weighted (true positives, false positives) at each distinct score, highest score first."""
    tps = np.cumsum(w * y_sorted, axis=1)[:, ends]
    fps = np.cumsum(w * (1.0 - y_sorted), axis=1)[:, ends]
    return tps, fps


def _bootstrap_ranking(
    y: np.ndarray, s: np.ndarray, w_all: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AUC, EER and AP of every resample (rows of w_all), as scikit-learn computes them with sample_weight."""
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order].astype(np.float64)
    ends = np.r_[np.flatnonzero(np.diff(s_sorted)), len(s) - 1]  # last index of each run of equal scores
    aucs, eers, aps = [], [], []
    step = max(1, _CHUNK_ELEMENTS // max(1, len(s)))
    for i in range(0, len(w_all), step):
        tps, fps = _weighted_curves(w_all[i : i + step][:, order], y_sorted, ends)
        pos, neg = tps[:, -1:], fps[:, -1:]
        zero = np.zeros((len(tps), 1))
        tpr, fpr = np.hstack([zero, tps / pos]), np.hstack([zero, fps / neg])
        aucs.append(np.trapezoid(tpr, fpr, axis=1))
        eers.append(eer_from_roc(fpr, tpr))
        predicted = tps + fps
        precision = np.divide(tps, predicted, out=np.zeros_like(tps), where=predicted != 0)
        aps.append(np.sum(np.diff(tpr, axis=1) * precision, axis=1))
    return np.concatenate(aucs), np.concatenate(eers), np.concatenate(aps)


def _bootstrap_confusion(
    y: np.ndarray, pred: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Accuracy, precision and recall of every resample (NaN where undefined)."""
    tp = w @ (y & pred).astype(np.float64)
    fp = w @ (~y & pred).astype(np.float64)
    fn = w @ (y & ~pred).astype(np.float64)
    tn = w @ (~y & ~pred).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (tp + tn) / (tp + fp + fn + tn), tp / (tp + fp), tp / (tp + fn)


def resampled_auc(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The AUC of every resample (one row of multiplicities in `weights` each), as scikit-learn's
    roc_auc_score computes it with sample_weight: two models scored under one `weights` matrix are paired."""
    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    _check(y, s)
    return _bootstrap_ranking(y, s, np.atleast_2d(weights))[0]


def _interval(values: np.ndarray, level: float = CI_LEVEL) -> CI | None:
    values = values[~np.isnan(values)]
    if not len(values):
        return None
    lo, hi = np.percentile(values, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


def level_metrics(
    labels: np.ndarray | list[int],
    scores: np.ndarray | list[float],
    threshold: float = 0.5,
    clusters: np.ndarray | list[int] | None = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> LevelMetrics:
    """All metrics of one set of scores (1 = fake), each with a 95% bootstrap interval.

    `threshold`: a score at or above it counts as a fake detection (accuracy, precision, recall). `clusters`:
    the unit the bootstrap resamples (the video of each frame); by default each score is its own unit.
    `n_boot`: resamples; more narrows the noise of the interval ends, not the interval. `seed`: fixes the
    resamples, so a report is reproducible.

    >>> m = level_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], n_boot=200)
    >>> m.auc, m.eer, round(m.ap, 4)
    (0.75, 0.5, 0.8333)
    """
    y_int = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    _check(y_int, s)
    y = y_int.astype(bool)
    n_fake = int(y.sum())
    out = LevelMetrics(n=len(y), n_real=len(y) - n_fake, n_fake=n_fake, threshold=threshold)
    if not len(y):
        out.reason = "nothing to evaluate"
        return out

    cl = np.arange(len(y)) if clusters is None else np.unique(np.asarray(clusters), return_inverse=True)[1]
    if len(cl) != len(y):
        raise EvaluationError(f"clusters must give one unit per score, got {len(cl)} for {len(y)} scores")
    cluster_label = np.zeros(cl.max() + 1, np.int64)
    cluster_label[cl] = y_int
    if np.any(np.bincount(cl, weights=y_int) % np.maximum(np.bincount(cl), 1) != 0):
        raise EvaluationError("every score of one cluster (one video) must carry the same label")
    w = stratified_weights(cluster_label, n_boot, seed)[:, cl] if n_boot else np.zeros((0, len(y)))

    pred = s >= threshold
    out.accuracy = float(accuracy_score(y, pred))
    out.precision = _nan_to_none(precision_score(y, pred, zero_division=np.nan))
    out.recall = _nan_to_none(recall_score(y, pred, zero_division=np.nan)) if n_fake else None
    if len(w):
        acc_b, prec_b, rec_b = _bootstrap_confusion(y, pred, w)
        out.accuracy_ci95 = _interval(acc_b)
        out.precision_ci95 = _interval(prec_b) if out.precision is not None else None
        out.recall_ci95 = _interval(rec_b) if out.recall is not None else None

    if n_fake == 0 or n_fake == len(y):
        out.reason = f"only {'fake' if n_fake else 'real'} samples: AUC, EER and AP need both classes"
        return out
    out.auc = float(roc_auc_score(y, s))
    fpr, tpr, _ = roc_curve(y, s)
    out.eer = float(eer_from_roc(fpr, tpr))
    out.ap = float(average_precision_score(y, s))
    if len(w):
        auc_b, eer_b, ap_b = _bootstrap_ranking(y, s, w)
        out.auc_ci95, out.eer_ci95, out.ap_ci95 = _interval(auc_b), _interval(eer_b), _interval(ap_b)
    return out

