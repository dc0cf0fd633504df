"""Run an acceptance suite in the sandbox, one sandbox per test file (one file per requirement), on a
pool of workers: a hostile or hanging test only takes down its own requirement's file.

Each test has its own wall-clock limit (pytest-timeout, 30 s by default); each file's sandbox gets the
sum of its tests' limits plus the interpreter's start-up, and the whole suite has a limit of its own:
a file still waiting when it is reached is not started, and its tests count as timeouts.
"""

from __future__ import annotations

import sys
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mge_assets.acceptance.results import Outcome, parse_junit
from mge_assets.acceptance.suite import AcceptanceSuite
from mge_assets.node import compiled_path, node_test_command, parse_node_junit
from mge_assets.node.testing import FILE_LEVEL, file_failure
from mge_assets.sandbox import SandboxResult, run_in_sandbox

TEST_TIMEOUT_S = 30.0
SUITE_TIMEOUT_S = 600.0
WORKERS = 10
STARTUP_ALLOWANCE_S = 10.0
PYTEST_ARGS = (
    "-q",
    "-p",
    "no:cacheprovider",
    "-p",
    "pytest_timeout",
    "--junitxml=junit.xml",
    "--timeout-method=signal",
)
# Only the plugins the tests use: hypothesis' plugin alone costs ~0.8 s of start-up per file.
PYTEST_ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


@dataclass(frozen=True)
class RunSettings:
    """How the suite is run: workers in parallel (1 is a serial run), and the time limits."""

    workers: int = WORKERS
    test_timeout_s: float = TEST_TIMEOUT_S
    suite_timeout_s: float = SUITE_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.workers < 1 or self.test_timeout_s <= 0 or self.suite_timeout_s <= 0:
            raise ValueError(f"workers must be ≥1 and the time limits positive; got {self}")


@dataclass(frozen=True)
class FileRun:
    """One test file's sandbox run."""

    file: str
    tests: int
    seconds: float
    timed_out: bool
    returncode: int
    skipped: bool = False


@dataclass(frozen=True)
class SuiteRun:
    outcomes: dict[str, Outcome]
    files: list[FileRun]
    duration_s: float
    log_tail: str
    isolation: dict[str, str] = field(default_factory=dict)


def pytest_command(file: str, test_timeout_s: float) -> list[str]:
    return [sys.executable, "-m", "pytest", *PYTEST_ARGS, f"--timeout={test_timeout_s:g}", file]


def test_command(language: str, file: str, test_timeout_s: float, tests: int) -> list[str]:
    """pytest on a Python test file; node --test on the compiled JavaScript of a TypeScript one (node
    20's limit is per file: the sum of its tests' limits)."""
    if language == "typescript":
        return node_test_command([compiled_path(file)], test_timeout_s * tests)
    return pytest_command(file, test_timeout_s)


def reported_outcomes(language: str, file: str, junit: bytes) -> dict[str, Outcome]:
    """Test id (`file::name`) → outcome from a file's JUnit report (node's names no file: we know it)."""
    if language == "typescript":
        reported = parse_node_junit(junit)
        outcomes = {f"{file}::{name}": o for name, o in reported.items() if not name.startswith(FILE_LEVEL)}
        whole_file = file_failure(reported, compiled_path(file))
        return outcomes | ({f"{file}::{FILE_LEVEL}": whole_file} if whole_file else {})
    return parse_junit(junit)


def run_suite(
    project: Path,
    suite: AcceptanceSuite,
    settings: RunSettings | None = None,
    runner: Callable[..., SandboxResult] = run_in_sandbox,
) -> SuiteRun:
    """Every test file of `suite` in its own sandbox, `settings.workers` at a time; outcomes per test id."""
    settings = settings or RunSettings()
    by_file: dict[str, list[str]] = {}
    for case in suite.cases:
        by_file.setdefault(case.file, []).append(case.test_id)
    started = time.perf_counter()
    deadline = started + settings.suite_timeout_s

    def run_file(file: str) -> tuple[FileRun, dict[str, Outcome], str, dict[str, str]]:
        tests = by_file[file]
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            message = f"the suite's time limit of {settings.suite_timeout_s:g} s was reached before it ran"
            return (
                FileRun(file, len(tests), 0.0, True, -1, skipped=True),
                {t: ("timeout", message, 0.0) for t in tests},
                "",
                {},
            )
        budget = min(settings.test_timeout_s * len(tests) + STARTUP_ALLOWANCE_S, remaining)
        run = runner(
            test_command(suite.language, file, settings.test_timeout_s, len(tests)),
            project,
            timeout_s=budget,
            collect=("junit.xml",),
            extra_env=PYTEST_ENV,
        )
        outcomes = _file_outcomes(run, tests, budget, suite.language, file)
        log = f"--- {file} (exit {run.returncode}{', timed out' if run.timed_out else ''})\n{run.stdout[-1500:]}"
        return FileRun(file, len(tests), run.duration_s, run.timed_out, run.returncode), outcomes, log, run.isolation

    with ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="mge-acceptance") as pool:
        results = list(pool.map(run_file, sorted(by_file)))
    outcomes: dict[str, Outcome] = {}
    for _, file_outcomes, _, _ in results:
        outcomes.update(file_outcomes)
    isolation = next((iso for *_, iso in results if iso), {})
    return SuiteRun(
        outcomes=outcomes,
        files=[r[0] for r in results],
        duration_s=time.perf_counter() - started,
        log_tail="\n".join(r[2] for r in results)[-4000:],
        isolation=isolation,
    )


def _file_outcomes(run: SandboxResult, tests: list[str], budget: float, language: str, file: str) -> dict[str, Outcome]:
    """Outcomes from the file's JUnit report; a test with no result is a timeout (the sandbox was killed)
    or an error (the runner crashed, e.g. the file does not import), with the output's tail as the message."""
    try:
        reported = reported_outcomes(language, file, run.files["junit.xml"]) if "junit.xml" in run.files else {}
    except ElementTree.ParseError:  # a test that tampered with the report gets no result from it
        reported = {}
    outcomes = {}
    whole_file = reported.get(f"{file}::{FILE_LEVEL}")
    for test in tests:
        if test in reported:
            outcomes[test] = reported[test]
        elif whole_file is not None:
            outcomes[test] = whole_file
        elif run.timed_out:
            outcomes[test] = ("timeout", f"the test file's sandbox was stopped after {budget:.0f} s", 0.0)
        else:
            tail = " ".join((run.stdout + run.stderr)[-600:].split())
            outcomes[test] = ("error", f"no result (exit status {run.returncode}): {tail}", 0.0)
    return outcomes
