from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the checkout; tests that need it skip cleanly when it is absent."""
    if not (SHARED / "manifest.csv").is_file():
        pytest.skip("../shared/data is not present")
    return SHARED


@pytest.fixture(scope="session")
def model_card() -> Path:
    """The shipped model's card (src/mimica/models/weights/<DEFAULT_MODEL>.json); tests that need the model skip
    cleanly until it is committed."""
    from mimica.models.registry import DEFAULT_MODEL, WEIGHTS

    card = WEIGHTS / f"{DEFAULT_MODEL}.json"
    if not card.is_file() or not (WEIGHTS / f"{DEFAULT_MODEL}.onnx").is_file():
        pytest.skip(f"the shipped model {DEFAULT_MODEL} is not in {WEIGHTS} yet")
    return card


@pytest.fixture(scope="session")
def scanner(model_card: Path):  # type: ignore[no-untyped-def]
    """One Scanner (model and face detector loaded once) for the session, 8 frames per video to stay fast."""
    from mimica.scan import Scanner

    return Scanner(model=model_card, frames=8)
