"""A canary's repeats against the blessed baseline: the tolerance comes from the baseline's own spread
(never under 0.02), flaky canaries show as pass^k false, harness errors are set apart, and a regression
names the canary and the stages whose output changed."""

import pytest

from mge_assets.canary import MIN_TOLERANCE, CanaryOutcome, regressions, summarize, tolerance

STAGES = ("discovery_document", "masterplan", "acceptance_tests", "acceptance_results")
SAME = {stage: "a" for stage in STAGES}


def runs(name: str, precisions: list[float], gates: list[bool] | None = None, digests=SAME) -> list[CanaryOutcome]:
    gates = gates or [True] * len(precisions)
    return [
        CanaryOutcome(name=name, repeat=i, precision=p, gate_s=g, stage_digests=digests)
        for i, (p, g) in enumerate(zip(precisions, gates, strict=True))
    ]


def test_the_tolerance_is_the_baselines_spread_and_never_under_two_hundredths() -> None:
    steady = summarize(runs("a", [1.0, 1.0, 1.0]))["a"]
    noisy = summarize(runs("a", [0.9, 1.0, 0.8]))["a"]
    assert tolerance(steady) == MIN_TOLERANCE
    assert tolerance(noisy) == pytest.approx(2 * 0.1)


def test_a_drop_beyond_the_tolerance_is_a_regression_naming_the_canary_and_the_changed_stages() -> None:
    baseline = summarize(runs("blog", [1.0, 1.0, 1.0]) + runs("shop", [0.95, 0.95, 0.95]))
    changed = {**SAME, "acceptance_tests": "b", "acceptance_results": "c"}
    current = summarize(runs("blog", [0.9, 0.9, 0.9], digests=changed) + runs("shop", [0.94, 0.94, 0.94]))
    found = regressions(current, baseline, STAGES)
    assert [r.name for r in found] == ["blog"]  # shop fell by 0.01, inside its tolerance
    assert found[0].changed_stages == ("acceptance_tests", "acceptance_results")
    assert "0.900 is below the baseline's 1.000" in found[0].reason


def test_gate_s_passing_in_fewer_repeats_is_a_regression_and_a_flaky_canary_is_not_pass_k() -> None:
    baseline = summarize(runs("a", [1.0, 1.0, 1.0]))
    current = summarize(runs("a", [1.0, 1.0, 0.99], gates=[True, True, False]))
    assert not current["a"].pass_k and baseline["a"].pass_k
    [found] = regressions(current, baseline, STAGES)
    assert "Gate S passed in 2 of 3 repeats against 3 of 3" in found.reason


def test_harness_errors_are_set_apart_and_a_canary_with_only_those_is_not_judged() -> None:
    broken = [CanaryOutcome(name="a", repeat=i, harness_error="the model API was down") for i in range(3)]
    current = summarize(broken + runs("b", [1.0]) + [CanaryOutcome(name="b", repeat=1, harness_error="timeout")])
    assert current["a"].repeats == 0 and len(current["a"].harness_errors) == 3
    assert current["b"].repeats == 1 and current["b"].harness_errors == ("repeat 1: timeout",)
    baseline = summarize(runs("a", [1.0]) + runs("b", [1.0]))
    assert regressions(current, baseline, STAGES) == []


def test_a_canary_the_baseline_never_scored_is_not_a_regression() -> None:
    assert regressions(summarize(runs("new", [0.1])), summarize(runs("old", [1.0])), STAGES) == []
