"""Several files, several reports: `--report DIR` writes one self-contained report per file and an index.html
listing them, flagged first; a single file with a path ending in .html keeps its single report; a path that is
neither is refused before anything is scanned."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from tests import mediagen
from tests.report.helpers import astronaut_png, tiny_model, video_metrics
from typer.testing import CliRunner

from mimica.cli import app
from mimica.report import ReportError, ReportFolder, render_index, report_target
from mimica.report.index import IndexEntry, flagged_first
from mimica.scan.result import ScanResult


@pytest.mark.parametrize(("make", "name", "n_files", "expected"), [
    pytest.param(None, "out", 3, "folder", id="new-folder"),
    pytest.param("dir", "out", 1, "folder", id="existing-folder"),
    pytest.param("dir", "out.html", 2, "folder", id="existing-folder-named-html"),
    pytest.param(None, "r.html", 1, "file", id="one-file-html"),
    pytest.param("file", "r.HTML", 1, "file", id="existing-html-is-replaced"),
    pytest.param(None, "r.html", 2, "names one HTML report but 2 files", id="html-for-several"),
    pytest.param("file", "notes.txt", 1, "exists and is neither a folder nor an .html file", id="other-file"),
])
def test_report_target(tmp_path: Path, make: str | None, name: str, n_files: int, expected: str) -> None:
    p = tmp_path / name
    if make == "dir":
        p.mkdir()
    elif make == "file":
        p.write_text("x")
    if expected in ("file", "folder"):
        assert report_target(p, n_files) == expected
    else:
        with pytest.raises(ReportError, match=expected):
            report_target(p, n_files)


def result(path: str, verdict: str, p: float | None = None) -> ScanResult:
    return ScanResult(path=path, verdict=verdict, probability=p,  # type: ignore[arg-type]
                      error="unreadable" if verdict == "error" else None)


def test_index_lists_flagged_files_first(tmp_path: Path) -> None:
    entries = [IndexEntry(result("real.mp4", "real", 0.1), "real.mp4.html"),
               IndexEntry(result("soso.mp4", "uncertain", 0.5), "soso.mp4.html"),
               IndexEntry(result("blank.jpg", "no-face"), "blank.jpg.html"),
               IndexEntry(result("bad.mp4", "error"), None),
               IndexEntry(result("fake1.mp4", "fake", 0.7), "fake1.mp4.html"),
               IndexEntry(result("fake2.mp4", "fake", 0.9), "fake2.mp4.html")]
    order = [e.result.path for e in flagged_first(entries)]
    assert order == ["fake2.mp4", "fake1.mp4", "soso.mp4", "bad.mp4", "blank.jpg", "real.mp4"]
    html = render_index(entries)
    assert re.findall(r'data-verdict="([a-z-]+)"', html) == ["fake", "fake", "uncertain", "error", "no-face", "real"]
    assert '<a href="fake2.mp4.html">' in html and "bad.mp4" in html and 'href="bad' not in html
    assert "6 file(s) scanned" in html and "leans fake" in html  # no model card: unmeasured, so "leans"
    assert "<script" not in html and "http" not in html.split("<body>", 1)[1]  # self-contained


def test_folder_names_are_unique_and_safe(tmp_path: Path) -> None:
    folder = ReportFolder(tmp_path / "out")
    a = folder.add(result("x/clip.mp4", "no-face"))
    b = folder.add(result("y/clip.mp4", "no-face"))
    c = folder.add(result("z/we ird<>.mp4", "no-face"))
    folder.add(result("gone.mp4", "error"))
    assert [a.name, b.name, c.name] == ["clip.mp4.html", "clip.mp4-2.html", "we_ird_.mp4.html"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["clip.mp4-2.html", "clip.mp4.html", "index.html",
                                                                    "we_ird_.mp4.html"]
    index = (tmp_path / "out" / "index.html").read_text()
    assert index.count('class="file-row"') == 4 and "gone.mp4" in index
    with pytest.raises(ReportError, match="not a folder"):
        ReportFolder(a)


@pytest.fixture(scope="module")
def weak_card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("card"), name="weak", metrics=video_metrics(0.7))


def scan(*args: str | Path) -> tuple[int, str, str]:
    res = CliRunner().invoke(app, ["scan", *map(str, args)])
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, res.stdout, res.stderr


def test_cli_folder_of_reports(weak_card: Path, tmp_path: Path) -> None:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    astronaut_png(src / "a.png")
    astronaut_png(src / "sub" / "b.png", size=384)
    mediagen.write_image(src / "sub" / "blank.jpg", size=(160, 120), color=(40, 40, 40))
    lone = astronaut_png(tmp_path / "lone.png", size=448)
    out = tmp_path / "reports"
    code, stdout, stderr = scan(lone, src, tmp_path / "missing.mp4", "--report", out, "--model", weak_card,
                                "--threshold", "0", "--json")
    assert code == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == ["a.png.html", "b.png.html", "blank.jpg.html", "index.html",
                                                     "lone.png.html"]
    assert "3 report(s)" not in stderr and "4 report(s) and an index written" in stderr
    index = (out / "index.html").read_text()
    # faces at --threshold 0 are all fake (from a weak model: "leans fake"), then the error, then the empty picture
    assert re.findall(r'data-verdict="([a-z-]+)"', index) == ["fake", "fake", "fake", "error", "no-face"]
    assert "missing.mp4" in index and "weak: video AUC 0.70" in index
    for line in stdout.splitlines():
        obj = json.loads(line)
        if obj["verdict"] != "error":  # every scanned file has its own complete report
            page = (out / f"{Path(obj['path']).name}.html").read_text()
            assert f'data-verdict="{obj["verdict"]}"' in page and Path(obj["path"]).name in page


@pytest.mark.parametrize(("target", "message"), [
    pytest.param("r.html", "names one HTML report but 2 files", id="html-for-two-files"),
    pytest.param("notes.txt", "neither a folder nor an .html file", id="existing-other-file"),
])
def test_cli_refuses_a_bad_target_before_scanning(weak_card: Path, tmp_path: Path, target: str,
                                                  message: str) -> None:
    a, b = astronaut_png(tmp_path / "a.png"), astronaut_png(tmp_path / "b.png")
    (tmp_path / "notes.txt").write_text("keep me")
    code, stdout, stderr = scan(a, b, "--report", tmp_path / target, "--model", weak_card)
    assert code == 2 and message in " ".join(stderr.split()), stderr
    assert stdout == "" and (tmp_path / "notes.txt").read_text() == "keep me"
    assert not (tmp_path / "r.html").exists()
