"""Training data: cached crops of real faces, turned into (real, pseudo-fake) pairs on the fly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray

from mimica.align import AlignRecipe
from mimica.datasets import MediaItem, identity_split, load_dataset
from mimica.train.augment import DEFAULT_AUG, FormatAugment, centre_crop, crop_windows, degrade
from mimica.train.config import TrainConfig
from mimica.train.patches import cut, patch_corner, real_corner
from mimica.train.prepare import PrepareConfig, load_shards, prepare
from mimica.train.sbi import hull_mask, self_blend


@dataclass
class CropSet:
    """Crops with their landmarks and, per crop, the media item it came from."""

    crops: NDArray[np.uint8]
    mesh: NDArray[np.float16]
    item: NDArray[np.int64]
    time: NDArray[np.float32]
    main: NDArray[np.bool_]  # the largest face of its frame
    items: list[dict]

    def concat(self, other: CropSet) -> CropSet:
        """Both sets' crops, self's first (the same `items` list)."""
        return CropSet(np.concatenate([self.crops, other.crops]), np.concatenate([self.mesh, other.mesh]),
                       np.concatenate([self.item, other.item]), np.concatenate([self.time, other.time]),
                       np.concatenate([self.main, other.main]), self.items)

    def select(self, mask: NDArray[np.bool_]) -> CropSet:
        return CropSet(self.crops[mask], self.mesh[mask], self.item[mask], self.time[mask], self.main[mask],
                       self.items)

    def center(self, size: int) -> CropSet:
        """The centre size x size of every crop (landmarks moved with it): crops are cached with a wider
        margin than the network sees, so training can jitter the window and validation takes the middle."""
        o = (self.crops.shape[1] - size) // 2
        if o <= 0:
            return self
        return CropSet(centre_crop(self.crops, size), (self.mesh.astype(np.float32) - o).astype(np.float16),
                       self.item, self.time, self.main, self.items)

    def field(self, key: str) -> NDArray:
        return np.array([self.items[i][key] for i in self.item])


def _main_faces(item: NDArray, time: NDArray, area: NDArray) -> NDArray[np.bool_]:
    main = np.zeros(len(item), bool)
    order = np.lexsort((-area, time, item))
    seen: set[tuple[int, float]] = set()
    for i in order:
        key = (int(item[i]), float(time[i]))
        if key not in seen:
            seen.add(key)
            main[i] = True
    return main


@dataclass
class TrainData:
    real_train: CropSet  # reals that become pairs
    real_video_train: CropSet  # the subset of real_train cut from videos (partners of labelled fakes)
    fake_train: CropSet  # labelled fakes (empty unless configured)
    val_videos: CropSet  # main faces of the validation split's videos, real and fake
    val_faces: CropSet  # held-out real photos, for the pseudo-fake validation AUC


def build_data(cfg: TrainConfig, progress=None) -> TrainData:  # type: ignore[no-untyped-def]
    photos: list[MediaItem] = [it for d in cfg.real_faces for it in load_dataset(d, "faces")]
    videos: list[MediaItem] = [it for d in cfg.videos + cfg.forged for it in load_dataset(d)]
    train_v, val_v = identity_split(videos, cfg.val_fraction, cfg.split_seed) if videos else ([], [])
    pcfg = PrepareConfig(AlignRecipe(cfg.crop_size, cfg.crop_margin), cfg.frames)
    files = prepare(photos + videos, cfg.cache_dir, pcfg, workers=cfg.threads, progress=progress)
    d, items = load_shards(files)
    cs = CropSet(d["crops"], d["mesh"], d["item"].astype(np.int64), d["time"],
                 _main_faces(d["item"], d["time"], d["area"]), items)
    val_paths = {it.path for it in val_v}
    train_paths = {it.path for it in train_v}
    path = cs.field("path")
    label = cs.field("label").astype(int)
    is_photo = cs.field("dataset") == "faces"
    photo_val = np.array(["/val/" in p for p in path]) & is_photo  # FairFace's own val folder
    in_train = np.isin(path, list(train_paths))
    in_val = np.isin(path, list(val_paths))
    return TrainData(
        real_train=cs.select((is_photo & ~photo_val) | (in_train & (label == 0))),
        real_video_train=cs.select(in_train & (label == 0)),
        fake_train=cs.select(in_train & (label == 1) & cs.main) if cfg.use_labelled_fakes or cfg.forged
        else cs.select(np.zeros(len(path), bool)),
        val_videos=cs.select(in_val & cs.main).center(cfg.size),
        val_faces=cs.select(photo_val),
    )


@dataclass
class Pair:
    """One training pair before stacking: (real, fake) images as the network sees them (uint8 HWC) and, for a
    patch pair, the guide each patch was placed by, cut and flipped with it: the real's face hull and the
    fake's blend mask (a labelled fake's face hull); None for a face-level pair."""

    images: tuple[NDArray[np.uint8], NDArray[np.uint8]]
    guides: tuple[NDArray[np.float32] | None, NDArray[np.float32] | None] = (None, None)


class PairDataset(torch.utils.data.Dataset):
    """Item i: (real face i, a fake) as uint8 (2, 3, s, s) and labels (0, 1). The fake is a self-blended
    version of face i, or with probability `p_labelled` a labelled fake paired with a real face cut from a
    video (not a photo: the pair must differ only by the manipulation, not by photo-versus-video). With
    probability `p_video_real` face i is swapped for a random face cut from a training video before blending:
    video frames are few beside the photos, and the scan sees video frames. Both sides get the same kinds of
    degradation and flips.

    With `patch` > 0 (the patch-level recipe, mimica.train.patches) each side is then cut to a `patch` x `patch`
    window of its `size` view: a self-blended fake's across its blend mask's boundary (the mask goes through
    the same crop window), a real's (and a labelled fake's) on the face hull of its landmarks; the flip and the
    degradations come after the cut, as for whole faces."""

    def __init__(self, reals: CropSet, fakes: CropSet | None = None, p_labelled: float = 0.5, seed: int = 0,
                 video_reals: CropSet | None = None, size: int | None = None, aug: FormatAugment = DEFAULT_AUG,
                 p_video_real: float = 0.0, patch: int = 0):
        self.reals = reals
        usable = fakes is not None and len(fakes.crops) and video_reals is not None and len(video_reals.crops)
        self.fakes = fakes if usable else None
        self.video_reals = video_reals
        self.p_labelled = p_labelled
        self.p_video_real = p_video_real if video_reals is not None and len(video_reals.crops) else 0.0
        self.seed = seed
        self.epoch = 0
        self.size = size or reals.crops.shape[1]
        self.aug = aug
        self.patch = patch

    def __len__(self) -> int:
        return len(self.reals.crops)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        pair = self.draw(i)
        return torch.from_numpy(np.stack([im.transpose(2, 0, 1) for im in pair.images])), torch.tensor([0.0, 1.0])

    def draw(self, i: int) -> Pair:
        """Item i's pair, seeded by (seed, epoch, i): the same pair whenever it is drawn in an epoch."""
        rng = np.random.default_rng((self.seed, self.epoch, i))
        real, real_mesh = self.reals.crops[i], self.reals.mesh[i]
        if self.fakes is not None and self.video_reals is not None and rng.random() < self.p_labelled:
            k = rng.integers(len(self.fakes.crops))
            fake, fake_mesh, mask = self.fakes.crops[k], self.fakes.mesh[k], None
            j = rng.integers(len(self.video_reals.crops))
            real, real_mesh = self.video_reals.crops[j], self.video_reals.mesh[j]
        elif self.p_video_real and self.video_reals is not None and rng.random() < self.p_video_real:
            j = rng.integers(len(self.video_reals.crops))
            real, real_mesh = self.video_reals.crops[j], self.video_reals.mesh[j]
            fake_mesh = real_mesh
            fake, mask = self_blend(real, real_mesh.astype(np.float32), rng)
        else:
            fake_mesh = real_mesh
            fake, mask = self_blend(real, real_mesh.astype(np.float32), rng)
        views = [self._view(real, real_mesh, None, rng), self._view(fake, fake_mesh, mask, rng)]
        return Pair((views[0][0], views[1][0]), (views[0][1], views[1][1]))

    def _view(self, img: NDArray[np.uint8], mesh: NDArray, mask: NDArray[np.float32] | None,
              rng: np.random.Generator) -> tuple[NDArray[np.uint8], NDArray[np.float32] | None]:
        """What the network sees of one side: the crop window, for a patch pair the patch (a blend `mask`
        places a fake's; the face hull of `mesh` a real's), then the flip and the degradations."""
        guide = None
        if not self.patch:
            (img,) = crop_windows([img], self.size, rng, self.aug)
        else:
            hull = mask is None
            ref = hull_mask(mesh.astype(np.float32), img.shape[0]) if mask is None else mask
            img, ref = crop_windows([img, ref], self.size, rng, self.aug)
            corner = real_corner(ref > 0.5, self.patch, rng) if hull else patch_corner(ref, self.patch, rng)
            img, guide = cut(img, corner, self.patch), cut(ref, corner, self.patch)
        if rng.random() < 0.5:
            img = img[:, ::-1]
            guide = guide[:, ::-1] if guide is not None else None
        out = np.ascontiguousarray(degrade(np.ascontiguousarray(img), rng, self.aug))
        return out, None if guide is None else np.ascontiguousarray(guide)


def sbi_validation_set(faces: CropSet, seed: int = 1234, size: int | None = None
                       ) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """Fixed pseudo-fakes of held-out photos (same every epoch) beside the photos themselves, centre-cropped
    to the network's input `size`."""
    rng = np.random.default_rng(seed)
    if not len(faces.crops):  # no held-out photos (a config without real_faces): no pseudo-fake validation
        return faces.crops[:0], np.zeros(0, np.int64)
    fakes = np.stack([self_blend(c, m.astype(np.float32), rng)[0] for c, m in zip(faces.crops, faces.mesh,
                                                                                   strict=True)])
    x = np.concatenate([faces.crops, fakes])
    if size is not None:
        x = centre_crop(x, size)
    y = np.concatenate([np.zeros(len(faces.crops)), np.ones(len(fakes))]).astype(np.int64)
    return x, y


def worker_init(_: int) -> None:
    # cv2.setNumThreads must not be called here: OpenCV's thread pool deadlocks in a forked child.
    # `train` sets it to 1 in the parent before the loader forks.
    torch.set_num_threads(1)


def to_input(x: torch.Tensor) -> torch.Tensor:
    """uint8 NCHW -> the normalisation the model card records (mean 0.5, std 0.5 on 0..1)."""
    return (x.float() / 255.0 - 0.5) / 0.5


def is_cache_dir(p: Path) -> bool:
    return p.is_dir() and any(p.glob("*.npz"))
