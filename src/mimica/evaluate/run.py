"""Evaluate a detector on a dataset folder: index it, pick the split, scan every video, compute the report.

Built only from public parts (`mimica.datasets.load_dataset`, `mimica.scan.Scanner`, `evaluate_records`), so a
power user can run the same steps in a loop of their own, e.g. to cache the records and re-score them later.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from mimica.datasets import MediaItem, detect_layout, load_dataset, select_split
from mimica.errors import MimicaError
from mimica.evaluate.errors import EvaluationError
from mimica.evaluate.metrics import N_BOOT
from mimica.evaluate.report import EvalReport, VideoRecord, evaluate_records
from mimica.models.registry import DEFAULT_MODEL
from mimica.scan.result import ScanResult, Track

Progress = Callable[[str, int, int], None]


class ScannerLike(Protocol):
    def scan(self, path: str) -> ScanResult: ...


def main_track(tracks: list[Track]) -> Track | None:
    """The main face: the longest track (most sampled frames), ties broken by the larger mean box. In FF++ and
    Celeb-DF only this face is manipulated, and DeepfakeBench's protocol likewise keeps one face per frame."""

    def key(t: Track) -> tuple[int, float]:
        areas = [(d.box[2] - d.box[0]) * (d.box[3] - d.box[1]) for d in t.detections]
        return len(t.detections), float(np.mean(areas)) if areas else 0.0

    return max((t for t in tracks if t.detections), key=key, default=None)


def record_from_scan(result: ScanResult, item: MediaItem) -> VideoRecord:
    """One evaluation record: frame scores = the main track's face crops, video score = their mean."""
    if result.verdict == "error":
        return _record(item, error=result.error or "scan error")
    track = main_track(result.tracks)
    if track is None:
        return _record(item, error="no face found")
    probs = [d.probability for d in track.detections]
    rec = _record(item, frame_probs=probs, probability=float(np.mean(probs)))
    rec.detectors = {d.name: d.probability for d in track.detectors}
    rec.fake_thresholds = {d.name: d.fake_threshold for d in track.detectors if d.fake_threshold is not None}
    if track.detectors:
        rec.fused, rec.fused_verdict = track.probability, track.verdict
    return rec


def _record(item: MediaItem, frame_probs: list[float] | None = None, probability: float | None = None,
            error: str = "") -> VideoRecord:
    return VideoRecord(path=item.path, label=item.label, method=item.method, compression=item.compression,
                       frame_probs=frame_probs or [], probability=probability, error=error)


def create_scanner(model: str = DEFAULT_MODEL, frames: int = 32) -> ScannerLike:
    """The scan pipeline, imported late: evaluation is an optional extra and the CLI starts without it."""
    try:
        from mimica.scan import Scanner  # type: ignore[attr-defined]
    except ImportError as err:
        raise EvaluationError(f"the scan pipeline (mimica.scan.Scanner) cannot be imported: {err}") from err
    return Scanner(model=model, frames=frames)


def _card_threshold(model: str) -> float | None:
    try:
        from mimica.models import load_model

        return float(load_model(model).card.thresholds.fake)
    except (MimicaError, ImportError, AttributeError):
        return None


def score_dataset(
    root: str | Path,
    model: str = DEFAULT_MODEL,
    frames: int = 32,
    split: str = "val",
    layout: str = "auto",
    progress: Progress | None = None,
    scanner: ScannerLike | None = None,
) -> tuple[list[VideoRecord], float | None]:
    """Scan every video of a split; returns the records and the model's fake threshold (from the scans).

    A video that fails (unreadable, no face) becomes a record with `error` set, reported as skipped, instead
    of ending an evaluation that may run for hours.
    """
    items = select_split(load_dataset(root, layout), split)
    if not items:
        raise EvaluationError(f"{root}: the {split} split is empty; try --split all")
    scanner = scanner or create_scanner(model, frames)
    records, threshold = [], None
    for i, item in enumerate(items):
        if progress:
            progress("scan", i, len(items))
        try:
            result = scanner.scan(item.path)
        except MimicaError as err:
            records.append(_record(item, error=str(err)))
            continue
        if threshold is None and "fake" in result.thresholds:
            threshold = float(result.thresholds["fake"])
        records.append(record_from_scan(result, item))
    if progress:
        progress("scan", len(items), len(items))
    return records, threshold


def evaluate_dataset(
    root: str | Path,
    model: str = DEFAULT_MODEL,
    frames: int = 32,
    split: str = "val",
    layout: str = "auto",
    progress: Progress | None = None,
    threshold: float | None = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
    scanner: ScannerLike | None = None,
) -> EvalReport:
    """Video- and frame-level AUC, EER, AP, accuracy, precision and recall (95% bootstrap intervals) of
    `model` on one split of a dataset folder.

    `split`: "val" (the identity-disjoint validation split, the one the shipped model never trained on),
    "train", "test" (the dataset's official test list, e.g. Celeb-DF's) or "all". `frames`: frames sampled per
    video (32 in the field's protocol). `threshold`: where accuracy, precision and recall are measured; by
    default the model card's fake threshold. `progress(stage, done, total)` is called as videos are scanned.
    `scanner`: any object with `.scan(path) -> ScanResult`, instead of `mimica.scan.Scanner(model, frames)`.
    """
    if layout == "auto" and Path(root).is_dir():
        layout = detect_layout(Path(root))  # once, here, so that the report can name it
    records, scan_threshold = score_dataset(root, model, frames, split, layout, progress, scanner)
    if threshold is None:
        threshold = scan_threshold if scan_threshold is not None else _card_threshold(model)
    return evaluate_records(
        records, 0.5 if threshold is None else threshold, n_boot=n_boot, seed=seed,
        dataset=str(root), layout=layout, split=split, model=model, frames=frames,
    )
