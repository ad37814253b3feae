"""The scan pipeline and its result types."""

from __future__ import annotations

from mimica.scan.pipeline import Evidence, Scanner
from mimica.scan.result import SCHEMA_VERSION, Detection, ScanResult, Track

__all__ = ["SCHEMA_VERSION", "Detection", "Evidence", "ScanResult", "Scanner", "Track"]
