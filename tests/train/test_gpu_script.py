"""scripts/gpu_train.py end to end on the CPU with a tiny pack: it trains from the pack alone into OUT/<name>/,
sends back only what the export needs, and `mimica train CONFIG --no-train` exports that here."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest
from tests.train.test_loop import config
from typer.testing import CliRunner

torch = pytest.importorskip("torch", reason="training needs torch (pip install torch==2.13.0)")
pytest.importorskip("onnx", reason="ONNX export needs onnx (the [train] extra)")

from mimica.cli import app  # noqa: E402
from mimica.train.data import build_data  # noqa: E402
from mimica.train.pack import pack  # noqa: E402

pytestmark = pytest.mark.slow  # a real (tiny) training, export and ONNX parity check: tens of seconds

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gpu_train.py"


def script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gpu_train", SCRIPT)
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


@pytest.fixture(scope="module")
def setup(faces: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny config and its pack (prepared once: the face detector is the slow part)."""
    tmp_path = tmp_path_factory.mktemp("gpu-script")
    cfg = config(faces, tmp_path / "run")
    cfg_path = tmp_path / "configs" / "tiny.toml"
    cfg_path.parent.mkdir()
    cfg_path.write_text("\n".join(f"{k} = {json.dumps(v)}" for k, v in cfg.model_dump(mode="json").items()
                                  if v is not None and not isinstance(v, dict)))
    pack(build_data(cfg), tmp_path / "pack.npz", max_mb=5)
    return cfg_path, tmp_path / "pack.npz"


def test_trains_from_the_pack_then_exports_here(setup: tuple[Path, Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    cfg_path, pack_path = setup
    run = cfg_path.parent.parent / "run"
    out = tmp_path / "OUT"
    assert script().main([str(cfg_path), str(pack_path), "--out", str(out), "--device", "cpu"]) == 0
    back = out / "tiny"
    assert sorted(p.name for p in back.iterdir()) == ["best.pt", "config.json", "log.jsonl"]
    assert json.loads((back / "config.json").read_text())["device"] == "cpu"
    assert "64 px on cpu" in capsys.readouterr().out
    assert not run.exists()  # nothing written beside the config: all of it under OUT
    run.mkdir()
    for p in back.iterdir():  # what a lent machine's files_at holds, copied into the config's out_dir
        shutil.copy2(p, run / p.name)
    r = CliRunner().invoke(app, ["train", str(cfg_path), "--no-train"])
    assert r.exit_code == 0, r.output
    card = json.loads((run / "tiny.json").read_text())
    assert card["input"]["size"] == 64 and card["training"]["onnx_parity_max_abs_logit_diff"] < 1e-3
    assert len(card["training"]["history"]) == 1


def test_refuses_a_pack_of_another_size_and_a_missing_gpu(setup: tuple[Path, Path], tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    cfg_path, pack_path = setup
    other = cfg_path.with_name("other.toml")
    other.write_text(cfg_path.read_text().replace("crop_size = 72", "crop_size = 80"))
    assert script().main([str(other), str(pack_path), "--out", str(tmp_path / "o"), "--device", "cpu"]) == 1
    assert "crops of 72 px" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert script().main([str(cfg_path), str(pack_path), "--out", str(tmp_path / "o"), "--device", "cuda"]) == 1
        assert "no CUDA device" in capsys.readouterr().err
