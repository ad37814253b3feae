"""Reports of a scan for people: one self-contained HTML file per scanned file.

`write_report(path, result, evidence)` is what `mimica scan --report` and the web app call; it needs the
`report` extra (jinja2, matplotlib).
"""

from __future__ import annotations

from mimica.report.html import ReportError, render_report, write_report
from mimica.report.occlusion import occlusion_maps, overlay

__all__ = ["ReportError", "occlusion_maps", "overlay", "render_report", "write_report"]
