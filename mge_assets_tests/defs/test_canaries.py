"""The canary_report asset and its checks on real canary runs of one gold request (blog, offline): each
run read from its own events, the report's numbers for the UI, the baseline it used; and a canary
regression caught, a stage broken on purpose after a baseline of 3 repeats was blessed."""

from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from mge_assets.canary.baseline import BaselineStore
from mge_assets.canary.report import CanaryReport
from mge_assets.defs.canaries import canary_report, canary_report_gate_s_share, canary_report_no_regression
from mge_assets.defs.io_manager import MgeIOManager
from mge_assets.defs.resources import ModelBackendResource
from mge_assets.defs.tags import CANARY_TAG, FRESH_TAG, REPEAT_TAG
from mge_assets.llm.answers import render_files
from mge_assets.readback.canary_runs import read_evaluation
from mge_assets_tests.conftest import example_path
from mge_assets_tests.helpers import ASSETS, CHECKS, RewritingModel, backend_serving, ledger_url, submit, test_resources

pytestmark = pytest.mark.slow

BLESSED = "2026-12-01"
LATER = "2026-12-02"
REPORT = [canary_report, canary_report_gate_s_share, canary_report_no_regression]


@dataclass
class Evaluated:
    instance: dg.DagsterInstance
    root: Path
    name: str


def canary_run(
    instance: dg.DagsterInstance, root: Path, name: str, evaluation: str, repeat: int, backend: ModelBackendResource
) -> dg.ExecuteInProcessResult:
    """One canary repeat, tagged as the canary_schedule tags it."""
    return dg.materialize(
        [*ASSETS, *CHECKS],
        instance=instance,
        partition_key=name,
        resources=test_resources(root, backend),
        tags={CANARY_TAG: evaluation, REPEAT_TAG: str(repeat), FRESH_TAG: "true"},
        raise_on_error=False,
    )


def report_run(instance: dg.DagsterInstance, root: Path, evaluation: str) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        REPORT,
        instance=instance,
        partition_key=evaluation,
        resources={"io_manager": MgeIOManager(base_dir=str(root / "assets"))},
        raise_on_error=False,
    )


def checks_of(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory):
    """Three repeats of blog, the evaluation BLESSED, on one instance (shared: a run takes ~15 s)."""
    root = tmp_path_factory.mktemp("canaries")
    (root / "gold_set.yaml").write_text(f"canaries:\n  - request: {example_path('blog')}\n")
    with pytest.MonkeyPatch.context() as patch, dg.instance_for_test() as instance:
        patch.chdir(root)
        patch.setenv("MGE_HOME", str(root / ".mge"))
        patch.setenv("MGE_GOLD_SET", str(root / "gold_set.yaml"))
        name = submit(instance, root, example_path("blog"))
        backend = ModelBackendResource(cache_dir=str(root / "cache"), database_url=ledger_url(root))
        for repeat in range(3):
            assert canary_run(instance, root, name, BLESSED, repeat, backend).success
        yield Evaluated(instance, root, name)


@pytest.fixture
def baselines(tmp_path, monkeypatch) -> BaselineStore:
    """A baseline store of this test's own: nothing blessed yet."""
    monkeypatch.setenv("MGE_DATABASE_URL", f"sqlite:///{tmp_path / 'baselines.db'}")
    return BaselineStore()


def test_each_repeat_is_read_from_its_own_run_and_the_report_shows_it(evaluated, baselines) -> None:
    runs = read_evaluation(evaluated.instance, BLESSED)
    assert [run.outcome.repeat for run in runs] == [0, 1, 2]
    assert len({run.run_id for run in runs}) == 3  # not the partition's latest, three times
    for run in runs:
        record = evaluated.instance.get_run_record_by_id(run.run_id)
        assert run.outcome.wall_s == pytest.approx(record.end_time - record.start_time, abs=0.01)
        assert run.outcome.calls > 0 and run.outcome.harness_error is None
        assert run.gates["acceptance_results_gate_s"] == "passed"
        assert "canary_report_gate_s_share" not in run.gates

    result = report_run(evaluated.instance, evaluated.root, BLESSED)
    assert result.success
    checks = checks_of(result)
    assert checks["canary_report_gate_s_share"].passed
    no_regression = checks["canary_report_no_regression"]
    assert no_regression.passed and "no baseline blessed" in no_regression.description
    metadata = result.asset_materializations_for_node("canary_report")[0].metadata
    assert metadata["blog/precision"].value == pytest.approx(runs[0].outcome.precision)
    assert metadata["blog/gate_s_passes"].value == 3 and metadata["repeats"].value == 3
    assert metadata["baseline"].value == "none blessed"
    assert "blog" in metadata["table"].value
    report = result.output_for_node("canary_report")
    assert isinstance(report, CanaryReport)
    assert report.row("blog").pass_k and report.row("blog").unmet_expectations == []


class BreaksShould01(RewritingModel):
    """The acceptance test written for SHOULD-01 (listing Posts filtered by published) asserts the
    opposite of what the service does: a broken test-generation stage."""

    def rewrite(self, payload: dict, answer: str) -> str:
        if payload["kind"] == "write_tests" and payload["requirement"]["id"] == "SHOULD-01":
            code = "def test_should_01__filtered(client, factory) -> None:\n    assert client is None\n"
            return render_files({"acceptance/test_should_01.py": code})
        return answer


def test_a_stage_broken_after_the_baseline_was_blessed_is_a_regression_naming_it(evaluated, baselines) -> None:
    baselines.bless(BLESSED, [run.outcome for run in read_evaluation(evaluated.instance, BLESSED)])
    broken = backend_serving(BreaksShould01, evaluated.root)
    assert not canary_run(evaluated.instance, evaluated.root, evaluated.name, LATER, 0, broken).success  # Gate S

    result = report_run(evaluated.instance, evaluated.root, LATER)
    assert result.success  # the report is made; its checks say what is wrong
    checks = checks_of(result)
    no_regression = checks["canary_report_no_regression"]
    assert not no_regression.passed
    assert f"against the baseline {BLESSED}" in no_regression.description
    line = next(text for text in no_regression.description.splitlines() if text.startswith("- blog:"))
    assert "Gate S passed in 0 of 1 repeats against 3 of 3 at the baseline" in line
    changed = line.split("changed stages: ")[1].split(", ")
    assert changed[0] == "acceptance_tests" and "acceptance_results" in changed
    assert "discovery_document" not in changed and "atom_results" not in changed  # the code did not change
    assert not checks["canary_report_gate_s_share"].passed
    metadata = result.asset_materializations_for_node("canary_report")[0].metadata
    assert metadata["baseline"].value.startswith(BLESSED) and metadata["regressions"].value == 1
    assert metadata["blog/precision"].value == 0.0  # Gate S stopped the run before precision_report
