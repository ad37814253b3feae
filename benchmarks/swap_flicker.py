"""How often the swap's grain blur switches on or off from one video frame to the next (issue 15, "steady across
frames"): the blur decided on each frame's own sharpness ratio against the ratio averaged over past frames
(`SwapOptions.steady`, what mimica does), side by side on the same videos.

    PYTHONPATH=src python benchmarks/swap_flicker.py [--videos 4] [--frames 100]

The pairs are swap_quality.py's (FF++ c23 YouTube videos: the middle frame of video -1-k onto video k). Prints,
per video and mode, the frames blurred and the number of switches; a switch is a visible change of sharpness
of the whole face. Needs ../shared/data; writes only to a temporary folder.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from swap_quality import YOUTUBE, frame_at, video_pairs  # noqa: E402

from mimica.swap import Marking, SourceFace, SwapOptions, blend, swap_video  # noqa: E402


def run(videos: int, frames: int, per_frame: bool, tmp: Path) -> list[tuple[str, int, int]]:
    """(target, frames blurred, switches) per video; per_frame: decide on each frame's ratio alone."""
    decided: list[float] = []
    original = blend.grain_params

    def recorded(fg, bg, skin_fg, skin_bg, past=None, steady=0.0):
        out = original(fg, bg, skin_fg, skin_bg, None if per_frame else past, steady)
        decided.append(out[0])
        return out

    blend.grain_params = recorded  # core imports it from the module at each call
    rows = []
    try:
        for src, tgt in video_pairs(videos):
            decided.clear()
            face = SourceFace.from_image(frame_at(src, 0.5))
            swap_video(face, tgt, tmp / f"{tgt.stem}.mp4", SwapOptions(), Marking(), max_frames=frames)
            on = np.array(decided) > 0
            rows.append((tgt.stem, int(on.sum()), int((np.diff(on) != 0).sum())))
    finally:
        blend.grain_params = original
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--videos", type=int, default=4)
    ap.add_argument("--frames", type=int, default=100)
    args = ap.parse_args()
    if not YOUTUBE.is_dir():
        print(f"no {YOUTUBE}: this benchmark needs ../shared/data", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        each = run(args.videos, args.frames, True, Path(tmp))
        steady = run(args.videos, args.frames, False, Path(tmp))
    print(f"grain blur over {args.frames} frames: frames blurred / switches (each frame's ratio -> running ratio)")
    for (stem, b0, s0), (_, b1, s1) in zip(each, steady, strict=True):
        print(f"  {stem}: blurred {b0} -> {b1}, switches {s0} -> {s1}")
    print(f"  total switches {sum(r[2] for r in each)} -> {sum(r[2] for r in steady)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
