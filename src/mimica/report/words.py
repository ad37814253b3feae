"""Plain language for the report: what the provenance findings and the model card mean to someone who is not a
statistician. Pure functions over the scan result's dicts and the model card, so the words can be tested alone.

    >>> watermark_words({"detected": False, "p_value": 0.709, "confidence": 0.291})[1]
    'a file without the mark gives a signal this strong or stronger 71% of the time'
    >>> container_words("mov,mp4,m4a,3gp,3g2,mj2")
    'MP4 / QuickTime'
    >>> source_type_words("http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia")
    'made by a generative AI model (IPTC: trainedAlgorithmicMedia)'
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from mimica.faces.landmarks import (
    BROWS_UPPER,
    CHIN,
    FACE_OVAL,
    LEFT_EYE_CORNERS,
    MOUTH_LEFT,
    MOUTH_RIGHT,
    NOSE_TIP,
    RIGHT_EYE_CORNERS,
)
from mimica.models.card import ModelCard
from mimica.models.reliability import MeasuredAUC, measured_sets, subsets

#: the IPTC digital source type vocabulary (https://cv.iptc.org/newscodes/digitalsourcetype/), in words
SOURCE_TYPES = {
    "digitalCapture": "captured from real life by a digital camera",
    "computationalCapture": "captured by a camera that computes the picture (e.g. a phone's night mode)",
    "negativeFilm": "scanned from a film negative",
    "positiveFilm": "scanned from a film positive",
    "print": "scanned from a print",
    "humanEdits": "edited by a person",
    "minorHumanEdits": "lightly edited by a person",
    "compositeCapture": "a composite of several captures",
    "algorithmicallyEnhanced": "enhanced by an algorithm",
    "dataDrivenMedia": "made by an algorithm from data",
    "digitalArt": "made by a person with digital tools",
    "digitalCreation": "made by a person with digital tools",
    "virtualRecording": "a recording of a virtual scene",
    "compositeSynthetic": "a composite that includes synthetic elements",
    "trainedAlgorithmicMedia": "made by a generative AI model",
    "compositeWithTrainedAlgorithmicMedia": "a composite that includes content made by a generative AI model",
    "algorithmicMedia": "made by an algorithm without training data",
    "screenCapture": "a screen capture",
}


def source_type_words(uri: str | None) -> str:
    """The IPTC digital source type in words, with its code; "not stated" when the file states none."""
    if not uri:
        return "not stated"
    code = str(uri).rstrip("/").rsplit("/", 1)[-1]
    words = SOURCE_TYPES.get(code)
    return f"{words} (IPTC: {code})" if words else f"an unknown source type ({uri})"


#: what the word "score" means, wherever a report or page shows one (one name for the number everywhere)
SCORE_MEANING = ("The score (0 to 1) is the model's calibrated probability that a face is manipulated; a file's "
                 "score is that of its most suspect face track.")

#: FFmpeg's container names (`MediaFacts.container`) in the words of a file's type
CONTAINERS = {
    "mov,mp4,m4a,3gp,3g2,mj2": "MP4 / QuickTime", "matroska,webm": "Matroska / WebM", "avi": "AVI",
    "mpegts": "MPEG transport stream", "mpeg": "MPEG program stream", "flv": "Flash video", "asf": "Windows Media",
    "h264": "raw H.264 stream", "hevc": "raw H.265 stream", "ogg": "Ogg", "gif": "GIF",
}


def container_words(name: str) -> str:
    """The container as a person names a file type ("MP4 / QuickTime"), not FFmpeg's list of its aliases."""
    return CONTAINERS.get(name, name.split(",")[0].upper())


def watermark_words(wm: dict[str, Any]) -> tuple[str, str]:
    """(the line, its small print). A non-detection has no "confidence": it is not evidence of anything. The
    small print says what the test's p-value means, in a sentence, so that it is not read as the score."""
    p = wm.get("p_value")
    small = ""
    if isinstance(p, int | float):
        share = f"{100 * p:.0f}%" if p >= 0.01 else "less than 1%" if p >= 1e-6 else "almost never"
        small = f"a file without the mark gives a signal this strong or stronger {share}" + (
            "" if share == "almost never" else " of the time")
    if wm.get("detected"):
        line = "mimica watermark found: this file was made by a face-swap tool"
        if wm.get("mirrored"):
            line += ", then mirrored left to right (an attempt to dodge matching)"
        return line, small
    return "No mimica watermark found", small


def c2pa_words(c2pa: dict[str, Any]) -> str:
    """C2PA content credentials: present or not, signature valid or not, signer trusted or not, in a sentence."""
    if not c2pa.get("present"):
        return "No C2PA content credentials"
    parts = ["C2PA content credentials present"]
    valid = c2pa.get("valid")
    if valid is not None:
        parts.append("the signature is valid" if valid else "the signature is NOT valid (the file changed after "
                     "signing, or the manifest is damaged)")
    trusted = c2pa.get("trusted")
    if trusted is not None:
        parts.append("the signer is on the trusted list" if trusted else "the signer is not on the trusted list")
    return "; ".join(parts)


def model_rows(card: ModelCard) -> list[tuple[str, str, str]]:
    """The model card as a few rows a reader needs: what it is, what it learnt from, how well it measured,
    its thresholds, as (label, plain words, details shown behind a disclosure or ""). The whole card goes behind
    a disclosure element beside them."""
    detail = card.architecture + (f" ({card.parameters:,} parameters)" if card.parameters else "")
    rows = [("What it is", f"{card.name} {card.version}, a neural network that scores each face it is shown",
             detail)]
    recipe = str(card.training.get("recipe", ""))
    data = card.training.get("data") or card.training.get("datasets") or []
    names = [str(d.get("name", "")) if isinstance(d, dict) else str(d) for d in data]
    trained = "; ".join(x for x in [recipe, ", ".join(n for n in names if n)] if x)
    if trained:
        rows.append(("Trained on", trained, ""))
    sets: list[MeasuredAUC] = []
    for m in measured_sets(card.metrics):
        sets += [m, *subsets(card.metrics, m.dataset)]
    rows.append(("Measured video AUC", "; ".join(m.text() for m in sets) if sets else "not measured",
                 "1.0: every fake video scored above every real one; 0.5: chance"))
    rows.append(("How far to trust it", card.reliability().level, "docs/scan.md: reliable at AUC 0.9 or more, "
                 "moderate from 0.8, weak below"))
    if card.not_measured_on:
        rows.append(("Never measured on", "; ".join(card.not_measured_on), ""))
    t = card.thresholds
    rows.append(("Thresholds", f"fake at a score of {t.fake:.2f} or more, real below {t.real:.2f}, uncertain "
                 "between", t.rule))
    return rows


#: how close (fraction of the crop side) a pixel must be to a feature, or to the outline, to be named after it
NEAR_FEATURE = 0.12
NEAR_OUTLINE = 0.06
#: a second place is named when its brightest point is at least this fraction of the brightest in the map
SECOND_PLACE = 0.6

#: the places a heatmap's evidence is named after, in the order `face_places` labels them
PLACES = ("around the subject's right eye", "around the subject's left eye", "on the nose", "around the mouth",
          "along the outline of the face", "on the forehead", "on the chin", "on the subject's right cheek",
          "on the subject's left cheek")


def face_places(landmarks: NDArray[np.float32] | None, shape: tuple[int, int]) -> NDArray[np.int8] | None:
    """(h, w) index into `PLACES` for every pixel of a crop, from its dense landmarks: the eyes, nose and mouth
    within `NEAR_FEATURE` of their centres, then a band along the face outline, then forehead, chin and cheeks by
    position; None without usable landmarks."""
    import cv2

    pts = None if landmarks is None else np.asarray(landmarks, np.float32)
    if pts is None or pts.ndim != 2 or pts.shape[0] <= max(FACE_OVAL) or not np.any(pts):
        return None
    h, w = shape
    size = float(max(h, w))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    centres = [pts[list(RIGHT_EYE_CORNERS)].mean(0), pts[list(LEFT_EYE_CORNERS)].mean(0), pts[NOSE_TIP],
               pts[[MOUTH_RIGHT, MOUTH_LEFT]].mean(0)]
    dist = np.stack([np.hypot(xx - c[0], yy - c[1]) for c in centres])
    labels = np.full((h, w), -1, np.int8)
    mouth_y, brow_y = centres[3][1], pts[list(BROWS_UPPER)][:, 1].mean()
    labels[:] = np.where(xx < pts[NOSE_TIP][0], 7, 8)  # cheeks
    labels[yy < brow_y] = 5
    labels[yy > (mouth_y + pts[CHIN][1]) / 2] = 6
    outline = np.zeros((h, w), np.uint8)
    cv2.polylines(outline, [np.round(pts[list(FACE_OVAL)]).astype(np.int32).reshape(-1, 1, 2)], True, 1,
                  thickness=max(1, int(round(2 * NEAR_OUTLINE * size))))
    labels[outline > 0] = 4
    nearest = dist.argmin(0)
    close = dist.min(0) < NEAR_FEATURE * size
    labels[close] = nearest[close]
    return labels


def evidence_places(heat: NDArray[np.float32], landmarks: NDArray[np.float32] | None) -> list[str]:
    """Where the brightest spots of a heatmap sit, as the picture shows them (the same smoothing as
    `occlusion.overlay`): the place of the brightest point, and a second place when its own brightest point is
    at least `SECOND_PLACE` of that ([] when nothing raised the score or the landmarks are missing)."""
    from mimica.report.occlusion import face_mask, shown_evidence

    h = np.asarray(heat, np.float32)
    if h.size == 0 or float(h.max()) <= 0:
        return []
    labels = face_places(landmarks, h.shape[:2])
    if labels is None or landmarks is None:
        return []
    shown = shown_evidence(h)
    if h.shape[0] == h.shape[1]:  # what the picture colours: the evidence inside the face outline
        shown = shown * face_mask(np.asarray(landmarks, np.float32), h.shape[0])
    peaks = [(float(shown[labels == k].max()), k) for k in range(len(PLACES)) if np.any(labels == k)]
    peaks = sorted((v, k) for v, k in peaks if v > 0)[::-1]
    if not peaks:
        return []
    names = [PLACES[peaks[0][1]]]
    if len(peaks) > 1 and peaks[1][0] >= SECOND_PLACE * peaks[0][0]:
        names.append(PLACES[peaks[1][1]])
    return names


def evidence_place(heat: NDArray[np.float32], landmarks: NDArray[np.float32] | None) -> str | None:
    """The place of a heatmap's brightest spot ("around the mouth", ...), None when there is none."""
    places = evidence_places(heat, landmarks)
    return places[0] if places else None


def evidence_sentence(heat: NDArray[np.float32], landmarks: NDArray[np.float32] | None, suspect: bool = True) -> str:
    """One plain sentence under a heatmap, naming where its brightest spots are. suspect: the face's verdict is
    not `real` (on a face that leans real the spots are only what the score rests on, not evidence of a swap)."""
    if float(np.max(heat, initial=0.0)) <= 0:
        return "No part of the face raised the score: hiding any of it did not lower the score."
    places = evidence_places(heat, landmarks)
    where = " and ".join(places)
    if not suspect:
        return (f"Hiding these parts lowered its score most: {where}." if places
                else "Hiding the brightest area lowered its score most.")
    if len(places) == 2:
        return f"The strongest evidence sits {places[0]}, then {places[1]}."
    return f"The strongest evidence sits {where}." if places else "The strongest evidence is the brightest area."
