"""Metrics against hand-computed cases; the vectorised bootstrap against scikit-learn with sample_weight."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from mimica.evaluate.errors import EvaluationError
from mimica.evaluate.metrics import _bootstrap_ranking, eer_from_roc, level_metrics, stratified_weights

KEYS = ("auc", "eer", "ap", "accuracy", "precision", "recall")


def test_perfect_separation() -> None:
    m = level_metrics([0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.7, 0.9], threshold=0.5, n_boot=200)
    assert (m.auc, m.eer, m.ap, m.accuracy, m.precision, m.recall) == (1.0, 0.0, 1.0, 1.0, 1.0, 1.0)
    assert m.auc_ci95 == (1.0, 1.0) and m.eer_ci95 == (0.0, 0.0)
    assert (m.n, m.n_real, m.n_fake, m.reason) == (5, 3, 2, "")


def test_inverted_scores() -> None:
    m = level_metrics([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1], threshold=0.5, n_boot=0)
    assert (m.auc, m.eer, m.accuracy, m.precision, m.recall) == (0.0, 1.0, 0.0, 0.0, 0.0)


def test_hand_computed_example() -> None:
    # reals 0.1, 0.4; fakes 0.35, 0.8. Pairs (fake > real): 0.35>0.1, 0.8>0.1, 0.8>0.4 -> AUC 3/4.
    # ROC points (0,0) (0,.5) (.5,.5) (.5,1) (1,1): the miss rate meets the false-alarm rate at 0.5.
    # AP: ranked 0.8 (fake, P=1, R=.5), 0.4 (real), 0.35 (fake, P=2/3, R=1) -> .5*1 + .5*2/3 = 5/6.
    # At threshold 0.38: flagged 0.4 (real) and 0.8 (fake): TP 1, FP 1, FN 1, TN 1.
    m = level_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], threshold=0.38, n_boot=0)
    assert m.auc == 0.75 and m.eer == 0.5 and m.ap == pytest.approx(5 / 6)
    assert (m.accuracy, m.precision, m.recall) == (0.5, 0.5, 0.5)
    assert m.auc_ci95 is None  # n_boot=0: no intervals


def test_threshold_is_inclusive() -> None:
    m = level_metrics([0, 1], [0.2, 0.65], threshold=0.65, n_boot=0)
    assert m.recall == 1.0


def test_eer_interpolates_between_roc_points() -> None:
    # the miss rate stays 0.6 while fpr runs 0 -> 0.5, then falls to 0 on the vertical segment at fpr 0.5
    fpr, tpr = np.array([0.0, 0.0, 0.5, 0.5, 1.0]), np.array([0.0, 0.4, 0.4, 1.0, 1.0])
    assert eer_from_roc(fpr, tpr) == pytest.approx(0.5)
    fpr, tpr = np.array([0.0, 0.2, 1.0]), np.array([0.0, 0.9, 1.0])  # gap 1 -> -0.1 -> -1
    # on the segment (0,0)-(0.2,0.9): 1 - 4.5 f = f at f = 1/5.5
    assert eer_from_roc(fpr, tpr) == pytest.approx(1 / 5.5)
    rows = eer_from_roc(np.vstack([fpr, fpr]), np.vstack([tpr, tpr]))
    assert rows.shape == (2,) and rows[0] == pytest.approx(1 / 5.5)


@pytest.mark.parametrize("ties", [False, True])
def test_bootstrap_matches_sklearn_with_sample_weight(ties: bool) -> None:
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 300)
    s = rng.random(300) * 0.6 + 0.3 * y
    if ties:
        s = np.round(s, 1)
    w = stratified_weights(y, 25, seed=3)
    auc, eer, ap = _bootstrap_ranking(y.astype(bool), s, w)
    for i in range(len(w)):
        fpr, tpr, _ = roc_curve(y, s, sample_weight=w[i])
        assert auc[i] == pytest.approx(roc_auc_score(y, s, sample_weight=w[i]), abs=1e-12)
        assert ap[i] == pytest.approx(average_precision_score(y, s, sample_weight=w[i]), abs=1e-12)
        assert eer[i] == pytest.approx(eer_from_roc(fpr, tpr), abs=1e-12)


def test_stratified_weights_keep_class_counts() -> None:
    y = np.array([0] * 7 + [1] * 3)
    w = stratified_weights(y, 50, seed=0)
    assert (w[:, y == 0].sum(1) == 7).all() and (w[:, y == 1].sum(1) == 3).all()


def test_intervals_contain_the_estimate_and_are_reproducible() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    s = np.clip(rng.normal(0.4 + 0.2 * y, 0.2), 0, 1)
    m = level_metrics(y, s, threshold=0.5, seed=1)
    for k in KEYS:
        lo, hi = getattr(m, f"{k}_ci95")
        assert lo <= getattr(m, k) <= hi and hi - lo < 0.25, k
    assert level_metrics(y, s, threshold=0.5, seed=1) == m
    assert level_metrics(y, s, threshold=0.5, seed=2).auc_ci95 != m.auc_ci95


def test_frames_resample_whole_videos() -> None:
    """32 identical frames per video carry no more evidence than the video: same interval, not narrower."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60)
    s = np.clip(rng.normal(0.4 + 0.15 * y, 0.2), 0, 1)
    video = level_metrics(y, s, seed=0)
    frames = level_metrics(np.repeat(y, 32), np.repeat(s, 32), clusters=np.repeat(np.arange(60), 32), seed=0)
    naive = level_metrics(np.repeat(y, 32), np.repeat(s, 32), seed=0)
    assert frames.auc == pytest.approx(video.auc)
    assert frames.auc_ci95 == pytest.approx(video.auc_ci95)
    assert naive.auc_ci95[1] - naive.auc_ci95[0] < 0.5 * (video.auc_ci95[1] - video.auc_ci95[0])


@pytest.mark.parametrize(("labels", "missing"), [([0, 0, 0], "real"), ([1, 1], "fake")])
def test_one_class_gives_null_with_a_reason(labels: list[int], missing: str) -> None:
    m = level_metrics(labels, [0.2, 0.7, 0.9][: len(labels)], threshold=0.5, n_boot=100)
    assert m.auc is None and m.eer is None and m.ap is None and m.auc_ci95 is None
    assert f"only {missing} samples" in m.reason
    assert m.accuracy is not None
    if missing == "real":
        assert m.recall is None  # no fakes to catch


def test_empty_and_undefined_precision() -> None:
    assert level_metrics([], [], n_boot=10).reason == "nothing to evaluate"
    m = level_metrics([0, 1], [0.1, 0.2], threshold=0.9, n_boot=50)  # nothing flagged: precision undefined
    assert m.precision is None and m.precision_ci95 is None and m.recall == 0.0


@pytest.mark.parametrize(("labels", "scores", "clusters", "match"), [
    ([0, 1], [0.1, float("nan")], None, "finite"),
    ([0, 2], [0.1, 0.2], None, "0 \\(real\\) or 1"),
    ([0, 1], [0.1], None, "1-D of one length"),
    ([0, 1], [0.1, 0.2], [0], "one unit per score"),
    ([0, 1, 1], [0.1, 0.2, 0.3], [0, 0, 1], "same label"),
])
def test_bad_inputs(labels, scores, clusters, match: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EvaluationError, match=match):
        level_metrics(labels, scores, clusters=clusters)
