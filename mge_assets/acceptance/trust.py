"""Whether written tests can be trusted: they must collect, and each must fail against a deliberately
broken build of the service (one whose every request answers 500). A test that passes there checks
nothing; it is dropped, and a requirement left without a trusted test is untestable (so failed).

A business rule's tests must also fail against the service built without that rule (the offline
synthesizer's build of the discovery document minus the rule): a rule test that passes there does
not test the rule.

Model-written tests (the `anthropic` backend) need this most; the offline patterns go through it too.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mge_assets.acceptance.execution import PYTEST_ENV, TEST_TIMEOUT_S, reported_outcomes, test_command
from mge_assets.acceptance.generate import acceptance_fixtures
from mge_assets.acceptance.offline_build import offline_project_files, write_built_tree
from mge_assets.acceptance.results import parse_junit
from mge_assets.acceptance.suite import AcceptanceSuite, TestCase, UntestableRequirement
from mge_assets.node import compile_project, compiled_path, node_test_command, parse_node_junit
from mge_assets.node.testing import file_failure
from mge_assets.plan.discovery import DiscoveryDocument
from mge_assets.sandbox import SandboxResult, run_in_sandbox

RULE_BUILD_WORKERS = 4

BROKEN_APP = '''"""A deliberately broken build: every request answers 500, so every meaningful test fails."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


def create_app(*args, **kwargs) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def broken(request: Request, call_next) -> JSONResponse:
        return JSONResponse(status_code=500, content={"detail": "broken on purpose"})

    return app
'''


BROKEN_APP_JS = """// A deliberately broken build: every request answers 500, so every meaningful test fails.
import { createServer } from "node:http";

export function createApp() {
  return createServer((request, response) => {
    request.resume();
    response.writeHead(500, { "content-type": "application/json" });
    response.end(JSON.stringify({ detail: "broken on purpose" }));
  });
}
"""


def broken_build(package: str, language: str = "python") -> dict[str, str]:
    """The files that turn a copy of the project into the broken build (a TypeScript one is compiled)."""
    if language == "typescript":
        return {compiled_path("src/app.ts"): BROKEN_APP_JS}
    return {f"{package}/app.py": BROKEN_APP}


def compile_suite(
    suite: AcceptanceSuite, project: Path, scratch: Path, runner: Callable[..., SandboxResult] = run_in_sandbox
) -> tuple[AcceptanceSuite, dict[str, list[str]]]:
    """A TypeScript suite with its compiled JavaScript added to its files, and the reasons (its type
    errors) per requirement whose test file does not compile: such tests do not collect."""
    copy = scratch / "compiled"
    _copy_with(project, copy, suite.files)
    sources = [path for path in suite.files if path.endswith(".ts")]
    build = compile_project(copy, sources, runner)
    reasons: dict[str, list[str]] = {}
    for case in suite.cases:
        problems = build.errors.get(case.file) or build.errors.get("acceptance/fixtures.ts") or []
        if problems or compiled_path(case.file) not in build.emitted:
            detail = "; ".join(problems[:3]) or "tsc emitted nothing for it"
            reasons.setdefault(case.requirement_id, []).append(f"{case.name} does not compile: {detail}")
    emitted = {path: text for path, text in build.emitted.items() if path.startswith("dist/acceptance/")}
    return suite.model_copy(update={"files": {**suite.files, **emitted}}), reasons


def vet_suite(
    suite: AcceptanceSuite,
    project: Path,
    package: str,
    scratch: Path,
    runner: Callable[..., SandboxResult] = run_in_sandbox,
    discovery: DiscoveryDocument | None = None,
) -> AcceptanceSuite:
    """`suite` keeping only the tests that collected and failed against the broken build, and (given
    the discovery document) the tests of each rule that fail against the service without it."""
    if not suite.cases:
        return suite
    reasons: dict[str, list[str]] = {}
    if suite.language == "typescript":
        suite, reasons = compile_suite(suite, project, scratch, runner)
    broken = scratch / "broken-build"
    _copy_with(project, broken, {**suite.files, **broken_build(package, suite.language)})
    run = runner(_broken_command(suite), broken, timeout_s=300, collect=("junit.xml",), extra_env=PYTEST_ENV)
    outcomes = _outcomes(suite, run.files["junit.xml"]) if "junit.xml" in run.files else {}
    trusted = []
    for case in suite.cases:
        outcome = outcomes.get(case.test_id, ("missing", "", 0.0))[0]
        if case.requirement_id in reasons and any(r.startswith(case.name + " ") for r in reasons[case.requirement_id]):
            continue
        if outcome in ("failed", "timeout"):
            trusted.append(case)
        elif outcome == "passed":
            reasons.setdefault(case.requirement_id, []).append(f"{case.name} passes against a broken build")
        else:
            reasons.setdefault(case.requirement_id, []).append(f"{case.name} did not collect or run ({outcome})")
    if discovery is not None and discovery.rules:
        blind = rule_tests_blind_to_their_rule(suite, trusted, discovery, scratch, runner)
        for case in trusted:
            if case.test_id in blind:
                reasons.setdefault(case.requirement_id, []).append(f"{case.name} {blind[case.test_id]}")
        trusted = [c for c in trusted if c.test_id not in blind]
    kept = {c.requirement_id for c in trusted}
    untestable = list(suite.untestable)
    for requirement in suite.requirements:
        if requirement.id in reasons and requirement.id not in kept:
            reason = "no trusted test: " + "; ".join(reasons[requirement.id])
            untestable.append(
                UntestableRequirement(requirement_id=requirement.id, level=requirement.level, reason=reason)
            )
    return suite.model_copy(update={"cases": tuple(trusted), "untestable": tuple(untestable)})


def rule_tests_blind_to_their_rule(
    suite: AcceptanceSuite,
    cases: list[TestCase],
    discovery: DiscoveryDocument,
    scratch: Path,
    runner: Callable[..., SandboxResult] = run_in_sandbox,
) -> dict[str, str]:
    """Test id → why, for each rule test that passes on the service built without its rule."""
    by_requirement: dict[str, list[TestCase]] = {}
    for case in cases:
        if discovery.rule_for(case.requirement_id) is not None:
            by_requirement.setdefault(case.requirement_id, []).append(case)

    def render(requirement_id: str) -> dict[str, str]:
        """The service without the rule, with the rule's own tests: rendered in one thread, since the
        templates and `ast.parse` side by side in threads trip a SystemError on Python 3.11.7."""
        without = discovery.model_copy(
            update={"rules": tuple(r for r in discovery.rules if r.requirement_id != requirement_id)}
        )
        files = {**offline_project_files(without), **acceptance_fixtures(without)}
        return files | {case.file: suite.files[case.file] for case in by_requirement[requirement_id]}

    def run(requirement_id: str, files: dict[str, str]) -> dict[str, str]:
        own = by_requirement[requirement_id]
        root = scratch / f"without-{requirement_id.lower()}"
        write_built_tree(root, files, suite.language)
        file = own[0].file
        command = test_command(suite.language, file, TEST_TIMEOUT_S, len(own))
        result = runner(
            command, root, timeout_s=TEST_TIMEOUT_S * len(own) + 10, collect=("junit.xml",), extra_env=PYTEST_ENV
        )
        outcomes = (
            reported_outcomes(suite.language, file, result.files["junit.xml"]) if "junit.xml" in result.files else {}
        )
        return {
            case.test_id: f"passes on the service without the rule of {requirement_id}"
            for case in own
            if outcomes.get(case.test_id, ("missing",))[0] == "passed"
        }

    requirements = sorted(by_requirement)
    rendered = [render(requirement_id) for requirement_id in requirements]
    blind: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=RULE_BUILD_WORKERS, thread_name_prefix="mge-rule-trust") as pool:
        for found in pool.map(run, requirements, rendered):
            blind.update(found)
    return blind


def _broken_command(suite: AcceptanceSuite) -> list[str]:
    if suite.language == "typescript":  # named one by one: node 20 finds only `*.test.js` in a folder
        return node_test_command(sorted({compiled_path(c.file) for c in suite.cases}), 30)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "pytest_timeout"]
    return [*command, "--timeout=30", "--continue-on-collection-errors", "--junitxml=junit.xml", "acceptance"]


def _outcomes(suite: AcceptanceSuite, junit: bytes) -> dict:
    """Test id → outcome of the whole suite's run (node's report names tests, unique across the suite)."""
    if suite.language == "typescript":  # a test cut short with its file counts as the file's outcome
        by_name = parse_node_junit(junit)
        found = {c.test_id: by_name.get(c.name) or file_failure(by_name, compiled_path(c.file)) for c in suite.cases}
        return {test: outcome for test, outcome in found.items() if outcome is not None}
    return parse_junit(junit)


def _copy_with(source: Path, target: Path, files: dict[str, str]) -> None:
    ignored = shutil.ignore_patterns("__pycache__", "*.pyc", "acceptance")
    shutil.copytree(source, target, ignore=ignored)
    shutil.rmtree(target / "dist" / "acceptance", ignore_errors=True)
    for relative, text in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
