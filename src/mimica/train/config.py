"""The training recipe, read from a TOML file."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ValidationError, ValidationInfo, field_validator

from mimica.errors import MimicaError

M = TypeVar("M", bound=BaseModel)


class TrainConfig(BaseModel):
    name: str = "mimica-sbi-v2"
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
    p_video_real: float = 0.0  # share of pairs made from a training video's real face instead of the i-th real
    crop_size: int = 128  # side of the cached crops (at crop_margin)
    crop_margin: float = 1.3
    input_size: int = 0  # side the network sees, the centre of the cached crop (0: crop_size); the rest of the
    #                      cached margin lets training jitter the window (mimica.train.augment)
    pretrained: str = ""  # ImageNet weights to start from (mimica.train.pretrained.WEIGHTS), e.g.
    #                       "efficientnet-lite0-imagenet"
    freeze: int = 0  # trunk layers (stem, then blocks) kept at their pretrained values: faster steps on a CPU
    label_smoothing: float = 0.0
    select_on: Literal["video", "last"] = "video"  # "last": keep the final epoch, so the validation split
    #                                               picks nothing and calibrates on unseen ground
    checkpoint_minutes: float = 5.0  # last.pt is also written this often inside an epoch
    device: str = "cpu"  # "cuda" when a GPU is there; the project never needs one
    loader_workers: int = 1
    resume_from_shipped: str = ""  # a shipped model card (.json): its ONNX weights seed a run that has no
    #                                checkpoint yet, so a longer run can continue where the shipped one ended
    patch_size: int = 0  # > 0: the patch-level recipe (issue 19, mimica.train.patches): train on patch_size
    #                      windows of the input_size crop (a fake's across its blend boundary, a real's on the
    #                      face), score the whole crop fully convolutionally; 0: the face-level recipe
    patch_pool: Literal["max", "topk", "mean"] = "topk"  # the face's logit from its logit map (patch_size > 0)
    patch_topk: float = 0.1  # share of the map's positions that "topk" averages (at least one)

    @field_validator("patch_size")
    @classmethod
    def _patch_fits(cls, v: int, info: ValidationInfo) -> int:
        side = info.data.get("input_size") or info.data.get("crop_size") or 0
        if v < 0:
            raise ValueError(f"must be 0 (face level) or a patch side in pixels, got {v}")
        if v and not 32 <= v <= side:
            raise ValueError(f"a patch must be 32 px to the network's input side ({side} px), or 0; got {v}")
        return v

    @field_validator("patch_topk")
    @classmethod
    def _share(cls, v: float) -> float:
        if not 0 < v <= 1:
            raise ValueError(f"a share of the map's positions, in (0, 1]; got {v}")
        return v

    @property
    def size(self) -> int:
        """The network's input side."""
        return self.input_size or self.crop_size

    @property
    def input_margin(self) -> float:
        """The alignment margin of what the network sees (the centre crop of the cached margin)."""
        return self.crop_margin * self.size / self.crop_size


def read_toml(path: str | Path) -> dict:
    """A training config file's table; a one-line MimicaError when it is missing or not TOML."""
    p = Path(path)
    try:
        return tomllib.loads(p.read_text())
    except FileNotFoundError as err:
        raise MimicaError(f"{p}: config file not found") from err
    except tomllib.TOMLDecodeError as err:
        raise MimicaError(f"{p}: not valid TOML ({err})") from err


def resolve_paths(raw: dict, path: str | Path, lists: tuple[str, ...], single: tuple[str, ...]) -> dict:
    """Relative paths in the file are taken from the repository root (the parent of the config's folder). Only
    well-typed values are resolved; the rest is left for validation to report (a bare string would otherwise be
    taken apart into one path per character)."""
    base = Path(path).resolve().parent.parent
    for key in lists:
        if isinstance(raw.get(key), list):
            raw[key] = [str((base / v).resolve()) if isinstance(v, str) else v for v in raw[key]]
    for key in single:
        if raw.get(key) and isinstance(raw[key], str):
            raw[key] = str((base / raw[key]).resolve())
    return raw


def validated(cls: type[M], raw: dict, path: str | Path) -> M:
    """The config model of `raw`; its first validation error as one line naming the key."""
    try:
        return cls.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise MimicaError(f"{path}: invalid config: {where}: {first['msg']}") from err


def load_config(path: str | Path) -> TrainConfig:
    """The blend detector's recipe; relative paths are taken from the repository root."""
    raw = resolve_paths(read_toml(path), path, ("real_faces", "videos", "forged"),
                        ("cache_dir", "out_dir", "init_from", "resume_from_shipped"))
    return validated(TrainConfig, raw, Path(path))
