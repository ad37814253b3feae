"""The fusion rule of docs/scan.md, as a table of cases."""

from __future__ import annotations

import pytest

from mimica.models.reliability import Reliability
from mimica.scan.fuse import detector_verdict, fuse, weakest_reliability
from mimica.scan.result import DetectorVerdict

SAYS = {"fake": "f", "real": "r", "uncertain": "u"}


def finding(name: str, p: float | None, thresholds: tuple[float, float] = (0.3, 0.7),
            auc: float | None = 0.9) -> DetectorVerdict:
    return detector_verdict(name, name, p, thresholds, SAYS, Reliability(auc=auc, level="reliable"))


@pytest.mark.parametrize(("findings", "expected"), [
    # one clear sign of either kind of fake is enough; the fused probability is that detector's
    ([finding("blend", 0.5), finding("gen", 0.8)], (0.8, "fake", "gen")),
    ([finding("blend", 0.9), finding("gen", 0.8)], (0.9, "fake", "blend")),
    # a fake on its own (low) threshold beats a higher probability that is only uncertain on its own
    ([finding("blend", 0.6), finding("gen", 0.45, (0.1, 0.4))], (0.45, "fake", "gen")),
    # real only when every detector says real
    ([finding("blend", 0.1), finding("gen", 0.2)], (0.2, "real", "gen")),
    ([finding("blend", 0.1), finding("gen", 0.5)], (0.5, "uncertain", "gen")),
    # a detector that cannot judge is left out
    ([finding("blend", 0.1), finding("gen", None)], (0.1, "real", "blend")),
    ([finding("blend", None), finding("gen", None)], (None, None, "")),
    ([], (None, None, "")),
])
def test_fusion_rule(findings: list[DetectorVerdict], expected: tuple) -> None:
    assert fuse(findings) == expected


def test_detector_verdict_words_and_threshold() -> None:
    f = finding("gen", 0.75)
    assert (f.verdict, f.words, f.fake_threshold) == ("fake", "f", 0.7)
    none = finding("gen", None)
    assert none.verdict is None and none.words == "cannot judge"


def test_words_follow_the_weakest_detector_that_judged() -> None:
    strong, weak, silent = finding("a", 0.2, auc=0.95), finding("b", 0.1, auc=0.7), finding("c", None, auc=0.5)
    assert weakest_reliability([strong, weak, silent]).auc == 0.7
    unmeasured = finding("d", 0.1, auc=None)
    assert weakest_reliability([strong, unmeasured]).auc is None


def test_a_verdict_is_blind_only_to_what_no_detector_was_measured_on() -> None:
    blend = finding("blend", 0.2, auc=0.7)
    blend.reliability.not_measured_on = ["generated faces", "lip-sync"]
    gen = finding("gen", 0.1, auc=0.85)
    gen.reliability.not_measured_on = ["lip-sync"]
    r = weakest_reliability([blend, gen])
    assert r.auc == 0.7 and r.not_measured_on == ["lip-sync"]
    assert weakest_reliability([blend]).not_measured_on == ["generated faces", "lip-sync"]
