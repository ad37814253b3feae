"""The side-by-side pictures of docs/benchmarks.md ("Swap quality"), from public-domain pictures only
(scikit-image's astronaut, NASA, and cameraman): source | target | output | the seam, zoomed.

    PYTHONPATH=src python benchmarks/swap_pictures.py [--out docs/img]

The output is what `mimica swap` writes (label and watermark included). Also writes the watermark on the
cameraman's sky at 3x (unmarked | marked), where a flat bright area shows a mark most.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw


def _tile(img: np.ndarray, side: int) -> np.ndarray:
    h, w = img.shape[:2]
    s = side / max(h, w)
    out = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_NEAREST)
    canvas = np.full((side, side, 3), 255, np.uint8)
    canvas[: out.shape[0], : out.shape[1]] = out
    return canvas


def _strip(tiles: list[np.ndarray], names: list[str]) -> Image.Image:
    im = Image.fromarray(np.concatenate(tiles, axis=1))
    draw = ImageDraw.Draw(im)
    for i, name in enumerate(names):
        x = i * tiles[0].shape[1] + 6
        draw.rectangle((x - 3, 3, x + 7 * len(name) + 3, 17), fill=(255, 255, 255))
        draw.text((x, 4), name, fill=(0, 0, 0))
    return im


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("docs/img"))
    args = ap.parse_args()
    from skimage.data import astronaut, camera

    from mimica.faces import create_detector
    from mimica.provenance import watermark
    from mimica.swap import UnsignedNotice, swap

    warnings.simplefilter("ignore", UnsignedNotice)
    args.out.mkdir(parents=True, exist_ok=True)
    det = create_detector("mediapipe")
    cam = np.ascontiguousarray(np.repeat(camera()[..., None], 3, axis=2))
    ast = np.ascontiguousarray(astronaut())
    with tempfile.TemporaryDirectory() as d:
        for name, src, tgt in (("astronaut-on-cameraman", ast, cam), ("cameraman-on-astronaut", cam, ast)):
            Image.fromarray(src).save(f"{d}/s.png")
            Image.fromarray(tgt).save(f"{d}/t.png")
            out = np.asarray(Image.open(swap(f"{d}/s.png", f"{d}/t.png", f"{d}/o.png")).convert("RGB"))
            faces = det.detect(tgt)
            mesh = faces.mesh[int(np.argmax(faces.area))]
            (x0, y0), (x1, y1) = mesh.min(0), mesh.max(0)
            pad = 0.25 * max(x1 - x0, y1 - y0)
            box = (slice(max(0, int(y0 - pad)), int(y1 + pad)), slice(max(0, int(x0 - pad)), int(x1 + pad)))
            faces_s = det.detect(src)
            ms = faces_s.mesh[int(np.argmax(faces_s.area))]
            (a0, b0), (a1, b1) = ms.min(0), ms.max(0)
            ps = 0.25 * max(a1 - a0, b1 - b0)
            sbox = (slice(max(0, int(b0 - ps)), int(b1 + ps)), slice(max(0, int(a0 - ps)), int(a1 + ps)))
            # the seam: the jaw on the side that shows more of the face (farther from the nose tip), ~3x
            nose = mesh[1]
            jaw = max((mesh[172], mesh[397]), key=lambda p: abs(float(p[0] - nose[0])))
            cx, cy = jaw + 0.12 * (nose - jaw)
            r = max(20, int(0.2 * max(x1 - x0, y1 - y0)))
            seam = (slice(max(0, int(cy - r)), int(cy + r)), slice(max(0, int(cx - r)), int(cx + r)))
            tiles = [_tile(src[sbox], 256), _tile(tgt[box], 256), _tile(out[box], 256), _tile(out[seam], 256)]
            _strip(tiles, ["source", "target", "output", "seam x3"]).save(args.out / f"swap-{name}.jpg", quality=88)
    sky = (slice(0, 100), slice(300, 460))
    marked = watermark.embed(cam)
    tiles = [cv2.resize(x[sky], None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST) for x in (cam, marked)]
    print(f"cameraman: worst 64-px window {watermark.worst_patch_psnr(cam, marked):.1f} dB")
    _strip(tiles, ["unmarked", "marked"]).save(args.out / "watermark-sky.png")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
