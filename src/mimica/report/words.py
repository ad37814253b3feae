"""Plain language for the report: what the provenance findings and the model card mean to someone who is not a
statistician. Pure functions over the scan result's dicts and the model card, so the words can be tested alone.

    >>> watermark_words({"detected": False, "p_value": 0.025, "confidence": 0.975})
    ('No mimica watermark found', 'test p-value 0.025')
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


def watermark_words(wm: dict[str, Any]) -> tuple[str, str]:
    """(the line, its small print). A non-detection has no "confidence": it is not evidence of anything."""
    p = wm.get("p_value")
    small = f"test p-value {p:.3g}" if isinstance(p, int | float) else ""
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


def model_rows(card: ModelCard) -> list[tuple[str, str]]:
    """The model card as a few rows a reader needs: what it is, what it learnt from, how well it measured,
    its thresholds. The whole card goes behind a disclosure element beside them."""
    what = f"{card.name} {card.version}"
    if card.architecture:
        what += f": {card.architecture}"
    if card.parameters:
        what += f" ({card.parameters:,} parameters)"
    rows = [("What it is", what)]
    recipe = str(card.training.get("recipe", ""))
    data = card.training.get("data") or card.training.get("datasets") or []
    names = [str(d.get("name", "")) if isinstance(d, dict) else str(d) for d in data]
    trained = "; ".join(x for x in [recipe, ", ".join(n for n in names if n)] if x)
    if trained:
        rows.append(("Trained on", trained))
    sets: list[MeasuredAUC] = []
    for m in measured_sets(card.metrics):
        sets += [m, *subsets(card.metrics, m.dataset)]
    rows.append(("Measured video AUC", "; ".join(m.text() for m in sets) if sets else "not measured"))
    rows.append(("How far to trust it", card.reliability().level + " (docs/scan.md: reliable at AUC 0.9 or more, "
                 "moderate from 0.8, weak below)"))
    t = card.thresholds
    rows.append(("Thresholds", f"fake at p >= {t.fake:.2f}, real below {t.real:.2f}, uncertain between"
                 + (f" ({t.rule})" if t.rule else "")))
    return rows


#: how close (fraction of the crop side) the peak must be to a feature, or to the outline, to be named after it
NEAR_FEATURE = 0.12
NEAR_OUTLINE = 0.06


def evidence_place(heat: NDArray[np.float32], landmarks: NDArray[np.float32] | None) -> str | None:
    """Where in the face the strongest evidence of a heatmap sits, named from the crop's landmarks ("around the
    mouth", "along the outline of the face", ...); None when no part of the face raised the score or the
    landmarks are missing."""
    import cv2

    h = np.asarray(heat, np.float32)
    if h.size == 0 or float(h.max()) <= 0:
        return None
    pts = None if landmarks is None else np.asarray(landmarks, np.float32)
    if pts is None or pts.ndim != 2 or pts.shape[0] <= max(FACE_OVAL) or not np.any(pts):
        return None
    size = float(max(h.shape))
    y, x = np.unravel_index(int(np.argmax(h)), h.shape)
    peak = np.array([x, y], np.float32)
    outline = pts[list(FACE_OVAL)].reshape(-1, 1, 2)
    if abs(cv2.pointPolygonTest(outline, (float(x), float(y)), True)) < NEAR_OUTLINE * size:
        return "along the outline of the face, where a swapped face would be blended in"
    features = {
        "around the subject's right eye": pts[list(RIGHT_EYE_CORNERS)].mean(0),
        "around the subject's left eye": pts[list(LEFT_EYE_CORNERS)].mean(0),
        "on the nose": pts[NOSE_TIP],
        "around the mouth": pts[[MOUTH_RIGHT, MOUTH_LEFT]].mean(0),
    }
    name, centre = min(features.items(), key=lambda kv: float(np.linalg.norm(kv[1] - peak)))
    if float(np.linalg.norm(centre - peak)) < NEAR_FEATURE * size:
        return name
    if y < pts[list(BROWS_UPPER)][:, 1].mean():
        return "on the forehead"
    if y > (features["around the mouth"][1] + pts[CHIN][1]) / 2:
        return "on the chin"
    return "on the subject's right cheek" if x < pts[NOSE_TIP][0] else "on the subject's left cheek"


def evidence_sentence(heat: NDArray[np.float32], landmarks: NDArray[np.float32] | None) -> str:
    """One plain sentence under a heatmap."""
    if float(np.max(heat, initial=0.0)) <= 0:
        return "No part of the face raised the score: hiding any of it did not lower the score."
    place = evidence_place(heat, landmarks)
    return f"The strongest evidence sits {place}." if place else "The strongest evidence is the brightest area."
