"""Putting the warped face into the frame: colour transfer, the mask, and the blend.

Colour seams are the first thing users of swap tools complain about (../shared/notes/marking.md), so the warped
face first takes the target skin's colour statistics (Reinhard: mean and spread per Lab channel, measured inside
the mask only), then a Laplacian pyramid blends each frequency band over a mask width that suits it: low bands
blend over a wide seam (no colour step), high bands over a narrow one (no ghosted double edges).
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from mimica.swap.smooth import running


def reinhard(src: NDArray[np.uint8], dst: NDArray[np.uint8], mask: NDArray[np.float32]) -> NDArray[np.uint8]:
    """src recoloured so that its Lab mean and standard deviation inside mask match dst's there."""
    sel = mask > 0.5
    if sel.sum() < 16:
        return src
    s = cv2.cvtColor(src, cv2.COLOR_RGB2LAB).astype(np.float32)
    d = cv2.cvtColor(dst, cv2.COLOR_RGB2LAB).astype(np.float32)
    ms, ss = s[sel].mean(0), s[sel].std(0) + 1e-3
    md, sd = d[sel].mean(0), d[sel].std(0) + 1e-3
    # limit the spread ratio: a dark, flat target would otherwise crush the source's texture
    ratio = np.clip(sd / ss, 0.5, 2.0)
    out = (s - ms) * ratio + md
    return cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def feather(mask: NDArray[np.float32], erode_px: int, blur_px: int) -> NDArray[np.float32]:
    """Shrinks the mask by erode_px (keeps the seam inside the face) and softens it over about blur_px."""
    m = mask
    if erode_px > 0:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * erode_px + 1, 2 * erode_px + 1))
        if ((m == 0) | (m == 1)).all():  # a 0/1 mask erodes the same in uint8, several times faster
            m = cv2.erode(m.astype(np.uint8), k).astype(np.float32)
        else:
            m = np.asarray(cv2.erode(m, k), np.float32)
    if blur_px > 0:
        m = wide_blur(m, blur_px / 2.0)
    return np.clip(m, 0, 1)


def laplacian_blend(
    fg: NDArray[np.uint8], bg: NDArray[np.uint8], mask: NDArray[np.float32], levels: int = 4
) -> NDArray[np.uint8]:
    """fg over bg through mask (0..1), band by band. The pyramid is linear, so blending fg's and bg's bands is
    bg plus the blended bands of fg - bg: one image pyramid instead of two."""
    h, w = mask.shape
    levels = max(1, min(levels, int(np.log2(max(2, min(h, w)))) - 3))
    base = bg.astype(np.float32)
    gd, gm = [fg.astype(np.float32) - base], [mask.astype(np.float32)]
    for _ in range(levels):
        gd.append(np.asarray(cv2.pyrDown(gd[-1]), np.float32))
        gm.append(np.asarray(cv2.pyrDown(gm[-1]), np.float32))
    out = gd[-1] * gm[-1][..., None]
    for i in range(levels - 1, -1, -1):
        size = (gd[i].shape[1], gd[i].shape[0])
        band = gd[i] - cv2.pyrUp(gd[i + 1], dstsize=size)
        out = cv2.pyrUp(out, dstsize=size) + band * gm[i][..., None]
    out += base
    out += 0.5
    return np.clip(out, 0, 255).astype(np.uint8)


def alpha_blend(fg: NDArray[np.uint8], bg: NDArray[np.uint8], mask: NDArray[np.float32]) -> NDArray[np.uint8]:
    m = mask[..., None]
    return np.clip(fg * m + bg * (1 - m) + 0.5, 0, 255).astype(np.uint8)


def poisson_blend(
    fg: NDArray[np.uint8], bg: NDArray[np.uint8], mask: NDArray[np.float32], center: tuple[int, int]
) -> NDArray[np.uint8]:
    """Gradient-domain blend (cv2.seamlessClone). `center` is where the mask's box centre lands in bg; pass a
    smoothed one in video, or the face jitters by the mask's rounding."""
    m = (mask > 0.5).astype(np.uint8) * 255
    if m.sum() == 0:
        return bg
    ys, xs = np.nonzero(m)
    # seamlessClone wants the mask's bounding box strictly inside bg; keep a 1-px margin
    m[[0, -1], :] = 0
    m[:, [0, -1]] = 0
    try:
        return np.asarray(cv2.seamlessClone(fg, bg, m, center, cv2.NORMAL_CLONE), np.uint8)
    except cv2.error:
        del ys, xs
        return alpha_blend(fg, bg, mask)


# -- light, colour and grain matched on skin (the face mesh's regions) ---------------------------------------------

#: width of the target's shading kept on the new face (Gaussian sigma, fraction of the face size): the light's
#: direction and broad shadows. Narrower carries the target's own face relief (eye sockets, cheekbones) and with
#: it its identity (benchmarks/swap_quality.py: 0.07 gave 14 of 23 pairs the source's identity, 0.25 gave 21)
SHADING_SIGMA = 0.25
#: a picture counts as greyscale when this percentile of its per-pixel colour spread (max - min of R, G, B) is
#: at most GREY_SPREAD levels (JPEG leaves a little colour in grey pictures)
GREY_PERCENTILE = 99.0
GREY_SPREAD = 8.0
#: white noise of SD n measures n * this through the high-pass of `grain` (1 - Gaussian of sigma 1)
_HP_GAIN = 0.873
#: blurs tried to match the target's sharpness (Gaussian sigma, pixels), only for a source face this many times
#: sharper than the target's, and down to BLUR_TO times: measured, blurring whenever the source is a little
#: sharper made mimica's own blend detector score the swaps higher (median 0.78 against 0.54 without, 12 FF++
#: stills), so only a gross mismatch is blurred and grain does the rest
BLURS = (0.0, 0.5, 0.8, 1.1, 1.5, 2.0, 2.7, 3.5)
BLUR_WHEN = 2.0
BLUR_TO = 1.5


def colour_spread(image: NDArray[np.uint8]) -> NDArray[np.float32]:
    """Per-pixel colour spread: max minus min of R, G, B (0 for a grey pixel)."""
    return (image.max(axis=2).astype(np.float32) - image.min(axis=2)).astype(np.float32)


def is_greyscale(image: NDArray[np.uint8]) -> bool:
    return float(np.percentile(colour_spread(image), GREY_PERCENTILE)) <= GREY_SPREAD


def _lab(img: NDArray[np.uint8]) -> NDArray[np.float32]:
    return np.asarray(cv2.cvtColor(img.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB), np.float32)


def _rgb(lab: NDArray[np.float32]) -> NDArray[np.uint8]:
    rgb = cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_LAB2RGB)
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def wide_blur(x: NDArray[np.float32], sigma: float) -> NDArray[np.float32]:
    """A Gaussian blur of large sigma, computed on a picture shrunk so the kernel is a few pixels wide (the
    result is smooth anyway): a 60-px sigma at full size costs a 370-tap kernel per pixel."""
    h, w = x.shape[:2]
    f = max(1, int(sigma / 3))
    if f == 1 or min(h, w) < 2 * f:
        return np.asarray(cv2.GaussianBlur(x, (0, 0), sigma), np.float32)
    small = cv2.resize(x, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / f)
    return np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), np.float32).reshape(x.shape)


def _low(x: NDArray[np.float32], m: NDArray[np.float32], sigma: float) -> NDArray[np.float32]:
    """Normalised convolution: the Gaussian mean of x over the pixels of m only (x's features do not leak in).
    Computed on a picture shrunk so the kernel is a few pixels wide, then enlarged (the result is smooth)."""
    h, w = m.shape
    f = max(1, int(sigma / 3))
    size = (max(1, w // f), max(1, h // f))
    xs = cv2.resize(x * m[..., None], size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0], -1)
    ms = cv2.resize(m, size, interpolation=cv2.INTER_AREA)
    num = cv2.GaussianBlur(xs, (0, 0), sigma / f).reshape(xs.shape)
    den = cv2.GaussianBlur(ms, (0, 0), sigma / f)[..., None]
    total = float(ms.sum())
    fallback = xs.reshape(-1, xs.shape[-1]).sum(0) / total if total > 1e-6 else x.reshape(-1, x.shape[-1]).mean(0)
    eps = 1e-3
    low = np.asarray((num + eps * fallback) / (den + eps), np.float32)
    return np.asarray(cv2.resize(low, (w, h), interpolation=cv2.INTER_LINEAR), np.float32).reshape(x.shape)


def relight(
    fg: NDArray[np.uint8],
    bg: NDArray[np.uint8],
    skin_fg: NDArray[np.float32],
    skin_bg: NDArray[np.float32],
    size: float,
    own: NDArray[np.float32] | None = None,
    keep_colour: NDArray[np.float32] | None = None,
) -> NDArray[np.uint8]:
    """fg with the target's light and skin colour: in Lab, the low frequencies of the target's skin replace those
    of the source's skin (shading, light direction, skin tone) and the source keeps its detail. The estimates
    come from skin only (skin_fg, skin_bg), so neither face's eyes, brows or lips tint them. Luminance moves
    everywhere in the face (eyes and lips are in the same light); colour moves except where keep_colour says
    (1: the eyes and teeth keep their own colour, 0.5: the lips take half the shift). own: pixels that already
    are the target's (the eyes and mouth drawn from the target), left as they are."""
    sigma = max(1.5, SHADING_SIGMA * size)
    f, b = _lab(fg), _lab(bg)
    # the shift f -> f - low(f) + low(b), scaled down where it must not apply (keep: keep * f + (1 - keep) *
    # shifted is f + (1 - keep) * shift): a few passes over the picture instead of a dozen
    shift = _low(b, skin_bg, sigma)
    shift -= _low(f, skin_fg, sigma)
    if keep_colour is not None:
        keep = cv2.GaussianBlur(keep_colour, (0, 0), max(1.0, 0.01 * size))
        shift[..., 1:] *= (1.0 - keep)[..., None]
    if own is not None:
        mine = cv2.GaussianBlur(own, (0, 0), max(1.0, 0.01 * size))
        shift *= (1.0 - mine)[..., None]
    shift += f
    return _rgb(shift)


def _hp(lum: NDArray[np.float32], m: NDArray[np.bool_]) -> float:
    d = lum - cv2.GaussianBlur(lum, (0, 0), 1.0)
    return float(np.sqrt(np.mean(d[m] ** 2))) if m.any() else 0.0


def grain_params(
    fg: NDArray[np.uint8],
    bg: NDArray[np.uint8],
    skin_fg: NDArray[np.float32],
    skin_bg: NDArray[np.float32],
    past: float | None = None,
    steady: float = 0.0,
) -> tuple[float, float, float]:
    """(blur sigma, noise SD, sharpness ratio) that give fg's skin the fine-detail energy of the target's skin: a
    sharp face in a soft frame, or a clean face in a grainy one, is what gives a one-shot swap away. Whether to
    blur is decided on the ratio of fg's fine detail to bg's, on a video averaged with the past frames' (`past`,
    weight `steady`): this frame's alone crosses BLUR_WHEN back and forth (004: sigma 0 <-> 0.8, a sharpness
    flicker)."""
    lf = cv2.cvtColor(fg, cv2.COLOR_RGB2GRAY).astype(np.float32)
    lb = cv2.cvtColor(bg, cv2.COLOR_RGB2GRAY).astype(np.float32)
    mf, mb = skin_fg > 0.5, skin_bg > 0.5
    want = _hp(lb, mb)
    sigma, have = 0.0, _hp(lf, mf)
    ratio = running(past, have / max(want, 1e-6), steady)
    if ratio > BLUR_WHEN:
        for s in BLURS:
            have = _hp(np.asarray(cv2.GaussianBlur(lf, (0, 0), s), np.float32) if s else lf, mf)
            sigma = s
            if have <= BLUR_TO * want:
                break
    noise = float(np.sqrt(max(want * want - have * have, 0.0))) / _HP_GAIN
    return sigma, min(noise, 6.0), ratio


def add_grain(
    fg: NDArray[np.uint8], sigma: float, noise: float, rng: np.random.Generator
) -> NDArray[np.uint8]:
    """fg blurred by sigma, plus luminance noise of SD `noise` (the same in R, G, B: grey stays grey)."""
    out = fg.astype(np.float32)
    if sigma > 0.05:
        out = np.asarray(cv2.GaussianBlur(out, (0, 0), sigma), np.float32)
    if noise > 0.05:
        out += (rng.standard_normal(fg.shape[:2]).astype(np.float32) * noise)[..., None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def to_grey(img: NDArray[np.uint8]) -> NDArray[np.uint8]:
    g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    return np.repeat(g[..., None], 3, axis=2)


def skin_likeness(
    image: NDArray[np.uint8], skin: NDArray[np.float32], features: NDArray[np.float32]
) -> NDArray[np.float32]:
    """(h, w) in [0, 1]: how much each pixel of the source's face looks like its skin. Hair over the temples or
    the forehead, glasses' rims and hands are inside the face outline too; pasted onto the target they are dark
    streaks, so the blend shows the target there instead. Features (eyes, brows, lips) count as skin."""
    lab = _lab(image)
    sel = skin > 0.5
    if sel.sum() < 32:
        return np.ones(image.shape[:2], np.float32)
    med = np.median(lab[sel], axis=0)
    mad = np.median(np.abs(lab[sel] - med), axis=0) * 1.4826 + np.array([3.0, 2.0, 2.0])
    dist = np.sqrt((((lab - med) / mad) ** 2 * np.array([1.0, 0.5, 0.5])).sum(axis=2))
    like = np.clip((5.0 - dist) / 2.0, 0, 1).astype(np.float32)
    like = np.maximum(like, features)
    like = np.asarray(cv2.morphologyEx(like, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)), np.float32)
    return np.asarray(cv2.GaussianBlur(like, (0, 0), 1.5), np.float32)
