"""The evaluation's exception, in a module of its own so that raising it needs neither scikit-learn nor
matplotlib (the [eval] extra)."""

from __future__ import annotations

from mimica.errors import MimicaError


class EvaluationError(MimicaError):
    """Scores and labels that cannot be evaluated, or an evaluation that cannot run."""
