"""Acceptance: tests generated from the requirements, run in the sandbox, judged by Gate S."""

import tempfile
from pathlib import Path

import dagster as dg

from mge_assets.acceptance.execution import SUITE_TIMEOUT_S, TEST_TIMEOUT_S, WORKERS, RunSettings, run_suite
from mge_assets.acceptance.results import AcceptanceResults, judge
from mge_assets.acceptance.suite import AcceptanceSuite
from mge_assets.acceptance.trust import vet_suite
from mge_assets.acceptance.writing import write_suite
from mge_assets.assemble import add_files
from mge_assets.assemble.project import GeneratedProject
from mge_assets.defs.metadata import asked_items, markdown_table, reuse_metadata, stage_call_metadata
from mge_assets.defs.partitions import requests_partitions
from mge_assets.defs.resources import ModelBackendResource
from mge_assets.llm.prompts import test_inputs, tests_request
from mge_assets.plan import DiscoveryDocument
from mge_assets.request import ProjectRequest

SHOULD_THRESHOLD = 0.95


class AcceptanceRunConfig(dg.Config):
    """How the acceptance suite runs: test files in parallel sandboxes, and the time limits."""

    workers: int = WORKERS
    test_timeout_s: float = TEST_TIMEOUT_S
    suite_timeout_s: float = SUITE_TIMEOUT_S


@dg.asset(partitions_def=requests_partitions, group_name="acceptance", kinds={"pytest"}, pool="anthropic")
async def acceptance_tests(
    context: dg.AssetExecutionContext,
    project_request: ProjectRequest,
    discovery_document: DiscoveryDocument,
    generated_project: GeneratedProject,
    model_backend: ModelBackendResource,
) -> dg.MaterializeResult:
    """pytest tests written from the requirements (one file per requirement, each test named after its
    requirement id) and written into the project's `acceptance/` folder. Only tests that collect and fail
    against a deliberately broken build are trusted; a requirement without a trusted test is recorded
    as untestable, with the reason. The tests of a requirement whose inputs (its wording, its rule, the
    entities it names) are unchanged since an earlier run are reused (and run again by
    acceptance_results); `regenerated_because` says why each other one was written again."""
    client, ledger = model_backend.stage_client(context, project_request.settings.budget_usd)
    written = await write_suite(discovery_document, client, model_backend.concurrency)
    with tempfile.TemporaryDirectory(prefix="mge-trust-") as scratch:
        suite = vet_suite(
            written,
            Path(generated_project.root),
            generated_project.package,
            Path(scratch),
            discovery=discovery_document,
        )
    add_files(Path(generated_project.root), suite.files, replace_directories=("acceptance", "dist/acceptance"))
    per_requirement = [
        (
            r.id,
            r.level or "?",
            sum(c.requirement_id == r.id for c in suite.cases),
            next((u.reason for u in suite.untestable if u.requirement_id == r.id), ""),
        )
        for r in suite.requirements
    ]
    return dg.MaterializeResult(
        value=suite,
        metadata={
            "tests": len(suite.cases),
            "tests_untrusted": len(written.cases) - len(suite.cases),
            "files": sum(not path.startswith("dist/") for path in suite.files),  # not the compiled copies
            "untestable": len(suite.untestable),
            "tests_by_requirement": dg.MetadataValue.md(
                markdown_table(per_requirement, ["requirement", "level", "tests", "untestable because"])
            ),
            **stage_call_metadata(context, client, ledger),
            **reuse_metadata(
                ledger,
                "acceptance_tests",
                {r.id: test_inputs(discovery_document, r) for r in discovery_document.requirements},
                asked_items(
                    client,
                    {r.id: tests_request(discovery_document, r).trace_id for r in discovery_document.requirements},
                ),
            ),
        },
    )


@dg.asset_check(asset=acceptance_tests, partitions_def=requests_partitions)
def acceptance_tests_every_must_has_test(acceptance_tests: AcceptanceSuite) -> dg.AssetCheckResult:
    """Every MUST requirement has at least one test. Not blocking: an untested MUST is counted as
    failed by Gate S, which then reports it with the reason."""
    tested = {c.requirement_id for c in acceptance_tests.cases}
    untested = [r.id for r in acceptance_tests.requirements if r.level == "MUST" and r.id not in tested]
    return dg.AssetCheckResult(passed=not untested, metadata={"untested_must": ", ".join(untested) or "none"})


@dg.asset(partitions_def=requests_partitions, group_name="acceptance", kinds={"pytest"})
def acceptance_results(
    config: AcceptanceRunConfig, acceptance_tests: AcceptanceSuite, generated_project: GeneratedProject
) -> dg.MaterializeResult:
    """The acceptance tests run in the sandbox, one sandbox per requirement's test file, `workers` at a
    time, each test limited to `test_timeout_s` and the suite to `suite_timeout_s`; pass or fail per
    test and per requirement. A requirement passes when it has tests and all of them pass."""
    settings = RunSettings(config.workers, config.test_timeout_s, config.suite_timeout_s)
    run = run_suite(Path(generated_project.root), acceptance_tests, settings)
    results = judge(acceptance_tests, run.outcomes, run.duration_s, run.log_tail)
    counts = results.counts()
    return dg.MaterializeResult(
        value=results,
        metadata={
            **counts,
            "tests": counts["total"],
            "tests_passed": counts["passed"],
            "must_share": round(results.share("MUST"), 4),
            "should_share": round(results.share("SHOULD"), 4),
            "seconds": round(run.duration_s, 2),
            "workers": settings.workers,
            "requirements": dg.MetadataValue.md(_requirements_table(results)),
            "sandbox_isolation": dg.MetadataValue.md(
                markdown_table(sorted(run.isolation.items()), ["what", "held"]) if run.isolation else "not reported"
            ),
        },
    )


def _requirements_table(results: AcceptanceResults) -> str:
    return markdown_table(
        [
            (
                r.requirement_id,
                r.level or "?",
                "pass" if r.passed else "FAIL",
                r.total,
                r.tests_passed,
                r.failed,
                r.errors,
                r.timeouts,
                r.reason or "",
            )
            for r in results.requirements
        ],
        ["requirement", "level", "result", "tests", "passed", "failed", "errors", "timeouts", "why it failed"],
    )


@dg.asset_check(asset=acceptance_results, blocking=True, partitions_def=requests_partitions)
def acceptance_results_gate_s(acceptance_results: AcceptanceResults) -> dg.AssetCheckResult:
    """Gate S (blocking): 100% of MUST requirements and at least 95% of SHOULD requirements pass.
    Lists every failed requirement with the failing test's message."""
    must, should = acceptance_results.share("MUST"), acceptance_results.share("SHOULD")
    failed = [r for r in acceptance_results.requirements if not r.passed]
    return dg.AssetCheckResult(
        passed=must == 1.0 and should >= SHOULD_THRESHOLD,
        metadata={
            "must_share": round(must, 4),
            "should_share": round(should, 4),
            "failed_requirements": dg.MetadataValue.md(
                markdown_table(
                    [(r.requirement_id, r.level or "?", r.text, r.reason) for r in failed],
                    ["requirement", "level", "text", "why"],
                )
                if failed
                else "none"
            ),
        },
    )
