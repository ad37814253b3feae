"""mimica: find manipulated faces in images and videos.

>>> import mimica
>>> callable(mimica.scan)
True
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mimica.corpus import BatchSummary, batch
from mimica.errors import MimicaError
from mimica.models.registry import DEFAULT_MODEL
from mimica.scan import Evidence, Scanner, ScanResult, Track

__version__ = "0.1.0"

_scanners: dict[tuple, Scanner] = {}


def _scanner(**kwargs: Any) -> Scanner:
    key = tuple(sorted(kwargs.items()))
    if key not in _scanners:
        _scanners[key] = Scanner(**kwargs)
    return _scanners[key]


def scan(path: str | Path, frames: int = 32, threshold: float | None = None, model: str = DEFAULT_MODEL) -> ScanResult:
    """Is a face in this image or video manipulated? One file in, one `ScanResult` out.

    Raises `MimicaError` (with a one-line reason) when the file cannot be scanned. The detector and model are
    loaded once and reused across calls.
    """
    if Path(path).is_dir():
        raise MimicaError(f"{path}: is a folder; use mimica.scan_all(path) to scan every file in it")
    return _scanner(frames=frames, threshold=threshold, model=model).scan(path)


def scan_all(path: str | Path, frames: int = 32, threshold: float | None = None,
             model: str = DEFAULT_MODEL) -> Iterator[ScanResult]:
    """Every media file under a folder (or one file); failures come back as results with verdict `error`."""
    return _scanner(frames=frames, threshold=threshold, model=model).scan_all(path)


__all__ = [
    "BatchSummary", "Evidence", "MimicaError", "ScanResult", "Scanner", "Track", "__version__", "batch", "scan",
    "scan_all",
]
