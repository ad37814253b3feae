"""The training recipe file: errors are one-line MimicaErrors naming the file; relative paths are taken from
the repository root (the parent of the config's folder); the shipped recipes load."""

from __future__ import annotations

from pathlib import Path

import pytest

from mimica.errors import MimicaError
from mimica.train.config import TrainConfig, load_config

REPO = Path(__file__).resolve().parents[2]

BAD = [
    pytest.param(None, "config file not found", id="missing"),
    pytest.param("epochs = [", "not valid TOML", id="broken-toml"),
    pytest.param("name = 'x'\nname = 'y'\n", "not valid TOML", id="duplicate-key"),
    pytest.param("epochs = 'many'", "invalid config: epochs: Input should be a valid integer", id="wrong-type"),
    pytest.param("videos = 3", "invalid config: videos: Input should be a valid list", id="videos-a-number"),
    pytest.param("videos = 'data/ffpp'", "invalid config: videos: Input should be a valid list",
                 id="videos-a-string"),
    pytest.param("cache_dir = 5", "invalid config: cache_dir: Input should be a valid string", id="dir-a-number"),
    pytest.param("crop_size = 246\ninput_size = 224\npatch_size = 240",
                 "invalid config: patch_size: Value error, a patch must be 32 px to the network's input side (224 px)",
                 id="patch-larger-than-the-input"),
    pytest.param("crop_size = 128\npatch_size = 16", "patch_size: Value error, a patch must be 32 px", id="patch-tiny"),
    pytest.param("patch_size = -1", "patch_size: Value error, must be 0", id="patch-negative"),
    pytest.param("patch_pool = 'median'", "invalid config: patch_pool: Input should be 'max', 'topk' or 'mean'",
                 id="unknown-pooling"),
    pytest.param("patch_topk = 0", "invalid config: patch_topk: Value error, a share", id="topk-zero"),
    pytest.param("patch_topk = 1.5", "invalid config: patch_topk: Value error, a share", id="topk-above-one"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_config(tmp_path: Path, text: str | None, message: str) -> None:
    path = tmp_path / "configs" / "x.toml"
    path.parent.mkdir()
    if text is not None:
        path.write_text(text)
    with pytest.raises(MimicaError) as e:
        load_config(path)
    msg = str(e.value)
    assert msg.startswith(str(path)), msg
    assert "\n" not in msg
    assert message in msg


def test_relative_paths_are_from_the_repository_root(tmp_path: Path) -> None:
    path = tmp_path / "configs" / "x.toml"
    path.parent.mkdir()
    path.write_text('videos = ["data/ffpp", "/abs/dfdc"]\nreal_faces = ["../shared/faces"]\n'
                    'cache_dir = "cache/c"\nout_dir = "/abs/out"\nepochs = 3\n')
    cfg = load_config(path)
    assert cfg.videos == [str(tmp_path / "data/ffpp"), "/abs/dfdc"]
    assert cfg.real_faces == [str(tmp_path.parent / "shared/faces")]
    assert cfg.cache_dir == str(tmp_path / "cache/c") and cfg.out_dir == "/abs/out"
    assert cfg.epochs == 3 and cfg.net == TrainConfig().net  # unset keys keep their defaults


@pytest.mark.parametrize("path", sorted((REPO / "configs").glob("*.toml")), ids=lambda p: p.name)
def test_shipped_recipes_load_with_only_known_keys(path: Path) -> None:
    """A key the recipe sets but its config model does not know would be silently ignored: catch the typo."""
    import tomllib

    from mimica.train import generated

    model = generated.GeneratedConfig if generated.wants(path) else TrainConfig
    cfg = generated.read_config(path) if generated.wants(path) else load_config(path)
    unknown = set(tomllib.loads(path.read_text())) - set(model.model_fields)
    assert not unknown, f"{path.name}: keys {model.__name__} ignores: {sorted(unknown)}"
    assert Path(cfg.out_dir).is_absolute() and Path(cfg.cache_dir).is_absolute()


def test_a_patch_config_reads_its_patch_recipe(tmp_path: Path) -> None:
    path = tmp_path / "configs" / "x.toml"
    path.parent.mkdir()
    path.write_text("crop_size = 246\ninput_size = 224\npatch_size = 224\npatch_pool = 'max'\n")
    cfg = load_config(path)
    assert (cfg.patch_size, cfg.patch_pool, cfg.size) == (224, "max", 224)  # a patch the whole view is allowed
    assert TrainConfig().patch_size == 0  # the face-level recipe unless asked
    assert load_config(REPO / "configs" / "v3-patch.toml").patch_size == 112
