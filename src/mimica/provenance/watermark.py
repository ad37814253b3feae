"""An invisible keyed watermark: a spread-spectrum pattern in the low and middle frequencies of the luminance.

Why this design (../shared/notes/marking.md): bit-decoding marks such as `invisible-watermark` fail on a 50%
resize. Here nothing is decoded; the detector asks one question, "is this key's pattern in the pixels?", and
answers with a p-value, so its false-alarm rate is known from its own statistics.

- The pattern is a small tile (`TILE` x `TILE`) of random phases with a flat magnitude in a frequency band,
  repeated over the picture in a *canonical* frame whose short side is `CANON` pixels. Because the grid is tied
  to the picture's size, a downscale does not change it; because it repeats, a crop only shifts it (cyclically).
- Small pictures and videos (short side under `SMALL_SIDE`) get a grid twice as coarse (`CANON_SMALL`): on the
  standard grid their pattern would sit so close to the pixel frequency that a 0.5x downscale, H.264 and JPEG
  remove it. The detector does not know the original size after a downscale, so it tests both grids.
- Detection resizes the luminance to the canonical size, removes the smooth content, divides by the local
  contrast (the picture's edges and textures are the noise this test fights, and they are not spread evenly:
  weighting each place by its own noise level is the matched filter for such noise), folds the picture onto one
  tile (the sum of all tiles, partial ones included: the mark adds up, the picture does not), whitens it (phase
  only) and correlates it with the key's tile at every cyclic shift with one FFT. A crop that removes part of the
  short side changes the scale a little, so a small set of scales is searched as well, and the key's mirror image
  is tried too (a left-right flip); every shift, scale, grid and mirror tried is counted in the p-value (Sidak
  correction), so the search costs no false alarms.
- In video the same tile sits in every frame, so the detector averages the frames first: more frames, more
  evidence, and one search.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy.special import log_ndtr

#: the key everyone can check: a mark made with it says "made by mimica"
PUBLIC_KEY = "mimica/watermark/public/v1"
#: canonical short side (pixels) of the grid the pattern lives on
CANON = 256
#: the coarser grid of small pictures and videos, and the short side (pixels) below which they count as small
#: (measured: 360-line video survives the combined attacks on this grid, mostly not on the standard one)
CANON_SMALL = 128
SMALL_SIDE = 480
#: side of the repeated tile, in canonical pixels
TILE = 64
#: the pattern's band, in cycles per canonical pixel: above the picture's strongest (smooth) content, below what
#: JPEG, H.264 and a 0.5x downscale remove
BAND = (0.07, 0.24)
#: kept fraction of the short side searched for crops (1.0 = no crop). A 10% crop keeps 0.9. The step keeps
#: the fold coherent: a scale error e drifts the grid by e * width/2 canonical pixels over half the picture
KEEP_RANGE = (0.70, 1.0)
KEEP_STEP = 0.008
#: strength: the most RMS change of the luminance over a picture, in 8-bit levels (PSNR >= 40.5 dB at 2.4)
STRENGTH = 2.4
#: the perceptual mask (local RMS of the mark, levels): flat places, busy places, and the share of the local
#: luminance SD the mark may take in between
FLAT_RMS = 0.6
TEXTURE_RMS = 3.0
TEXTURE_GAIN = 0.5
#: no PATCH x PATCH window carries more than PATCH_RMS levels RMS: PSNR >= 38.5 dB everywhere (issue 15: the
#: worst 64-px patch, not the mean, is where a mark shows)
PATCH = 64
PATCH_RMS = 3.0
PATCH_PSNR = 38.0
#: width (canonical pixels) of the window the detector measures local contrast in
CONTRAST_SIGMA = 3.0
#: pictures with a shorter side (pixels) carry no testable mark; of a picture longer than ASPECT_MAX times its
#: short side only the middle is tested (a 2 x 3000 banner would otherwise cost seconds and hundreds of MB)
MIN_SIDE = 32
ASPECT_MAX = 8
#: a mark is reported when its p-value is below this (false alarms per checked picture or video)
P_THRESHOLD = 1e-5


@dataclass(frozen=True)
class Detection:
    """detected: p_value < threshold; z: the best normalised correlation; p_value: the chance that unmarked
    media scores z or more, all shifts and scales searched included; keep: the crop scale where the mark was
    found (fraction of the short side kept); canon: the grid it was found on; mirrored: found in the picture's
    left-right mirror image."""

    detected: bool
    z: float
    p_value: float
    keep: float
    shift: tuple[int, int]
    canon: int = CANON
    mirrored: bool = False

    @property
    def confidence(self) -> float:
        return 1.0 - self.p_value

    def to_dict(self) -> dict:
        # mirrored: the file was flipped left-right after marking, a common way to dodge matching (evidence too)
        return {
            "detected": self.detected,
            "confidence": self.confidence,
            "p_value": self.p_value,
            "z": self.z,
            "mirrored": self.detected and self.mirrored,
        }


def _band_mask(n: int) -> NDArray[np.bool_]:
    f = np.fft.fftfreq(n)
    r = np.hypot(f[:, None], f[None, :])
    return (r >= BAND[0]) & (r <= BAND[1])


@lru_cache(maxsize=8)
def key_tile(key: str) -> NDArray[np.float32]:
    """The key's tile (TILE, TILE), zero mean, unit RMS: random phases, flat magnitude inside BAND."""
    seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    spec = np.fft.fft2(rng.standard_normal((TILE, TILE)))
    band = _band_mask(TILE)
    spec = np.where(band, spec / np.maximum(np.abs(spec), 1e-12), 0)
    tile = np.real(np.fft.ifft2(spec))
    return (tile / tile.std()).astype(np.float32)


@lru_cache(maxsize=8)
def _key_spectrum(key: str, mirrored: bool = False) -> NDArray[np.complex128]:
    """The conjugate phase of the key's tile, or of its left-right mirror image (a mirrored video is a common
    way to dodge matching; a mirrored tile is still a tile, so one more correlation finds it)."""
    tile = key_tile(key)
    spec = np.fft.fft2((tile[:, ::-1] if mirrored else tile).astype(np.float64))
    band = np.abs(spec) > 1e-3 * np.abs(spec).max()
    return np.where(band, np.conj(spec) / np.maximum(np.abs(spec), 1e-12), 0)


def canonical_size(height: int, width: int, short: float = CANON) -> tuple[int, int]:
    """(h, w) of the canonical grid for a picture of this size: the short side becomes `short`."""
    s = short / min(height, width)
    return max(1, round(height * s)), max(1, round(width * s))


def grid_for(height: int, width: int) -> int:
    """The canonical short side a picture of this size is marked on."""
    return CANON_SMALL if min(height, width) < SMALL_SIDE else CANON


@lru_cache(maxsize=16)
def pattern(height: int, width: int, keys: tuple[str, ...] = (PUBLIC_KEY,)) -> NDArray[np.float32]:
    """The mark for a picture of this size, unit RMS per key, summed over the keys and scaled so the total
    power is that of one key (adding a private key does not make the mark more visible)."""
    ch, cw = canonical_size(height, width, grid_for(height, width))
    total = np.zeros((ch, cw), np.float32)
    for key in keys:
        tile = key_tile(key)
        reps = (ch // TILE + 1, cw // TILE + 1)
        total += np.tile(tile, reps)[:ch, :cw]
    total /= math.sqrt(len(keys))
    up = cv2.resize(total, (width, height), interpolation=cv2.INTER_CUBIC)
    return (up / max(float(up.std()), 1e-6)).astype(np.float32)


def _activity(lum: NDArray[np.float32]) -> NDArray[np.float32]:
    """The perceptual mask: the mark's local RMS (levels) for each place, from the picture's local contrast.

    Texture hides noise in proportion to its own contrast, flat areas hide none: a flat sky, a white caption box
    or smooth skin get only FLAT_RMS, busy places up to TEXTURE_RMS (TEXTURE_GAIN x the local luminance SD).
    This costs the detector less than it seems: it divides each place by its local contrast, so in flat places
    a weak mark is as loud as a strong one as long as it stands above the noise of compression.
    Measured on an 8x smaller picture (cheap, and the mask only needs to be smooth)."""
    h, w = lum.shape
    small = cv2.resize(lum, (max(1, w // 8), max(1, h // 8)), interpolation=cv2.INTER_AREA)
    mean = cv2.blur(small, (3, 3))
    var = cv2.blur(small * small, (3, 3)) - mean * mean
    act = np.clip(TEXTURE_GAIN * np.sqrt(np.maximum(var, 0)), FLAT_RMS, TEXTURE_RMS).astype(np.float32)
    # the flat side of an edge (sky beside hair) takes the flat level, not the edge's: no halo; then smooth, so
    # the mask's own steps do not print blocks
    act = np.asarray(cv2.GaussianBlur(cv2.erode(act, np.ones((3, 3), np.uint8)), (0, 0), 1.0), np.float32)
    return np.asarray(cv2.resize(act, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)


def _cap_patches(delta: NDArray[np.float32], limit: float) -> NDArray[np.float32]:
    """delta scaled down where any PATCH x PATCH window would carry more than `limit` RMS: the scale at each
    pixel is the smallest one any window through it needs (a min filter of the per-window scale), so every
    window ends at or under the limit."""
    if min(delta.shape) < PATCH:
        return delta
    rms = np.sqrt(np.maximum(cv2.blur(delta * delta, (PATCH, PATCH), borderType=cv2.BORDER_REFLECT), 1e-12))
    scale = np.minimum(1.0, limit / rms).astype(np.float32)
    if float(scale.min()) >= 1.0:
        return delta
    return delta * _window_min(scale, PATCH // 2)


#: cell side of the grid the patch cap's minimum filter runs on
_POOL = 4


def _window_min(scale: NDArray[np.float32], r: int) -> NDArray[np.float32]:
    """At each pixel at most the minimum of `scale` over the (2r + 1)-px square around it, never more (so the
    patch cap holds everywhere): the minimum of each _POOL-px cell (a small erode, sampled), a minimum filter of
    2 ceil(r / _POOL) + 1 cells, back to pixels. The square reaches up to 2 _POOL px further than 2r + 1 (a
    slightly stricter cap where it binds), for a fraction of a full-size 65-px erode's time."""
    h, w = scale.shape
    one = cv2.erode(scale, np.ones((_POOL, _POOL), np.uint8), anchor=(0, 0), borderType=cv2.BORDER_REPLICATE)
    cells = np.ascontiguousarray(one[::_POOL, ::_POOL])
    k = 2 * (-(-r // _POOL)) + 1
    low = cv2.erode(cells, np.ones((k, k), np.uint8), borderType=cv2.BORDER_REPLICATE)
    # an exact factor, so pixel x takes cell x // _POOL, then cut to size
    up = cv2.resize(low, (low.shape[1] * _POOL, low.shape[0] * _POOL), interpolation=cv2.INTER_NEAREST)
    return np.ascontiguousarray(up[:h, :w], np.float32)


def embed(
    image: NDArray[np.uint8], keys: Sequence[str] = (PUBLIC_KEY,), strength: float = STRENGTH
) -> NDArray[np.uint8]:
    """A new RGB uint8 image with the keys' mark added to its luminance (the same change in R, G and B).

    strength: the most RMS change over the whole picture, in 8-bit levels (PSNR >= 20 log10(255 / strength));
    the perceptual mask decides how much of it each place gets, and no PATCH-px window gets more than
    PATCH_RMS (its PSNR stays at or above PATCH_PSNR). Turning strength up makes the mark survive harsher
    processing and become visible sooner.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image (h, w, 3), got {image.dtype} {image.shape}")
    h, w = image.shape[:2]
    local = _activity(luminance(image)) * (strength / STRENGTH)
    delta = np.asarray(cv2.multiply(pattern(h, w, tuple(keys)), local), np.float32)
    total = float(np.sqrt(np.mean(delta * delta)))
    if total > strength:
        delta *= strength / total
    delta = _cap_patches(delta, PATCH_RMS * min(1.0, strength / STRENGTH))
    # image + delta clipped to 0..255, as saturating uint8 adds of delta's positive and negative parts (the
    # same pixels as an int16 sum and a clip, in a third of the time on a 720p frame)
    d = np.rint(delta)
    up = cv2.merge([np.clip(d, 0, 255).astype(np.uint8)] * 3)
    down = cv2.merge([np.clip(-d, 0, 255).astype(np.uint8)] * 3)
    return np.asarray(cv2.subtract(cv2.add(np.ascontiguousarray(image), up), down), np.uint8)


def worst_patch_psnr(original: NDArray[np.uint8], marked: NDArray[np.uint8], patch: int = PATCH) -> float:
    """The lowest PSNR (dB) of any patch x patch window (every position) of marked against original: where a
    mark shows most, which a whole-picture PSNR averages away. 99.0 when no window changed."""
    err = np.mean((marked.astype(np.float32) - original.astype(np.float32)) ** 2, axis=2)
    if min(err.shape) < patch:
        mse = float(err.mean())
    else:
        box = cv2.blur(err, (patch, patch), borderType=cv2.BORDER_CONSTANT)
        r = patch // 2
        inner = box[r : err.shape[0] - (patch - r) + 1, r : err.shape[1] - (patch - r) + 1]
        mse = float(inner.max())
    return 99.0 if mse <= 0 else float(10 * np.log10(255.0**2 / mse))


def luminance(image: NDArray[np.uint8]) -> NDArray[np.float32]:
    return (
        cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        if image.dtype == np.uint8
        else (image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32))
    )


def views(frames: Sequence[NDArray[np.uint8]]) -> dict[int, NDArray[np.float32]]:
    """The detector's view of a picture or of the frames of a video (same size), per grid: the luminance summed
    over the frames on the canonical grid, without its smooth content. Resizing and the high-pass are linear, so
    the frames are summed first and filtered once, and the coarse grid is made from the standard one."""
    h, w = frames[0].shape[:2]
    ch, cw = canonical_size(h, w, CANON)
    interp = cv2.INTER_AREA if min(h, w) > CANON else cv2.INTER_CUBIC
    acc = np.zeros((ch, cw), np.float32)
    for img in frames:
        acc += cv2.resize(luminance(img), (cw, ch), interpolation=interp)
    sh, sw = canonical_size(h, w, CANON_SMALL)
    out = {CANON: acc, CANON_SMALL: np.asarray(cv2.resize(acc, (sw, sh), interpolation=cv2.INTER_AREA), np.float32)}
    return {c: v - np.asarray(cv2.GaussianBlur(v, (0, 0), 2.0), np.float32) for c, v in out.items()}


def _flatten_contrast(view: NDArray[np.float32]) -> NDArray[np.float32]:
    """Each place divided by its local RMS: edges and textures stop drowning the mark in flat places."""
    local = cv2.GaussianBlur(view * view, (0, 0), CONTRAST_SIGMA)
    return (view / (np.sqrt(np.maximum(local, 0)) + 1e-3 * float(view.std()) + 1e-6)).astype(np.float32)


def _keeps() -> NDArray[np.float64]:
    n = int(round((KEEP_RANGE[1] - KEEP_RANGE[0]) / KEEP_STEP)) + 1
    return np.linspace(KEEP_RANGE[1], KEEP_RANGE[0], n)


def _fold(view: NDArray[np.float32]) -> NDArray[np.float32]:
    """The sum of all TILE x TILE tiles, the partial ones at the right and bottom edges included."""
    h, w = view.shape
    th, tw = -(-h // TILE), -(-w // TILE)
    padded = np.zeros((th * TILE, tw * TILE), np.float32)
    padded[:h, :w] = view
    return padded.reshape(th, TILE, tw, TILE).sum(axis=(0, 2))


def detect(
    frames: NDArray[np.uint8] | Sequence[NDArray[np.uint8]],
    key: str = PUBLIC_KEY,
    threshold: float = P_THRESHOLD,
    search_crop: bool = True,
) -> Detection:
    """Tests one picture, or the frames of one video (same size), for the key's mark.

    search_crop: also try the scales a crop of up to 30% of the short side produces (costs a few ms; the
    p-value accounts for it). Mirrored pictures are always tried.
    """
    imgs = [frames] if isinstance(frames, np.ndarray) and frames.ndim == 3 else list(frames)
    if not imgs:
        raise ValueError("no frames to test")
    size = imgs[0].shape[:2]
    imgs = [img for img in imgs if img.shape[:2] == size]  # a stream that changes size: test the first size
    h, w = size
    if min(h, w) < MIN_SIDE:
        return Detection(False, 0.0, 1.0, 1.0, (0, 0))
    if max(h, w) > ASPECT_MAX * min(h, w):
        keep_h, keep_w = min(h, ASPECT_MAX * w), min(w, ASPECT_MAX * h)
        y0, x0 = (h - keep_h) // 2, (w - keep_w) // 2
        imgs = [img[y0 : y0 + keep_h, x0 : x0 + keep_w] for img in imgs]
    keyspecs = (_key_spectrum(key), _key_spectrum(key, mirrored=True))
    n_band = int(np.count_nonzero(keyspecs[0]))
    keeps = _keeps() if search_crop else np.array([1.0])
    grids = views(imgs)
    best = (-np.inf, 1.0, (0, 0), CANON, False)
    for canon, grid_view in grids.items():
        acc = _flatten_contrast(grid_view)
        h, w = acc.shape
        for keep in keeps:
            scaled = (
                acc
                if keep == 1.0
                else np.asarray(
                    cv2.resize(acc, (max(1, round(w * keep)), max(1, round(h * keep))), interpolation=cv2.INTER_LINEAR),
                    np.float32,
                )
            )
            spec = np.fft.fft2(_fold(scaled).astype(np.float64))
            # phase only: every frequency of the band counts the same whatever the picture's own spectrum, and
            # under "no mark" each one is a random unit phasor, so the sum is normal with a known variance
            phase = spec / np.maximum(np.abs(spec), 1e-9)
            for mirrored, keyspec in enumerate(keyspecs):
                corr = np.real(np.fft.ifft2(phase * keyspec)) * (TILE * TILE) / math.sqrt(n_band)
                i = int(np.argmax(corr))
                if corr.flat[i] > best[0]:
                    best = (float(corr.flat[i]), float(keep), (i // TILE, i % TILE), canon, bool(mirrored))
    z = best[0]
    if not np.isfinite(z):
        return Detection(False, 0.0, 1.0, 1.0, (0, 0))
    trials = TILE * TILE * len(keeps) * len(grids) * len(keyspecs)
    p = _sidak(z, trials)
    return Detection(bool(p < threshold), z, p, best[1], best[2], best[3], best[4])


def _sidak(z: float, trials: int) -> float:
    """P(max of `trials` standard normals >= z), precise in the far tail."""
    log_q = float(log_ndtr(-z))  # log P(N >= z)
    return float(-math.expm1(trials * math.log1p(-math.exp(log_q)))) if log_q > -700 else 0.0
