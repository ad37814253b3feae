"""Model cards and the registry: cards validate (thresholds ordered, probabilities in 0..1), round-trip through
JSON, and every way a model can be missing or broken ends in a one-line ModelError naming the file.
Contract tests run over every shipped model (`available_models()`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from mimica.errors import MimicaError, ModelError
from mimica.models import Classifier, ModelCard, available_models, load_model
from mimica.models.card import Thresholds, sha256_file
from mimica.models.registry import DEFAULT_MODEL, WEIGHTS

pytest.importorskip("onnx", reason="onnx is in the dev extra")
from tests.models.tiny import write_onnx

THRESHOLDS = [
    pytest.param(0.35, 0.65, None, id="ordered"),
    pytest.param(0.5, 0.5, None, id="equal"),
    pytest.param(0.0, 1.0, None, id="extremes"),
    pytest.param(0.7, 0.3, "fake threshold 0.3 is below the real threshold 0.7", id="crossed"),
    pytest.param(-0.1, 0.5, "greater than or equal to 0", id="negative"),
    pytest.param(0.2, 1.2, "less than or equal to 1", id="above-one"),
]


@pytest.mark.parametrize(("real", "fake", "raises"), THRESHOLDS)
def test_thresholds_are_ordered_probabilities(real: float, fake: float, raises: str | None) -> None:
    if raises is None:
        t = Thresholds(real=real, fake=fake)
        assert (t.real, t.fake) == (real, fake)
    else:
        with pytest.raises(ValidationError, match=raises):
            Thresholds(real=real, fake=fake)


def card_fields(onnx_path: Path, **over: object) -> dict:
    fields: dict = {"name": onnx_path.stem, "version": "0.0.1", "onnx_file": onnx_path.name,
                    "sha256": sha256_file(onnx_path), "thresholds": {"real": 0.3, "fake": 0.7}}
    fields.update(over)
    return fields


@pytest.fixture()
def model_dir(tmp_path: Path) -> Path:
    """A folder holding a valid tiny model `tiny.onnx` + `tiny.json`."""
    onnx_path = write_onnx(tmp_path / "tiny.onnx")
    (tmp_path / "tiny.json").write_text(json.dumps(card_fields(onnx_path, input={"size": 8}, align={"size": 8})))
    return tmp_path


def test_card_round_trip(model_dir: Path, tmp_path: Path) -> None:
    card = ModelCard.load(model_dir / "tiny.json")
    card.save(tmp_path / "copy.json")
    again = ModelCard.load(tmp_path / "copy.json")
    assert again == card
    assert again.thresholds.real == 0.3 and again.input.size == 8
    assert not list(tmp_path.glob("*.tmp"))  # written atomically, no leftovers


@pytest.mark.parametrize("which", ["json", "onnx"])
def test_load_by_path(model_dir: Path, which: str) -> None:
    clf = load_model(model_dir / f"tiny.{which}")
    assert isinstance(clf, Classifier)
    assert clf.card.name == "tiny"
    assert clf.predict(np.zeros((2, 8, 8, 3), np.uint8)).shape == (2,)


def _one_line_model_error(fn, *args: object) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(ModelError) as e:
        fn(*args)
    msg = str(e.value)
    assert "\n" not in msg, msg
    assert isinstance(e.value, MimicaError)
    return msg


def test_unknown_model_is_one_line() -> None:
    msg = _one_line_model_error(load_model, "no-such-model")
    assert "unknown model 'no-such-model'" in msg
    assert "shipped models" in msg


def test_corrupt_checksum(model_dir: Path) -> None:
    onnx_path = model_dir / "tiny.onnx"
    data = bytearray(onnx_path.read_bytes())
    data[-1] ^= 0xFF  # a flipped bit in the weights, the model still loads in onnxruntime
    onnx_path.write_bytes(bytes(data))
    msg = _one_line_model_error(load_model, model_dir / "tiny.json")
    assert str(onnx_path) in msg and "checksum" in msg


def test_checksum_in_card_wrong(model_dir: Path) -> None:
    card = json.loads((model_dir / "tiny.json").read_text())
    card["sha256"] = "0" * 64
    (model_dir / "tiny.json").write_text(json.dumps(card))
    assert "checksum" in _one_line_model_error(load_model, model_dir / "tiny.json")


def test_missing_onnx(model_dir: Path) -> None:
    (model_dir / "tiny.onnx").unlink()
    msg = _one_line_model_error(load_model, model_dir / "tiny.json")
    assert "tiny.onnx" in msg and "missing" in msg


def test_onnx_that_is_not_a_model(model_dir: Path) -> None:
    bad = model_dir / "junk.onnx"
    bad.write_bytes(b"not a protobuf at all" * 10)
    (model_dir / "junk.json").write_text(json.dumps(card_fields(bad)))
    msg = _one_line_model_error(load_model, model_dir / "junk.json")
    assert "junk.onnx" in msg and "could not load" in msg


BAD_CARDS = [
    pytest.param("{not json", id="not-json"),
    pytest.param(json.dumps({"name": "x"}), id="missing-fields"),
    pytest.param(json.dumps({"name": "x", "version": "1", "onnx_file": "x.onnx", "sha256": "0",
                             "thresholds": {"real": 0.8, "fake": 0.2}}), id="crossed-thresholds"),
    pytest.param(json.dumps({"name": "x", "version": "1", "onnx_file": "x.onnx", "sha256": "0",
                             "input": {"color_order": "YUV"}}), id="unknown-colour-order"),
]


@pytest.mark.parametrize("text", BAD_CARDS)
def test_bad_card_is_one_line(tmp_path: Path, text: str) -> None:
    (tmp_path / "x.json").write_text(text)
    msg = _one_line_model_error(load_model, tmp_path / "x.json")
    assert "x.json" in msg and "unreadable model card" in msg


def test_registry_is_the_weights_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        model_dir: Path) -> None:
    """Every <name>.json under weights/ is a model, loadable by name."""
    import mimica.models.registry as registry

    weights = tmp_path / "weights"
    weights.mkdir()
    for f in ("tiny.onnx", "tiny.json"):
        shutil.copy(model_dir / f, weights / f)
    monkeypatch.setattr(registry, "WEIGHTS", weights)
    assert available_models() == ["tiny"]
    assert load_model("tiny").card.name == "tiny"
    assert "['tiny']" in _one_line_model_error(load_model, "other")


# --- the shipped models ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", available_models() or [pytest.param(DEFAULT_MODEL, marks=pytest.mark.skip(
    reason="no model shipped in src/mimica/models/weights yet"))])
def test_every_shipped_model(name: str) -> None:
    clf = load_model(name)
    card = clf.card
    assert card.name == name
    assert (WEIGHTS / card.onnx_file).is_file()
    assert card.thresholds.real <= card.thresholds.fake
    assert card.align.size == card.input.size
    assert card.licence and card.intended_use and card.limitations
    crops = np.random.default_rng(0).integers(0, 256, (3, card.input.size, card.input.size, 3), dtype=np.uint8)
    p = clf.predict(crops)
    assert p.shape == (3,) and np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()


def test_default_model_is_shipped(model_card: Path) -> None:
    assert DEFAULT_MODEL in available_models()
    assert ModelCard.load(model_card).name == DEFAULT_MODEL
