"""The training loop on a tiny real-face folder: checkpoints inside an epoch, resume from the step it held,
and a run seeded from a shipped model's ONNX file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="training needs torch (pip install torch==2.13.0)")
pytest.importorskip("onnx", reason="ONNX export needs onnx (the [train] extra)")

from mimica.train import loop  # noqa: E402
from mimica.train.config import TrainConfig  # noqa: E402


class Killed(Exception):
    """Stands for the process dying right after a checkpoint reached the disk."""


def config(faces: Path, out: Path, **kw: object) -> TrainConfig:
    base: dict = dict(name="tiny", net="artifactnet-xs", real_faces=[str(faces)], cache_dir=str(out.parent / "cache"),
                      out_dir=str(out), crop_size=72, crop_margin=1.4625, input_size=64, epochs=1, batch_size=2,
                      threads=1, loader_workers=0, checkpoint_minutes=0.0, select_on="last", max_minutes=5)
    return TrainConfig(**(base | kw))


def test_an_interrupted_epoch_resumes_at_its_step(faces: Path, tmp_path: Path, monkeypatch) -> None:
    cfg = config(faces, tmp_path / "run")
    real_save = loop._save

    def save_then_die(obj: dict, path: Path) -> None:
        real_save(obj, path)
        if obj.get("epoch_step") == 3 and not obj.get("epoch_done"):
            raise Killed

    monkeypatch.setattr(loop, "_save", save_then_die)
    with pytest.raises(Killed):
        loop.train(cfg, log=lambda _: None)
    ck = torch.load(tmp_path / "run" / "last.pt", weights_only=False)
    assert (ck["epoch"], ck["epoch_step"], ck["epoch_done"]) == (0, 3, False)
    assert not (tmp_path / "run" / "log.jsonl").exists()  # the epoch never finished

    monkeypatch.setattr(loop, "_save", real_save)
    lines: list[str] = []
    loop.train(cfg, log=lines.append)
    assert any("resumed at epoch 0 step 3" in line for line in lines), lines
    records = [json.loads(x) for x in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    steps = len(list((faces).glob("*.png"))) // cfg.batch_size
    assert [r["epoch"] for r in records] == [0] and records[0]["steps"] == steps
    ck = torch.load(tmp_path / "run" / "last.pt", weights_only=False)
    assert ck["epoch_done"] and ck["step"] == steps  # 3 before the kill + the rest after, none twice
    lines.clear()
    loop.train(cfg, log=lines.append)  # nothing left to do
    assert len((tmp_path / "run" / "log.jsonl").read_text().splitlines()) == 1


def test_a_run_without_checkpoint_starts_from_the_shipped_model(faces: Path, tmp_path: Path) -> None:
    from mimica.train.data import build_data
    from mimica.train.export import finish

    first = config(faces, tmp_path / "first")
    loop.train(first, log=lambda _: None)
    card = finish(first, build_data(first), log=lambda _: None)
    trained = torch.load(tmp_path / "first" / "best.pt", weights_only=False)["model"]

    second = config(faces, tmp_path / "second", resume_from_shipped=str(card))
    state = loop._shipped_state(second, loop.build_model(second, log=lambda _: None))
    for key, value in trained.items():
        if not key.endswith("num_batches_tracked"):
            torch.testing.assert_close(state[key], value, msg=key)
    lines: list[str] = []
    loop.train(second, log=lines.append)
    assert any("starting from the shipped weights" in line for line in lines)

    wrong = config(faces, tmp_path / "third", net="artifactnet-s", resume_from_shipped=str(card))
    from mimica.errors import MimicaError

    with pytest.raises(MimicaError, match="artifactnet-xs, not a artifactnet-s"):
        loop.train(wrong, log=lambda _: None)
    missing = config(faces, tmp_path / "fourth", resume_from_shipped=str(tmp_path / "nope.json"))
    with pytest.raises(MimicaError, match="nope.json: resume_from_shipped names no model card file"):
        loop.train(missing, log=lambda _: None)


def test_a_second_stage_card_names_the_first(faces: Path, tmp_path: Path) -> None:
    """A run from an earlier run's checkpoint (init_from) records that run in its card: name, version and
    ONNX sha256, the ImageNet file at the root of the lineage, both stages' epochs and their total minutes. A
    checkpoint without its run's card is refused: the new card could not say where its weights came from."""
    from mimica.errors import MimicaError
    from mimica.models.card import ModelCard
    from mimica.train.data import build_data
    from mimica.train.export import finish

    first = config(faces, tmp_path / "first", version="1.0.0")
    loop.train(first, log=lambda _: None)
    first_card = ModelCard.load(finish(first, build_data(first), log=lambda _: None))
    second = config(faces, tmp_path / "second", version="1.1.0", init_from=str(tmp_path / "first" / "best.pt"))
    loop.train(second, log=lambda _: None)
    card = ModelCard.load(finish(second, build_data(second), log=lambda _: None))

    t = card.training
    assert t["continued_from"]["name"] == "tiny" and t["continued_from"]["version"] == "1.0.0"
    assert t["continued_from"]["onnx_sha256"] == first_card.sha256 != card.sha256
    assert t["init_weights"] == first_card.training["init_weights"]
    assert [h["stage"] for h in t["history"]] == ["tiny 1.0.0", "tiny 1.1.0"]
    own = json.loads((tmp_path / "second" / "log.jsonl").read_text().splitlines()[-1])["minutes"]
    assert t["minutes_total"] == pytest.approx(first_card.training["history"][-1]["minutes"] + own)
    assert "continued from tiny 1.0.0" in card.architecture

    (tmp_path / "first" / "tiny.json").unlink()
    third = config(faces, tmp_path / "third", init_from=str(tmp_path / "first" / "best.pt"))
    with pytest.raises(MimicaError, match="no model card beside the checkpoint"):
        loop.train(third, log=lambda _: None)  # before any training step
    assert not (tmp_path / "third" / "last.pt").exists()
