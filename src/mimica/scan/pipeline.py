"""The scan: media -> frames -> faces -> tracks -> aligned crops -> model -> scores -> verdict.

Built only from the public stages, so a power user can run the same steps in a loop of their own.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from mimica.align import crop_faces, transform_points
from mimica.errors import MimicaError
from mimica.faces import FaceDetector, IoUTracker, create_detector
from mimica.media import DecodeStats, MediaInfo, find_media, probe, sample_frames
from mimica.media.prefetch import prefetch
from mimica.models import DEFAULT_MODEL, Classifier, load_model
from mimica.scan.aggregate import file_probability, main_tracks, reason_of, track_probability, verdict_of
from mimica.scan.result import Detection, FrameCounts, MediaFacts, ModelRef, ScanResult, Track, Verdict

#: progress(stage, done, total): stages are "frames" (total = frames to sample) and "done"
Progress = Callable[[str, int, int], None]

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
    """Scans files with one detector and one model, loaded once.

    frames: how many frames to sample evenly over a video (more: steadier verdict, proportionally slower).
    threshold: a single decision threshold replacing the model card's two (no `uncertain` band).
    provenance: also look for marks of synthetic origin (watermark, C2PA, IPTC metadata).
    """

    def __init__(
        self,
        model: str | Path | Classifier = DEFAULT_MODEL,
        frames: int = 32,
        detector: str | FaceDetector = "mediapipe",
        threshold: float | None = None,
        provenance: bool = True,
        threads: int = 2,
    ) -> None:
        if frames < 1:
            raise MimicaError(f"--frames must be at least 1, got {frames}")
        if threshold is not None and not 0 <= threshold <= 1:
            raise MimicaError(f"--threshold must be between 0 and 1, got {threshold}")
        self.classifier = model if isinstance(model, Classifier) else load_model(model, threads=threads)
        self.detector = create_detector(detector) if isinstance(detector, str) else detector
        self.frames = frames
        card = self.classifier.card.thresholds
        self.thresholds = (threshold, threshold) if threshold is not None else (card.real, card.fake)
        #: read from whichever card is loaded: the words of every verdict depend on it
        self.reliability = self.classifier.card.reliability()
        self.provenance = provenance

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

    def _scan(self, path: str | Path, progress: Progress | None, thumbnails: bool) -> tuple[ScanResult, Evidence]:
        p = Path(path)
        timings: dict[str, float] = defaultdict(float)
        t_start = time.perf_counter()
        info = probe(p)
        stats = DecodeStats()
        tracker = IoUTracker()
        evidence = Evidence(self.classifier, info)
        recipe = self.classifier.recipe
        dets: dict[int, list[Detection]] = defaultdict(list)
        pending: list[tuple[int, dict]] = []  # (track id, detection fields) of each crop, scored after the loop
        batches: list[NDArray[np.uint8]] = []
        meshes: list[NDArray[np.float32]] = []  # each crop's landmarks in crop pixels
        frames_seen: list[NDArray[np.uint8]] = []
        n_target = 1 if info.kind == "image" else self.frames
        t = time.perf_counter()
        # timings["decode"] is the time this loop waited for frames: decoding that did not overlap the rest
        for k, frame in enumerate(prefetch(sample_frames(p, n_target, stats))):
            timings["decode"] += time.perf_counter() - t
            t = time.perf_counter()
            faces = tracker.update(self.detector.detect(frame.image))
            timings["faces"] += time.perf_counter() - t
            t = time.perf_counter()
            crops, mats = crop_faces(frame.image, faces.points5, recipe)
            meshes += [transform_points(faces.mesh[i], mats[i]) for i in range(len(faces))]
            timings["align"] += time.perf_counter() - t
            for i in range(len(faces)):
                pending.append((int(faces.track_id[i]), {
                    "time_s": round(frame.time_s, 4), "frame_index": frame.index,
                    "box": tuple(round(float(v), 1) for v in faces.xyxy[i]),
                    "detector_score": round(float(faces.score[i]), 4),
                }))
            batches.append(crops)
            if self.provenance:  # kept for the watermark test; 4K and larger halved to bound memory (<= 200 MB)
                frames_seen.append(_thumbnail(frame.image, PROVENANCE_MAX_SIDE))
            if thumbnails:  # only reports use them; a plain scan skips the resize
                evidence.thumbnails.append((frame.time_s, _thumbnail(frame.image)))
            if progress:
                progress("frames", k + 1, n_target)
            t = time.perf_counter()
        timings["decode"] += time.perf_counter() - t

        # one batch for the whole file: the model costs ~1.7 ms a crop in batch, several times more one by one
        t = time.perf_counter()
        all_crops = np.concatenate(batches) if batches else np.zeros((0, recipe.size, recipe.size, 3), np.uint8)
        probs = self.classifier.predict(all_crops)
        timings["classify"] = time.perf_counter() - t
        for (tid, fields), prob_i, crop, mesh in zip(pending, probs, all_crops, meshes, strict=True):
            dets[tid].append(Detection(probability=float(prob_i), **fields))
            evidence.crops.setdefault(tid, []).append(crop)
            evidence.landmarks.setdefault(tid, []).append(mesh)
        del batches, all_crops, meshes

        real_t, fake_t = self.thresholds
        tracks, crops_by_track, marks_by_track = [], {}, {}
        # number tracks 0, 1, ... in order of first appearance
        for new_id, tid in enumerate(sorted(dets, key=lambda i: dets[i][0].time_s)):
            track_p = track_probability([d.probability for d in dets[tid]])
            tracks.append(Track(id=new_id, verdict=verdict_of(track_p, real_t, fake_t), probability=track_p,
                                detections=dets[tid]))
            crops_by_track[new_id] = evidence.crops[tid]
            marks_by_track[new_id] = evidence.landmarks[tid]
        evidence.crops, evidence.landmarks = crops_by_track, marks_by_track

        provenance: dict = {}
        if self.provenance:
            t = time.perf_counter()
            provenance = _inspect_provenance(p, frames_seen)
            timings["provenance"] = time.perf_counter() - t
        del frames_seen

        prob, top = file_probability(tracks, info.kind == "video")
        counted = {t.id for t in main_tracks(tracks, info.kind == "video")}
        for tr in tracks:
            tr.counted = tr.id in counted
        verdict: Verdict
        words = ""  # derived from the verdict and the reliability unless provenance proves synthesis
        if prob is None or top is None:
            verdict, reason = "no-face", "no face was found in the sampled frames"
        else:
            verdict = verdict_of(prob, real_t, fake_t)
            reason = reason_of(top, tracks, info.kind == "video", stats.sampled)
        watermark = provenance.get("watermark") or {}
        if watermark.get("detected"):
            # the mark is proof of synthesis: the file's probability is the test's confidence, the classifier's
            # view stays in the reason and the tracks
            mark = WATERMARK_REASON + (", mirrored after marking" if watermark.get("mirrored") else "")
            verdict, reason = "fake", mark + (f"; the model alone scored it {prob:.2f} ({reason})" if prob is not None
                                              else "")
            words = "fake"  # proof of synthesis, not a model judgement: no "leans"
            prob = max(prob or 0.0, float(watermark.get("confidence", 1.0)))
        timings["total"] = time.perf_counter() - t_start
        result = ScanResult(
            path=str(p), verdict=verdict, verdict_text=words, probability=prob, reason=reason,
            thresholds={"real": real_t, "fake": fake_t},
            frames=FrameCounts(sampled=stats.sampled, decoded=stats.decoded, failed=stats.failed),
            tracks=tracks, provenance=provenance,
            model=ModelRef(name=self.classifier.card.name, version=self.classifier.card.version),
            reliability=self.reliability,
            media=MediaFacts(kind=info.kind, container=info.container, codec=info.codec, width=info.width,
                             height=info.height, duration_s=info.duration_s, fps=info.fps),
            timings_s={k: round(v, 4) for k, v in timings.items()},
        )
        if progress:
            progress("done", 1, 1)
        return result, evidence


def _thumbnail(img: NDArray[np.uint8], side: int = 320) -> NDArray[np.uint8]:
    import cv2

    h, w = img.shape[:2]
    s = side / max(h, w)
    if s >= 1:
        return img
    return np.asarray(cv2.resize(img, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA), np.uint8)


def _inspect_provenance(path: Path, frames: list[NDArray[np.uint8]]) -> dict:
    try:
        from mimica.provenance import inspect
    except ImportError:  # provenance reading not available in this install
        return {}
    return inspect(path, frames=frames)
