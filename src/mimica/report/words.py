"""Plain language for the report: what the provenance findings and the model card mean to someone who is not a
statistician. Pure functions over the scan result's dicts and the model card, so the words can be tested alone.

    >>> watermark_words({"detected": False, "p_value": 0.025, "confidence": 0.975})
    ('No mimica watermark found', 'test p-value 0.025')
    >>> source_type_words("http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia")
    'made by a generative AI model (IPTC: trainedAlgorithmicMedia)'
"""

from __future__ import annotations

from typing import Any

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
