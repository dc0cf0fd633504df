"""The CLI's reads: Gate S passes only when both of its checks passed; failures are listed with why."""

from mge_assets.acceptance.results import AcceptanceResults, RequirementResult, TestResult
from mge_assets.acceptance.suite import AcceptanceSuite, TestCase, UntestableRequirement
from mge_assets.readback.report import GateResult, RequestReport
from mge_assets.readback.values import gate_verdict, render_results, render_tests
from mge_assets.request import Requirement


def _results() -> AcceptanceResults:
    return AcceptanceResults(
        tests=(
            TestResult(test_id="a::t1", requirement_id="MUST-01", outcome="passed", message="", duration_s=0.1),
            TestResult(
                test_id="b::t2", requirement_id="MUST-02", outcome="failed", message="assert 201 == 422", duration_s=0.2
            ),
        ),
        requirements=(
            RequirementResult(
                requirement_id="MUST-01",
                level="MUST",
                text="a",
                passed=True,
                total=1,
                tests_passed=1,
                failed=0,
                errors=0,
                timeouts=0,
                reason="",
            ),
            RequirementResult(
                requirement_id="MUST-02",
                level="MUST",
                text="b",
                passed=False,
                total=1,
                tests_passed=0,
                failed=1,
                errors=0,
                timeouts=0,
                reason="t2 failed: assert 201 == 422",
            ),
        ),
        duration_s=1.0,
        log_tail="",
    )


def _report(acceptance: str, precision: str) -> RequestReport:
    return RequestReport(
        name="r",
        gates=[
            GateResult("acceptance_results_gate_s", "acceptance_results", acceptance, ""),
            GateResult("precision_report_gate_s", "precision_report", precision, ""),
        ],
    )


def test_gate_s_needs_both_of_its_checks() -> None:
    assert gate_verdict(_report("passed", "passed"), None, None).passed
    for acceptance, precision in (("failed", "passed"), ("passed", "not run"), ("not run", "not run")):
        assert not gate_verdict(_report(acceptance, precision), None, None).passed


def test_a_blocked_gate_lists_each_failed_requirement_with_its_message() -> None:
    verdict = gate_verdict(_report("failed", "not run"), _results(), None)
    assert "BLOCKED" in verdict.text and "MUST-02 (MUST): t2 failed: assert 201 == 422" in verdict.text
    assert "MUST 50% (needs 100%)" in verdict.text


def test_results_and_tests_are_rendered_per_requirement_and_per_test() -> None:
    text = render_results(_results())
    assert "MUST 1/2" in text and "Failed requirements:" in text and "assert 201 == 422" in text
    suite = AcceptanceSuite(
        requirements=(Requirement(id="MUST-01", level="MUST", text="a", line=1),),
        files={},
        cases=(TestCase(test_id="a::t1", requirement_id="MUST-01", file="a", name="t1"),),
        untestable=(UntestableRequirement(requirement_id="SHOULD-01", level="SHOULD", reason="no pattern"),),
    )
    listing = render_tests(suite, _results())
    assert "MUST-01     passed" in listing and "SHOULD-01   untestable  no pattern" in listing
    assert "not run" in render_tests(suite, None)
