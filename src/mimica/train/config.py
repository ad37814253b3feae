"""The training recipe, read from a TOML file."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ValidationError

from mimica.errors import MimicaError


class TrainConfig(BaseModel):
    name: str = "mimica-sbi-v1"
    version: str = "1.0.0"
    net: str = "artifactnet-s"
    real_faces: list[str] = []
    videos: list[str] = []
    forged: list[str] = []  # datasets made by `mimica forge`, used as extra labelled fakes
    use_labelled_fakes: bool = False
    val_fraction: float = 0.4
    split_seed: int = 0
    frames: int = 32
    cache_dir: str = "cache/crops128"
    out_dir: str = "runs/model"
    epochs: int = 12
    batch_size: int = 32
    lr: float = 0.002
    weight_decay: float = 0.0005
    seed: int = 0
    patience: int = 4
    max_minutes: float = 180
    threads: int = 2
    init_from: str = ""  # a checkpoint (best.pt) to start from, e.g. to fine-tune with labelled fakes
    p_labelled: float = 0.5  # share of pairs whose fake is a labelled fake (when there are any)
    crop_size: int = 128
    crop_margin: float = 1.3


def load_config(path: str | Path) -> TrainConfig:
    """Relative paths in the file are taken from the repository root (the parent of the config's folder)."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text())
    except FileNotFoundError as err:
        raise MimicaError(f"{p}: config file not found") from err
    except tomllib.TOMLDecodeError as err:
        raise MimicaError(f"{p}: not valid TOML ({err})") from err
    base = p.resolve().parent.parent
    # only well-typed values are resolved; the rest is left for validation to report (a bare string would
    # otherwise be taken apart into one path per character)
    for key in ("real_faces", "videos", "forged"):
        if isinstance(raw.get(key), list):
            raw[key] = [str((base / v).resolve()) if isinstance(v, str) else v for v in raw[key]]
    for key in ("cache_dir", "out_dir", "init_from"):
        if raw.get(key) and isinstance(raw[key], str):
            raw[key] = str((base / raw[key]).resolve())
    try:
        return TrainConfig.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise MimicaError(f"{p}: invalid config: {where}: {first['msg']}") from err
