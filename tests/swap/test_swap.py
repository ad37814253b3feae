from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests.swap.swapmedia import audio_packets, frames_of, video_timestamps

from mimica.errors import MediaError, NoFaceError, OutputError, SwapError
from mimica.faces import create_detector
from mimica.provenance import inspect
from mimica.provenance.keys import init_keys
from mimica.provenance.xmp import COMPOSITE_TRAINED, digital_source_type, read_container_tags
from mimica.swap import Marking, SwapOptions, UnsignedNotice, swap
from mimica.swap.writer import add_label


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _mesh(img: np.ndarray) -> np.ndarray:
    faces = create_detector("mediapipe").detect(img)
    assert len(faces) >= 1
    return faces.mesh[int(np.argmax(faces.area))]


@pytest.mark.parametrize("blend", ["laplacian", "poisson"])
def test_image_swap_follows_target_geometry(media, tmp_path, blend):
    """The target's pose and outline drive the result; inside, the landmarks are where the swap put the source's
    (mimica.swap.shape), not the target's."""
    from mimica.faces.landmarks import FACE_OVAL
    from mimica.swap import FaceSwapper, SourceFace
    from mimica.swap.core import SwapOptions as Options

    target = np.asarray(Image.open(media["target"]).convert("RGB"))
    out = swap(media["source"], media["target"], tmp_path / "out.png", SwapOptions(blend=blend))
    result = np.asarray(Image.open(out).convert("RGB"))
    t, r = _mesh(target), _mesh(result)
    size = float(np.ptp(t, axis=0).max())
    source = SourceFace.from_image(np.asarray(Image.open(media["source"]).convert("RGB")))
    intended = FaceSwapper(source, Options()).destination(t)
    err = np.linalg.norm(intended - r, axis=1).mean() / size
    # Poisson re-colours the pasted eyes and mouth from the frame's gradients, and FaceMesh reads them a pixel
    # or so off (measured 0.043 against laplacian's 0.006 since the eyes and mouth are drawn, issue 15)
    limit = 0.04 if blend == "laplacian" else 0.05
    assert err < limit, f"landmarks moved by {err:.3f} face sizes from where the swap drew them"
    outline = np.linalg.norm(t[list(FACE_OVAL)] - r[list(FACE_OVAL)], axis=1).mean() / size
    assert outline < 0.04, f"the face outline moved by {outline:.3f} face sizes"
    face = (slice(int(t[:, 1].min()), int(t[:, 1].max())), slice(int(t[:, 0].min()), int(t[:, 0].max())))
    assert np.abs(result[face].astype(int) - target[face]).mean() > 3, "the face was not replaced"


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_image_output_carries_every_mark(media, tmp_path, suffix):
    out = tmp_path / f"out{suffix}"
    with pytest.warns(UnsignedNotice, match="mimica keys init"):
        swap(media["source"], media["target"], out, marking=Marking(label_position="top-left"))
    img = np.asarray(Image.open(out).convert("RGB"))
    assert digital_source_type(out) == COMPOSITE_TRAINED
    report = inspect(out)
    assert report["watermark"]["detected"] and report["watermark"]["p_value"] < 1e-5
    assert report["digital_source_type"] == COMPOSITE_TRAINED
    assert report["c2pa"]["present"] is False
    # the visible label sits in the requested corner
    target = np.asarray(Image.open(media["target"]).convert("RGB"))
    labelled = add_label(target, "top-left")
    corner = (slice(0, 40), slice(0, 50))
    assert np.abs(labelled[corner].astype(int) - target[corner]).mean() > 20
    assert np.abs(img[corner].astype(int) - labelled[corner]).mean() < 8
    assert not list(tmp_path.glob(".*part*")), "temporary files left behind"


def test_video_swap_keeps_timing_and_audio_and_is_marked(media, tmp_path):
    src, clip = media["source"], media["clip"]
    before = _digest(clip), _digest(src)
    out = swap(src, clip, tmp_path / "out.mp4")
    assert (_digest(clip), _digest(src)) == before, "inputs must never be modified"
    assert video_timestamps(out) == pytest.approx(video_timestamps(clip), abs=1e-3)
    packets = audio_packets(clip)
    assert packets and audio_packets(out) == packets, "audio must be copied unchanged"
    assert read_container_tags(out)["digital_source_type"] == COMPOSITE_TRAINED
    report = inspect(out)
    assert report["digital_source_type"] == COMPOSITE_TRAINED
    assert report["watermark"]["detected"]
    frames = frames_of(out)
    geometry = [
        np.linalg.norm(_mesh(a) - _mesh(b), axis=1).mean()
        for a, b in zip(frames[::8], frames_of(clip)[::8], strict=True)
    ]
    assert max(geometry) < 0.05 * 256


def test_video_c2pa_round_trip_with_dev_keys(media, tmp_path, monkeypatch):
    pytest.importorskip("c2pa", reason="needs the [swap] extra")
    pytest.importorskip("cryptography")
    keys = tmp_path / "keys"
    init_keys(keys)
    monkeypatch.setenv("MIMICA_KEYS_DIR", str(keys))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnsignedNotice)
        out = swap(media["source"], media["clip"], tmp_path / "signed.mp4")
    c2pa = inspect(out)["c2pa"]
    assert c2pa["present"] and c2pa["valid"] and c2pa["trusted"]
    assert c2pa["digital_source_type"] == COMPOSITE_TRAINED
    assert "c2pa.soft-binding" in c2pa["assertions"]
    monkeypatch.setenv("MIMICA_KEYS_DIR", str(tmp_path / "elsewhere"))
    elsewhere = inspect(out)["c2pa"]
    assert elsewhere["valid"] and elsewhere["trusted"] is False


def test_image_c2pa_round_trip(media, tmp_path):
    pytest.importorskip("c2pa", reason="needs the [swap] extra")
    pytest.importorskip("cryptography")
    keys = tmp_path / "keys"
    init_keys(keys)
    out = swap(media["source"], media["target"], tmp_path / "signed.jpg", marking=Marking(key_dir=keys))
    report = inspect(out, key_dir=keys)
    assert report["c2pa"]["trusted"] is True
    assert report["watermark"]["detected"]
    assert digital_source_type(out) == COMPOSITE_TRAINED


def test_private_key_is_detectable_only_with_the_key(media, tmp_path):
    out = swap(media["source"], media["target"], tmp_path / "p.png", marking=Marking(private_key="s3cret"))
    assert inspect(out, private_key="s3cret")["watermark"]["detected"]
    from mimica.provenance import watermark

    img = np.asarray(Image.open(out).convert("RGB"))
    assert watermark.detect(img, key="s3cret").detected
    assert watermark.detect(img, key="s3cret").p_value < watermark.detect(img, key="other").p_value
    assert not watermark.detect(img, key="other").detected


# -- bad input -------------------------------------------------------------------------------------------------


def _nothing_written(folder: Path, before: set[Path]) -> None:
    assert set(folder.iterdir()) == before


def test_no_face_in_source(media, tmp_path):
    with pytest.raises(NoFaceError, match="no face found in the source"):
        swap(media["noface"], media["target"], tmp_path / "o.png")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("name,suffix", [("noface", ".png"), ("noface_video", ".mp4")])
def test_no_face_in_target_writes_nothing(media, tmp_path, name, suffix):
    target = media[name]
    with pytest.raises(NoFaceError, match="nothing was written"):
        swap(media["source"], target, tmp_path / f"o{suffix}")
    assert not list(tmp_path.iterdir())


def test_unreadable_inputs(media, tmp_path):
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"\xff\xd8 not really a jpeg" * 10)
    with pytest.raises(MediaError):
        swap(junk, media["target"], tmp_path / "o.png")
    with pytest.raises(MediaError):
        swap(media["source"], junk, tmp_path / "o.png")
    with pytest.raises(MediaError):
        swap(tmp_path / "missing.png", media["target"], tmp_path / "o.png")


@pytest.mark.parametrize(
    "out_name,match",
    [
        ("target.png", "same as an input"),
        ("o.gif", "cannot write"),
        ("o.avi", "cannot write"),
        ("missing/o.png", "does not exist"),
    ],
)
def test_bad_output_paths(media, tmp_path, out_name, match):
    out = media["target"] if out_name == "target.png" else tmp_path / out_name
    before = _digest(media["target"])
    with pytest.raises(OutputError, match=match):
        swap(media["source"], media["target"], out)
    assert _digest(media["target"]) == before


def test_video_target_needs_a_video_container(media, tmp_path):
    with pytest.raises(OutputError, match="cannot write .jpg"):
        swap(media["source"], media["clip"], tmp_path / "o.jpg")


def test_face_index_out_of_range(media, tmp_path):
    with pytest.raises(SwapError, match="face"):
        swap(media["source"], media["target"], tmp_path / "o.png", SwapOptions(face=3))


def test_bad_options():
    with pytest.raises(SwapError):
        SwapOptions(blend="magic")
    with pytest.raises(SwapError, match="expression"):
        SwapOptions(expression=-1)
    with pytest.raises(OutputError):
        Marking(label_position="centre")


def test_label_cannot_be_switched_off():
    import dataclasses

    names = {f.name for f in dataclasses.fields(SwapOptions)} | {f.name for f in dataclasses.fields(Marking)}
    assert not names & {"label", "no_label", "watermark", "no_watermark"}


@pytest.mark.shared
def test_swap_real_faces(shared_data, tmp_path):
    faces = sorted((shared_data / "faces/fairface/val").glob("*.jpg"))[:6]
    made = 0
    for src, tgt in zip(faces[::2], faces[1::2], strict=True):
        try:
            out = swap(src, tgt, tmp_path / f"{tgt.stem}.png")
        except NoFaceError:
            continue
        made += 1
        assert inspect(out)["watermark"]["detected"]
        t, r = _mesh(np.asarray(Image.open(tgt).convert("RGB"))), _mesh(np.asarray(Image.open(out).convert("RGB")))
        assert np.linalg.norm(t - r, axis=1).mean() / float(np.ptp(t, axis=0).max()) < 0.05
    assert made >= 1


def test_several_faces_largest_by_default_all_on_request(media, tmp_path, astronaut):
    from tests.swap.swapmedia import head

    from mimica.swap import SourceFaceWarning

    big, small = head(astronaut, 320), head(astronaut, 240)
    canvas = np.full((320, 600, 3), 90, np.uint8)
    canvas[:, :320], canvas[40:280, 350:590] = big, small
    Image.fromarray(canvas).save(tmp_path / "two.png")
    one = np.asarray(Image.open(swap(media["source"], tmp_path / "two.png", tmp_path / "one.png")))
    both = np.asarray(
        Image.open(swap(media["source"], tmp_path / "two.png", tmp_path / "both.png", SwapOptions(all_faces=True)))
    )

    def changed(img, xs):
        return np.abs(img[60:200, xs].astype(int) - canvas[60:200, xs]).mean()

    assert changed(one, slice(80, 240)) > 3 and changed(one, slice(400, 540)) < 2
    assert changed(both, slice(400, 540)) > 3
    with pytest.warns(SourceFaceWarning, match="using the largest"):
        swap(tmp_path / "two.png", media["target"], tmp_path / "from_two.png")


def test_the_upper_forehead_stays_the_targets(media, tmp_path):
    """A source with hair across its forehead must not paste a band of hair: above the brows, only part of the
    forehead is the source's, and the target's hairline region is left as it was."""
    from mimica.faces.landmarks import BROWS_UPPER, CHIN, FACE_OVAL
    from mimica.swap.core import FOREHEAD_KEEP, _lower_forehead

    target = np.asarray(Image.open(media["target"]).convert("RGB"))
    mesh = _mesh(target)
    outline = _lower_forehead(mesh)
    up = (mesh[FACE_OVAL[0]] - mesh[CHIN]) / np.linalg.norm(mesh[FACE_OVAL[0]] - mesh[CHIN])
    brow = float((mesh[list(BROWS_UPPER)] @ up).max())
    top = float((mesh[list(FACE_OVAL)] @ up).max())
    assert (outline @ up).max() == pytest.approx(brow + FOREHEAD_KEEP * (top - brow), abs=1e-3)
    low = (mesh[list(FACE_OVAL)] @ up) < brow
    assert np.allclose(outline[low], mesh[list(FACE_OVAL)][low]), "the lower outline must not move"
    out = swap(media["source"], media["target"], tmp_path / "out.png")
    result = np.asarray(Image.open(out).convert("RGB")).astype(int)
    hairline = mesh[FACE_OVAL[0]] - 0.05 * (top - brow) * up  # just inside the outline's top
    y, x = np.rint(hairline[::-1]).astype(int)
    assert np.abs(result[y - 2 : y + 3, x - 2 : x + 3] - target[y - 2 : y + 3, x - 2 : x + 3]).mean() < 4


def test_scan_says_a_mirrored_swap_is_synthetic_and_mirrored(media, tmp_path, scanner):
    """Flipping a swapped picture left-right is a cheap way to dodge matching; the scan still finds the mark and
    says the file was mirrored."""
    out = swap(media["source"], media["target"], tmp_path / "out.png")
    flipped = tmp_path / "flipped.jpg"
    Image.fromarray(np.asarray(Image.open(out).convert("RGB"))[:, ::-1]).save(flipped, quality=80)
    for path, mirrored in ((out, False), (flipped, True)):
        result = scanner.scan(path)
        assert result.verdict == "fake" and "watermark" in result.reason
        assert result.provenance["watermark"]["mirrored"] is mirrored
        assert ("mirrored" in result.reason) is mirrored


def test_the_targets_lid_edge_stays_around_its_eyes(astronaut):
    """FaceMesh reads a blink from the lid edge's look (lashes, the lid's shadow), so the swap keeps the
    target's own lids around its eyes (SwapOptions.feature_band): a source with black eyeliner must not bring
    it onto the target's lids, and without the band it does (the test can fail)."""
    import cv2

    from mimica.swap import FaceSwapper, SourceFace
    from mimica.swap.core import LID_BAND
    from mimica.swap.regions import LEFT_EYE, RIGHT_EYE

    mesh = _mesh(astronaut)
    lined = astronaut.copy()
    for loop in (RIGHT_EYE, LEFT_EYE):
        cv2.polylines(lined, [np.rint(mesh[list(loop)]).astype(np.int32)], True, (10, 10, 10), 4)
    face = SourceFace.from_image(lined)
    size = float(np.ptp(mesh, axis=0).max())
    eyes = np.zeros(astronaut.shape[:2], np.uint8)
    for loop in (RIGHT_EYE, LEFT_EYE):
        cv2.fillPoly(eyes, [np.rint(mesh[list(loop)]).astype(np.int32)], 1)
    dist = cv2.distanceTransform(1 - eyes, cv2.DIST_L2, 3)
    ring = (dist > 0) & (dist < 0.5 * LID_BAND * size)  # the inner half of the band: at least half the target's
    grey = {}
    for band in (0.0, 1.0):
        out = FaceSwapper(face, SwapOptions(identity=0.0, feature_band=band)).apply(astronaut, mesh)
        grey[band] = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)[ring].astype(float).mean()
    target = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)[ring].astype(float).mean()
    assert grey[0.0] < target - 20, (grey, target)  # without the band: the source's eyeliner
    assert grey[1.0] - grey[0.0] > 0.6 * (target - grey[0.0]), (grey, target)


@pytest.mark.parametrize("blend", ["laplacian", "alpha"])
def test_the_source_pictures_background_never_reaches_the_output(media, blend):
    """Outside the drawn face the warp samples nothing of the source (its border pixel stands there); the blend's
    soft edge and the pyramid's coarse bands reach past the face, so a source shot against a white wall gave a
    grey smear along the target's jaw. Two sources that differ only off their face must give the same swap."""
    import cv2

    from mimica.faces.landmarks import FACE_OVAL
    from mimica.swap import FaceSwapper, SourceFace

    target = np.asarray(Image.open(media["target"]).convert("RGB"))
    face = SourceFace.from_image(np.asarray(Image.open(media["source"]).convert("RGB")))
    off = np.ones(face.image.shape[:2], np.uint8)
    cv2.fillPoly(off, [np.rint(face.mesh[list(FACE_OVAL)]).astype(np.int32)], 0)
    off = cv2.erode(off, np.ones((15, 15), np.uint8)).astype(bool)  # clear of the outline at every pyramid level
    mesh, outs = _mesh(target), []
    for colour in ((255, 255, 255), (0, 255, 0)):
        img = face.image.copy()
        img[off] = colour
        outs.append(FaceSwapper(SourceFace(img, face.mesh, face.depth), SwapOptions(blend=blend)).apply(target, mesh))
    assert np.abs(outs[0].astype(int) - outs[1].astype(int)).max() <= 1


def test_the_lid_band_fades_out_before_the_targets_triangles_end():
    """The target's lid edge is drawn only over the triangles touching the eye's contour; a band wider than they
    reach was cut where they end (a step of the target's weight in one pixel: a seam around the eyes). It must
    fall to nothing inside them, by no more than twice the band's slope per pixel."""
    import cv2

    from mimica.swap.core import LID_BAND, _band, _feature_band

    h = w = 200
    size = 500.0  # the band 20 px wide; the triangles reach 12 px past the eye
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot(yy - 100, xx - 100)
    eyes = (r < 30).astype(np.float32)
    reach = cv2.GaussianBlur((r < 42).astype(np.float32), (0, 0), 0.6)
    box = (0, 0, w, h)
    weight = _feature_band(eyes, np.zeros_like(eyes), reach, size, box)
    step = max(np.abs(np.diff(weight, axis=0)).max(), np.abs(np.diff(weight, axis=1)).max())
    assert step <= 2.5 / (LID_BAND * size)
    assert weight[r > 42].max() < 0.05 and weight[r < 31].min() > 0.9
    cut = _band(eyes, LID_BAND * size, box) * reach  # the band merely masked by the triangles' reach
    assert max(np.abs(np.diff(cut, axis=0)).max(), np.abs(np.diff(cut, axis=1)).max()) > 0.25  # the test can fail
