from __future__ import annotations

from pathlib import Path

import pytest
from tests.report.helpers import pick_model


@pytest.fixture(scope="session")
def scan_model(tmp_path_factory) -> Path:
    return pick_model(tmp_path_factory)


@pytest.fixture(scope="session")
def report_scanner(scan_model):
    from mimica.scan import Scanner

    return Scanner(model=str(scan_model), frames=8)
