"""End to end, the way a user runs it: the CLI's main job on every shipped example, plain Dagster on the
same instance, a request whose MUST the generated code does not meet, and a hostile model."""

import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from mge_assets.acceptance.results import parse_junit
from mge_assets.cli import main
from mge_assets.definitions import defs
from mge_assets.llm.answers import render_files
from mge_assets.node import node_test_command, parse_node_junit
from mge_assets.readback.report import read_report, render_report
from mge_assets.sandbox import run_in_sandbox
from mge_assets.validation import PYTEST
from mge_assets_tests.conftest import EXAMPLES, ROOT, example_path
from mge_assets_tests.helpers import (
    ASSETS,
    CHECKS,
    RewritingModel,
    backend_serving,
    materialize_everything,
    submit,
    test_resources,
)

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def _pytest_in_sandbox(project: Path) -> dict[str, str]:
    """Run the generated project's own tests (unit and acceptance) through the sandbox: pytest, or
    node --test on a TypeScript project's compiled tests (the pipeline left them in dist/)."""
    if (project / "package.json").exists():
        compiled = sorted(str(p.relative_to(project)) for p in (project / "dist").glob("*/*.js"))
        tests = [p for p in compiled if p.startswith(("dist/tests/", "dist/acceptance/test_"))]
        run = run_in_sandbox(node_test_command(tests, 120), project, collect=("junit.xml",))
        assert "junit.xml" in run.files, run.stdout + run.stderr
        return {name: outcome for name, (outcome, _, _) in parse_node_junit(run.files["junit.xml"]).items()}
    run = run_in_sandbox(PYTEST, project, collect=("junit.xml",))
    assert "junit.xml" in run.files, run.stdout + run.stderr
    return {test: outcome for test, (outcome, _, _) in parse_junit(run.files["junit.xml"]).items()}


def test_mge_run_on_task_api_from_the_console_script(mge_env) -> None:
    run = subprocess.run(
        [str(BIN / "mge"), "run", str(example_path("task_api"))],
        cwd=mge_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert out.count("  PASS  ") == 21 and "FAIL" not in out
    assert "Precision: 1.0000" in out
    assert re.search(r"Traceability: 100% of \d+ records carry the trace id of their calls", out)
    assert re.search(r"Model: [1-9]\d* calls, \d+ cache hits, [\d,]+ tokens in, [\d,]+ out, \$0\.0000", out)
    project = mge_env / "mge_workspace" / "task-api"
    assert f"Generated project: {project}" in out
    for name in (
        "pyproject.toml",
        "README.md",
        "Dockerfile",
        "task_api/app.py",
        "tests/conftest.py",
        "acceptance/conftest.py",
        "acceptance/test_must_04.py",
    ):
        assert (project / name).is_file(), name
    outcomes = _pytest_in_sandbox(project)
    assert len(outcomes) >= 35 and set(outcomes.values()) == {"passed"}
    assert any(t.startswith("acceptance/") for t in outcomes) and any(t.startswith("tests/") for t in outcomes)

    again = subprocess.run(
        [str(BIN / "mge"), "run", str(example_path("task_api"))],
        cwd=mge_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0 and "request 'task-api' unchanged" in again.stdout
    assert "Model: 0 calls" in again.stdout  # an unchanged partition makes no model call


@pytest.mark.parametrize("path", [p for p in EXAMPLES if p.stem != "task_api"], ids=lambda p: p.stem)
def test_every_shipped_example_runs_green(path: Path, mge_env, capsys) -> None:
    assert main(["run", str(path)]) == 0, capsys.readouterr()
    name = re.search(r"^name: (\S+)", path.read_text(), re.M).group(1)
    report = read_report(dg.DagsterInstance.get(), defs, name)
    assert not report.blocking_failures and report.gate_s_passed
    assert report.metadata("precision_report", "precision") == 1.0
    assert report.metadata("precision_report", "trace_share") == 1.0  # atoms, nodes, results and tests traced
    assert report.metadata("acceptance_tests", "tests_untrusted") == 0  # every rule test fails without its rule
    outcomes = _pytest_in_sandbox(mge_env / "mge_workspace" / name)
    assert outcomes and set(outcomes.values()) == {"passed"}
    if path.stem == "task_board_ts":  # the TypeScript example: its unit and acceptance tests all ran
        assert sum(n.startswith("test_") for n in outcomes) == 40 and len(outcomes) > 40
    capsys.readouterr()
    assert main(["gate", name]) == 0
    assert main(["results", name]) == 0
    assert main(["tests", name]) == 0
    out = capsys.readouterr().out
    assert "Gate S for" in out and "PASSED" in out
    assert re.search(r"MUST (\d+)/\1, SHOULD (\d+)/\2", out)
    assert "not run" not in out and "untestable" not in out


def test_plain_dagster_cli_on_the_same_instance(mge_env) -> None:
    assert subprocess.run([str(BIN / "mge"), "submit", str(example_path("task_api"))], cwd=mge_env).returncode == 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [
            str(BIN / "dagster"),
            "job",
            "execute",
            "-m",
            "mge_assets.definitions",
            "-j",
            "request_pipeline",
            "--tags",
            '{"dagster/partition": "task-api"}',
        ],
        cwd=mge_env,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    project = mge_env / "mge_workspace" / "task-api"
    outcomes = _pytest_in_sandbox(project)
    assert sum(t.startswith("acceptance/") for t in outcomes) >= 20 and set(outcomes.values()) == {"passed"}
    report = read_report(dg.DagsterInstance.get(), defs, "task-api")
    assert report.gate_s_passed and report.metadata("precision_report", "precision") == 1.0


class SkipsReferenceChecks(RewritingModel):
    """A model that writes TaskService.create without checking that the project exists."""

    def rewrite(self, payload: dict, answer: str) -> str:
        if payload["kind"] == "write_atom" and payload["atom"]["symbol"] == "TaskService.create":
            return answer.replace("        self._check_references(values)\n", "")
        return answer


def test_an_unmet_must_fails_gate_s_stops_its_downstream_and_is_reported(tmp_path) -> None:
    backend = backend_serving(SkipsReferenceChecks, tmp_path)
    with dg.instance_for_test() as instance:
        name = submit(instance, tmp_path, example_path("task_api"))
        result = materialize_everything(instance, tmp_path, name, backend)
        assert not result.success
        gate = next(e for e in result.get_asset_check_evaluations() if e.check_name == "acceptance_results_gate_s")
        assert not gate.passed
        failed = gate.metadata["failed_requirements"].value
        assert "MUST-04" in failed and "assert 409 == 404" in failed
        for other in ("MUST-01", "MUST-02", "MUST-03"):
            assert other not in failed
        materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
        assert "acceptance_results" in materialized and "precision_report" not in materialized
        assert "review_queue" in materialized  # not downstream of the gate: reviewers still get their queue
        defs_used = dg.Definitions(assets=ASSETS, asset_checks=CHECKS, resources=test_resources(tmp_path, backend))
        text = render_report(read_report(instance, defs_used, name))
        assert "FAIL  acceptance_results_gate_s" in text and "MUST-04" in text
        assert "Precision: not computed" in text


class EscapingModel(RewritingModel):
    """A hostile model: every draft of the errors module is written to a path outside the project."""

    def rewrite(self, payload: dict, answer: str) -> str:
        if payload["kind"] == "draft_task" and payload["task"]["kind"] == "errors":
            return render_files({"../../escaped.py": "import os\nos.system('echo pwned')\n"})
        return answer


def test_a_model_path_that_leaves_the_project_is_refused_and_nothing_is_written(tmp_path) -> None:
    with dg.instance_for_test() as instance:
        name = submit(instance, tmp_path, example_path("task_api"))
        result = materialize_everything(instance, tmp_path, name, backend_serving(EscapingModel, tmp_path))
        assert not result.success
        drafts = result.output_for_node("task_drafts")
        refused = drafts[drafts["kind"] == "errors"].iloc[0]
        assert not refused["parses"] and "refused file path '../../escaped.py'" in refused["error"]
        assert refused["attempts"] == 3
        gate = next(e for e in result.get_asset_check_evaluations() if e.check_name == "task_drafts_parse")
        assert not gate.passed
        assert not list(tmp_path.parent.glob("**/escaped.py")) and not (tmp_path / "workspace").exists()


def test_a_rule_outside_the_grammar_is_untestable_with_its_line_and_fails_gate_s(mge_env, capsys) -> None:
    text = example_path("task_api").read_text().replace("name: task-api", "name: task-api-prime")
    text = text.replace("### SHOULD\n", "- A Task's priority must be a prime number.\n### SHOULD\n")
    line = text.splitlines().index("- A Task's priority must be a prime number.") + 1
    request = mge_env / "prime.md"
    request.write_text(text)
    assert main(["run", str(request)]) == 1
    out = capsys.readouterr().out
    assert "WARN  discovery_document_rules_understood" in out and "FAIL  acceptance_results_gate_s" in out
    assert main(["results", "task-api-prime"]) == 0
    results = capsys.readouterr().out
    assert "MUST-11" in results and f"untestable: line {line}: the rule is not understood" in results
    assert main(["tests", "task-api-prime"]) == 0
    assert "MUST-11     untestable  line" in capsys.readouterr().out
    assert main(["gate", "task-api-prime"]) == 1
