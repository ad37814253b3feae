"""How far to trust a model: its measured video AUC, read from whichever model card is loaded.

This is the one place that turns a card's `metrics` into words. A card's `metrics` holds one entry per evaluated
set (`metrics["ffpp"]["video"]["auc"]`, `["auc_ci95"]`, `["n"]`, and `by_compression`); the headline figure is the
set with the *lowest* video AUC, so the figure a reader sees is never the most flattering one. Levels (the rule is
documented in docs/scan.md):

- `reliable`: video AUC >= 0.9
- `moderate`: 0.8 <= AUC < 0.9
- `weak`: AUC < 0.8
- `unmeasured`: the card states no video AUC; treated like `weak`

    >>> r = reliability_of({"ffpp": {"n_videos": 51, "video": {"auc": 0.62, "auc_ci95": [0.46, 0.78], "n": 51}}})
    >>> r.level, r.text()
    ('weak', 'weak: video AUC 0.62 (95% CI 0.46-0.78) on 51 ffpp validation videos')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

Level = Literal["reliable", "moderate", "weak", "unmeasured"]

#: lowest video AUC of each level, highest first; below the last one a model is `weak`
LEVELS: tuple[tuple[float, Level], ...] = ((0.9, "reliable"), (0.8, "moderate"))

#: levels whose `fake`/`real` verdicts may be printed bare; the others say "leans fake"/"leans real"
CONFIDENT_LEVELS: frozenset[Level] = frozenset({"reliable", "moderate"})


class MeasuredAUC(BaseModel):
    """One evaluated set (or subset, such as a compression level) of a model card."""

    dataset: str
    auc: float = Field(ge=0, le=1)
    auc_ci95: tuple[float, float] | None = None
    n_videos: int = 0

    def text(self) -> str:
        ci = f" (95% CI {self.auc_ci95[0]:.2f}-{self.auc_ci95[1]:.2f})" if self.auc_ci95 else ""
        n = f" on {self.n_videos} {self.dataset} validation videos" if self.n_videos else f" on {self.dataset}"
        return f"video AUC {self.auc:.2f}{ci}{n}"


class Reliability(BaseModel):
    """The model's measured reliability, as the JSON result, the CLI and the report state it."""

    level: Level = "unmeasured"
    dataset: str = Field("", description="the evaluated set the figure comes from (the card's weakest)")
    auc: float | None = Field(None, ge=0, le=1, description="video-level ROC AUC on that set")
    auc_ci95: tuple[float, float] | None = Field(None, description="95% bootstrap interval of the AUC")
    n_videos: int = 0
    not_measured_on: list[str] = Field(default_factory=list, description="kinds of fakes the model was never "
                                       "measured on (its card's `not_measured_on`)")

    @property
    def confident(self) -> bool:
        """Whether a `fake`/`real` verdict of this model may be stated without "leans"."""
        return self.level in CONFIDENT_LEVELS

    def text(self) -> str:
        """One line, e.g. "weak: video AUC 0.62 (95% CI 0.46-0.78) on 51 ffpp validation videos"."""
        if self.auc is None:
            return "unmeasured: the model card states no video AUC"
        m = MeasuredAUC(dataset=self.dataset, auc=self.auc, auc_ci95=self.auc_ci95, n_videos=self.n_videos)
        return f"{self.level}: {m.text()}"


def level_of(auc: float | None) -> Level:
    if auc is None:
        return "unmeasured"
    return next((level for floor, level in LEVELS if auc >= floor), "weak")


def measured_sets(metrics: Mapping[str, Any]) -> list[MeasuredAUC]:
    """Every evaluated set of a card's metrics with a video AUC, in the card's order (sets without one, and
    keys such as `protocol`, are skipped)."""
    sets = []
    for name, entry in metrics.items():
        m = _measured(name, entry)
        if m is not None:
            sets.append(m)
    return sets


def subsets(metrics: Mapping[str, Any], dataset: str) -> list[MeasuredAUC]:
    """The per-compression figures of one evaluated set (e.g. "ffpp c23"), when the card has them."""
    entry = metrics.get(dataset)
    by = entry.get("by_compression") if isinstance(entry, Mapping) else None
    if not isinstance(by, Mapping):
        return []
    out = []
    for name, sub in by.items():
        m = _auc_of(f"{dataset} {name}", sub, sub.get("n") if isinstance(sub, Mapping) else None)
        if m is not None:
            out.append(m)
    return out


def reliability_of(metrics: Mapping[str, Any]) -> Reliability:
    """The reliability of a model from its card's `metrics`: its weakest evaluated set's video AUC."""
    sets = measured_sets(metrics)
    if not sets:
        return Reliability()
    weakest = min(sets, key=lambda m: m.auc)
    return Reliability(level=level_of(weakest.auc), dataset=weakest.dataset, auc=weakest.auc,
                       auc_ci95=weakest.auc_ci95, n_videos=weakest.n_videos)


def _measured(name: str, entry: Any) -> MeasuredAUC | None:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("video"), Mapping):
        return None
    video = entry["video"]
    return _auc_of(name, video, entry.get("n_videos", video.get("n")))


def _auc_of(name: str, entry: Any, n: Any) -> MeasuredAUC | None:
    if not isinstance(entry, Mapping):
        return None
    auc = entry.get("auc")
    if not isinstance(auc, int | float) or isinstance(auc, bool) or not 0 <= auc <= 1:
        return None
    ci = entry.get("auc_ci95")
    interval = (float(ci[0]), float(ci[1])) if isinstance(ci, list | tuple) and len(ci) == 2 else None
    return MeasuredAUC(dataset=name, auc=float(auc), auc_ci95=interval, n_videos=int(n) if isinstance(n, int) else 0)
