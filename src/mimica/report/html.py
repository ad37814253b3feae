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
from mimica.report.occlusion import PATCH, evidence_maps, face_mask, overlay
from mimica.scan.pipeline import Evidence
from mimica.scan.result import ScanResult, Track

TEMPLATES = Path(__file__).parent / "templates"

#: what each verdict, in the words people read (`ScanResult.verdict_text`), means in the banner
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
    shown = sorted(result.tracks, key=lambda t: -t.probability)[:max_tracks]
    heat_budget = max_heat
    tracks = []
    for track in sorted(shown, key=lambda t: t.id):
        crops = evidence.crops.get(track.id, []) if evidence is not None else []
        n_heat = min(heat_faces, heat_budget, len(crops))
        heat_budget -= n_heat
        tracks.append(_track_view(track, result, evidence, crops, n_heat, max_faces))
    wm = result.provenance.get("watermark") or {}
    headline = result.verdict_text.upper()
    meaning = MEANINGS.get(result.verdict_text, "")
    if wm.get("detected"):
        meaning = "This file carries proof of synthesis: the verdict does not rest on the model."
    context = {
        "r": result,
        "title": title or Path(result.path).name or result.path,
        "headline": headline,
        "meaning": meaning,
        "watermark_found": bool(wm.get("detected")),
        "judged": result.verdict in ("fake", "real", "uncertain"),
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "tracks": tracks,
        "hidden_tracks": len(result.tracks) - len(shown),
        "facts": _facts(result),
        "provenance": _provenance(result.provenance),
        "card": _card(evidence),
        "patch_px": round(PATCH * (evidence.classifier.recipe.size if evidence is not None else 128)),
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


def _track_view(track: Track, result: ScanResult, evidence: Evidence | None, crops: list[NDArray[np.uint8]],
                n_heat: int, max_faces: int) -> dict[str, Any]:
    thr = result.thresholds or {"real": 0.5, "fake": 0.5}
    dets = track.detections
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
                         "sentence": words.evidence_sentence(m, marks[i] if i < len(marks) else None),
                         "without": _without(dets[i].probability, float(m.max()))})
    is_video = result.media.kind == "video" and len(dets) > 1
    plot = (plots.timeline_png(track, thr, result.media.duration_s) if is_video
            else plots.bars_png([f"track {track.id}"], [track.probability], thr))
    return {
        "t": track, "band": _band(track.probability, thr), "faces": faces, "heat": heat,
        "plot": _png_uri(plot), "is_video": is_video, "where": _where(track, result, evidence),
        "start": dets[0].time_s if dets else 0.0, "end": dets[-1].time_s if dets else 0.0,
        "max_p": max((d.probability for d in dets), default=0.0),
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
    m = r.media
    rows = [("File", Path(r.path).name or r.path), ("Kind", m.kind or "n/a")]
    if m.container:
        rows.append(("Container", m.container))
    if m.codec:
        rows.append(("Codec", m.codec))
    if m.width:
        rows.append(("Resolution", f"{m.width} x {m.height}"))
    if m.duration_s is not None:
        rows.append(("Duration", f"{m.duration_s:.2f} s"))
    if m.fps:
        rows.append(("Frame rate", f"{m.fps:.3g} fps"))
    f = r.frames
    rows.append(("Frames", f"{f.sampled} sampled, {f.decoded} decoded, {f.failed} failed"))
    rows.append(("Faces", f"{sum(len(t.detections) for t in r.tracks)} in {len(r.tracks)} track(s)"))
    if "total" in r.timings_s:
        rows.append(("Scan time", f"{r.timings_s['total']:.2f} s"))
    return rows


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
