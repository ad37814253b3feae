"""Colour and light of the swap on real faces: greyscale stays greyscale, skin follows the target's light."""

from __future__ import annotations

import cv2
import numpy as np

from mimica.faces import create_detector
from mimica.swap import FaceSwapper, SourceFace, SwapOptions
from mimica.swap.blend import colour_spread, grain_params, is_greyscale
from mimica.swap.regions import region_masks


def _mesh(img: np.ndarray) -> np.ndarray:
    faces = create_detector("mediapipe").detect(img)
    assert len(faces) >= 1
    return faces.mesh[int(np.argmax(faces.area))]


def _camera() -> np.ndarray:
    from skimage.data import camera

    return np.ascontiguousarray(np.repeat(camera()[..., None], 3, axis=2))


def test_greyscale_target_gives_a_greyscale_output(astronaut):
    """The README's example: the colour astronaut on the greyscale cameraman. A Lab transfer whose chroma
    spread is clamped leaves a blue-purple smear on the cheek; every colour must go."""
    target = _camera()
    assert is_greyscale(target) and not is_greyscale(astronaut)
    face = SourceFace.from_image(astronaut)
    mesh = _mesh(target)
    (x0, y0), (x1, y1) = mesh.min(0).astype(int), mesh.max(0).astype(int)
    for color in ("skin", "reinhard", "none"):
        out = FaceSwapper(face, SwapOptions(color=color)).apply(target, mesh)
        assert np.abs(out[y0:y1, x0:x1].astype(int) - target[y0:y1, x0:x1]).mean() > 2, "nothing was swapped"
        assert float(np.percentile(colour_spread(out), 99.5)) <= 12, color


def test_skin_takes_the_targets_light_and_lips_keep_their_colour(astronaut):
    """A target lit darker and bluer: the swapped skin follows it; the lips stay redder than the skin."""
    target = np.clip(astronaut.astype(np.float32) * np.array([0.6, 0.65, 0.8]), 0, 255).astype(np.uint8)
    mesh = _mesh(target)
    face = SourceFace.from_image(astronaut)
    out = FaceSwapper(face, SwapOptions(identity=0.0)).apply(target, mesh)
    reg = region_masks(mesh, target.shape)
    lab = {k: cv2.cvtColor(v, cv2.COLOR_RGB2LAB).astype(float) for k, v in (("t", target), ("o", out))}
    skin = reg["skin"] > 0.5
    assert np.abs(lab["o"][skin].mean(0) - lab["t"][skin].mean(0)).max() < 4
    lips = reg["lips"] > 0.5
    assert lab["o"][lips][:, 1].mean() > lab["o"][skin][:, 1].mean() + 4


def test_grain_matches_a_soft_target(astronaut):
    """A sharp source in a blurred frame gets blurred; in a grainy frame it gets grain."""
    mesh = _mesh(astronaut)
    skin = region_masks(mesh, astronaut.shape)["skin"]
    soft = cv2.GaussianBlur(astronaut, (0, 0), 2.0)
    sigma, noise, _ = grain_params(astronaut, soft, skin, skin)
    assert sigma >= 1.0
    rng = np.random.default_rng(0)
    grainy = np.clip(astronaut + rng.normal(0, 6, astronaut.shape[:2])[..., None], 0, 255).astype(np.uint8)
    sigma, noise, _ = grain_params(astronaut, grainy, skin, skin)
    assert sigma == 0 and noise > 3


def _two_pyramid_blend(fg: np.ndarray, bg: np.ndarray, mask: np.ndarray, levels: int) -> np.ndarray:
    """The textbook Laplacian blend (a pyramid of fg, one of bg, one of the mask), the reference."""
    ga, gb, gm = [fg.astype(np.float32)], [bg.astype(np.float32)], [mask.astype(np.float32)]
    for _ in range(levels):
        for p in (ga, gb, gm):
            p.append(cv2.pyrDown(p[-1]))
    out = ga[-1] * gm[-1][..., None] + gb[-1] * (1 - gm[-1][..., None])
    for i in range(levels - 1, -1, -1):
        size = (ga[i].shape[1], ga[i].shape[0])
        la, lb = ga[i] - cv2.pyrUp(ga[i + 1], dstsize=size), gb[i] - cv2.pyrUp(gb[i + 1], dstsize=size)
        out = cv2.pyrUp(out, dstsize=size) + la * gm[i][..., None] + lb * (1 - gm[i][..., None])
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def test_one_pyramid_blend_is_the_laplacian_blend(astronaut):
    """The blend builds one pyramid of fg - bg (the pyramid is linear); it must give the textbook blend's
    picture, on an odd-sized crop with a soft mask."""
    from mimica.swap.blend import feather, laplacian_blend

    fg = np.ascontiguousarray(astronaut[40:283, 130:371])
    bg = np.ascontiguousarray(_camera()[100:343, 150:391])
    mask = np.zeros(fg.shape[:2], np.float32)
    cv2.ellipse(mask, (120, 121), (80, 100), 0, 0, 360, 1.0, -1)
    mask = feather(mask, 5, 20)
    out = laplacian_blend(fg, bg, mask)
    ref = _two_pyramid_blend(fg, bg, mask, 4)
    assert np.abs(out.astype(int) - ref).max() <= 1
    assert np.abs(out.astype(int) - bg)[mask < 1e-6].max() <= 1  # mask 0 far from the face: the background
    inside = feather(mask, 40, 0) > 0.5
    assert np.abs(out.astype(int) - fg)[inside].mean() < 1  # deep inside: the face


def test_blur_choice_follows_the_videos_running_sharpness(astronaut):
    """On a video the choice to blur is made on the sharpness ratio averaged over past frames: a frame whose own
    ratio falls under the threshold is still blurred after sharper ones (no sharpness flicker); a still decides
    alone."""
    mesh = _mesh(astronaut)
    skin = region_masks(mesh, astronaut.shape)["skin"]
    soft = cv2.GaussianBlur(astronaut, (0, 0), 0.7)  # the source about 1.7 times sharper: under BLUR_WHEN (2)
    sigma, _, alone = grain_params(astronaut, soft, skin, skin)
    assert sigma == 0 and 1.5 < alone < 2.0
    sigma, _, ratio = grain_params(astronaut, soft, skin, skin, past=3.0, steady=0.8)
    assert sigma > 0 and abs(ratio - (0.8 * 3.0 + 0.2 * alone)) < 1e-6
    sigma, _, _ = grain_params(astronaut, soft, skin, skin, past=1.2, steady=0.8)
    assert sigma == 0
