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
        m = np.asarray(cv2.erode(m, k), np.float32)
    if blur_px > 0:
        m = np.asarray(cv2.GaussianBlur(m, (0, 0), blur_px / 2.0), np.float32)
    return np.clip(m, 0, 1)


def laplacian_blend(
    fg: NDArray[np.uint8], bg: NDArray[np.uint8], mask: NDArray[np.float32], levels: int = 4
) -> NDArray[np.uint8]:
    """fg over bg through mask (0..1), band by band."""
    h, w = mask.shape
    levels = max(1, min(levels, int(np.log2(max(2, min(h, w)))) - 3))
    a, b, m = fg.astype(np.float32), bg.astype(np.float32), mask.astype(np.float32)
    ga, gb, gm = [a], [b], [m]
    for _ in range(levels):
        for pyramid in (ga, gb, gm):
            pyramid.append(np.asarray(cv2.pyrDown(pyramid[-1]), np.float32))
    out = ga[-1] * gm[-1][..., None] + gb[-1] * (1 - gm[-1][..., None])
    for i in range(levels - 1, -1, -1):
        size = (ga[i].shape[1], ga[i].shape[0])
        la = ga[i] - cv2.pyrUp(ga[i + 1], dstsize=size)
        lb = gb[i] - cv2.pyrUp(gb[i + 1], dstsize=size)
        mm = gm[i][..., None]
        out = cv2.pyrUp(out, dstsize=size) + la * mm + lb * (1 - mm)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


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
