"""Packing a config's training data into one file that travels to a GPU machine without the datasets: the
same crops (within JPEG error), landmarks, splits and items come back; the budget is kept, photos are what
gives way; training runs from the pack alone, and its checkpoint exports where the datasets are."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.train.test_loop import config
from typer.testing import CliRunner

torch = pytest.importorskip("torch", reason="training needs torch (pip install torch==2.13.0)")
pytest.importorskip("onnx", reason="ONNX export needs onnx (the [train] extra)")

from mimica.cli import app  # noqa: E402
from mimica.errors import MimicaError  # noqa: E402
from mimica.train.data import build_data  # noqa: E402
from mimica.train.pack import load_pack, pack  # noqa: E402


def test_pack_round_trip_and_budget(faces: Path, tmp_path: Path) -> None:
    cfg = config(faces, tmp_path / "run")
    data = build_data(cfg)
    counts = pack(data, tmp_path / "all.npz", max_mb=10)
    assert counts["real_train"] == len(data.real_train.item) == 12
    back = load_pack(tmp_path / "all.npz")
    assert back.real_train.crops.shape == data.real_train.crops.shape
    # JPEG at quality 90: close to the crops, not equal (the pack is lossy by design)
    err = np.abs(back.real_train.crops.astype(int) - data.real_train.crops.astype(int)).mean()
    assert 0 < err < 3, err
    order = np.argsort(back.real_train.field("path"))
    ref = np.argsort(data.real_train.field("path"))
    np.testing.assert_array_equal(back.real_train.mesh[order], data.real_train.mesh[ref])
    assert len(back.real_video_train.item) == 0  # no video in this config: no video reals either

    budget = (tmp_path / "all.npz").stat().st_size * 0.4
    small = pack(data, tmp_path / "small.npz", max_mb=budget / 1e6)
    assert 2 <= small["real_train"] <= 7  # photos give way to the budget
    assert (tmp_path / "small.npz").stat().st_size <= budget + 16_384  # + the file's own headers (~10 kB)
    with pytest.raises(MimicaError, match="not a training pack"):
        (tmp_path / "junk.npz").write_bytes(b"nope")
        load_pack(tmp_path / "junk.npz")


def test_train_from_a_pack_then_export_where_the_data_is(faces: Path, tmp_path: Path) -> None:
    cfg_path = tmp_path / "configs" / "tiny.toml"
    cfg_path.parent.mkdir()
    base = config(faces, tmp_path / "run").model_dump(mode="json")
    cfg_path.write_text("\n".join(f"{k} = {json.dumps(v)}" for k, v in base.items() if v is not None
                                  and not isinstance(v, dict)))
    runner = CliRunner()
    r = runner.invoke(app, ["pack", str(cfg_path), "--out", str(tmp_path / "p.npz"), "--max-mb", "5"])
    assert r.exit_code == 0, r.output
    assert "real_train 12" in r.output
    r = runner.invoke(app, ["train", str(cfg_path), "--pack", str(tmp_path / "p.npz")])
    assert isinstance(r.exception, MimicaError) and "cannot export" in str(r.exception)  # main() prints it
    r = runner.invoke(app, ["train", str(cfg_path), "--pack", str(tmp_path / "p.npz"), "--no-export"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "run" / "best.pt").exists() and not list((tmp_path / "run").glob("*.onnx"))
    # only best.pt comes back from a lent machine (last.pt, with the optimiser's state, is too big to travel)
    (tmp_path / "run" / "last.pt").unlink()
    trained = torch.load(tmp_path / "run" / "best.pt", weights_only=False)["model"]
    r = runner.invoke(app, ["train", str(cfg_path), "--no-train"])  # here, with the data: export only
    assert r.exit_code == 0, r.output
    assert (tmp_path / "run" / "tiny.onnx").exists()
    assert len((tmp_path / "run" / "log.jsonl").read_text().splitlines()) == 1  # no epoch trained again
    after = torch.load(tmp_path / "run" / "best.pt", weights_only=False)["model"]
    assert all(torch.equal(trained[k], after[k]) for k in trained)
    (tmp_path / "run" / "best.pt").unlink()
    r = runner.invoke(app, ["train", str(cfg_path), "--no-train"])
    assert isinstance(r.exception, MimicaError) and "no checkpoint to export" in str(r.exception)
