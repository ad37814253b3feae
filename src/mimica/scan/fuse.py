"""One verdict from several detectors: the rule of docs/scan.md ("Several detectors").

Each detector reads its own kind of evidence and is calibrated and thresholded on its own data (its card), so
their findings are combined by their verdicts, not by averaging scores that mean different things:

- `fake` when any detector reaches its own fake threshold: a pasted face and a generated one are different
  fakes, and one clear sign of either is enough; the fused probability is the highest among those detectors.
- `real` only when every detector that could judge is below its own real threshold; otherwise `uncertain`. The
  fused probability is then the highest of the detectors' probabilities.
- `decided_by` names the detector whose probability became the fused one. A detector that cannot judge (None)
  is left out; when none can, there is no fused verdict.
- The words of the fused verdict follow the weakest reliability among the detectors that judged
  (`weakest_reliability`), so a verdict is never worded more confidently than its least-tested evidence.

    >>> blend = DetectorVerdict(name="blend", probability=0.55, verdict="uncertain")
    >>> gen = DetectorVerdict(name="gen", probability=0.91, verdict="fake")
    >>> fuse([blend, gen])
    (0.91, 'fake', 'gen')
    >>> fuse([blend.model_copy(update={"probability": 0.2, "verdict": "real"}),
    ...       gen.model_copy(update={"probability": 0.1, "verdict": "real"})])
    (0.2, 'real', 'blend')
    >>> fuse([DetectorVerdict(name="gen")])
    (None, None, '')
"""

from __future__ import annotations

from collections.abc import Sequence

from mimica.models.reliability import Reliability
from mimica.scan.aggregate import verdict_of
from mimica.scan.result import DetectorVerdict, Verdict


def detector_verdict(name: str, label: str, probability: float | None, thresholds: tuple[float, float],
                     says: dict[str, str], reliability: Reliability) -> DetectorVerdict:
    """One detector's finding, with its verdict on its own thresholds and its card's words for it."""
    verdict = None if probability is None else verdict_of(probability, *thresholds)
    words = says.get("none", "cannot judge") if verdict is None else says.get(verdict, verdict)
    return DetectorVerdict(name=name, label=label, probability=probability, verdict=verdict, words=words,
                           real_threshold=thresholds[0], fake_threshold=thresholds[1], reliability=reliability)


def fuse(findings: Sequence[DetectorVerdict]) -> tuple[float | None, Verdict | None, str]:
    """(probability, verdict, name of the deciding detector) by the rule above."""
    judged = [f for f in findings if f.probability is not None and f.verdict is not None]
    if not judged:
        return None, None, ""
    fakes = [f for f in judged if f.verdict == "fake"]
    top = max(fakes or judged, key=lambda f: f.probability or 0.0)
    if fakes:
        verdict: Verdict = "fake"
    elif all(f.verdict == "real" for f in judged):
        verdict = "real"
    else:
        verdict = "uncertain"
    return top.probability, verdict, top.name


def weakest_reliability(findings: Sequence[DetectorVerdict]) -> Reliability:
    """The least reliable of the detectors that judged (unmeasured counts as the weakest), with the kinds of fakes
    none of them was measured on."""
    judged = [f.reliability for f in findings if f.probability is not None] or [f.reliability for f in findings]
    if not judged:
        return Reliability()
    weakest = min(judged, key=lambda r: -1.0 if r.auc is None else r.auc)
    # what the verdict is blind to: the kinds of fakes that none of the detectors that judged was measured on
    blind = [k for k in weakest.not_measured_on if all(k in r.not_measured_on for r in judged)]
    return weakest.model_copy(update={"not_measured_on": blind})
