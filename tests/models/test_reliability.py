"""A model card's measured reliability: which figure is read, how it becomes a level, and the cards that state
none. The cards are built here: nothing depends on the shipped model's numbers."""

from __future__ import annotations

import pytest

from mimica.models.card import ModelCard
from mimica.models.reliability import Reliability, level_of, measured_sets, reliability_of, subsets


def video(auc: object, ci: object = (0.5, 0.9), n: int = 40) -> dict:
    return {"n_videos": n, "video": {"n": n, "auc": auc, "auc_ci95": ci}}


@pytest.mark.parametrize(("auc", "level"), [
    pytest.param(None, "unmeasured", id="none"),
    pytest.param(0.0, "weak", id="zero"),
    pytest.param(0.5, "weak", id="chance"),
    pytest.param(0.7999, "weak", id="just-below-0.8"),
    pytest.param(0.8, "moderate", id="at-0.8"),
    pytest.param(0.8999, "moderate", id="just-below-0.9"),
    pytest.param(0.9, "reliable", id="at-0.9"),
    pytest.param(1.0, "reliable", id="one"),
])
def test_levels(auc: float | None, level: str) -> None:
    assert level_of(auc) == level
    assert Reliability(level=level_of(auc), auc=auc).confident == (level in ("moderate", "reliable"))


@pytest.mark.parametrize(("metrics", "expected"), [
    pytest.param({}, None, id="no-metrics"),
    pytest.param({"protocol": "text only"}, None, id="protocol-only"),
    pytest.param({"ffpp": {"video": {"auc": "high"}}}, None, id="auc-not-a-number"),
    pytest.param({"ffpp": {"video": {"auc": 1.7}}}, None, id="auc-out-of-range"),
    pytest.param({"ffpp": {"frame": {"auc": 0.9}}}, None, id="frame-level-only"),
    pytest.param({"ffpp": video(0.62, [0.46, 0.78], 51)}, ("ffpp", 0.62, (0.46, 0.78), 51, "weak"), id="one-set"),
    pytest.param({"ffpp": video(0.93), "celebdf": video(0.71, None, 20)}, ("celebdf", 0.71, None, 20, "weak"),
                 id="weakest-set-wins"),
    pytest.param({"ffpp": video(0.85, [0.8, 0.9], 12)}, ("ffpp", 0.85, (0.8, 0.9), 12, "moderate"), id="moderate"),
])
def test_reliability_of(metrics: dict, expected: tuple | None) -> None:
    r = reliability_of(metrics)
    if expected is None:
        assert r == Reliability() and r.level == "unmeasured" and not r.confident
        assert "states no video AUC" in r.text()
        return
    dataset, auc, ci, n, level = expected
    assert (r.dataset, r.auc, r.auc_ci95, r.n_videos, r.level) == (dataset, auc, ci, n, level)
    assert r.text().startswith(f"{level}: video AUC {auc:.2f}")
    assert f"{n} {dataset} validation videos" in r.text()


def test_card_reads_its_own_metrics() -> None:
    """Two cards, two figures: nothing about the reliability is a constant of the code."""
    base = {"name": "m", "version": "1", "onnx_file": "m.onnx", "sha256": "0"}
    weak = ModelCard(**base, metrics={"ffpp": video(0.61, [0.45, 0.77], 51)}).reliability()
    good = ModelCard(**base, metrics={"ffpp": video(0.94, [0.9, 0.97], 300)}).reliability()
    assert (weak.level, weak.auc, weak.n_videos) == ("weak", 0.61, 51)
    assert (good.level, good.auc, good.n_videos) == ("reliable", 0.94, 300)
    assert "0.61 (95% CI 0.45-0.77)" in weak.text() and "0.94 (95% CI 0.90-0.97)" in good.text()


def test_sets_and_compression_subsets() -> None:
    metrics = {"protocol": "p", "ffpp": {**video(0.7), "by_compression": {"c23": {"auc": 0.75, "n": 27},
                                                                            "c40": {"auc": 0.6, "auc_ci95": [0.4, 0.8],
                                                                                    "n": 24}}},
               "dfdc": video(0.66, None, 9)}
    assert [m.dataset for m in measured_sets(metrics)] == ["ffpp", "dfdc"]
    subs = subsets(metrics, "ffpp")
    assert [(m.dataset, m.auc, m.n_videos) for m in subs] == [("ffpp c23", 0.75, 27), ("ffpp c40", 0.6, 24)]
    assert subs[1].text() == "video AUC 0.60 (95% CI 0.40-0.80) on 24 ffpp c40 validation videos"
    assert subsets(metrics, "dfdc") == [] and subsets(metrics, "missing") == []
