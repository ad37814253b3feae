"""Models created by name: every <name>.json card under models/weights/ is a registered model."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from mimica.errors import ModelError
from mimica.models.card import ModelCard
from mimica.models.classifier import Classifier

WEIGHTS = Path(__file__).parent / "weights"
DEFAULT_MODEL = "mimica-sbi-v2"


def available_models() -> list[str]:
    return sorted(p.stem for p in WEIGHTS.glob("*.json"))


def load_card(path: Path) -> ModelCard:
    try:
        return ModelCard.load(path)
    except (OSError, ValidationError, ValueError) as err:
        raise ModelError(f"{path}: unreadable model card ({str(err).splitlines()[0]})") from err


def load_model(name_or_path: str | Path = DEFAULT_MODEL, threads: int = 2) -> Classifier:
    """A shipped model by name, or a model card path (its ONNX file is looked up beside it)."""
    card_path = card_path_of(name_or_path)
    card = load_card(card_path)
    return Classifier(card, card_path.parent / card.onnx_file, threads=threads)


def card_path_of(name_or_path: str | Path) -> Path:
    """The model card of a shipped model name or of a card (or ONNX) path, without loading the model."""
    p = Path(name_or_path)
    if p.suffix == ".json" and p.is_file():
        card_path = p
    elif p.suffix == ".onnx" and p.with_suffix(".json").is_file():
        card_path = p.with_suffix(".json")
    else:
        card_path = WEIGHTS / f"{name_or_path}.json"
        if not card_path.is_file():
            raise ModelError(f"unknown model {str(name_or_path)!r}; shipped models: {available_models() or 'none'}")
    return card_path
