"""Reports of several files: one self-contained report per file in a folder, and an `index.html` that lists the
files, flagged first. `mimica scan a.mp4 b.jpg folder/ --report OUT_DIR` writes it; a single file with a path
ending in .html still gets a single report (`report_target` decides which, before anything is scanned).

    >>> import tempfile
    >>> from mimica.scan.result import ScanResult
    >>> folder = ReportFolder(Path(tempfile.mkdtemp()) / "reports")
    >>> folder.add(ScanResult(path="clips/a.mp4", verdict="no-face")).name
    'a.mp4.html'
    >>> sorted(p.name for p in folder.folder.iterdir())
    ['a.mp4.html', 'index.html']
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mimica.atomic import write_atomic
from mimica.report.html import ReportError, _environment, write_report
from mimica.report.words import SCORE_MEANING
from mimica.scan.aggregate import unmeasured_kinds, verdict_text
from mimica.scan.pipeline import Evidence
from mimica.scan.result import ScanResult

INDEX = "index.html"

#: the order of the index: what needs a person's attention first
FLAG_ORDER = {"fake": 0, "uncertain": 1, "error": 2, "no-face": 3, "real": 4}


def report_target(path: str | Path, n_files: int) -> Literal["file", "folder"]:
    """Whether `--report PATH` means one HTML file or a folder of reports, or a ReportError saying why neither.

    A path ending in .html (and not an existing folder) is one report, for one file only; an existing folder, or
    a path that does not exist yet, is a folder; an existing file of another kind is refused.
    """
    p = Path(path)
    if p.is_dir():
        return "folder"
    if p.suffix.lower() in (".html", ".htm"):
        if n_files > 1:
            raise ReportError(f"{p} names one HTML report but {n_files} files are to be scanned; name a folder "
                              "instead to get one report per file and an index.html")
        return "file"
    if p.exists():
        raise ReportError(f"{p} exists and is neither a folder nor an .html file; name a folder (one report per "
                          "file and an index.html) or a path ending in .html (one file)")
    return "folder"


@dataclass(frozen=True)
class IndexEntry:
    result: ScanResult
    report: str | None  # the report's file name in the folder; None when none was written (the file failed)


class ReportFolder:
    """A folder of reports. `add` writes one file's report and rewrites the index, so the index is complete
    after every file (an interrupted batch still has a usable index)."""

    def __init__(self, folder: str | Path, **options: Any) -> None:
        self.folder = Path(folder)
        self.options = options  # passed to render_report
        self.entries: list[IndexEntry] = []
        self._taken = {INDEX}
        if self.folder.exists() and not self.folder.is_dir():
            raise ReportError(f"{self.folder} exists and is not a folder")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ReportError(f"{self.folder}: cannot create the report folder ({err.strerror or err})") from err

    def add(self, result: ScanResult, evidence: Evidence | None = None) -> Path:
        """Writes the report of one scanned file (or, for verdict `error`, only lists it); returns the index's path
        for an error and the report's path otherwise."""
        if result.verdict == "error":
            self.entries.append(IndexEntry(result, None))
            return self.write_index()
        name = self._name(result.path)
        path = write_report(self.folder / name, result, evidence, **self.options)
        self.entries.append(IndexEntry(result, name))
        self.write_index()
        return path

    def write_index(self) -> Path:
        p = self.folder / INDEX
        try:
            write_atomic(p, render_index(self.entries))
        except OSError as err:
            raise ReportError(f"{p}: cannot write the index ({err.strerror or err})") from err
        return p

    def _name(self, path: str) -> str:
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(path).name).strip("._") or "file"
        name, k = f"{stem}.html", 2
        while name.lower() in self._taken:
            name, k = f"{stem}-{k}.html", k + 1
        self._taken.add(name.lower())
        return name


def flagged_first(entries: list[IndexEntry]) -> list[IndexEntry]:
    """fake, then uncertain, errors, no face, real; the most suspect first within each (stable otherwise)."""
    return sorted(entries, key=lambda e: (FLAG_ORDER.get(e.result.verdict, 5), -(e.result.probability or 0.0)))


def _proven(r: ScanResult) -> bool:
    return bool((r.provenance.get("watermark") or {}).get("detected"))


def render_index(entries: list[IndexEntry]) -> str:
    """The index page: one row per file, flagged first, each linking to its report."""
    ordered = flagged_first(entries)
    counts: dict[str, int] = {}
    for e in ordered:  # in the order of the table: what needs a look first
        counts[e.result.verdict_text] = counts.get(e.result.verdict_text, 0) + 1
    judged = [e.result for e in entries if e.result.verdict in ("fake", "real", "uncertain")]
    models = sorted({f"{r.model.name} {r.model.version}: {r.reliability.text()}" for r in judged})
    # what the model never saw, once, when a file was cleared or left open by it
    blind = sorted({unmeasured_kinds(r.verdict, r.reliability, _proven(r),
                                     f'its "uncertain" and "{verdict_text("real", r.reliability)}" verdicts say')
                    for r in judged} - {""})
    return _environment().get_template("index.html.j2").render(
        entries=ordered, counts=counts, models=models, blind=blind, score_meaning=SCORE_MEANING,
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
