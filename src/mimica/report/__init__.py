"""Reports of a scan for people: one self-contained HTML file per scanned file.

`write_report(path, result, evidence)` is what `mimica scan --report FILE.html` and the web app call;
`ReportFolder(dir).add(result, evidence)` is what `--report DIR` calls for each file (one report per file and an
index.html, flagged first). Both need the `report` extra (jinja2, matplotlib).
"""

from __future__ import annotations

from mimica.report.html import ReportError, render_report, write_report
from mimica.report.index import ReportFolder, render_index, report_target
from mimica.report.occlusion import occlusion_maps, overlay

__all__ = ["ReportError", "ReportFolder", "occlusion_maps", "overlay", "render_index", "render_report",
           "report_target", "write_report"]
