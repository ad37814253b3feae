"""The inputs of a batch: SOURCE arguments expanded to a sorted, de-duplicated list of absolute file paths.

A SOURCE is a media file, a folder (every image and video under it, recursively) or a list file (`.txt`,
`.lst`, `.list`: one path per line, `#` comments, relative paths taken from the list's folder). A path named
explicitly (on the command line or in a list) is kept even when it is missing or not media: it gets an `error`
result that says so, instead of vanishing from the batch.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from mimica.errors import BatchError
from mimica.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES

LIST_SUFFIXES = frozenset({".txt", ".lst", ".list"})
MEDIA_SUFFIXES = IMAGE_SUFFIXES | VIDEO_SUFFIXES


def expand_sources(sources: Iterable[str | Path]) -> list[str]:
    """Absolute paths (symlinks kept, `..` removed) of every input file, in the order given, each once.

    >>> expand_sources([])
    Traceback (most recent call last):
    ...
    mimica.errors.BatchError: no SOURCE given: name files, folders or text files listing paths
    """
    sources = list(sources)
    seen: dict[str, None] = {}
    for source in sources:
        for path in _expand(Path(source), depth=0):
            seen.setdefault(os.path.abspath(path), None)
    if not seen:
        if not sources:
            raise BatchError("no SOURCE given: name files, folders or text files listing paths")
        raise BatchError(f"no image or video files in {', '.join(map(str, sources))}")
    return list(seen)


def _expand(p: Path, depth: int) -> Iterator[Path]:
    if p.is_dir():
        yield from _walk(p)
    elif p.is_file() and p.suffix.lower() in LIST_SUFFIXES:
        if depth > 0:
            raise BatchError(f"{p}: a list file inside a list file; list media files and folders only")
        yield from _read_list(p)
    else:
        yield p  # a file, or a missing path: its result says what is wrong


def _walk(folder: Path) -> Iterator[Path]:
    """Media files under the folder, sorted, found with os.walk (Path.rglob holds the whole listing and follows
    no order); hidden files and folders (.git, .DS_Store, ._foo) are skipped."""
    for root, dirs, files in os.walk(folder, onerror=None):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and Path(name).suffix.lower() in MEDIA_SUFFIXES:
                yield Path(root) / name


def _read_list(list_file: Path) -> Iterator[Path]:
    try:
        text = list_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise BatchError(f"{list_file}: cannot read the list of paths ({err})") from err
    for line in text.splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        path = Path(entry).expanduser()
        yield from _expand(path if path.is_absolute() else list_file.parent / path, depth=1)
