"""The per-request reads of the CLI (`mge results`, `mge gate`, `mge tests`): stored asset values of a
request, rendered as text. Values come back typed through the project's IO manager."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from mge_assets.acceptance.results import AcceptanceResults
from mge_assets.acceptance.suite import AcceptanceSuite
from mge_assets.errors import MgeError
from mge_assets.readback.report import GATE_S_CHECKS, RequestReport, read_report
from mge_assets.scoring import GATE_S
from mge_assets.scoring.precision import PrecisionReport


def load_value(defs: dg.Definitions, instance: dg.DagsterInstance, asset: str, name: str, kind: type) -> object:
    """The stored value of `asset` for request `name`, or a clear error saying what to run first."""
    try:
        return defs.load_asset_value(asset, partition_key=name, instance=instance, python_type=kind)
    except FileNotFoundError:
        raise MgeError(f"'{name}' has no {asset} yet; run it first: mge run <its request file>") from None


def render_results(results: AcceptanceResults) -> str:
    """One line per requirement with its test counts, then why each failed requirement failed."""
    counts = results.counts()
    lines = [
        f"{'requirement':<11} {'level':<6} {'result':<6} tests passed failed errors timeouts",
    ]
    for r in results.requirements:
        lines.append(
            f"{r.requirement_id:<11} {r.level or '?':<6} {'pass' if r.passed else 'FAIL':<6} "
            f"{r.total:>5} {r.tests_passed:>6} {r.failed:>6} {r.errors:>6} {r.timeouts:>8}"
        )
    lines.append("")
    lines.append(
        f"MUST {counts['must_passed']}/{counts['must_total']}, SHOULD {counts['should_passed']}/"
        f"{counts['should_total']}; tests {counts['passed']}/{counts['total']} passed, {counts['failed']} failed, "
        f"{counts['errors']} errors, {counts['timeouts']} timeouts; {results.duration_s:.1f} s"
    )
    failed = [r for r in results.requirements if not r.passed]
    if failed:
        lines += ["", "Failed requirements:"]
        lines += [f"  {r.requirement_id} ({r.level}) {r.text}\n    {r.reason}" for r in failed]
    return "\n".join(lines)


def render_tests(suite: AcceptanceSuite, results: AcceptanceResults | None) -> str:
    """Every acceptance test with its requirement and, once run, its outcome and message."""
    outcomes = {t.test_id: t for t in results.tests} if results else {}
    lines = []
    for case in suite.cases:
        result = outcomes.get(case.test_id)
        status = f"{result.outcome:<8} {result.duration_s:6.2f}s" if result else "not run"
        line = f"{case.requirement_id:<11} {status}  {case.test_id}"
        if result and result.outcome != "passed":
            line += "\n" + " " * 12 + " ".join(result.message.split())[:400]
        lines.append(line)
    for untestable in suite.untestable:
        lines.append(f"{untestable.requirement_id:<11} untestable  {untestable.reason}")
    return "\n".join(lines) if lines else "no acceptance tests"


@dataclass(frozen=True)
class GateVerdict:
    passed: bool
    text: str


def gate_verdict(
    report: RequestReport, results: AcceptanceResults | None, precision: PrecisionReport | None
) -> GateVerdict:
    """Gate S holds when both of its checks passed on the latest run: acceptance (100% MUST, ≥95%
    SHOULD) and precision (≥0.98)."""
    status = {g.check: g.status for g in report.gates}
    passed = all(status.get(check.name) == "passed" for check in GATE_S_CHECKS)
    lines = [f"Gate S for '{report.name}': {'PASSED' if passed else 'BLOCKED'}"]
    for check in (key.name for key in GATE_S_CHECKS):
        lines.append(f"  {status.get(check, 'not run'):<8} {check}")
    if results is not None:
        lines.append(
            f"  acceptance: MUST {results.share('MUST'):.0%} (needs 100%), SHOULD {results.share('SHOULD'):.0%} "
            "(needs 95%)"
        )
        for r in (r for r in results.requirements if not r.passed):
            lines.append(f"    {r.requirement_id} ({r.level}): {r.reason}")
    if precision is not None:
        lines.append(f"  precision: {precision.score:.4f} (needs {GATE_S})")
    return GateVerdict(passed=passed, text="\n".join(lines))


def request_gate(defs: dg.Definitions, instance: dg.DagsterInstance, name: str) -> GateVerdict:
    report = read_report(instance, defs, name)
    results = _maybe(defs, instance, "acceptance_results", name, AcceptanceResults)
    precision = _maybe(defs, instance, "precision_report", name, PrecisionReport)
    return gate_verdict(report, results, precision)


def _maybe(defs: dg.Definitions, instance: dg.DagsterInstance, asset: str, name: str, kind: type) -> object:
    try:
        return load_value(defs, instance, asset, name, kind)
    except MgeError:
        return None
