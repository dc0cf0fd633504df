"""The acceptance runner: files in parallel sandboxes, per-test and suite time limits, results per
requirement, and hostile tests that take down nothing but their own requirement."""

from pathlib import Path

import pytest

from mge_assets.acceptance import suite as suites
from mge_assets.acceptance.execution import RunSettings, run_suite
from mge_assets.acceptance.results import judge
from mge_assets.acceptance.suite import AcceptanceSuite, TestCase
from mge_assets.acceptance.trust import vet_suite
from mge_assets.request import Requirement
from mge_assets_tests.conftest import write_files

BODIES = {
    "MUST-01": "assert 1 + 1 == 2",
    "MUST-02": "assert 1 + 1 == 3, 'arithmetic is broken'",
    "MUST-03": "while True:\n        pass",
    "MUST-04": "import os\n    while True:\n        try:\n            os.fork()\n"
    "        except OSError:\n            pass",
    "SHOULD-01": "assert True",
    "SHOULD-02": "import os\n    os._exit(3)",
}


def make_suite(root: Path, bodies: dict[str, str]) -> AcceptanceSuite:
    requirements, cases, files = [], [], {}
    for line, (rid, body) in enumerate(bodies.items(), start=1):
        level = rid.split("-")[0]
        requirements.append(Requirement(id=rid, level=level, text=f"requirement {rid}", line=line))
        file, name = suites.test_file_for(rid), f"{suites.test_prefix(rid)}__it_holds"
        files[file] = f"def {name}() -> None:\n    {body}\n\n\ndef {name}_too() -> None:\n    assert True\n"
        cases += [
            TestCase(test_id=f"{file}::{name}", requirement_id=rid, file=file, name=name),
            TestCase(test_id=f"{file}::{name}_too", requirement_id=rid, file=file, name=f"{name}_too"),
        ]
    write_files(root, files)
    return AcceptanceSuite(requirements=tuple(requirements), files=files, cases=tuple(cases), untestable=())


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("hostile")
    suite = make_suite(root, BODIES)
    run = run_suite(root, suite, RunSettings(workers=6, test_timeout_s=2))
    return suite, run, judge(suite, run.outcomes, run.duration_s, run.log_tail)


def test_each_outcome_is_reported_against_its_requirement(hostile_run) -> None:
    _, run, results = hostile_run
    by_id = {r.requirement_id: r for r in results.requirements}
    assert by_id["MUST-01"].passed and by_id["SHOULD-01"].passed
    assert (by_id["MUST-02"].failed, by_id["MUST-02"].tests_passed) == (1, 1)
    assert "arithmetic is broken" in by_id["MUST-02"].reason
    assert by_id["MUST-03"].timeouts == 1 and by_id["MUST-03"].tests_passed == 1
    assert not by_id["MUST-04"].passed
    assert by_id["SHOULD-02"].errors == 2 and "exit status 3" in by_id["SHOULD-02"].reason
    counts = results.counts()
    assert counts["total"] == 12 and counts["must_passed"] == 1 and counts["should_passed"] == 1
    assert counts["passed"] + counts["failed"] + counts["errors"] + counts["timeouts"] == 12
    assert run.isolation


def test_a_hostile_file_leaves_the_other_requirements_untouched(tmp_path: Path, hostile_run) -> None:
    _, crowd, _ = hostile_run
    calm = {k: v for k, v in BODIES.items() if k in ("MUST-01", "SHOULD-01")}
    alone = run_suite(tmp_path, make_suite(tmp_path, calm), RunSettings(workers=2))
    for test_id, (outcome, _, _) in alone.outcomes.items():
        assert outcome == "passed" and crowd.outcomes[test_id][0] == "passed"


def test_the_suite_time_limit_stops_what_has_not_run(tmp_path: Path) -> None:
    bodies = {"MUST-01": "import time\n    time.sleep(2)", "MUST-02": "assert True", "MUST-03": "assert True"}
    suite = make_suite(tmp_path, bodies)
    run = run_suite(tmp_path, suite, RunSettings(workers=1, test_timeout_s=10, suite_timeout_s=1.5))
    outcomes = {test: outcome for test, (outcome, _, _) in run.outcomes.items()}
    assert set(outcomes.values()) == {"timeout"}
    assert any(f.skipped for f in run.files)
    assert run.duration_s < 10


def test_parallel_and_serial_runs_agree(tmp_path: Path) -> None:
    bodies = {k: v for k, v in BODIES.items() if k in ("MUST-01", "MUST-02", "SHOULD-01")}
    suite = make_suite(tmp_path, bodies)
    parallel = run_suite(tmp_path, suite, RunSettings(workers=10))
    serial = run_suite(tmp_path, suite, RunSettings(workers=1))
    assert {k: v[0] for k, v in parallel.outcomes.items()} == {k: v[0] for k, v in serial.outcomes.items()}


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="workers"):
        RunSettings(workers=0)


def test_only_tests_that_fail_against_a_broken_build_are_trusted(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "pkg").mkdir(parents=True)
    (project / "pkg" / "app.py").write_text("def create_app(path=None):\n    raise RuntimeError('real app')\n")
    bodies = {
        "MUST-01": "from pkg.app import create_app\n    from fastapi.testclient import TestClient\n"
        "    assert TestClient(create_app()).get('/health').status_code == 200",
        "MUST-02": "assert True",
        "SHOULD-01": "assert True",
    }
    suite = make_suite(tmp_path / "written", bodies)
    suite = suite.model_copy(update={"files": {**suite.files, "acceptance/test_should_01.py": "def broken(:\n"}})
    vetted = vet_suite(suite, project, "pkg", tmp_path / "scratch")
    assert {c.requirement_id for c in vetted.cases} == {"MUST-01"}
    assert [c.name for c in vetted.cases] == ["test_must_01__it_holds"]  # its `_too` twin passes anyway
    reasons = {u.requirement_id: u.reason for u in vetted.untestable}
    assert "passes against a broken build" in reasons["MUST-02"]
    assert "did not collect" in reasons["SHOULD-01"]
    results = judge(vetted, {c.test_id: ("passed", "", 0.0) for c in vetted.cases}, 0.0, "")
    assert [r.passed for r in results.requirements] == [True, False, False]
