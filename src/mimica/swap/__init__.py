"""Face swap (extra [swap]): a training-free landmark warp whose every output is marked as AI-generated.

    >>> import mimica.swap
    >>> mimica.swap.swap("me.jpg", "clip.mp4", "clip_swapped.mp4")  # doctest: +SKIP

Every file goes through `mimica.swap.writer`, which adds the visible "AI" label, the invisible watermark, the
IPTC digital source type (XMP and container tags) and, when keys are configured (`mimica keys init`), a signed
C2PA manifest. There is no option that turns the label or the watermark off.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from mimica.errors import MediaError, NoFaceError
from mimica.media.prefetch import Worker, prefetch
from mimica.swap.core import (
    FaceSwapper,
    Progress,
    SourceFace,
    SourceFaceWarning,
    SwapOptions,
    select_tracks,
    smooth_tracks,
    track_video,
)
from mimica.swap.writer import IMAGE_OUT, LABEL_POSITIONS, VIDEO_OUT, Marking, UnsignedNotice, VideoWriter, check_output

__all__ = [
    "LABEL_POSITIONS",
    "FaceSwapper",
    "Marking",
    "SourceFace",
    "SourceFaceWarning",
    "SwapOptions",
    "UnsignedNotice",
    "swap",
    "swap_image",
    "swap_video",
]


def swap(
    source: str | Path,
    target: str | Path,
    output: str | Path,
    options: SwapOptions | None = None,
    marking: Marking | None = None,
    progress: Progress | None = None,
) -> Path:
    """Puts the face of `source` (a picture) on the faces of `target` (picture or video) and writes `output`.

    options: which faces and how to blend (`SwapOptions`); marking: label position, private watermark key,
    signing key folder (`Marking`). Returns the output path. Raises NoFaceError when the source or the whole
    target has no face (nothing is written), OutputError for a bad output path, MediaError for unreadable input.
    """
    from mimica.media import probe, read_image

    src, tgt, out = Path(source), Path(target), Path(output)
    options = options or SwapOptions()
    marking = marking or Marking()
    info = probe(tgt)
    check_output(out, [src, tgt], IMAGE_OUT if info.kind == "image" else VIDEO_OUT)
    face = SourceFace.from_image(read_image(src), name=str(src))
    if info.kind == "image":
        return swap_image(face, tgt, out, options, marking)
    return swap_video(face, tgt, out, options, marking, progress)


def swap_image(face: SourceFace, target: Path, out: Path, options: SwapOptions, marking: Marking) -> Path:
    from mimica.faces import create_detector
    from mimica.media import read_image
    from mimica.swap.writer import write_image

    image = read_image(target)
    faces = create_detector("mediapipe").detect(image)
    if len(faces) == 0:
        raise NoFaceError(f"{target}: no face found in the target picture; nothing was written")
    order = list(map(int, (-faces.area).argsort()))
    if options.all_faces:
        chosen = order
    else:
        if options.face >= len(order):
            from mimica.errors import SwapError

            raise SwapError(f"{target}: --face {options.face} but the picture has {len(order)} face(s)")
        chosen = [order[options.face]]
    swapper = FaceSwapper(face, options)
    for i in chosen:
        image = swapper.apply(image, faces.mesh[i])
    return write_image(image, out, marking)


def frames_faces_shape(target: Path, fallback) -> tuple[int, int]:
    """(h, w) of the upright frames: the first decoded frame says (display matrices live on frames)."""
    from mimica.swap.core import _open_video, _upright

    with _open_video(target) as c:
        for frame in c.decode(video=0):
            return _upright(frame, fallback).shape[:2]
    raise MediaError(f"{target}: no frame could be decoded")


def swap_video(
    face: SourceFace,
    target: Path,
    out: Path,
    options: SwapOptions,
    marking: Marking,
    progress: Progress | None = None,
    max_frames: int | None = None,
) -> Path:
    """Three passes over the video: landmarks and tracks; each track's mean face (every 3rd frame, only when
    options.dynamic > 0); then warp + mark + encode with the audio remuxed.
    max_frames: stop after this many frames (the audio then runs to its end in the file; forge uses it)."""
    import av
    import numpy as np

    from mimica.swap.core import _open_video, _stream_orientation, _upright
    from mimica.swap.motion import track_textures
    from mimica.swap.shape import neutral_of

    frames_faces, times, n = track_video(target, progress, max_frames)
    if n == 0:
        raise MediaError(f"{target}: no frame could be decoded")
    if not any(len(f) for f in frames_faces):
        raise NoFaceError(f"{target}: no face found in any frame of the target; nothing was written")
    tracks = select_tracks(frames_faces, options)
    with _open_video(target) as c:
        vs = c.streams.video[0]
        vs.thread_type = "AUTO"
        fps = float(vs.average_rate) if vs.average_rate else 25.0
        meshes = smooth_tracks(frames_faces, times, tracks, options, fps)
        rot = _stream_orientation(vs)
        h, w = frames_faces_shape(target, rot)
        audio = c.streams.audio[0] if c.streams.audio else None
        rate = vs.average_rate or Fraction(25)
        textures = {}
        if options.dynamic > 0:  # video only: the target's mean face per track, for what changes on it
            textures = track_textures(target, meshes, max_frames=max_frames, progress=progress)
        neutrals = {}
        if options.expression > 0:  # video only: each track's resting face, for the target's expression
            neutrals = {tid: neutral_of(list(m.values())) for tid, m in meshes.items() if m}
        swapper = FaceSwapper(face, options, textures, neutrals)
        streams = [vs] + ([audio] if audio is not None else [])
        with VideoWriter(out, w, h, rate, vs.time_base or Fraction(1, 90000), marking, audio) as writer:

            def decoded():
                count = 0
                for packet in c.demux(*streams):
                    if packet.stream.type == "audio":
                        yield packet, None
                        continue
                    for frame in packet.decode():
                        if max_frames is not None and count >= max_frames:
                            return
                        count += 1
                        yield _upright(frame, rot), frame.pts

            def emit(item, pts) -> None:
                if max_frames is not None and pts is None and writer.frames >= max_frames:
                    return
                if pts is None and not isinstance(item, np.ndarray):
                    writer.mux(item)
                else:
                    writer.write(item, pts)

            encoder = Worker(emit)
            idx = 0
            try:
                for item, pts in prefetch(decoded()):
                    if isinstance(item, np.ndarray):
                        for tid in tracks:
                            mesh = meshes[tid].get(idx)
                            if mesh is not None:
                                lo, hi = mesh.min(0), mesh.max(0)
                                center = (int(round((lo[0] + hi[0]) / 2)), int(round((lo[1] + hi[1]) / 2)))
                                item = swapper.apply(item, mesh, center, track=tid)
                        idx += 1
                        if progress:
                            progress("swap", idx, n)
                    encoder.submit(item, pts)
            except av.error.FFmpegError as err:
                if idx == 0:
                    encoder.close()
                    raise MediaError(f"{target}: video could not be decoded ({err})") from err
            encoder.close()
    return out
