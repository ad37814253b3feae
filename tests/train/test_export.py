"""After training: ONNX export with a parity check against torch, Platt calibration, and the thresholds rule,
on hand-made cases whose answer is known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs torch (pip install torch==2.13.0)")
pytest.importorskip("onnx", reason="ONNX export needs onnx (the [train] extra)")

from mimica.models import Classifier  # noqa: E402
from mimica.models.card import AlignSpec, InputSpec, ModelCard, Thresholds, sha256_file  # noqa: E402
from mimica.scan.aggregate import verdict_of  # noqa: E402
from mimica.train.export import (  # noqa: E402
    MAX_FALSE_ALARMS,
    MAX_MISSES,
    PARITY_TOL,
    calibrate,
    choose_thresholds,
    export_onnx,
    parity,
    state_dict_from_onnx,
)
from mimica.train.loop import predict_logits  # noqa: E402
from mimica.train.net import create_net  # noqa: E402

SIZE = 64


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, Path]:
    """A tiny randomly initialised net (BatchNorm statistics made non-trivial by a few training-mode passes)
    and its ONNX export."""
    torch.manual_seed(0)
    net = create_net("artifactnet-xs")
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(8, 3, SIZE, SIZE) * 0.8 + 0.1)
    net.eval()
    path = tmp_path_factory.mktemp("export") / "tiny.onnx"
    export_onnx(net, path, SIZE)
    return net, path


def crops(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, SIZE, SIZE, 3), dtype=np.uint8)


def test_export_parity(exported: tuple[torch.nn.Module, Path]) -> None:
    net, path = exported
    assert path.is_file() and not path.with_suffix(".onnx.tmp").exists()
    diff = parity(net, path, crops(70))  # more than one onnxruntime batch of 64
    assert diff < PARITY_TOL


def test_parity_catches_a_different_model(exported: tuple[torch.nn.Module, Path]) -> None:
    """The check must be able to fail: another net's weights give large differences."""
    _, path = exported
    torch.manual_seed(1)
    other = create_net("artifactnet-xs").eval()
    assert parity(other, path, crops(4)) > PARITY_TOL


@pytest.mark.parametrize("name", ["artifactnet-xs", "efficientnet-lite0"])
def test_weights_come_back_from_the_onnx_file(name: str, tmp_path: Path) -> None:
    """A shipped ONNX file seeds a later run (`resume_from_shipped`): every state-dict tensor is recovered by
    name, batch-norm statistics included, and the rebuilt net gives the exported logits."""
    torch.manual_seed(0)
    net = create_net(name)
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(8, 3, SIZE, SIZE) * 0.8 + 0.1)
    net.eval()
    path = tmp_path / f"{name}.onnx"
    export_onnx(net, path, SIZE)
    assert parity(net, path, crops(8)) < PARITY_TOL
    torch.manual_seed(1)
    rebuilt = create_net(name)
    rebuilt.load_state_dict(state_dict_from_onnx(path, rebuilt))
    for key, value in net.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            torch.testing.assert_close(rebuilt.state_dict()[key], value, msg=key)
    rebuilt.eval()
    assert parity(rebuilt, path, crops(8)) < PARITY_TOL
    with pytest.raises(KeyError, match="no weight named|the file is another network"):
        state_dict_from_onnx(path, create_net("artifactnet-s" if name != "artifactnet-s" else "artifactnet-m"))


def test_inference_classifier_matches_training(exported: tuple[torch.nn.Module, Path], tmp_path: Path) -> None:
    """The product's Classifier, preprocessing from a card as `finish` writes it, gives the torch logits:
    training (`to_input`) and inference (the card's mean/std) normalise alike."""
    net, path = exported
    card = ModelCard(name="tiny", version="0", onnx_file=path.name, sha256=sha256_file(path),
                     input=InputSpec(size=SIZE), align=AlignSpec(size=SIZE))
    x = crops(5, seed=3)
    np.testing.assert_allclose(Classifier(card, path).logits(x), predict_logits(net, x), atol=PARITY_TOL)


def test_calibration_orients_and_centres() -> None:
    """Fakes' logits around +1, reals' around -1, four times as many reals: the balanced Platt fit gives a
    positive slope and puts p = 0.5 near logit 0, not at the class ratio."""
    rng = np.random.default_rng(0)
    logits = np.concatenate([rng.normal(-1, 1, 400), rng.normal(1, 1, 100)]).astype(np.float32)
    labels = np.concatenate([np.zeros(400, int), np.ones(100, int)])
    cal = calibrate(logits, labels)
    assert cal.method == "platt" and cal.a > 0
    assert abs(cal.b / cal.a) < 0.3  # the decision point -b/a is near 0
    flipped = calibrate(-logits, labels)
    assert flipped.a < 0  # a model whose logits point the wrong way gets a negative slope


THRESHOLD_CASES = [
    # (real video probabilities, fake video probabilities, expected (real, fake) thresholds)
    # 25 videos a side: 5% allows one false alarm and one miss; an interpolated quantile would allow two
    pytest.param(np.arange(25) * 0.01, 0.10 + np.arange(25) * 0.01, (0.11, 0.2301), id="25-videos"),
    # five reals tie at 0.3: the fake threshold must pass all five, not sit on them
    pytest.param(np.r_[[0.3] * 5, [0.1] * 15], np.full(20, 0.2), (0.2, 0.3001), id="ties"),
    # a model that separates the split: the thresholds cross and collapse to their midpoint
    pytest.param(np.linspace(0.1, 0.3, 21), np.linspace(0.7, 0.9, 21), (0.5, 0.5), id="crossing"),
    # a model that cannot tell them apart: everything between is uncertain
    pytest.param(np.full(3, 0.2), np.full(3, 0.2), (0.2, 0.2001), id="identical"),
    # a real video at p = 1: no threshold within 0..1 avoids it; the fake threshold stops at 1
    pytest.param(np.full(20, 1.0), np.full(20, 0.5), (0.5, 1.0), id="real-at-one"),
]


@pytest.mark.parametrize(("real_p", "fake_p", "expected"), THRESHOLD_CASES)
def test_choose_thresholds(real_p: np.ndarray, fake_p: np.ndarray, expected: tuple[float, float]) -> None:
    probs = np.concatenate([real_p, fake_p])
    labels = np.concatenate([np.zeros(len(real_p), int), np.ones(len(fake_p), int)])
    t = choose_thresholds(probs, labels)
    assert isinstance(t, Thresholds) and 0 <= t.real <= t.fake <= 1
    assert (t.real, t.fake) == (pytest.approx(expected[0], abs=1e-9), pytest.approx(expected[1], abs=1e-9))
    if t.real < t.fake and t.fake < 1:  # the documented budgets, with the scan's own verdict rule
        assert np.mean([verdict_of(p, t.real, t.fake) == "fake" for p in real_p]) <= MAX_FALSE_ALARMS
        assert np.mean([verdict_of(p, t.real, t.fake) == "real" for p in fake_p]) <= MAX_MISSES


@pytest.mark.parametrize("only", [0, 1], ids=["only-reals", "only-fakes"])
def test_choose_thresholds_with_one_class(only: int) -> None:
    probs = np.linspace(0.2, 0.8, 30)
    t = choose_thresholds(probs, np.full(30, only))
    assert 0 <= t.real <= t.fake <= 1


@pytest.fixture(scope="module")
def exported_patch(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, Path]:
    """A patch model (the tiny net run fully convolutionally, its 4x4 logit map pooled by top-k) and its ONNX."""
    from mimica.train.patches import PooledPatches

    torch.manual_seed(0)
    net = create_net("artifactnet-xs")
    with torch.no_grad():
        torch.nn.init.normal_(net.head[-1].weight)  # type: ignore[index]  # positions must differ
        net.train()
        for _ in range(3):
            net(torch.randn(8, 3, SIZE, SIZE) * 0.8 + 0.1)
    model = PooledPatches(net, "topk", 0.25).eval()
    path = tmp_path_factory.mktemp("export-patch") / "patch.onnx"
    export_onnx(model, path, SIZE)
    return model, path


def test_a_patch_model_exports_one_logit_per_crop(exported_patch: tuple[torch.nn.Module, Path]) -> None:
    """The ONNX file of a patch model takes whole crops and gives one pooled logit each, equal to torch's; the
    product's Classifier runs it as it runs a face-level model, and its weights come back by the network's own
    state-dict names (a later run can start from it)."""
    from mimica.train.patches import PooledPatches

    model, path = exported_patch
    x = crops(70, seed=5)
    assert parity(model, path, x) < PARITY_TOL
    out = predict_logits(model, x)
    assert out.shape == (70,)
    card = ModelCard(name="patch", version="0", onnx_file=path.name, sha256=sha256_file(path),
                     input=InputSpec(size=SIZE), align=AlignSpec(size=SIZE))
    np.testing.assert_allclose(Classifier(card, path).logits(x), out, atol=PARITY_TOL)
    # the pooling is in the file: the same network pooled otherwise does not match it
    net = model.net  # type: ignore[attr-defined]
    assert parity(net, path, x[:8]) > PARITY_TOL
    assert parity(PooledPatches(net, "max").eval(), path, x[:8]) > PARITY_TOL
    torch.manual_seed(1)
    rebuilt = create_net("artifactnet-xs")
    rebuilt.load_state_dict(state_dict_from_onnx(path, rebuilt))
    assert parity(PooledPatches(rebuilt.eval(), "topk", 0.25).eval(), path, x[:8]) < PARITY_TOL
