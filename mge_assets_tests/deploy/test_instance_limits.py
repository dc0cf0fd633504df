"""The run queue's limits, the same on both instances MGE ships: the CLI's SQLite dagster.yaml (written
by `mge`) and deploy/postgres/dagster.yaml; and the run tag they limit, on the runs that call the model."""

from pathlib import Path

import dagster as dg
import pytest
import yaml

from mge_assets.commands.instance import CANARY_RUNS, MODEL_CALL_RUNS, MODEL_POOL_SLOTS, ensure_dagster_home
from mge_assets.definitions import defs
from mge_assets.defs.tags import CANARY_TAG, MODEL_CALLS_TAG
from mge_assets_tests.conftest import ROOT

POSTGRES_INSTANCE = ROOT / "deploy" / "postgres" / "dagster.yaml"


def test_the_cli_instance_and_the_postgres_instance_hold_the_same_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    home = ensure_dagster_home()
    cli = yaml.safe_load((home / "dagster.yaml").read_text())["concurrency"]
    postgres = yaml.safe_load(POSTGRES_INSTANCE.read_text())
    expected_runs = [{"key": MODEL_CALLS_TAG, "limit": MODEL_CALL_RUNS}, {"key": CANARY_TAG, "limit": CANARY_RUNS}]
    assert cli["runs"]["tag_concurrency_limits"] == expected_runs, cli
    assert postgres["concurrency"]["runs"]["tag_concurrency_limits"] == expected_runs, postgres["concurrency"]
    assert cli["pools"] == postgres["concurrency"]["pools"] == {"default_limit": MODEL_POOL_SLOTS}
    assert postgres["run_coordinator"] == {"module": "dagster", "class": "QueuedRunCoordinator"}
    # Less than the model-calling limit would let the report jobs' runs starve the requests' runs.
    assert postgres["concurrency"]["runs"]["max_concurrent_runs"] > MODEL_CALL_RUNS + CANARY_RUNS

    instance = dg.DagsterInstance.get()  # Dagster accepts the file the CLI wrote
    try:
        assert isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
    finally:
        instance.dispose()


def test_only_the_request_job_carries_the_model_calls_tag() -> None:
    assert defs.resolve_job_def("request_pipeline").run_tags == {MODEL_CALLS_TAG: "true"}
    for name in ("dual_run", "canary_evaluation"):
        assert MODEL_CALLS_TAG not in defs.resolve_job_def(name).run_tags, name
