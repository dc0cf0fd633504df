"""Judge a test run: pytest's JUnit XML, read per test and aggregated per requirement."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from pydantic import BaseModel, ConfigDict

from mge_assets.acceptance.suite import AcceptanceSuite

Outcome = tuple[str, str, float]  # (outcome, message, seconds)


class TestResult(BaseModel):
    __test__ = False
    model_config = ConfigDict(frozen=True)

    test_id: str
    requirement_id: str
    outcome: str  # passed | failed | error | skipped | missing | timeout
    message: str
    duration_s: float
    trace_id: str = ""  # the test's, so a failure joins the call that wrote the test


class RequirementResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    requirement_id: str
    level: str | None
    text: str
    passed: bool
    total: int
    tests_passed: int
    failed: int
    errors: int
    timeouts: int
    reason: str


class AcceptanceResults(BaseModel):
    """Results per test and per requirement, and the Gate S verdict's inputs."""

    model_config = ConfigDict(frozen=True)

    tests: tuple[TestResult, ...]
    requirements: tuple[RequirementResult, ...]
    duration_s: float
    log_tail: str

    def share(self, level: str) -> float:
        rows = [r for r in self.requirements if r.level == level]
        return sum(r.passed for r in rows) / len(rows) if rows else 1.0

    @property
    def must_passed(self) -> int:
        return sum(r.passed for r in self.requirements if r.level == "MUST")

    @property
    def should_passed(self) -> int:
        return sum(r.passed for r in self.requirements if r.level == "SHOULD")

    def counts(self) -> dict[str, int]:
        """Tests by outcome and requirements by level, as the gate and the reports show them."""
        outcomes = [t.outcome for t in self.tests]
        return {
            "total": len(outcomes),
            "passed": outcomes.count("passed"),
            "failed": outcomes.count("failed"),
            "errors": outcomes.count("error") + outcomes.count("missing"),
            "timeouts": outcomes.count("timeout"),
            "requirements_total": len(self.requirements),
            "untestable": sum(r.reason.startswith("untestable") for r in self.requirements),
            "must_total": sum(r.level == "MUST" for r in self.requirements),
            "must_passed": self.must_passed,
            "should_total": sum(r.level == "SHOULD" for r in self.requirements),
            "should_passed": self.should_passed,
        }


def parse_junit(xml: bytes) -> dict[str, Outcome]:
    """`file::name` → (outcome, message, seconds) from a pytest JUnit XML report."""
    outcomes: dict[str, tuple[str, str, float]] = {}
    root = ElementTree.fromstring(xml)
    for case in root.iter("testcase"):
        path = (case.get("classname") or "").replace(".", "/") + ".py"
        test_id = f"{path}::{case.get('name')}"
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            element = case.find(tag)
            if element is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                message = (element.get("message") or element.text or "").strip()[:2000]
                if "Timeout" in message and "pytest-timeout" in message:
                    outcome = "timeout"
                break
        outcomes[test_id] = (outcome, message, float(case.get("time") or 0.0))
    return outcomes


def judge(
    suite: AcceptanceSuite,
    outcomes: dict[str, Outcome],
    duration_s: float,
    log_tail: str,
    timed_out: bool = False,
) -> AcceptanceResults:
    """A requirement passes when it has tests and every one of them passed."""
    tests = []
    for case in suite.cases:
        outcome, message, seconds = outcomes.get(
            case.test_id, ("timeout" if timed_out else "missing", "the test did not report a result", 0.0)
        )
        tests.append(
            TestResult(
                test_id=case.test_id,
                requirement_id=case.requirement_id,
                outcome=outcome,
                message=message,
                duration_s=seconds,
                trace_id=case.trace_id,
            )
        )
    untestable = {u.requirement_id: u.reason for u in suite.untestable}
    requirements = []
    for requirement in suite.requirements:
        own = [t for t in tests if t.requirement_id == requirement.id]
        passed = sum(t.outcome == "passed" for t in own)
        failing = [t for t in own if t.outcome != "passed"]
        reason = (
            f"untestable: {untestable[requirement.id]}"
            if requirement.id in untestable
            else "no test was generated for it"
            if not own
            else "; ".join(f"{t.test_id.split('::')[-1]} {t.outcome}: {_one_line(t.message)}" for t in failing)
        )
        requirements.append(
            RequirementResult(
                requirement_id=requirement.id,
                level=requirement.level,
                text=requirement.text,
                passed=bool(own) and not failing and requirement.id not in untestable,
                total=len(own),
                tests_passed=passed,
                failed=sum(t.outcome == "failed" for t in own),
                errors=sum(t.outcome in ("error", "missing") for t in own),
                timeouts=sum(t.outcome == "timeout" for t in own),
                reason=reason,
            )
        )
    return AcceptanceResults(
        tests=tuple(tests), requirements=tuple(requirements), duration_s=duration_s, log_tail=log_tail
    )


def _one_line(message: str, limit: int = 300) -> str:
    """A failure message on one line: pytest puts the custom message first and the assertion after it."""
    text = " ".join(message.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
