from __future__ import annotations

from pathlib import Path

import pytest
from tests.report.helpers import pick_model


@pytest.fixture(scope="session")
def model_card(tmp_path_factory) -> Path:
    return pick_model(tmp_path_factory)


@pytest.fixture(scope="session")
def scanner(model_card):
    from mimica.scan import Scanner

    return Scanner(model=str(model_card), frames=8)
