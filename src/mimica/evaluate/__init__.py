"""Evaluate detectors the way the field reports them (frame- and video-level AUC, EER, AP, accuracy at the
shipped threshold), with 95% bootstrap intervals.

    from mimica.evaluate import evaluate_dataset
    report = evaluate_dataset("data/Celeb-DF-v2", split="test")
    print(report.video.auc, report.video.auc_ci95)

Names are imported on first use: scikit-learn and matplotlib (the [eval] extra) load only when evaluating, so
`mimica` commands that do not evaluate start without them.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "EvalReport": "mimica.evaluate.report",
    "GroupMetrics": "mimica.evaluate.report",
    "VideoRecord": "mimica.evaluate.report",
    "evaluate_records": "mimica.evaluate.report",
    "save_roc": "mimica.evaluate.report",
    "to_markdown": "mimica.evaluate.report",
    "EvaluationError": "mimica.evaluate.errors",
    "LevelMetrics": "mimica.evaluate.metrics",
    "level_metrics": "mimica.evaluate.metrics",
    "evaluate_dataset": "mimica.evaluate.run",
    "score_dataset": "mimica.evaluate.run",
    "record_from_scan": "mimica.evaluate.run",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mimica.evaluate' has no attribute {name!r}")
