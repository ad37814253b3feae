"""The registry of detectors: a new detector is a card (and its ONNX file), and the scan runs it without any
change to the pipeline. Tiny hand-built ONNX models (logit = mean input) keep the expected outputs in closed form."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests import facemedia
from tests.models.tiny import write_onnx

from mimica.errors import ModelError
from mimica.models.card import ModelCard, VideoHead
from mimica.models.detectors import (
    KINDS,
    FrameDetector,
    TemporalDetector,
    apply_video_head,
    default_detectors,
    load_detector,
)
from mimica.models.registry import DEFAULT_MODEL, WEIGHTS, available_models, load_card
from mimica.models.temporal import FEATURES
from mimica.scan import Scanner

SIZE = 16


def write_card(folder: Path, name: str, **over: object) -> Path:
    """A tiny detector `name` in `folder`: logit = mean of the [-1, 1]-normalised input."""
    from mimica.models.card import sha256_file

    onnx = write_onnx(folder / f"{name}.onnx", size=SIZE)
    fields: dict = {"name": name, "version": "0.0.1", "onnx_file": onnx.name, "sha256": sha256_file(onnx),
                    "input": {"size": SIZE}, "align": {"size": SIZE}, "thresholds": {"real": 0.3, "fake": 0.7},
                    "calibration": {"method": "none"}}
    fields.update(over)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(fields))
    return path


def head(coef: list[float], intercept: float = 0.0, min_faces: int = 4) -> dict:
    n = 1 + len(FEATURES)
    return {"features": ["frame_logit", *FEATURES], "fill": [0.0] * n, "mean": [0.0] * n, "scale": [1.0] * n,
            "coef": coef + [0.0] * (n - len(coef)), "intercept": intercept, "min_faces": min_faces}


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return facemedia.write_face_video(tmp_path_factory.mktemp("det") / "face.mp4", frames=10)


def test_kinds_are_registered() -> None:
    assert KINDS["frame"] is FrameDetector and KINDS["frame+temporal"] is TemporalDetector


def test_unknown_kind_is_a_model_error(tmp_path: Path) -> None:
    card = write_card(tmp_path, "odd", detector={"kind": "telepathy"})
    with pytest.raises(ModelError, match="unknown detector kind 'telepathy'"):
        load_detector(card)


def test_temporal_kind_needs_a_video_head(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="video_head"):
        load_detector(write_card(tmp_path, "headless", detector={"kind": "frame+temporal"}))


def test_video_head_checks_its_lengths() -> None:
    bad = head([1.0]) | {"coef": [1.0]}
    with pytest.raises(ValueError, match="coef has 1 values"):
        VideoHead.model_validate(bad)


def test_video_head_fills_missing_cues() -> None:
    h = VideoHead.model_validate(head([2.0, 1.0], intercept=-1.0) | {"fill": [0.0, 3.0] + [0.0] * len(FEATURES[1:])})
    x = np.zeros(1 + len(FEATURES))
    x[0], x[1] = 0.5, np.nan  # the first cue is missing: it takes its fill, 3.0
    z = 2.0 * 0.5 + 1.0 * 3.0 - 1.0
    assert apply_video_head(h, x)[0] == pytest.approx(1 / (1 + np.exp(-z)))


def test_a_card_adds_a_detector_to_the_scan(tmp_path: Path, video: Path) -> None:
    """Two detectors named by card path: both are in the JSON for the file and for each track, with their own
    thresholds and words; nothing in the pipeline names them."""
    a = write_card(tmp_path, "alpha")
    b = write_card(tmp_path, "beta", thresholds={"real": 0.01, "fake": 0.02},
                   detector={"label": "beta detector", "says": {"fake": "beta says fake", "real": "beta says real",
                                                                "uncertain": "beta unsure"}})
    r = Scanner(detectors=[a, b], frames=6, provenance=False).scan(video)
    assert [d.name for d in r.detectors] == ["alpha", "beta"]
    assert r.tracks and all([d.name for d in t.detectors] == ["alpha", "beta"] for t in r.tracks)
    alpha, beta = r.detectors
    assert alpha.probability == pytest.approx(beta.probability)  # the same network
    # mean of a [-1, 1] image of a face on grey is near 0: sigmoid ~0.5 -> alpha uncertain, beta over its 0.02
    assert alpha.verdict == "uncertain" and beta.verdict == "fake" and beta.words == "beta says fake"
    assert r.verdict == "fake" and r.decided_by == "beta" and "beta detector" in r.reason
    data = json.loads(r.model_dump_json())
    assert {"name", "probability", "verdict"} <= set(data["detectors"][0])
    assert set(data["tracks"][0]["detections"][0]["scores"]) == {"alpha", "beta"}


def test_temporal_detector_uses_its_head_on_long_tracks(tmp_path: Path, video: Path) -> None:
    """With coef 0 on every cue and 1 on the mean frame logit, the track probability is sigmoid(mean logit); with
    a large intercept it is ~1; a track under min_faces is not judged (its face scores stay)."""
    base = write_card(tmp_path, "frames")
    tilted = write_card(tmp_path, "tilted", detector={"kind": "frame+temporal", "video_head": head([1.0], 6.0)})
    short = write_card(tmp_path, "short", detector={"kind": "frame+temporal",
                                                    "video_head": head([1.0], 6.0, min_faces=99)})
    r = Scanner(detectors=[base, tilted, short], frames=6, provenance=False).scan(video)
    t = max(r.tracks, key=lambda t: len(t.detections))
    assert len(t.detections) >= 4
    p_base, p_tilted, p_short = (d.probability for d in t.detectors)
    logits = np.log(np.array([d.scores["frames"] for d in t.detections]) /
                    (1 - np.array([d.scores["frames"] for d in t.detections])))
    assert p_tilted == pytest.approx(1 / (1 + np.exp(-(logits.mean() + 6.0))), abs=1e-5)
    assert p_short is None and p_base is not None
    assert all("short" in d.scores for d in t.detections)


def test_duplicate_or_no_detectors_are_refused(tmp_path: Path) -> None:
    from mimica.errors import MimicaError

    a = write_card(tmp_path, "alpha")
    with pytest.raises(MimicaError, match="named twice"):
        Scanner(detectors=[a, a])
    with pytest.raises(MimicaError, match="at least one detector"):
        Scanner(detectors=[])


def test_default_detectors_are_every_default_card(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A card marked default in the weights folder joins every scan; one marked otherwise does not."""
    import mimica.models.detectors as detectors

    weights = tmp_path / "weights"
    weights.mkdir()
    write_card(weights, DEFAULT_MODEL)
    write_card(weights, "extra")
    write_card(weights, "optional", detector={"default": False})
    monkeypatch.setattr(detectors, "WEIGHTS", weights)
    monkeypatch.setattr(detectors, "available_models", lambda: sorted(p.stem for p in weights.glob("*.json")))
    assert default_detectors() == [DEFAULT_MODEL, "extra"]


# --- the shipped detectors -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", available_models())
def test_every_shipped_detector_loads_and_states_its_evidence(name: str) -> None:
    card: ModelCard = load_card(WEIGHTS / f"{name}.json")
    det = load_detector(name)
    assert det.kind == card.detector.kind
    assert card.detector.label and card.detector.looks_at
    assert set(card.detector.says) >= {"fake", "real", "uncertain"}
    assert det.reliability.auc is not None, "a shipped detector states its measured AUC"


def test_shipped_scan_runs_every_default_detector() -> None:
    names = default_detectors()
    assert names[0] == DEFAULT_MODEL
    assert [d.name for d in Scanner(frames=2).detectors] == names


def test_a_detector_scores_the_faces_its_card_asks_for(tmp_path: Path, video: Path) -> None:
    """faces_per_track = 3: three faces, evenly spread (the first and the last among them), carry its score; the
    track probability is their mean; the first detector scores every face."""
    from mimica.models.detectors import evenly

    base = write_card(tmp_path, "every")
    few = write_card(tmp_path, "few", detector={"faces_per_track": 3})
    r = Scanner(detectors=[base, few], frames=6, provenance=False).scan(video)
    t = max(r.tracks, key=lambda t: len(t.detections))
    scored = [k for k, d in enumerate(t.detections) if "few" in d.scores]
    assert scored == list(evenly(len(t.detections), 3)) and scored[0] == 0 and scored[-1] == len(t.detections) - 1
    assert all("every" in d.scores for d in t.detections)
    assert t.detectors[1].probability == pytest.approx(np.mean([t.detections[k].scores["few"] for k in scored]),
                                                       abs=1e-4)
    assert list(evenly(32, 8)) == [0, 4, 9, 13, 18, 22, 27, 31] and list(evenly(5, 8)) == [0, 1, 2, 3, 4]
