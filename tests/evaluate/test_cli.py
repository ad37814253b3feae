"""`mimica evaluate` through typer, with a stand-in scanner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mimica.evaluate import run
from mimica.evaluate.cli import register


@pytest.fixture()
def app(monkeypatch: pytest.MonkeyPatch, fake_scanner: type) -> typer.Typer:
    monkeypatch.setattr(run, "create_scanner", lambda model, frames: fake_scanner())
    a = typer.Typer()
    register(a)
    a.command("noop")(lambda: None)  # with two commands typer keeps the command name, as in the real CLI
    return a


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    for rel in ["real/a.mp4", "real/b.mp4", "fake/a_b.mp4", "fake/x.mp4"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).touch()
    return tmp_path


def test_json_output(app: typer.Typer, tree: Path) -> None:
    res = CliRunner().invoke(app, ["evaluate", str(tree), "--split", "all", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["schema_version"] == "1" and report["video"]["auc"] == 1.0 and report["n_videos"] == 4
    assert {"auc", "auc_ci95", "eer", "ap", "accuracy", "precision", "recall"} <= set(report["frame"])


def test_table_markdown_and_roc(app: typer.Typer, tree: Path, tmp_path: Path) -> None:
    md, png = tmp_path / "r.md", tmp_path / "roc.png"
    args = ["evaluate", str(tree), "--split", "all", "--markdown", str(md), "--roc", str(png)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "video" in res.stdout and "frame" in res.stdout and "AUC" in res.stdout
    assert md.read_text().startswith("## Evaluation") and png.read_bytes()[:4] == b"\x89PNG"


def test_errors_are_mimica_errors(app: typer.Typer, tmp_path: Path) -> None:
    from mimica.errors import MimicaError

    res = CliRunner().invoke(app, ["evaluate", str(tmp_path / "absent")])
    assert isinstance(res.exception, MimicaError) and "not found" in str(res.exception)
    res = CliRunner().invoke(app, ["evaluate", str(tmp_path), "--split", "dev"])
    assert res.exit_code == 2  # typer refuses an unknown split before anything runs
