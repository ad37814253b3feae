"""`mimica train CONFIG`: the loop, checkpoints and resume, validation each epoch, early stopping, then export.

Resumable: `last.pt` is written after every epoch (atomically) and picked up by the next run with the same
out_dir; `best.pt` holds the epoch with the best validation video-level AUC on FF++ (identity-disjoint split).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from mimica.atomic import atomic_path
from mimica.errors import MimicaError
from mimica.train.config import TrainConfig
from mimica.train.data import (
    CropSet,
    PairDataset,
    TrainData,
    build_data,
    sbi_validation_set,
    to_input,
    worker_init,
)
from mimica.train.net import create_net
from mimica.train.patches import describe, face_model
from mimica.train.pretrained import load_pretrained

Log = Callable[[str], None]


def _save(obj: dict, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


@torch.no_grad()
def predict_logits(model: torch.nn.Module, crops: np.ndarray, batch: int = 128) -> np.ndarray:
    model.eval()
    dev = next(model.parameters()).device
    out = [model(to_input(torch.from_numpy(np.ascontiguousarray(crops[i : i + batch].transpose(0, 3, 1, 2)))
                          .to(dev))).cpu()
           for i in range(0, len(crops), batch)]
    return torch.cat(out).numpy() if out else np.zeros(0, np.float32)


def video_scores(cs: CropSet, frame_scores: np.ndarray) -> dict[str, np.ndarray]:
    """Video-level score = mean of its frames' scores (the scan's aggregation); label, compression per video."""
    vids = np.unique(cs.item)
    score = np.array([frame_scores[cs.item == v].mean() for v in vids])
    return {
        "score": score,
        "label": np.array([cs.items[v]["label"] for v in vids]),
        "compression": np.array([cs.items[v]["compression"] for v in vids]),
        "method": np.array([cs.items[v]["method"] for v in vids]),
        "item": vids,
    }


def _auc(y: np.ndarray, s: np.ndarray) -> float | None:
    return float(roc_auc_score(y, s)) if len(np.unique(y)) == 2 else None


def validate(model: torch.nn.Module, data: TrainData, sbi_val: tuple[np.ndarray, np.ndarray]) -> dict:
    """Video- and frame-level AUC on the identity-disjoint split, per compression and per method (each
    method's fakes against all real videos), and the pseudo-fake AUC on held-out photos beside them."""
    logits = predict_logits(model, data.val_videos.crops)
    v = video_scores(data.val_videos, logits)
    out: dict = {"video_auc": _auc(v["label"], v["score"]),
                 "frame_auc": _auc(data.val_videos.field("label").astype(int), logits)}
    for c in np.unique(v["compression"]):
        sel = v["compression"] == c
        out[f"video_auc_{c}"] = _auc(v["label"][sel], v["score"][sel])
    for m in np.unique(v["method"][v["label"] == 1]):
        sel = (v["label"] == 0) | (v["method"] == m)
        out[f"video_auc_{m}"] = _auc(v["label"][sel], v["score"][sel])
    x, y = sbi_val
    out["sbi_auc"] = _auc(y, predict_logits(model, x)) if len(x) else None
    return out


def set_lr(opt: torch.optim.Optimizer, peak: float, progress: float) -> float:
    """Warm-up then cosine decay over the run's progress, the larger of step and time fractions, so the rate
    anneals fully even when the time budget ends the run before the planned epochs (slow CPUs)."""
    p = min(max(progress, 0.0), 1.0)
    lr = peak * p / 0.05 if p < 0.05 else peak * 0.5 * (1 + np.cos(np.pi * (p - 0.05) / 0.95))
    for g in opt.param_groups:
        g["lr"] = lr
    return float(lr)


def load_data(cfg: TrainConfig, log: Log = print) -> TrainData:
    """The cached crops of the config (prepared first where missing), for training and then for the export."""
    log("preparing face crops (cached, resumable)")
    return build_data(cfg, progress=lambda a, b: log(f"  prepared {a}/{b} shards") if a == b else None)


def build_model(cfg: TrainConfig, log: Log = print) -> torch.nn.Module:
    """The network with its starting weights: ImageNet (cfg.pretrained), a checkpoint (cfg.init_from) or the
    shipped model (cfg.resume_from_shipped), then the first cfg.freeze trunk layers frozen."""
    model = create_net(cfg.net)
    if cfg.pretrained:
        w = load_pretrained(model, cfg.pretrained)
        log(f"backbone initialised from {w.package}=={w.version} ({w.file}, sha256 checked)")
    if cfg.init_from:
        model.load_state_dict(torch.load(cfg.init_from, weights_only=False)["model"])
        log(f"initialised from {cfg.init_from}")
    if cfg.freeze:
        trunk = getattr(model, "trunk", None)
        if trunk is None:
            raise MimicaError(f"freeze = {cfg.freeze}: the network {cfg.net} has no trunk() to freeze")
        for layer in trunk()[: cfg.freeze]:
            for p in layer.parameters():
                p.requires_grad_(False)
    return model


def _frozen_eval(model: torch.nn.Module) -> None:
    """Frozen layers keep their ImageNet batch-norm statistics too."""
    for mod in model.modules():
        if isinstance(mod, torch.nn.BatchNorm2d) and not any(p.requires_grad for p in mod.parameters()):
            mod.eval()


def _shipped_state(cfg: TrainConfig, model: torch.nn.Module) -> dict[str, torch.Tensor]:
    from mimica.models.card import ModelCard
    from mimica.train.export import state_dict_from_onnx

    card_path = Path(cfg.resume_from_shipped)
    card = ModelCard.load(card_path)
    if card.training.get("config", {}).get("net") != cfg.net:
        raise MimicaError(f"{card_path}: the shipped model is a {card.training.get('config', {}).get('net')}, "
                          f"not a {cfg.net}; cannot resume from it")
    try:
        return state_dict_from_onnx(card_path.with_name(card.onnx_file), model)
    except KeyError as err:
        raise MimicaError(str(err.args[0])) from err


def train(cfg: TrainConfig, log: Log = print, resume: bool = True, data: TrainData | None = None) -> Path:
    """Runs the recipe; returns the folder with best.pt. Export and calibration are in `export.py`.

    `last.pt` is written every cfg.checkpoint_minutes and after every epoch; a rerun continues from the step
    it holds (the epoch's sample order is seeded, so the rest of the epoch is exactly what was left)."""
    from mimica.train.export import previous_stage

    previous_stage(cfg)  # a start without a card to name it fails now, not at the export hours later
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    cv2.setNumThreads(1)  # before the data loader forks (see data.worker_init)
    device = torch.device(cfg.device)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(cfg.model_dump_json(indent=2))
    if data is None:
        data = load_data(cfg, log)
    log(f"train reals {len(data.real_train.crops)}, labelled fakes {len(data.fake_train.crops)}, "
        f"val video faces {len(data.val_videos.crops)}, val photos {len(data.val_faces.crops)}")
    if cfg.patch_size:
        log(describe(cfg))
    if not len(data.real_train.crops):
        raise MimicaError("no real faces to train on: the config's real_faces, videos and forged datasets gave "
                          "no training-split face; check the paths and val_fraction")
    rng = np.random.default_rng(cfg.seed)
    val_faces = data.val_faces.select(rng.permutation(len(data.val_faces.crops)) < 1000)
    sbi_val = sbi_validation_set(val_faces, size=cfg.size)

    model = build_model(cfg, log)
    last = out / "last.pt"
    if cfg.resume_from_shipped and not (resume and last.exists()):
        model.load_state_dict(_shipped_state(cfg, model))
        log(f"no checkpoint in {out}: starting from the shipped weights of {cfg.resume_from_shipped}")
    model = model.to(device, memory_format=torch.channels_last)  # type: ignore[call-overload]
    scorer = face_model(model, cfg)  # what validation scores whole crops with: the scan's view of the model
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    ds = PairDataset(data.real_train, data.fake_train, p_labelled=cfg.p_labelled, seed=cfg.seed,
                     video_reals=data.real_video_train, size=cfg.size, p_video_real=cfg.p_video_real,
                     patch=cfg.patch_size)
    steps_per_epoch = len(ds) // cfg.batch_size
    total_steps = cfg.epochs * steps_per_epoch
    start_epoch, start_step, best, best_epoch, spent, global_step = 0, 0, -1.0, -1, 0.0, 0
    if resume and last.exists():
        ck = torch.load(last, weights_only=False, map_location="cpu")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        start_epoch, best, best_epoch, spent = ck["epoch"], ck["best"], ck["best_epoch"], ck["spent"]
        start_step, global_step = ck.get("epoch_step", 0), ck["step"]
        if ck.get("epoch_done", True):
            start_epoch, start_step = start_epoch + 1, 0
        log(f"resumed at epoch {start_epoch} step {start_step}"
            + (f" (best {best:.4f} at epoch {best_epoch})" if cfg.select_on == "video" else ""))

    def checkpoint(epoch: int, epoch_step: int, done: bool) -> None:
        _save({"model": model.state_dict(), "opt": opt.state_dict(), "step": global_step, "epoch": epoch,
               "epoch_step": epoch_step, "epoch_done": done, "best": best, "best_epoch": best_epoch,
               "spent": spent}, last)

    for epoch in range(start_epoch, cfg.epochs):
        if spent / 60 >= cfg.max_minutes:
            log(f"time budget of {cfg.max_minutes} min used; stopping")
            break
        if cfg.select_on == "video" and epoch - best_epoch > cfg.patience and best_epoch >= 0:
            log(f"no improvement for {cfg.patience} epochs; early stop")
            break
        ds.epoch = epoch
        order = torch.randperm(len(ds), generator=torch.Generator().manual_seed(cfg.seed + epoch)).tolist()
        first = start_step if epoch == start_epoch else 0
        batches = [order[i : i + cfg.batch_size] for i in range(0, steps_per_epoch * cfg.batch_size, cfg.batch_size)]
        loader = torch.utils.data.DataLoader(ds, batch_sampler=batches[first:], num_workers=cfg.loader_workers,
                                             worker_init_fn=worker_init, pin_memory=device.type == "cuda",
                                             persistent_workers=False)
        model.train()
        _frozen_eval(model)
        t0 = t_ck = time.time()
        base = spent
        losses = []
        lr = opt.param_groups[0]["lr"]
        step = first
        for step, (x, y) in enumerate(loader, start=first):
            x = to_input(x.flatten(0, 1).to(device, non_blocking=True)).contiguous(memory_format=torch.channels_last)
            y = y.flatten().to(device) * (1 - cfg.label_smoothing) + cfg.label_smoothing / 2
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            global_step += 1
            spent = base + time.time() - t0
            lr = set_lr(opt, cfg.lr, max(global_step / total_steps, spent / 60 / cfg.max_minutes))
            losses.append(loss.item())
            if step % 50 == 0:
                rate = (step + 1 - first) * cfg.batch_size * 2 / max(time.time() - t0, 1e-6)
                eta = (steps_per_epoch - step - 1) * cfg.batch_size * 2 / max(rate, 1e-6)
                log(f"epoch {epoch} step {step}/{steps_per_epoch} loss {np.mean(losses[-50:]):.4f} "
                    f"lr {lr:.6f} {rate:.1f} {'patches' if cfg.patch_size else 'img'}/s, "
                    f"epoch eta {eta / 60:.1f} min, {spent / 60:.1f} min spent")
            if time.time() - t_ck >= cfg.checkpoint_minutes * 60:
                checkpoint(epoch, step + 1, False)
                t_ck = time.time()
            if spent / 60 >= cfg.max_minutes:
                break
        metrics = validate(scorer, data, sbi_val)
        if cfg.select_on == "last":
            score = float(epoch)
        else:
            score = metrics["video_auc"] if metrics["video_auc"] is not None else metrics["sbi_auc"] or 0.0
        rec = {"epoch": epoch, "steps": step + 1, "loss": float(np.mean(losses)) if losses else None,
               "minutes": spent / 60, **metrics}
        with open(out / "log.jsonl", "a") as f:
            f.write(json.dumps(rec) + "\n")
        log(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in rec.items()))
        if score > best:
            best, best_epoch = score, epoch
            _save({"model": model.state_dict(), "epoch": epoch, "metrics": metrics, "net": cfg.net}, out / "best.pt")
        checkpoint(epoch, step + 1, True)
    log(f"best epoch {best_epoch} (selected on {cfg.select_on})")
    return out
