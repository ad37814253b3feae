"""The scan: media -> frames -> faces -> tracks -> aligned crops -> detectors -> scores -> fused verdict.

Built only from the public stages, so a power user can run the same steps in a loop of their own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from mimica.errors import MimicaError
from mimica.faces import FaceDetector, create_detector
from mimica.media import MediaInfo, find_media, probe
from mimica.models import DEFAULT_MODEL, Classifier
from mimica.models.detectors import Detector, TrackScore, companions, load_detector
from mimica.scan.aggregate import main_tracks, reason_of
from mimica.scan.collect import Progress, collect, shrink
from mimica.scan.fuse import detector_verdict, fuse, weakest_reliability
from mimica.scan.result import (
    Detection,
    DetectorVerdict,
    FrameCounts,
    MediaFacts,
    ModelRef,
    ScanResult,
    Track,
    Verdict,
)

__all__ = ["Evidence", "Progress", "Scanner"]

#: frames kept for the watermark test are at most this wide; the mark is specified to survive a 0.5x downscale
PROVENANCE_MAX_SIDE = 1920

WATERMARK_REASON = "carries mimica's synthetic-media watermark (made by a face-swap tool)"


@dataclass
class Evidence:
    """What a report needs beyond the JSON: the aligned crops, per track in the order of its detections, with
    their dense landmarks in crop pixels (the face outline for heatmaps), small copies of the sampled frames,
    and the classifier that scored them."""

    classifier: Classifier
    media: MediaInfo | None = None
    crops: dict[int, list[NDArray[np.uint8]]] = field(default_factory=dict)
    landmarks: dict[int, list[NDArray[np.float32]]] = field(default_factory=dict)
    thumbnails: list[tuple[float, NDArray[np.uint8]]] = field(default_factory=list)


class Scanner:
    """Scans files with one face detector and several deepfake detectors, loaded once.

    detectors: the detectors to run (registry names, card paths or loaded objects); by default `model` and every
        other shipped detector marked default (mimica.models.detectors.default_detectors).
    model: the first detector, the blend detector: its crops make the report's heatmaps.
    frames: how many frames to sample evenly over a video (more: steadier verdict, proportionally slower).
    threshold: a single decision threshold replacing every detector's two (no `uncertain` band).
    provenance: also look for marks of synthetic origin (watermark, C2PA, IPTC metadata).
    """

    def __init__(
        self,
        model: str | Path | Classifier | Detector = DEFAULT_MODEL,
        frames: int = 32,
        detector: str | FaceDetector = "mediapipe",
        threshold: float | None = None,
        provenance: bool = True,
        threads: int = 2,
        detectors: Sequence[str | Path | Classifier | Detector] | None = None,
    ) -> None:
        if frames < 1:
            raise MimicaError(f"--frames must be at least 1, got {frames}")
        if threshold is not None and not 0 <= threshold <= 1:
            raise MimicaError(f"--threshold must be between 0 and 1, got {threshold}")
        if detectors is None:
            first = load_detector(model, threads)
            self.detectors = [first] + [load_detector(n, threads) for n in companions(first.name)]
        else:
            if not detectors:
                raise MimicaError("a scan needs at least one detector")
            self.detectors = [load_detector(d, threads) for d in detectors]
        names = [d.name for d in self.detectors]
        if len(set(names)) != len(names):
            raise MimicaError(f"a detector is named twice: {names}")
        if self.detectors[0].card.detector.faces_per_track:
            raise MimicaError(f"{names[0]}: the first detector scores every face (its heatmaps and timeline); "
                              "put a detector with faces_per_track after it")
        self.classifier = self.detectors[0].classifier
        self.detector = create_detector(detector) if isinstance(detector, str) else detector
        self.frames = frames
        self.threshold = threshold
        card = self.classifier.card.thresholds
        self.thresholds = (threshold, threshold) if threshold is not None else (card.real, card.fake)
        #: read from whichever card is loaded: the words of every verdict depend on it
        self.reliability = self.classifier.card.reliability()
        self.provenance = provenance

    def thresholds_of(self, det: Detector) -> tuple[float, float]:
        if self.threshold is not None:
            return self.threshold, self.threshold
        return det.card.thresholds.real, det.card.thresholds.fake

    def scan(self, path: str | Path, progress: Progress | None = None) -> ScanResult:
        """Scans one file; raises MimicaError when it cannot be scanned at all."""
        return self._scan(path, progress, thumbnails=False)[0]

    def scan_all(self, path: str | Path, progress: Progress | None = None) -> Iterator[ScanResult]:
        """A file or every media file under a folder; a file that fails gives a result with verdict `error`,
        and the others go on."""
        for f in find_media(path):
            try:
                yield self.scan(f, progress)
            except MimicaError as err:
                yield ScanResult(path=str(f), verdict="error", error=str(err))

    def scan_evidence(self, path: str | Path, progress: Progress | None = None) -> tuple[ScanResult, Evidence]:
        """The result and what a report needs besides it (crops per track, frame thumbnails)."""
        return self._scan(path, progress, thumbnails=True)

    def _finding(self, det: Detector, probability: float | None) -> DetectorVerdict:
        spec = det.card.detector
        return detector_verdict(det.name, spec.label, probability, self.thresholds_of(det), spec.says,
                                det.reliability)

    def _scan(self, path: str | Path, progress: Progress | None, thumbnails: bool) -> tuple[ScanResult, Evidence]:
        p = Path(path)
        t_start = time.perf_counter()
        info = probe(p)
        keep = (lambda img: shrink(img, PROVENANCE_MAX_SIDE)[0]) if self.provenance else None
        got = collect(p, self.detector, self.frames, [d.recipe for d in self.detectors], progress, keep=keep,
                      thumbnails=thumbnails, info=info)
        timings = got.timings
        order = sorted(got.tracks, key=lambda i: got.tracks[i].times[0])  # tracks 0, 1, ... by first appearance
        # one batch per detector for the whole file: a model costs a few ms a crop in batch, more one by one
        t = time.perf_counter()
        scores: dict[int, dict[str, TrackScore]] = {tid: {} for tid in order}
        for det in self.detectors:
            picks = [det.pick(len(got.tracks[tid])) for tid in order]
            parts = [got.tracks[tid].crops_of(det.recipe)[pick] for tid, pick in zip(order, picks, strict=True)]
            logits = det.logits(np.concatenate(parts) if parts else np.zeros((0, det.recipe.size,
                                                                              det.recipe.size, 3), np.uint8))
            at = 0
            for tid, part, pick in zip(order, parts, picks, strict=True):
                scores[tid][det.name] = det.judge(got.tracks[tid], logits[at : at + len(part)], pick, got)
                at += len(part)
        timings["classify"] = time.perf_counter() - t

        first = self.detectors[0]
        evidence = Evidence(self.classifier, info, thumbnails=got.thumbnails)
        tracks = []
        for new_id, tid in enumerate(order):
            tr, by_det = got.tracks[tid], scores[tid]
            faces = {n: s.by_face() for n, s in by_det.items()}
            dets = [Detection(time_s=tr.times[k], frame_index=tr.frame_index[k],
                              box=tuple(round(float(v), 1) for v in tr.boxes[k]),  # type: ignore[arg-type]
                              detector_score=round(tr.scores[k], 4), probability=faces[first.name][k],
                              scores={n: round(f[k], 4) for n, f in faces.items() if k in f})
                    for k in range(len(tr))]
            findings = [self._finding(d, by_det[d.name].probability) for d in self.detectors]
            track_p, track_verdict, decided = fuse(findings)
            tracks.append(Track(id=new_id, verdict=track_verdict or "uncertain", probability=track_p or 0.0,
                                detections=dets, detectors=findings, decided_by=decided))
            evidence.crops[new_id] = tr.crops.get(first.recipe, [])
            evidence.landmarks[new_id] = tr.crop_mesh.get(first.recipe, [])

        provenance: dict = {}
        if self.provenance:
            t = time.perf_counter()
            provenance = _inspect_provenance(p, got.kept)
            timings["provenance"] = time.perf_counter() - t
        got.kept.clear()

        is_video = info.kind == "video"
        main = main_tracks(tracks, is_video)
        counted = {t.id for t in main}
        for track in tracks:
            track.counted = track.id in counted
        # each detector over the file: its most suspect main track (a video is as suspect as its most suspect
        # person), then the same fusion as for a track
        file_findings = []
        for i, det in enumerate(self.detectors):
            probs = [q for t in main if (q := t.detectors[i].probability) is not None]
            file_findings.append(self._finding(det, max(probs) if probs else None))
        prob, fused, decided = fuse(file_findings)
        judged = [f for f in file_findings if f.probability is not None]
        reliability = weakest_reliability(file_findings) if judged else self.reliability
        verdict: Verdict
        words = ""  # derived from the verdict and the reliability unless provenance proves synthesis
        thresholds = self.thresholds
        if not main:
            verdict, reason = "no-face", "no face was found in the sampled frames"
        elif fused is None:
            verdict, reason = "uncertain", "faces were found but no detector could judge them"
        else:
            verdict = fused
            top = max((t for t in main if t.decided_by == decided), key=lambda t: t.probability, default=main[0])
            det = next(d for d in self.detectors if d.name == decided)
            thresholds = self.thresholds_of(det)
            how = reason_of(top, tracks, is_video, got.stats.sampled, det.rule)
            reason = f"{how}, by the {det.card.detector.label}"
        watermark = provenance.get("watermark") or {}
        if watermark.get("detected"):
            # the mark is proof of synthesis: the file's probability is the test's confidence, the detectors'
            # view stays in the reason and the tracks
            mark = WATERMARK_REASON + (", mirrored after marking" if watermark.get("mirrored") else "")
            verdict, reason = "fake", mark + (f"; the detectors alone scored it {prob:.2f} ({reason})"
                                              if prob is not None else "")
            words = "fake"  # proof of synthesis, not a model judgement: no "leans"
            prob = max(prob or 0.0, float(watermark.get("confidence", 1.0)))
            decided = "watermark"
        timings["total"] = time.perf_counter() - t_start
        result = ScanResult(
            path=str(p), verdict=verdict, verdict_text=words, probability=prob, reason=reason,
            thresholds={"real": thresholds[0], "fake": thresholds[1]},
            frames=FrameCounts(sampled=got.stats.sampled, decoded=got.stats.decoded, failed=got.stats.failed),
            tracks=tracks, detectors=file_findings, decided_by=decided, provenance=provenance,
            model=ModelRef(name=self.classifier.card.name, version=self.classifier.card.version),
            reliability=reliability,
            media=MediaFacts(kind=info.kind, container=info.container, codec=info.codec, width=info.width,
                             height=info.height, duration_s=info.duration_s, fps=info.fps),
            timings_s={k: round(v, 4) for k, v in timings.items()},
        )
        if progress:
            progress("done", 1, 1)
        return result, evidence


def _inspect_provenance(path: Path, frames: list[NDArray[np.uint8]]) -> dict:
    try:
        from mimica.provenance import inspect
    except ImportError:  # provenance reading not available in this install
        return {}
    return inspect(path, frames=frames)
