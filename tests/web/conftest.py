from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.report.helpers import pick_model
from tests.web.webtools import Server

pytest.importorskip("fastapi")
pytest.importorskip("httpx")


@pytest.fixture(scope="session")
def scan_model(tmp_path_factory) -> Path:
    return pick_model(tmp_path_factory)


@pytest.fixture
def make_client(tmp_path):
    """make_client(**settings) -> (TestClient with the app started, a valid token). workers=0 (the default
    here) accepts uploads and scans nothing, so the API's checks run without any model."""
    from fastapi.testclient import TestClient

    from mimica.web.app import create_app
    from mimica.web.settings import Settings

    stack = contextlib.ExitStack()

    def make(**kw):  # type: ignore[no-untyped-def]
        kw.setdefault("data_dir", tmp_path / "data")
        kw.setdefault("workers", 0)
        settings = Settings(**kw)
        app = create_app(settings)
        client = stack.enter_context(TestClient(app, base_url="http://testserver"))
        _, token = app.state.store.create_token("test")
        return client, token

    yield make
    stack.close()


@pytest.fixture
def server_factory(tmp_path, scan_model) -> Iterator:
    servers: list[Server] = []

    def make(*extra: str, data_dir: Path | None = None) -> Server:
        s = Server(data_dir or tmp_path / "data", scan_model, *extra)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


