"""Outputs are written atomically: to a temporary file beside the target, moved over it only when complete, so a
crash or a full disk never leaves half a file where a reader expects a whole one (reports, model cards,
checkpoints, crop caches, keys). The swap's video writer follows the same rule for its multi-step encode."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | Path, mode: int = 0o644) -> Iterator[Path]:
    """A temporary path in the target's folder, with the target's suffix (so writers that pick the format by
    suffix, like numpy's savez, keep working); moved over `path` when the block ends, removed if it raises."""
    p = Path(path)
    fd, name = tempfile.mkstemp(dir=p.parent, prefix=f".{p.stem}.", suffix=f".tmp{p.suffix}")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, mode)
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, data: bytes | str, mode: int = 0o644) -> None:
    """Writes bytes or UTF-8 text to `path` atomically, with the given permission bits."""
    with atomic_path(path, mode) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
