"""index.html of a batch: every file, flagged ones first (fake, then uncertain, then errors), each with a link to
its own HTML report. Self-contained and static, so the results folder can be zipped or served as it is.

    >>> html = render_index([{"path": "/a/x.mp4", "verdict": "real", "probability": 0.1},
    ...                      {"path": "/a/y.mp4", "verdict": "fake", "probability": 0.9, "report": "reports/y.html"}])
    >>> html.index("y.mp4") < html.index("x.mp4") and 'href="reports/y.html"' in html
    True
"""

from __future__ import annotations

import datetime as dt
import html
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mimica.atomic import write_atomic

#: the order of the listing: what needs a person's eyes first
ORDER = {"fake": 0, "uncertain": 1, "error": 2, "real": 3, "no-face": 4}
COLOURS = {"fake": "#b00020", "uncertain": "#a66b00", "error": "#6b2fa0", "real": "#1b7f3b", "no-face": "#666"}


def ranked(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flagged first; within a verdict the most suspicious first, then by path."""
    return sorted(records, key=lambda r: (ORDER.get(str(r.get("verdict")), 5), -(r.get("probability") or 0.0),
                                          str(r.get("path"))))


def render_index(records: Sequence[dict[str, Any]], title: str = "mimica batch") -> str:
    counts = Counter(str(r.get("verdict")) for r in records)
    summary = ", ".join(f"{counts[v]} {v}" for v in sorted(counts, key=lambda v: ORDER.get(v, 5)))
    rows = []
    for r in ranked(records):
        verdict = str(r.get("verdict"))
        p = r.get("probability")
        name = html.escape(Path(str(r.get("path"))).name)
        link = f'<a href="{quote(str(r["report"]))}">{name}</a>' if r.get("report") else name
        why = r.get("error") if verdict == "error" else r.get("reason")
        rows.append(
            f'<tr><td style="color:{COLOURS.get(verdict, "#000")};font-weight:bold">{html.escape(verdict.upper())}'
            f'</td><td>{"" if p is None else f"{p:.2f}"}</td><td>{link}<div class="path">'
            f'{html.escape(str(r.get("path")))}</div></td><td>{html.escape(str(why or ""))}</td></tr>'
        )
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}} table{{border-collapse:collapse;width:100%}}
td,th{{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}}
.path{{color:#777;font-size:.8em;word-break:break-all}}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{len(records)} files: {html.escape(summary)}. Flagged files first. Generated {generated}.</p>
<table><thead><tr><th>verdict</th><th>p(fake)</th><th>file</th><th>why</th></tr></thead><tbody>
{chr(10).join(rows)}
</tbody></table></body></html>
"""


def write_index(path: str | Path, records: Sequence[dict[str, Any]], out: Path) -> Path:
    """Writes index.html atomically; report links are relative to the results folder `out`."""
    p = Path(path)
    write_atomic(p, render_index(records, title=f"mimica batch: {out.name}"))
    return p
