"""index.html of a batch: the same page as `mimica scan --report DIR` (mimica.report.index), built from the
results folder's records, each row linking to the file's own HTML report. Self-contained and static, so the
results folder can be zipped or served as it is.

    >>> html = render_index([{"path": "/a/x.mp4", "verdict": "real", "probability": 0.1, "verdict_text": "leans real"},
    ...                      {"path": "/a/y.mp4", "verdict": "fake", "probability": 0.9, "verdict_text": "leans fake",
    ...                       "report": "reports/y.html"}])
    >>> html.index("y.mp4") < html.index("x.mp4") and 'href="reports/y.html"' in html and "leans fake" in html
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mimica.atomic import write_atomic
from mimica.report.index import IndexEntry
from mimica.report.index import render_index as render_entries
from mimica.scan.result import ScanResult

#: what the index reads back of each record (a long batch's index needs a few small fields, not every track)
FIELDS = ("path", "verdict", "verdict_text", "probability", "reason", "error", "report", "model", "reliability")


def entry(record: dict[str, Any]) -> IndexEntry:
    fields = {k: v for k, v in record.items() if k != "report" and v is not None}
    return IndexEntry(ScanResult.model_validate(fields), record.get("report"))


def render_index(records: Sequence[dict[str, Any]]) -> str:
    return render_entries([entry(r) for r in records])


def write_index(path: str | Path, records: Sequence[dict[str, Any]]) -> Path:
    """Writes index.html atomically; report links are relative to the results folder holding it."""
    p = Path(path)
    write_atomic(p, render_index(records))
    return p
