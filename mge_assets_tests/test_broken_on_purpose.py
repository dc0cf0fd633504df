"""Evidence for the score: a generated project broken on purpose (a route removed, a validation
dropped) fails exactly the requirements that route and validation serve, Gate S blocks, and the
precision score drops by what its formula says."""

import dagster as dg
import pytest

from mge_assets.acceptance.results import AcceptanceResults
from mge_assets.acceptance.suite import AcceptanceSuite
from mge_assets.llm.answers import render_files
from mge_assets.scoring.precision import PrecisionReport
from mge_assets_tests.conftest import example_path
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


class BreaksTaskApi(RewritingModel):
    """The DELETE /tasks/{id} route loses its decorator (the function stays, so the atom still
    validates), and TaskCreate stops requiring a title."""

    def rewrite(self, payload: dict, answer: str) -> str:
        if payload["kind"] != "write_atom":
            return answer
        symbol = payload["atom"]["symbol"]
        if symbol == "delete_task":
            return answer.replace('@router.delete("/{task_id}", status_code=204)\n', "")
        if symbol == "TaskCreate":
            return answer.replace("    title: str = Field(min_length=1)\n", '    title: str = "untitled"\n')
        return answer


def test_a_removed_route_and_a_dropped_validation_fail_their_requirements_and_gate_s(tmp_path, mge_env) -> None:
    # mge_env: the atom checkpoints of a rewritten model must not outlive this test.
    backend = backend_serving(BreaksTaskApi, tmp_path)
    with dg.instance_for_test() as instance:
        name = submit(instance, tmp_path, example_path("task_api"))
        built = materialize_everything(instance, tmp_path, name, backend)
        assert not built.success  # the project's own unit tests already object (a blocking gate)
        # A person looks at the acceptance results anyway: a new run of that stage (gates block per run).
        run = dg.materialize(
            [*ASSETS, *CHECKS],
            selection=dg.AssetSelection.assets("acceptance_tests", "acceptance_results"),
            instance=instance,
            partition_key=name,
            resources=test_resources(tmp_path, backend),
            raise_on_error=False,
        )
        assert not run.success
        gate = next(e for e in run.get_asset_check_evaluations() if e.check_name == "acceptance_results_gate_s")
        assert not gate.passed
        failed_text = gate.metadata["failed_requirements"].value
        assert "test_must_01__task_can_be_deleted" in failed_text and "405" in failed_text
        assert "test_must_02__task_without_title_is_rejected" in failed_text and "201" in failed_text

        defs = dg.Definitions(assets=ASSETS, asset_checks=CHECKS, resources=test_resources(tmp_path, backend))
        results = defs.load_asset_value(
            "acceptance_results", partition_key=name, instance=instance, python_type=AcceptanceResults
        )
        failing = {r.requirement_id for r in results.requirements if not r.passed}
        # SHOULD-04 (a Project with Tasks cannot be deleted) deletes the task to show the project then can be
        assert failing == {"MUST-01", "MUST-02", "SHOULD-04"}
        must_01 = next(r for r in results.requirements if r.requirement_id == "MUST-01")
        assert must_01.failed == 1 and must_01.tests_passed == must_01.total - 1  # only the Task's delete test

        # Gate S blocked precision_report in that run; scored on its own, it shows the drop.
        scored = dg.materialize(
            ASSETS,
            selection="precision_report",
            instance=instance,
            partition_key=name,
            resources=test_resources(tmp_path, backend),
        )
        assert scored.success
        report = defs.load_asset_value(
            "precision_report", partition_key=name, instance=instance, python_type=PrecisionReport
        )
    parts = {c.name: c for c in report.components}
    total = len(results.requirements)
    assert (parts["spec_conformance"].numerator, parts["spec_conformance"].denominator) == (total - 3, total)
    # Every module still imports and the service still answers; what integration and validation lose
    # is the generated unit tests that now fail (test-file atoms, and the component level).
    validation = parts["validation_pass"].explanation
    assert "module 1.000" in validation and "system 1.000" in validation and "component 1.000" not in validation
    expected_drop = (
        0.5 * 3 / total + 0.3 * (1 - parts["integration_pass"].value) + 0.2 * (1 - parts["validation_pass"].value)
    )
    assert report.score == pytest.approx(1.0 - expected_drop, abs=1e-5)
    assert report.score < 0.95 and not report.gate_a and not report.gate_s


class WritesVacuousTests(RewritingModel):
    """A model whose tests for SHOULD-01 assert nothing about the service."""

    def rewrite(self, payload: dict, answer: str) -> str:
        if payload["kind"] == "write_tests" and payload["requirement"]["id"] == "SHOULD-01":
            code = "def test_should_01__filtered(client, factory) -> None:\n    assert client is not None\n"
            return render_files({"acceptance/test_should_01.py": code})
        return answer


def test_model_written_tests_that_pass_against_a_broken_build_are_not_trusted(tmp_path, mge_env) -> None:
    backend = backend_serving(WritesVacuousTests, tmp_path)
    with dg.instance_for_test() as instance:
        name = submit(instance, tmp_path, example_path("task_api"))
        run = materialize_everything(instance, tmp_path, name, backend)
        assert not run.success  # Gate S: SHOULD-01 fails, and 2/3 SHOULD is under 95%
        defs = dg.Definitions(assets=ASSETS, asset_checks=CHECKS, resources=test_resources(tmp_path, backend))
        suite = defs.load_asset_value(
            "acceptance_tests", partition_key=name, instance=instance, python_type=AcceptanceSuite
        )
        results = defs.load_asset_value(
            "acceptance_results", partition_key=name, instance=instance, python_type=AcceptanceResults
        )
    untestable = {u.requirement_id: u.reason for u in suite.untestable}
    assert list(untestable) == ["SHOULD-01"] and "passes against a broken build" in untestable["SHOULD-01"]
    assert not any(c.requirement_id == "SHOULD-01" for c in suite.cases)
    failed = [r.requirement_id for r in results.requirements if not r.passed]
    assert failed == ["SHOULD-01"]
