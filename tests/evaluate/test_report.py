"""evaluate_records on synthetic records: levels, slices, skipped videos, degenerate sets, renderings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mimica.evaluate.errors import EvaluationError
from mimica.evaluate.report import EvalReport, evaluate_records, save_roc, to_markdown


def synthetic(n_per_method: int = 12, seed: int = 0) -> list[dict]:
    """Reals low, fakes high; NeuralTextures hard (as in FF++), FaceSwap easy; two compressions."""
    rng = np.random.default_rng(seed)
    recs = []
    for i in range(2 * n_per_method):
        recs.append({"path": f"real/{i}.mp4", "label": 0, "compression": ("c23", "c40")[i % 2],
                     "frame_probs": list(np.clip(rng.normal(0.3, 0.15, 8), 0, 1))})
    for method, mean in (("FaceSwap", 0.85), ("NeuralTextures", 0.4)):
        for i in range(n_per_method):
            recs.append({"path": f"{method}/{i}.mp4", "label": 1, "method": method,
                         "compression": ("c23", "c40")[i % 2],
                         "frame_probs": list(np.clip(rng.normal(mean, 0.15, 8), 0, 1))})
    return recs


def test_levels_and_slices() -> None:
    recs = synthetic()
    r = evaluate_records(recs, threshold=0.65, n_boot=300)
    assert (r.n_videos, r.n_frames, r.n_skipped) == (48, 48 * 8, 0)
    assert r.video.n == 48 and r.frame.n == 384 and r.threshold == 0.65
    assert set(r.by_method) == {"FaceSwap", "NeuralTextures"} and set(r.by_compression) == {"c23", "c40"}
    assert r.by_method["FaceSwap"].auc > 0.95 > r.by_method["NeuralTextures"].auc
    assert (r.by_method["FaceSwap"].n, r.by_method["FaceSwap"].n_real) == (12, 24)  # each method vs all reals
    assert r.by_compression["c23"].n == 24
    # video level averages frames: less noise, higher AUC than single frames
    assert r.video.auc > r.frame.auc
    lo, hi = r.frame.auc_ci95
    assert lo <= r.frame.auc <= hi


def test_video_score_is_the_mean_of_frames_unless_given() -> None:
    recs = [{"path": "a", "label": 0, "frame_probs": [0.1, 0.9]},  # mean 0.5
            {"path": "b", "label": 1, "frame_probs": [0.6], "probability": 0.4}]  # given: 0.4 wins
    r = evaluate_records(recs, n_boot=0)
    assert r.video.auc == 0.0 and r.frame.auc == 0.5


def test_skipped_videos_and_json_round_trip() -> None:
    recs = [*synthetic(4), {"path": "x.mp4", "label": 1, "error": "no face found"}]
    r = evaluate_records(recs, n_boot=50, dataset="/d", split="val", model="m", frames=32)
    assert r.n_skipped == 1 and r.skipped[0].reason == "no face found" and r.n_videos == 16
    again = EvalReport.model_validate_json(r.model_dump_json())
    assert again == r
    assert again.videos[0].frame_probs == recs[0]["frame_probs"]
    assert (again.dataset, again.split, again.model, again.frames) == ("/d", "val", "m", 32)


def test_one_class_does_not_crash() -> None:
    recs = [{"path": f"{i}", "label": 0, "compression": "c23", "frame_probs": [0.2, 0.3]} for i in range(5)]
    r = evaluate_records(recs, n_boot=50)
    assert r.video.auc is None and "only real" in r.video.reason
    assert r.frame.auc is None and r.by_method == {}
    assert r.by_compression["c23"].auc is None and r.by_compression["c23"].reason
    assert r.video.accuracy == 1.0
    assert "only real" in to_markdown(r)
    with pytest.raises(EvaluationError, match="one class"):
        save_roc(r, "unused.png")


def test_records_without_frames() -> None:
    recs = [{"path": "a", "label": 0, "probability": 0.2}, {"path": "b", "label": 1, "probability": 0.7}]
    r = evaluate_records(recs, n_boot=20)
    assert r.video.auc == 1.0 and r.n_frames == 0 and r.frame.auc is None and r.frame.reason


@pytest.mark.parametrize(("records", "match"), [
    ([], "no videos"),
    ([{"path": "a", "label": 2, "probability": 0.1}], "record 0 \\(label\\)"),
    ([{"label": 1, "probability": 0.1}], "record 0 \\(path\\)"),
])
def test_bad_records(records: list[dict], match: str) -> None:
    with pytest.raises(EvaluationError, match=match):
        evaluate_records(records)


def test_markdown_table() -> None:
    context = {"dataset": "ffpp", "split": "val", "model": "m", "frames": 32}
    r = evaluate_records(synthetic(), threshold=0.5, n_boot=100, **context)
    md = to_markdown(r)
    assert "| level | n | AUC | EER | AP | accuracy | precision | recall |" in md
    video_row = next(line for line in md.splitlines() if line.startswith("| video |"))
    assert f"{r.video.auc:.3f} [{r.video.auc_ci95[0]:.3f}, {r.video.auc_ci95[1]:.3f}]" in video_row
    assert "| FaceSwap | 12 |" in md and "| c40 | 24 |" in md


def test_roc_png(tmp_path: Path) -> None:
    from PIL import Image

    r = evaluate_records(synthetic(), threshold=0.5, n_boot=50)
    out = save_roc(r, tmp_path / "roc.png")
    with Image.open(out) as im:
        assert im.format == "PNG" and im.size[0] > 300
    with pytest.raises(EvaluationError, match="cannot write"):
        save_roc(r, tmp_path / "absent" / "roc.png")


def test_each_detector_and_the_fusion_are_reported() -> None:
    """Records carrying each detector's probability give one set of figures per detector and one for the fusion,
    on the same videos; false alarms count the reals each calls fake (the fusion: its fused verdict)."""
    from mimica.evaluate.report import evaluate_records

    recs = []
    for i, (label, blend, gen) in enumerate([(0, 0.2, 0.1), (0, 0.3, 0.9), (0, 0.4, 0.2), (1, 0.8, 0.1),
                                             (1, 0.6, 0.95), (1, 0.35, 0.85)]):
        fused = max(blend, gen)
        recs.append({"path": f"{i}.mp4", "label": label, "compression": "c23", "frame_probs": [blend],
                     "detectors": {"blend": blend, "gen": gen}, "fake_thresholds": {"blend": 0.7, "gen": 0.8},
                     "fused": fused, "fused_verdict": "fake" if blend >= 0.7 or gen >= 0.8 else "uncertain"})
    r = evaluate_records(recs, n_boot=0)
    assert set(r.detectors) == {"blend", "gen"} and r.fused is not None
    assert r.detectors["blend"].video.auc == r.video.auc == pytest.approx(8 / 9)
    assert r.detectors["gen"].false_alarms == pytest.approx(1 / 3)  # 0.9 >= 0.8
    assert r.detectors["blend"].false_alarms == 0.0
    assert r.fused.false_alarms == pytest.approx(1 / 3)
    assert r.fused.video.auc == pytest.approx(7 / 9)  # max per video: the real at 0.9 outranks two fakes
    assert r.fused.by_compression["c23"].n == 6
    assert r.fused_vs_first["difference"] == pytest.approx(7 / 9 - 8 / 9)
