"""`mimica scan` through the CLI runner and as a real process: human output, JSON Lines, options, folders,
and every bad input (one line on stderr naming the file, exit 1 when nothing could be scanned, never a
traceback). Media are synthesised here; the shipped model is needed (skips without)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests import facemedia, mediagen
from typer.testing import CliRunner

from mimica.cli import app

CLASSIFIED = {"fake", "real", "uncertain"}
VERDICTS = CLASSIFIED | {"no-face", "error"}
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory, model_card: Path) -> dict[str, Path]:
    """Good media, made once for the module."""
    d = tmp_path_factory.mktemp("cli-media")
    return {
        "face.png": facemedia.write_face_image(d / "face.png"),
        "face.mp4": facemedia.write_face_video(d / "face.mp4", frames=10),
        "blank.jpg": mediagen.write_image(d / "blank.jpg", size=(160, 120), color=(40, 40, 40)),
    }


def run(*args: str | Path) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `mimica ARGS` in the CLI runner."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def json_lines(stdout: str) -> list[dict]:
    lines = [line for line in stdout.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]


def check_schema(obj: dict) -> None:
    """The documented keys of `scan --json` (docs/scan.md), with their types and ranges."""
    assert isinstance(obj["path"], str) and obj["path"]
    assert obj["verdict"] in VERDICTS
    assert obj["schema_version"] == "1"
    if obj["verdict"] in ("no-face", "error"):
        assert obj["probability"] is None
    else:
        assert 0 <= obj["probability"] <= 1
    assert obj["error"] is None if obj["verdict"] != "error" else isinstance(obj["error"], str)
    assert set(obj["frames"]) >= {"sampled", "decoded", "failed"}
    assert all(isinstance(obj["frames"][k], int) for k in ("sampled", "decoded", "failed"))
    assert isinstance(obj["provenance"], dict)
    assert set(obj["model"]) >= {"name", "version"}
    assert isinstance(obj["timings_s"], dict)
    for t in obj["tracks"]:
        assert isinstance(t["id"], int) and t["verdict"] in CLASSIFIED and 0 <= t["probability"] <= 1
        assert t["detections"]
        for d in t["detections"]:
            assert isinstance(d["time_s"], float | int) and len(d["box"]) == 4 and 0 <= d["probability"] <= 1


def no_traceback(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text and 'File "' not in text, text


# --- good files ---------------------------------------------------------------------------------------------

def test_human_output(media: dict[str, Path]) -> None:
    code, out, err = run("scan", "--frames", "4", media["face.png"], media["blank.jpg"])
    assert code == 0
    no_traceback(out, err)
    lines = out.splitlines()
    first = lines[0]
    # the words follow the model's reliability (tests/scan/test_words.py), stated on the lines under it
    assert re.match(r"^((LEANS )?FAKE|(LEANS )?REAL|UNCERTAIN)  score [01]\.\d\d  ", first), first
    assert first.endswith(str(media["face.png"])) and len(first) - len(str(media["face.png"])) < 40, first
    assert lines[1].startswith("  why: decided by the one face in the picture, by the ")
    assert lines[2].startswith("  model: ")
    assert "video AUC" in lines[2]
    assert re.search(r"\btrack\b.*\bverdict\b.*\bscore .*\bfaces\b", out)  # the per-track table
    assert any(line.startswith("NO FACE  ") and str(media["blank.jpg"]) in line for line in lines)


def test_json_lines(media: dict[str, Path], model_card: Path) -> None:
    code, out, err = run("scan", "--json", "--frames", "4", media["face.png"], media["face.mp4"],
                         media["blank.jpg"])
    assert code == 0
    objs = json_lines(out)
    assert [o["path"] for o in objs] == [str(media[k]) for k in ("face.png", "face.mp4", "blank.jpg")]
    for o in objs:
        check_schema(o)
    assert objs[0]["verdict"] in CLASSIFIED and len(objs[0]["tracks"]) == 1
    assert objs[1]["frames"]["sampled"] == 4 and objs[1]["media"]["kind"] == "video"
    assert objs[2]["verdict"] == "no-face" and objs[2]["tracks"] == []
    assert objs[0]["model"]["name"] == json.loads(model_card.read_text())["name"]
    no_traceback(err)


@pytest.mark.parametrize("frames", [1, 5])
def test_frames_option(media: dict[str, Path], frames: int) -> None:
    code, out, _ = run("scan", "--json", "--frames", str(frames), media["face.mp4"])
    assert code == 0
    (obj,) = json_lines(out)
    assert obj["frames"]["sampled"] == frames
    assert sum(len(t["detections"]) for t in obj["tracks"]) == frames


@pytest.mark.parametrize(("threshold", "verdict"), [("0", "fake"), ("1", "real")])
def test_threshold_option(media: dict[str, Path], threshold: str, verdict: str) -> None:
    code, out, _ = run("scan", "--json", "--threshold", threshold, media["face.png"])
    assert code == 0
    (obj,) = json_lines(out)
    assert obj["thresholds"] == {"real": float(threshold), "fake": float(threshold)}
    assert obj["verdict"] == verdict


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--frames", "0"], "--frames"), (["--threshold", "1.5"], "--threshold"), (["--bogus"], "--bogus")],
    ids=["frames-0", "threshold-above-1", "unknown-option"],
)
def test_usage_errors_exit_2(media: dict[str, Path], args: list[str], message: str) -> None:
    code, out, err = run("scan", *args, media["face.png"])
    assert code == 2
    assert message in err
    no_traceback(out, err)


def test_folder_with_one_bad_file(media: dict[str, Path], tmp_path: Path) -> None:
    for name in ("face.png", "blank.jpg"):
        shutil.copy(media[name], tmp_path / name)
    (tmp_path / "sub").mkdir()
    mediagen.write_text(tmp_path / "sub" / "broken.mp4")
    code, out, err = run("scan", "--json", tmp_path)
    assert code == 0
    objs = {Path(o["path"]).name: o for o in json_lines(out)}
    assert set(objs) == {"face.png", "blank.jpg", "broken.mp4"}
    assert objs["broken.mp4"]["verdict"] == "error" and "broken.mp4" in objs["broken.mp4"]["error"]
    assert objs["face.png"]["verdict"] in CLASSIFIED
    err_lines = err.strip().splitlines()
    assert len(err_lines) == 1 and err_lines[0].startswith("mimica: error: ") and "broken.mp4" in err_lines[0]


def test_nothing_scannable_exits_1(tmp_path: Path, model_card: Path) -> None:
    mediagen.write_text(tmp_path / "a.mp4")
    mediagen.write_random(tmp_path / "b.jpg")
    code, out, err = run("scan", tmp_path / "a.mp4", tmp_path / "b.jpg", tmp_path / "missing.png")
    assert code == 1
    assert out.strip() == ""
    err_lines = err.strip().splitlines()
    assert len(err_lines) == 3
    for line, name in zip(err_lines, ("a.mp4", "b.jpg", "missing.png"), strict=True):
        assert line.startswith("mimica: error: ") and name in line
    no_traceback(err)


def test_unknown_model(media: dict[str, Path]) -> None:
    result = CliRunner().invoke(app, ["scan", "--model", "no-such-model", str(media["face.png"])])
    assert result.exit_code != 0
    assert "unknown model 'no-such-model'" in str(result.exception)


# --- every bad input ----------------------------------------------------------------------------------------

def _video_cut(path: Path, suffix: str) -> Path:
    """A face video cut to 40% of its bytes: an interrupted download. MP4 keeps its index at the end
    (no faststart), so the cut loses it; Matroska streams, so the frames before the cut still decode."""
    facemedia.write_face_video(path.with_suffix(suffix), frames=30)
    return mediagen.truncate(path.with_suffix(suffix), 0.4)


def _huge_bilevel_png(path: Path) -> Path:
    Image.new("1", (16000, 16000)).save(path)  # 256 MP at one bit a pixel: a 30 kB file
    return path


def _empty_folder(path: Path) -> Path:
    path.mkdir()
    mediagen.write_text(path / "notes.txt")
    return path


def _gray_png(path: Path) -> Path:
    return facemedia.write_face_image(path, mode="L")


#: (name, how to make it, outcome): "error" + a pattern of what the one-line message says, or the verdicts allowed
BAD_INPUTS: list = [
    pytest.param("missing.mp4", lambda p: p, ("error", "no such file or folder"), id="missing-path"),
    pytest.param("empty-folder", _empty_folder, ("error", "folder holds no image or video files"),
                 id="folder-without-media"),
    pytest.param("text.mp4", mediagen.write_text, ("error", "not a readable image or video"), id="text-as-mp4"),
    pytest.param("cut.mp4", lambda p: _video_cut(p, ".mp4"), ("error", "not a readable image or video"),
                 id="truncated-mp4"),
    pytest.param("cut.mkv", lambda p: _video_cut(p, ".mkv"), ("scanned-with-failures", CLASSIFIED),
                 id="truncated-mkv"),
    pytest.param("random.mp4", mediagen.write_random, ("error", "damaged|corrupt"), id="random-bytes"),
    pytest.param("random.png", mediagen.write_random, ("error", "damaged|corrupt"), id="random-bytes-png"),
    pytest.param("audio.mp4", mediagen.write_audio, ("error", "audio only"), id="audio-only"),
    pytest.param("empty.mp4", lambda p: (p.touch(), p)[1], ("error", "file is empty"), id="zero-length"),
    pytest.param("huge.png", lambda p: mediagen.write_png_header(p, (16000, 16000)), ("error", "too large"),
                 id="16000x16000-header"),
    pytest.param("huge1.png", _huge_bilevel_png, ("error", "too large"), id="16000x16000-bilevel"),
    pytest.param("anim.gif", mediagen.write_image, ("error", "GIF is not supported"), id="gif"),
    pytest.param("gray.mp4", lambda p: facemedia.write_face_video(p, pix_fmt="gray"), ("ok", CLASSIFIED),
                 id="grayscale-h264"),
    pytest.param("gray.mkv", lambda p: facemedia.write_face_video(p, codec="libx265", pix_fmt="gray"),
                 ("ok", CLASSIFIED), id="grayscale-hevc"),
    pytest.param("ten.mp4", lambda p: facemedia.write_face_video(p, pix_fmt="yuv420p10le"), ("ok", CLASSIFIED),
                 id="10-bit-h264"),
    pytest.param("ten.mkv", lambda p: facemedia.write_face_video(p, codec="libx265", pix_fmt="yuv420p10le"),
                 ("ok", CLASSIFIED), id="10-bit-hevc"),
    pytest.param("gray.png", _gray_png, ("ok", CLASSIFIED), id="grayscale-image"),
    pytest.param("noface.png", lambda p: mediagen.write_image(p, size=(320, 240)), ("ok", {"no-face"}),
                 id="image-without-faces"),
]


@pytest.mark.parametrize(("name", "make", "outcome"), BAD_INPUTS)
def test_bad_input(tmp_path: Path, model_card: Path, name: str, make: Callable[[Path], Path],
                   outcome: tuple[str, object]) -> None:
    path = make(tmp_path / name)
    kind, expect = outcome
    code, out, err = run("scan", "--json", "--frames", "4", path)
    no_traceback(out, err)
    objs = json_lines(out)
    assert len(objs) == 1, out
    (obj,) = objs
    check_schema(obj)
    if kind == "error":
        assert code == 1, f"exit {code} although nothing was scanned"
        assert obj["verdict"] == "error" and str(path) in obj["error"]
        assert re.search(str(expect), obj["error"]), obj["error"]
        assert err.strip().splitlines() == [f"mimica: error: {obj['error']}"]
    else:
        assert code == 0, err
        assert obj["verdict"] in expect, obj["reason"]
        assert err.strip() == ""
        if kind == "scanned-with-failures":
            assert obj["frames"]["failed"] > 0
        else:
            assert obj["frames"]["failed"] == 0


# --- a real process -----------------------------------------------------------------------------------------

def mimica_process(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    env.pop("MIMICA_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "mimica", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=REPO)


def test_process_exit_codes_and_clean_stderr(media: dict[str, Path], tmp_path: Path) -> None:
    bad = mediagen.write_random(tmp_path / "noise.mp4")
    # a good file and a bad one: exit 0, a JSON line each, one line on stderr for the bad one
    p = mimica_process("scan", "--json", "--frames", "2", media["face.png"], bad)
    assert p.returncode == 0, p.stderr
    objs = json_lines(p.stdout)
    assert [o["verdict"] in CLASSIFIED for o in objs] == [True, False]
    assert objs[1]["verdict"] == "error"
    assert p.stderr.strip().splitlines() == [f"mimica: error: {objs[1]['error']}"]
    # only bad files: exit 1
    p = mimica_process("scan", bad, tmp_path / "missing.mov")
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 2 and "noise.mp4" in lines[0] and "missing.mov" in lines[1]
    no_traceback(p.stdout, p.stderr)


def test_process_usage_error_exits_2(tmp_path: Path) -> None:
    p = mimica_process("scan", "--frames", "0", tmp_path)
    assert p.returncode == 2
    assert "--frames" in p.stderr
    no_traceback(p.stderr)


# --- on real data -------------------------------------------------------------------------------------------

@pytest.mark.shared
def test_json_on_a_shared_video(shared_data: Path, model_card: Path) -> None:
    video = sorted((shared_data / "ffpp/original_sequences/youtube/c23/videos").glob("*.mp4"))[:1]
    if not video:
        pytest.skip("no c23 video in ../shared/data")
    code, out, err = run("scan", "--json", "--frames", "4", video[0])
    assert code == 0, err
    (obj,) = json_lines(out)
    check_schema(obj)
    assert obj["verdict"] in CLASSIFIED
    assert obj["frames"]["sampled"] == 4 and obj["frames"]["failed"] == 0
    assert obj["frames"]["decoded"] > 100  # every frame is decoded once, in one pass
    assert max(len(t["detections"]) for t in obj["tracks"]) == 4
    assert obj["media"]["kind"] == "video" and obj["media"]["codec"] == "h264"
    assert np.isclose(obj["probability"], max(t["probability"] for t in obj["tracks"] if len(t["detections"]) >= 2))


def test_readme_says_what_the_first_scan_prints(tmp_path: Path) -> None:
    """The README's first command scans scikit-image's astronaut saved as JPEG; the line it quotes is the one the
    shipped model prints (this fails when a new model changes it, so that the README is updated with it)."""
    pytest.importorskip("skimage")
    import skimage.data

    from mimica.models import DEFAULT_MODEL
    from mimica.models.registry import WEIGHTS

    if not (WEIGHTS / f"{DEFAULT_MODEL}.onnx").is_file():
        pytest.skip("the shipped model's weights are not installed")
    photo = tmp_path / "astronaut.jpg"
    Image.fromarray(skimage.data.astronaut()).save(photo)
    code, out, err = run("scan", photo)
    assert code == 0, err
    first = out.splitlines()[0].replace(str(photo), "astronaut.jpg")
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert f"`{first}`" in readme, first
