"""The precision score and review confidence follow the design's formulas, from real inputs."""

import pandas as pd
import pytest

from mge_assets.scoring import (
    confidence_frame,
    integration_pass,
    precision_report,
    select_for_review,
    spec_conformance,
    validation_pass,
)


def test_precision_is_the_weighted_sum_of_its_components() -> None:
    report = precision_report(
        [spec_conformance(5, 6), integration_pass(90, 100), validation_pass({"atom": 1.0, "module": 0.5})], {}
    )
    assert report.score == pytest.approx(0.5 * 5 / 6 + 0.3 * 0.9 + 0.2 * 0.75)
    assert not report.gate_a and not report.gate_s
    spec = report.components[0]
    assert (spec.numerator, spec.denominator) == (5, 6)


def test_gates_a_and_s_thresholds() -> None:
    def score(spec: int) -> object:
        return precision_report([spec_conformance(spec, 100), integration_pass(1, 1), validation_pass({"a": 1.0})], {})

    assert score(100).gate_s and score(100).gate_a
    assert score(92).gate_a and not score(92).gate_s  # 0.96
    assert not score(88).gate_a  # 0.94


def _results(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "atom_id": [f"a{i:02d}" for i in range(n)],
            "status": ["valid"] * n,
            "attempts": [1] * n,
            "complexity": [1] * n,
            "integration_ok": [True] * n,
        }
    )


def test_confidence_weights() -> None:
    frame = _results(3)
    frame.loc[1, "attempts"] = 4
    frame.loc[2, ["status", "integration_ok"]] = ["invalid", False]
    scored = confidence_frame(frame, max_attempts=4)
    assert list(scored["confidence"]) == [1.0, 0.8, 0.4]  # 0.4 validation + 0.2 each of the others


def test_the_queue_holds_every_invalid_atom_then_the_least_confident_fifteen_percent() -> None:
    frame = _results(20)
    frame.loc[0, "status"] = "invalid"
    frame.loc[5, "attempts"] = 3
    frame.loc[7, "complexity"] = 6
    frame.loc[9, "attempts"] = 2
    queue = select_for_review(confidence_frame(frame, max_attempts=4))
    assert list(queue["atom_id"]) == ["a00", "a05", "a07"]  # ceil(0.15 * 20) = 3
    assert "did not validate" in queue.loc[0, "reason"]


def test_ties_at_the_cut_extend_the_queue_up_to_twenty_percent() -> None:
    frame = _results(20)
    for index in (1, 2, 3, 4):
        frame.loc[index, "attempts"] = 2
    queue = select_for_review(confidence_frame(frame, max_attempts=4))
    assert sorted(queue["atom_id"]) == ["a01", "a02", "a03", "a04"]
