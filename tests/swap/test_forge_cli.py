from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from mimica.datasets import load_dataset
from mimica.errors import OutputError
from mimica.provenance import inspect
from mimica.provenance.xmp import COMPOSITE_TRAINED
from mimica.swap.cli import register
from mimica.swap.forge import forge
from mimica.swap.smooth import OneEuroFilter, fill_gaps


@pytest.fixture(scope="module")
def real_dir(tmp_path_factory, media):
    d = tmp_path_factory.mktemp("real")
    shutil.copy(media["clip"], d / "a.mp4")
    shutil.copy(media["target"], d / "b.png")
    shutil.copy(media["source"], d / "c.png")
    return d


def test_forge_layout_manifest_and_marks(real_dir, tmp_path):
    manifest = forge(real_dir, tmp_path / "ds", pairs=3, blended=2, max_frames=10, seed=1)
    rows = list(csv.DictReader(manifest.open()))
    fakes = [r for r in rows if r["label"] == "fake"]
    assert {r["method"] for r in fakes} == {"MimicaSwap", "MimicaSBI"}
    for r in fakes:
        path = tmp_path / "ds" / r["path"]
        assert path.is_file()
        assert r["target_id"] and r["source_id"]
        assert r["visible_label"] == "no" and r["pixel_watermark"] == "no"
        report = inspect(path)
        assert report["digital_source_type"] == COMPOSITE_TRAINED, "metadata marks are always there"
        assert not report["watermark"]["detected"], "training data must carry no pixel watermark"
    swaps = [r for r in fakes if r["method"] == "MimicaSwap"]
    assert all(r["target_id"] != r["source_id"] for r in swaps)
    items = load_dataset(tmp_path / "ds")
    assert any(it.label == 1 and len(it.identities) == 2 for it in items) or not any(
        r["kind"] == "video" for r in swaps
    )


def test_forge_refuses_to_write_into_its_input(real_dir):
    with pytest.raises(OutputError):
        forge(real_dir, real_dir / "ds", pairs=1, blended=0)


def test_cli_swap_keys_and_errors(media, tmp_path):
    pytest.importorskip("c2pa", reason="needs the [swap] extra")
    pytest.importorskip("cryptography")
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    keys = tmp_path / "k"
    r = runner.invoke(app, ["keys", "init", "--dir", str(keys)])
    assert r.exit_code == 0, r.output
    assert (keys / "signer.key").stat().st_mode & 0o077 == 0, "private key must be readable by the user only"
    r = runner.invoke(app, ["keys", "init", "--dir", str(keys)])
    assert r.exit_code == 2 and "exist already" in r.output
    out = tmp_path / "o.jpg"
    r = runner.invoke(
        app,
        [
            "swap",
            "--source",
            str(media["source"]),
            "--target",
            str(media["target"]),
            "-o",
            str(out),
            "--key-dir",
            str(keys),
            "--label-position",
            "top-right",
        ],
    )
    assert r.exit_code == 0, r.output
    assert r.stdout == f"{out}: face swapped, marked as AI-generated\n"  # one line: no blank line from the bar
    assert inspect(out, key_dir=keys)["c2pa"]["trusted"]
    r = runner.invoke(
        app, ["swap", "--source", str(media["noface"]), "--target", str(media["target"]), "-o", str(tmp_path / "x.png")]
    )
    assert r.exit_code == 2 and "no face" in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_one_euro_filter_removes_jitter_but_follows_moves():
    rng = np.random.default_rng(0)
    f = OneEuroFilter(min_cutoff=1.0, beta=0.05)
    still = [f.update(np.array([100.0, 100.0]) + rng.normal(0, 1, 2), i / 25, scale=100) for i in range(50)]
    assert np.std(np.array(still)[10:], axis=0).max() < 0.5
    f.reset()
    moving = [f.update(np.array([100.0 + 10 * i, 100.0]), i / 25, scale=100) for i in range(30)]
    assert abs(moving[-1][0] - (100 + 10 * 29)) < 15


def test_fill_gaps_interpolates_short_gaps_only():
    a, b = np.zeros((468, 2), np.float32), np.full((468, 2), 10, np.float32)
    out = fill_gaps({0: a, 4: b, 20: a}, 21, max_gap=5)
    assert set(out) == {0, 1, 2, 3, 4, 20}
    assert out[2][0, 0] == pytest.approx(5)


def test_label_is_in_the_pixels_of_small_and_large_frames():
    from mimica.swap.writer import add_label

    for shape in [(120, 160, 3), (1080, 1920, 3)]:
        img = np.full(shape, 200, np.uint8)
        out = add_label(img, "bottom-right")
        assert (out != img).any() and out[-5:, :5].tolist() == img[-5:, :5].tolist()
        Image.fromarray(out)  # a valid picture


def test_mimica_train_accepts_a_forged_dataset(real_dir, tmp_path):
    """The issue's promise, end to end: `mimica forge` output is an extra source of fakes for `mimica train`."""
    pytest.importorskip("torch", reason="training needs the [train] extra")
    from mimica.cli import app

    forge(real_dir, tmp_path / "ds", pairs=2, blended=2, max_frames=8, seed=2)
    cfg = tmp_path / "configs" / "tiny.toml"
    cfg.parent.mkdir()
    cfg.write_text(
        'name = "tiny-forged"\nnet = "artifactnet-xs"\nforged = ["ds"]\nframes = 4\nval_fraction = 0.0\n'
        'cache_dir = "cache"\nout_dir = "run"\nepochs = 1\nbatch_size = 4\nmax_minutes = 0.2\nthreads = 1\n'
    )
    r = CliRunner().invoke(app, ["train", str(cfg)])
    assert r.exit_code == 0, r.output
    card = json.loads((tmp_path / "run" / "tiny-forged.json").read_text())
    assert "labelled fakes" in json.dumps(card)
    assert (tmp_path / "run" / "tiny-forged.onnx").stat().st_size > 1000
