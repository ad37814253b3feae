"""The paired comparison of two models: on records, through compare_dataset, and through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from mimica.evaluate import run
from mimica.evaluate.cli import register
from mimica.evaluate.compare import compare_dataset, compare_records, paired_difference
from mimica.evaluate.errors import EvaluationError
from mimica.evaluate.metrics import stratified_weights
from mimica.evaluate.report import VideoRecord
from mimica.scan.result import ScanResult


def records(labels: np.ndarray, scores: np.ndarray, methods: list[str] | None = None) -> list[VideoRecord]:
    methods = methods or ["FaceSwap"] * len(labels)
    rows = enumerate(zip(labels, scores, methods, strict=True))
    return [VideoRecord(path=f"/v{i}.mp4", label=int(y), method=m if y else "", compression=("c23", "c40")[i % 2],
                        frame_probs=[float(s)]) for i, (y, s, m) in rows]


@pytest.fixture()
def noisy() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    y = np.r_[np.zeros(30), np.ones(40)].astype(int)
    return y, y * 0.6 + rng.normal(0, 0.5, len(y))


def test_identical_models_differ_by_exactly_zero(noisy) -> None:  # type: ignore[no-untyped-def]
    y, s = noisy
    rep = compare_records(records(y, s), records(y, s), n_boot=200)
    assert 0.6 < rep.overall.auc_a < 1 and rep.overall.auc_a == rep.overall.auc_b
    assert rep.overall.difference == 0 and rep.overall.difference_ci95 == (0.0, 0.0)
    assert rep.overall.p_value == 1.0


def test_a_model_against_its_negation_loses(noisy) -> None:  # type: ignore[no-untyped-def]
    y, s = noisy
    rep = compare_records(records(y, s), records(y, -s), n_boot=200)
    d = rep.overall
    assert d.auc_b == pytest.approx(1 - d.auc_a)
    assert d.difference == pytest.approx(1 - 2 * d.auc_a) and d.difference < 0
    assert d.difference_ci95[1] < 0 and d.p_value < 0.05


def test_the_interval_is_paired(noisy) -> None:  # type: ignore[no-untyped-def]
    """Resample by resample, the difference is what scikit-learn gives with the same sample weights; B is A plus
    a little noise, so the paired interval is far narrower than A's own spread."""
    y, a = noisy
    b = a + np.random.default_rng(9).normal(0, 0.1, len(a))
    d = paired_difference(y, a, b, n_boot=300, seed=5)
    w = stratified_weights(y, 300, 5)
    ref = np.array([roc_auc_score(y, b, sample_weight=r) - roc_auc_score(y, a, sample_weight=r) for r in w])
    lo, hi = np.percentile(ref, [2.5, 97.5])
    assert d.difference_ci95 == pytest.approx((lo, hi))
    alone = np.array([roc_auc_score(y, a, sample_weight=r) for r in w])
    assert hi - lo < 0.5 * (np.percentile(alone, 97.5) - np.percentile(alone, 2.5))


def test_groups_and_pairing_by_path(noisy) -> None:  # type: ignore[no-untyped-def]
    y, s = noisy
    methods = ["Deepfakes" if i % 2 else "FaceSwap" for i in range(len(y))]
    a, b = records(y, s, methods), records(y, np.where(y == 1, s + 5, s), methods)
    rep = compare_records(a, list(reversed(b)), n_boot=100)  # order does not matter, paths pair them
    assert rep.overall.auc_b == 1.0 and rep.overall.difference > 0
    assert set(rep.by_method) == {"Deepfakes", "FaceSwap"} and set(rep.by_compression) == {"c23", "c40"}
    for g in rep.by_method.values():
        assert g.n_real == 30 and g.n_fake == 20 and g.difference_ci95[0] >= 0


def test_paths_pair_whatever_their_spelling(noisy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    y, s = noisy
    monkeypatch.chdir(tmp_path)
    a = records(y, s)
    b = [r.model_copy(update={"path": str(tmp_path / "x" / ".." / r.path.lstrip("/"))}) for r in records(y, s)]
    a = [r.model_copy(update={"path": r.path.lstrip("/")}) for r in a]  # relative to the current folder
    assert compare_records(a, b, n_boot=0).n_videos == len(y)


def test_unscored_videos_are_left_out_of_both(noisy) -> None:  # type: ignore[no-untyped-def]
    y, s = noisy
    a, b = records(y, s), records(y, s)
    b[0] = VideoRecord(path=b[0].path, label=b[0].label, error="no face found")
    rep = compare_records(a, b, n_boot=0)
    assert rep.n_videos == len(y) - 1 and rep.n_skipped == 1 and "model B: no face found" in rep.skipped[0].reason
    assert rep.overall.n == len(y) - 1 and rep.overall.difference == 0


def test_records_of_different_videos_are_refused(noisy) -> None:  # type: ignore[no-untyped-def]
    y, s = noisy
    with pytest.raises(EvaluationError, match="not of the same videos"):
        compare_records(records(y, s), records(y, s)[1:])
    bad = records(y, s)
    bad[0] = VideoRecord(path=bad[0].path, label=1 - bad[0].label, frame_probs=[0.5])
    with pytest.raises(EvaluationError, match="labelled"):
        compare_records(records(y, s), bad)


class Negated:
    """The suite's stand-in scanner with every probability turned around."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner

    def scan(self, path: str) -> ScanResult:
        res = self.inner.scan(path)
        for t in res.tracks:
            for d in t.detections:
                d.probability = 1 - d.probability
        return res


def test_compare_dataset_scans_both(tree: Path, fake_scanner: type) -> None:
    a, b = fake_scanner(), Negated(fake_scanner())
    rep = compare_dataset(tree, "m1", "m2", split="all", scanners=(a, b), n_boot=100)
    assert sorted(a.seen) == sorted(b.inner.seen) and len(a.seen) == 6
    assert (rep.overall.auc_a, rep.overall.auc_b, rep.overall.difference) == (1.0, 0.0, -1.0)
    assert rep.overall.difference_ci95 == (-1.0, -1.0) and rep.n_skipped == 1  # the broken file
    assert (rep.model_a, rep.model_b, rep.layout) == ("m1", "m2", "tree")


@pytest.fixture()
def app(monkeypatch: pytest.MonkeyPatch, fake_scanner: type) -> typer.Typer:
    monkeypatch.setattr(run, "create_scanner",
                        lambda model, frames: Negated(fake_scanner()) if model == "neg" else fake_scanner())
    a = typer.Typer()
    register(a)
    a.command("noop")(lambda: None)
    return a


def test_cli_json_and_table(app: typer.Typer, tree: Path) -> None:
    res = CliRunner().invoke(app, ["evaluate", str(tree), "--split", "all", "--compare", "pos", "neg", "--json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.stdout)
    assert rep["overall"]["difference"] == -1.0 and rep["model_b"] == "neg" and len(rep["videos_a"]) == 6
    res = CliRunner().invoke(app, ["evaluate", str(tree), "--split", "all", "--compare", "pos", "pos"])
    assert res.exit_code == 0, res.output
    assert "B - A" in res.stdout and "+0.000 [+0.000, +0.000]" in res.stdout and "method FaceSwap" in res.stdout


def test_cli_refuses_single_model_outputs(app: typer.Typer, tree: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["evaluate", str(tree), "--compare", "a", "b", "--roc", str(tmp_path / "r.png")])
    assert isinstance(res.exception, EvaluationError)
    res = CliRunner().invoke(app, ["evaluate", str(tree), "--compare", "a"])
    assert res.exit_code == 2
