"""Whether written tests can be trusted: they must collect, and each must fail against a deliberately
broken build of the service (one whose every request answers 500). A test that passes there checks
nothing; it is dropped, and a requirement left without a trusted test is untestable (so failed).

Model-written tests (the `anthropic` backend) need this most; the offline patterns go through it too.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from mge_assets.acceptance.execution import PYTEST_ENV
from mge_assets.acceptance.results import parse_junit
from mge_assets.acceptance.suite import AcceptanceSuite, UntestableRequirement
from mge_assets.sandbox import SandboxResult, run_in_sandbox

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


def broken_build(package: str) -> dict[str, str]:
    """The files that turn a copy of the project into the broken build."""
    return {f"{package}/app.py": BROKEN_APP}


def vet_suite(
    suite: AcceptanceSuite,
    project: Path,
    package: str,
    scratch: Path,
    runner: Callable[..., SandboxResult] = run_in_sandbox,
) -> AcceptanceSuite:
    """`suite` keeping only the tests that collected and failed against the broken build."""
    if not suite.cases:
        return suite
    broken = scratch / "broken-build"
    _copy_with(project, broken, {**suite.files, **broken_build(package)})
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "pytest_timeout"]
    command += ["--timeout=30", "--continue-on-collection-errors", "--junitxml=junit.xml", "acceptance"]
    run = runner(command, broken, timeout_s=300, collect=("junit.xml",), extra_env=PYTEST_ENV)
    outcomes = parse_junit(run.files["junit.xml"]) if "junit.xml" in run.files else {}
    trusted, reasons = [], {}
    for case in suite.cases:
        outcome = outcomes.get(case.test_id, ("missing", "", 0.0))[0]
        if outcome in ("failed", "timeout"):
            trusted.append(case)
        elif outcome == "passed":
            reasons.setdefault(case.requirement_id, []).append(f"{case.name} passes against a broken build")
        else:
            reasons.setdefault(case.requirement_id, []).append(f"{case.name} did not collect or run ({outcome})")
    kept = {c.requirement_id for c in trusted}
    untestable = list(suite.untestable)
    for requirement in suite.requirements:
        if requirement.id in reasons and requirement.id not in kept:
            reason = "no trusted test: " + "; ".join(reasons[requirement.id])
            untestable.append(
                UntestableRequirement(requirement_id=requirement.id, level=requirement.level, reason=reason)
            )
    return suite.model_copy(update={"cases": tuple(trusted), "untestable": tuple(untestable)})


def _copy_with(source: Path, target: Path, files: dict[str, str]) -> None:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "acceptance"))
    for relative, text in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
