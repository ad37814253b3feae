"""The HTML report: one self-contained file (styles, pictures and plots inline, the JSON result embedded) that a
person can open anywhere, phone included, without network access.

    >>> from mimica.scan.result import ScanResult
    >>> html = render_report(ScanResult(path="clip.mp4", verdict="no-face"))
    >>> "NO FACE" in html and 'type="application/json"' in html
    True
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mimica.atomic import write_atomic
from mimica.errors import MimicaError
from mimica.report import plots, words
from mimica.report.occlusion import PATCH, STRIDE, evidence_maps, face_mask, overlay
from mimica.scan.aggregate import FEW_FACES, MIN_FACES, few, track_note, unmeasured_kinds
from mimica.scan.pipeline import Evidence
from mimica.scan.result import ScanResult, Track

TEMPLATES = Path(__file__).parent / "templates"

#: what each verdict means in the banner, by the verdict's words (`verdict_text` without "(few faces)")
MEANINGS = {
    "fake": "A face in this file is likely manipulated.",
    "leans fake": "A face scored above the model's fake threshold, but this model's measured reliability is weak: "
                  "treat it as a lead to check, not as a finding.",
    "real": "No sign of manipulation was found in the faces.",
    "leans real": "The faces scored below the model's real threshold, but this model's measured reliability is "
                  "weak: this does not show that the file is genuine.",
    "uncertain": "The faces score between the model's real and fake thresholds.",
    "no face": "No face was found in the sampled frames, so nothing could be judged.",
    "error": "The file could not be scanned.",
}


class ReportError(MimicaError):
    """The report could not be written."""


def write_report(path: str | Path, result: ScanResult, evidence: Evidence | None = None, **options: Any) -> Path:
    """Writes the report atomically (a temporary file in the same folder, then renamed over `path`), so a
    reader never sees half a report. Options as `render_report`."""
    p = Path(path)
    html = render_report(result, evidence, **options)
    try:
        write_atomic(p, html)
    except OSError as err:
        raise ReportError(f"{p}: cannot write the report ({err.strerror or err}); choose a writable path") from err
    return p


def render_report(
    result: ScanResult,
    evidence: Evidence | None = None,
    heat_faces: int = 3,
    max_heat: int = 12,
    max_tracks: int = 12,
    max_faces: int = 48,
    title: str | None = None,
) -> str:
    """The report as an HTML string.

    heat_faces: evidence heatmaps per track, for its most suspicious faces (each costs about 75 model runs);
    max_heat: heatmaps in the whole report; max_tracks: face tracks shown (the most suspicious first when
    there are more); max_faces: face thumbnails per track (evenly picked when there are more);
    title: the file name shown (default: the name in result.path).
    """
    wm = result.provenance.get("watermark") or {}
    shown = sorted(result.tracks, key=lambda t: -t.probability)[:max_tracks]
    heat_budget = max_heat
    tracks = []
    for track in sorted(shown, key=lambda t: t.id):
        crops = evidence.crops.get(track.id, []) if evidence is not None else []
        n_heat = min(heat_faces, heat_budget, len(crops))
        heat_budget -= n_heat
        tracks.append(_track_view(track, result, evidence, crops, n_heat, max_faces, bool(wm.get("detected"))))
    headline = result.verdict_text.upper()
    meaning = MEANINGS.get(result.verdict_text.removesuffix(f" ({FEW_FACES})"), "")
    if wm.get("detected"):
        meaning = "This file carries proof of synthesis: the verdict does not rest on the model."
    elif result.few_faces:
        meaning += (f" It rests on few faces (fewer than {MIN_FACES} of the video's sampled frames show the face that "
                    "decided it), so a few more faces could change it.")
    context = {
        "r": result,
        "title": title or Path(result.path).name or result.path,
        "headline": headline,
        "meaning": meaning,
        "watermark_found": bool(wm.get("detected")),
        "judged": result.verdict in ("fake", "real", "uncertain"),
        "blind": unmeasured_kinds(result.verdict, result.reliability, bool(wm.get("detected"))),
        "score_meaning": words.SCORE_MEANING,
        "min_faces": MIN_FACES,
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "tracks": tracks,
        "hidden_tracks": len(result.tracks) - len(shown),
        "facts": _facts(result),
        "frame_details": _frame_details(result),
        "provenance": _provenance(result.provenance),
        "card": _card(evidence),
        "patch": patch_pixels(evidence.classifier.recipe.size if evidence is not None else 128),
        "json_script": _script_json(result.model_dump(mode="json")),
        "json_pretty": json.dumps(result.model_dump(mode="json"), indent=2),
    }
    return _environment().get_template("report.html.j2").render(**context)


@cache
def _environment():  # type: ignore[no-untyped-def]
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["p"] = lambda v: "n/a" if v is None else f"{v:.2f}"
    return env


def patch_pixels(size: int) -> tuple[int, int, int]:
    """(patch side, stride, crop side) in pixels of the heatmaps' occlusion patches on a crop of `size` pixels:
    what the report states and docs/scan.md documents (a test checks they agree)."""
    return max(1, round(PATCH * size)), max(1, round(STRIDE * size)), size


def _track_view(track: Track, result: ScanResult, evidence: Evidence | None, crops: list[NDArray[np.uint8]],
                n_heat: int, max_faces: int, proven: bool = False) -> dict[str, Any]:
    thr = result.thresholds or {"real": 0.5, "fake": 0.5}
    dets = track.detections
    # on a face that is not suspect, its highest scores are not "the most suspicious" and its spots no "evidence"
    suspect = track.verdict != "real" and result.verdict != "real"
    faces = []
    if crops:
        keep = np.unique(np.linspace(0, len(crops) - 1, min(max_faces, len(crops))).round().astype(int))
        faces = [{"src": _jpeg_uri(crops[i]), "time": dets[i].time_s, "p": dets[i].probability,
                  "band": _band(dets[i].probability, thr)} for i in keep]
    heat = []
    if n_heat and evidence is not None:
        top = sorted(np.argsort([-d.probability for d in dets], kind="stable")[:n_heat].tolist(),
                     key=lambda i: dets[i].time_s)
        marks = evidence.landmarks.get(track.id, [])
        stack = np.stack([crops[i] for i in top])
        masks = np.stack([face_mask(marks[i] if i < len(marks) else np.zeros((0, 2), np.float32), stack.shape[1])
                          for i in top])
        maps = evidence_maps(evidence.classifier, stack, masks)
        for i, m, mask in zip(top, maps, masks, strict=True):
            heat.append({"src": _jpeg_uri(overlay(crops[i], m, mask=mask), quality=90), "plain": _jpeg_uri(crops[i]),
                         "time": dets[i].time_s, "p": dets[i].probability,
                         "sentence": words.evidence_sentence(m, marks[i] if i < len(marks) else None, suspect),
                         "without": _without(dets[i].probability, float(m.max()))})
    is_video = result.media.kind == "video"
    # the same chart for every track, a face seen once included: its point against the thresholds' lines
    first = track.detectors[0] if track.detectors else None
    if first is not None and first.fake_threshold is not None and first.real_threshold is not None:
        own = {"real": first.real_threshold, "fake": first.fake_threshold}
        plot = plots.timeline_png(track, own, result.media.duration_s, still=not is_video,
                                  track_score=first.probability,
                                  who=(first.label or first.name) if len(track.detectors) > 1 else "")
    else:
        plot = plots.timeline_png(track, thr, result.media.duration_s, still=not is_video)
    return {
        "t": track, "band": _band(track.probability, thr), "faces": faces, "heat": heat, "suspect": suspect,
        "note": track_note(track, proven), "few": few(track, is_video),
        "plot": _png_uri(plot), "is_video": is_video, "where": _where(track, result, evidence),
        "start": dets[0].time_s if dets else 0.0, "end": dets[-1].time_s if dets else 0.0,
        "max_p": max((d.probability for d in dets), default=0.0),
        "max_by": (first.label or first.name) if first is not None and len(track.detectors) > 1 else "",
        "omitted": max(0, len(crops) - len(faces)),
    }


def _without(p: float, drop: float) -> float | None:
    """About the face's probability with its most telling area hidden (None when hiding nothing lowered it)."""
    if drop <= 0:
        return None
    z = np.log(max(p, 1e-6) / max(1 - p, 1e-6)) - drop
    return float(1 / (1 + np.exp(-z)))


def _where(track: Track, result: ScanResult, evidence: Evidence | None) -> str | None:
    """The sampled frame where this face scored highest, small, with its box drawn."""
    if evidence is None or not evidence.thumbnails or not track.detections or not result.media.width:
        return None
    import cv2

    det = max(track.detections, key=lambda d: d.probability)
    t, thumb = min(evidence.thumbnails, key=lambda tt: abs(tt[0] - det.time_s))
    if abs(t - det.time_s) > 0.05:
        return None
    img = np.ascontiguousarray(thumb).copy()
    s = img.shape[1] / result.media.width
    x1, y1, x2, y2 = (int(round(v * s)) for v in det.box)
    colour = {"fake": (198, 40, 40), "real": (46, 125, 50)}.get(track.verdict, (239, 143, 0))
    cv2.rectangle(img, (x1, y1), (x2, y2), colour, max(2, img.shape[1] // 160))
    return _jpeg_uri(img, quality=80)


def _band(p: float, thr: dict[str, float]) -> str:
    return "fake" if p >= thr.get("fake", 0.5) else "real" if p < thr.get("real", 0.5) else "uncertain"


def _facts(r: ScanResult) -> list[tuple[str, str]]:
    """The file in plain words; the decoder's own figures are in `_frame_details`, behind a disclosure."""
    m = r.media
    rows = [("File", Path(r.path).name or r.path), ("Kind", {"video": "video", "image": "picture"}.get(m.kind, "n/a"))]
    if m.container:
        rows.append(("File type", words.container_words(m.container)))
    if m.codec and m.kind == "video":
        rows.append(("Video coding", m.codec.upper() if m.codec in ("h264", "hevc", "vp9", "av1") else m.codec))
    if m.width:
        rows.append(("Resolution", f"{m.width} x {m.height}"))
    if m.duration_s is not None:
        rows.append(("Duration", f"{m.duration_s:.2f} s"))
    if m.fps:
        rows.append(("Frame rate", f"{m.fps:.3g} fps"))
    f = r.frames
    if m.kind == "video":
        frames = f"{f.sampled} pictures taken evenly over the video"
        if f.failed:
            frames += f"; {f.failed} part(s) of the file could not be read"
        rows.append(("Frames examined", frames))
    n_faces, n_tracks = sum(len(t.detections) for t in r.tracks), len(r.tracks)
    rows.append(("Faces", f"{n_faces} face(s) of {n_tracks} {'person' if n_tracks == 1 else 'people'}"
                 if m.kind == "video" else f"{n_faces} face(s)"))
    if "total" in r.timings_s:
        rows.append(("Scan time", f"{r.timings_s['total']:.2f} s"))
    return rows


def _frame_details(r: ScanResult) -> str:
    """The decoder's figures, for whoever wants them (behind a disclosure)."""
    m, f = r.media, r.frames
    parts = [f"container {m.container}" if m.container else "", f"codec {m.codec}" if m.codec else ""]
    if m.kind == "video":
        parts.append(f"{f.sampled} frames sampled, {f.decoded} decoded, {f.failed} failed")
    return "; ".join(p for p in parts if p)


def _provenance(prov: dict[str, Any]) -> dict[str, Any]:
    wm = prov.get("watermark") or {}
    c2pa = prov.get("c2pa") or {}
    known = {"watermark", "c2pa", "digital_source_type"}
    line, small = words.watermark_words(wm)
    return {
        "checked": bool(prov),
        "watermark": wm,
        "watermark_line": line,
        "watermark_small": small,
        "c2pa": c2pa,
        "c2pa_line": words.c2pa_words(c2pa),
        "assertions": [a if isinstance(a, str) else json.dumps(a, default=str) for a in c2pa.get("assertions", [])],
        "dst": words.source_type_words(prov.get("digital_source_type")),
        "other": {k: json.dumps(v, default=str) for k, v in prov.items() if k not in known},
    }


def _card(evidence: Evidence | None) -> dict[str, Any] | None:
    if evidence is None:
        return None
    c = evidence.classifier.card
    return {"c": c, "rows": words.model_rows(c), "raw": c.model_dump_json(indent=2)}


def _script_json(data: Any) -> str:
    """JSON safe inside <script>: no `</script>` or `<!--` can end the element early."""
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _jpeg_uri(rgb: NDArray[np.uint8], quality: int = 85) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, np.uint8)).save(buf, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _png_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
