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

Log = Callable[[str], None]


def _save(obj: dict, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


@torch.no_grad()
def predict_logits(model: torch.nn.Module, crops: np.ndarray, batch: int = 128) -> np.ndarray:
    model.eval()
    out = [model(to_input(torch.from_numpy(np.ascontiguousarray(crops[i : i + batch].transpose(0, 3, 1, 2)))))
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
    logits = predict_logits(model, data.val_videos.crops)
    v = video_scores(data.val_videos, logits)
    out: dict = {"video_auc": _auc(v["label"], v["score"]),
                 "frame_auc": _auc(data.val_videos.field("label").astype(int), logits)}
    for c in np.unique(v["compression"]):
        sel = v["compression"] == c
        out[f"video_auc_{c}"] = _auc(v["label"][sel], v["score"][sel])
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


def train(cfg: TrainConfig, log: Log = print, resume: bool = True) -> Path:
    """Runs the recipe; returns the folder with best.pt. Export and calibration are in `export.py`."""
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    cv2.setNumThreads(1)  # before the data loader forks (see data.worker_init)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(cfg.model_dump_json(indent=2))
    log("preparing face crops (cached, resumable)")
    data = build_data(cfg, progress=lambda a, b: log(f"  prepared {a}/{b} shards") if a == b else None)
    log(f"train reals {len(data.real_train.crops)}, labelled fakes {len(data.fake_train.crops)}, "
        f"val video faces {len(data.val_videos.crops)}, val photos {len(data.val_faces.crops)}")
    if not len(data.real_train.crops):
        raise MimicaError("no real faces to train on: the config's real_faces, videos and forged datasets gave "
                          "no training-split face; check the paths and val_fraction")
    rng = np.random.default_rng(cfg.seed)
    val_faces = data.val_faces.select(rng.permutation(len(data.val_faces.crops)) < 1000)
    sbi_val = sbi_validation_set(val_faces)

    model = create_net(cfg.net).to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    if cfg.init_from:
        model.load_state_dict(torch.load(cfg.init_from, weights_only=False)["model"])
        log(f"initialised from {cfg.init_from}")
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    ds = PairDataset(data.real_train, data.fake_train, p_labelled=cfg.p_labelled, seed=cfg.seed,
                     video_reals=data.real_video_train)
    steps_per_epoch = len(ds) // cfg.batch_size
    total_steps = cfg.epochs * steps_per_epoch
    start_epoch, best, best_epoch, spent, global_step = 0, -1.0, -1, 0.0, 0
    last = out / "last.pt"
    if resume and last.exists():
        ck = torch.load(last, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        start_epoch, best, best_epoch, spent = ck["epoch"] + 1, ck["best"], ck["best_epoch"], ck["spent"]
        global_step = ck["step"]
        log(f"resumed after epoch {ck['epoch']} (best video AUC {best:.4f} at epoch {best_epoch})")

    for epoch in range(start_epoch, cfg.epochs):
        if spent / 60 >= cfg.max_minutes:
            log(f"time budget of {cfg.max_minutes} min used; stopping")
            break
        if epoch - best_epoch > cfg.patience and best_epoch >= 0:
            log(f"no improvement for {cfg.patience} epochs; early stop")
            break
        ds.epoch = epoch
        loader = torch.utils.data.DataLoader(ds, cfg.batch_size, shuffle=True, drop_last=True, num_workers=1,
                                             worker_init_fn=worker_init,
                                             generator=torch.Generator().manual_seed(cfg.seed + epoch))
        model.train()
        t0 = time.time()
        losses = []
        lr = opt.param_groups[0]["lr"]
        for step, (x, y) in enumerate(loader):
            x = to_input(x.flatten(0, 1)).contiguous(memory_format=torch.channels_last)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), y.flatten())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            global_step += 1
            lr = set_lr(opt, cfg.lr, max(global_step / total_steps, (spent + time.time() - t0) / 60 / cfg.max_minutes))
            losses.append(loss.item())
            if step % 50 == 0:
                el = time.time() - t0
                eta = el / (step + 1) * (steps_per_epoch - step - 1)
                log(f"epoch {epoch} step {step}/{steps_per_epoch} loss {np.mean(losses[-50:]):.4f} "
                    f"lr {lr:.5f} eta {eta / 60:.1f} min")
            if (spent + time.time() - t0) / 60 >= cfg.max_minutes:
                break
        spent += time.time() - t0
        metrics = validate(model, data, sbi_val)
        score = metrics["video_auc"] if metrics["video_auc"] is not None else metrics["sbi_auc"] or 0.0
        rec = {"epoch": epoch, "loss": float(np.mean(losses)), "minutes": spent / 60, **metrics}
        with open(out / "log.jsonl", "a") as f:
            f.write(json.dumps(rec) + "\n")
        log(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in rec.items()))
        if score > best:
            best, best_epoch = score, epoch
            _save({"model": model.state_dict(), "epoch": epoch, "metrics": metrics, "net": cfg.net}, out / "best.pt")
        _save({"model": model.state_dict(), "opt": opt.state_dict(), "step": global_step, "epoch": epoch,
               "best": best, "best_epoch": best_epoch, "spent": spent}, last)
    log(f"best epoch {best_epoch} with validation video AUC {best:.4f}")
    return out
