"""A TypeScript request end to end below Dagster: the plan writes TypeScript, the project and its
acceptance suite compile and pass under node --test in the sandbox, each test linked to its
requirement; a route removed and a validation dropped fail exactly their requirements; tests that
check nothing or do not compile are not trusted."""

import tempfile
from pathlib import Path

import pytest

from mge_assets.acceptance.execution import RunSettings, run_suite
from mge_assets.acceptance.offline_build import (
    offline_discovery,
    offline_project_files,
    offline_suite,
    write_built_tree,
)
from mge_assets.acceptance.results import judge
from mge_assets.acceptance.suite import read_tests_answer
from mge_assets.acceptance.trust import vet_suite
from mge_assets.llm.answers import render_files
from mge_assets.plan import plan_project
from mge_assets.scoring.precision import spec_conformance
from mge_assets_tests.conftest import example_path

EXAMPLE = example_path("task_board_ts")


@pytest.fixture(scope="module")
def built() -> tuple:
    discovery = offline_discovery(EXAMPLE)
    return discovery, offline_project_files(discovery), offline_suite(discovery)


def run(files: dict[str, str], suite, tmp_path: Path):
    root = tmp_path / "project"
    errors = write_built_tree(root, files, "typescript")
    outcome = run_suite(root, suite, RunSettings(workers=4))
    return errors, judge(suite, outcome.outcomes, outcome.duration_s, outcome.log_tail)


def test_a_typescript_request_is_planned_as_a_node_project(built) -> None:
    discovery, files, suite = built
    targets = [f for t in plan_project(discovery).tasks for f in t.target_files]
    assert targets and all(f.endswith(".ts") and f.split("/")[0] in ("src", "tests") for f in targets)
    assert {"package.json", "tsconfig.json", "Dockerfile", "README.md", "src/main.ts"} <= set(files)
    assert suite.language == "typescript" and "acceptance/fixtures.ts" in suite.files


def test_the_project_and_its_suite_compile_and_every_requirement_passes(built, tmp_path: Path) -> None:
    _, files, suite = built
    errors, results = run({**files, **suite.files}, suite, tmp_path)
    assert errors == {}
    assert results.requirements and all(r.passed for r in results.requirements), [
        r.reason for r in results.requirements if not r.passed
    ]
    for test in results.tests:  # linked by name and by file to its requirement
        prefix = "test_" + test.requirement_id.lower().replace("-", "_")
        assert test.test_id.startswith(f"acceptance/{prefix}.ts::{prefix}__"), test.test_id


def test_a_removed_route_and_a_dropped_validation_fail_their_requirements(built, tmp_path: Path) -> None:
    _, files, suite = built
    routes, model = files["src/routes/card.ts"], files["src/models/card.ts"]
    broken = {
        "src/routes/card.ts": routes.replace('  { method: "DELETE", path: "/cards/:id", handle: deleteCard },\n', ""),
        "src/models/card.ts": model.replace(
            '{ column: "title", type: "str", required: true, nonEmpty: true }',
            '{ column: "title", type: "str", required: false }',
        ),
    }
    assert all(broken[path] != files[path] for path in broken)
    _, results = run({**files, **suite.files, **broken}, suite, tmp_path)
    failing = {r.requirement_id for r in results.requirements if not r.passed}
    # SHOULD-06 ("Listing Cards is ordered by id") deletes a card to check that the order survives gaps,
    # and SHOULD-08 (a Board with Cards cannot be deleted) deletes the card to show the board then can be
    assert failing == {"MUST-01", "MUST-02", "SHOULD-06", "SHOULD-08"}
    must_01 = next(r for r in results.requirements if r.requirement_id == "MUST-01")
    assert must_01.failed == 1 and "405" in must_01.reason  # only the Card's delete test
    assert results.share("MUST") < 1.0  # Gate S: 100% of MUST
    total = len(results.requirements)
    assert spec_conformance(total - len(failing), total).value == pytest.approx(1 - 4 / total, abs=1e-6)


def test_tests_that_check_nothing_or_do_not_compile_are_not_trusted(built, tmp_path: Path) -> None:
    discovery, files, suite = built
    vacuous = 'import { test } from "node:test";\ntest("test_should_01__filtered", () => {});\n'
    uncompiled = (
        'import { test } from "node:test";\n'
        'test("test_should_02__filtered", () => { const n: number = "x"; void n; });\n'
    )
    cases = [c for c in suite.cases if c.requirement_id not in ("SHOULD-01", "SHOULD-02")]
    doctored = {**suite.files, "acceptance/test_should_01.ts": vacuous, "acceptance/test_should_02.ts": uncompiled}
    for rid, name in (("SHOULD-01", "test_should_01.ts"), ("SHOULD-02", "test_should_02.ts")):
        requirement = next(r for r in suite.requirements if r.id == rid)
        written = read_tests_answer(
            requirement, render_files({f"acceptance/{name}": doctored[f"acceptance/{name}"]}), "typescript"
        )
        cases += written[1]
    project = tmp_path / "project"
    write_built_tree(project, files, "typescript")
    with tempfile.TemporaryDirectory() as scratch:
        vetted = vet_suite(
            suite.model_copy(update={"files": doctored, "cases": tuple(cases)}),
            project,
            discovery.package,
            Path(scratch),
        )
    reasons = {u.requirement_id: u.reason for u in vetted.untestable}
    assert set(reasons) == {"SHOULD-01", "SHOULD-02"}
    assert "passes against a broken build" in reasons["SHOULD-01"]
    assert "does not compile" in reasons["SHOULD-02"] and "TS2322" in reasons["SHOULD-02"]
    assert len(vetted.cases) == len(suite.cases) - 2
    assert "dist/acceptance/test_must_01.js" in vetted.files


def test_a_hanging_test_is_a_timeout_of_its_own_requirement(built, tmp_path: Path) -> None:
    _, files, suite = built
    hanging = (
        'import { test } from "node:test";\n'
        'test("test_should_01__hangs", () => new Promise(() => setInterval(() => {}, 1000)));\n'
    )
    requirement = next(r for r in suite.requirements if r.id == "SHOULD-01")
    written, cases = read_tests_answer(
        requirement, render_files({"acceptance/test_should_01.ts": hanging}), "typescript"
    )
    doctored = suite.model_copy(
        update={
            "files": {**suite.files, **written},
            "cases": tuple(c for c in suite.cases if c.requirement_id != "SHOULD-01") + tuple(cases),
        }
    )
    root = tmp_path / "project"
    write_built_tree(root, {**files, **doctored.files}, "typescript")
    run = run_suite(root, doctored, RunSettings(workers=4, test_timeout_s=2))
    results = judge(doctored, run.outcomes, run.duration_s, run.log_tail)
    failing = {r.requirement_id: r for r in results.requirements if not r.passed}
    assert list(failing) == ["SHOULD-01"] and failing["SHOULD-01"].timeouts == 1
