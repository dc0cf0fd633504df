"""The dual-run: the sensor asks for the baseline run and then the report; `mge dual-run` does both
from the command line and prints `{"v2": {...}, "mvp": {...}}`."""

import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from mge_assets.defs.partitions import requests_partitions
from mge_assets.defs.sensors import dual_run
from mge_assets.defs.tags import DUAL_RUN_TAG, FRESH_TAG
from mge_assets_tests.conftest import example_path


def _materialized(instance: dg.DagsterInstance, asset: str, partition: str, **metadata: str) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key=asset, partition=partition, metadata=metadata)
    )


def _tick(instance: dg.DagsterInstance, cursor: str | None = None) -> dg.SensorResult:
    return dual_run(dg.build_sensor_context(instance=instance, cursor=cursor))


def test_a_v2_score_without_a_baseline_on_the_same_text_asks_for_the_mvp_run_once() -> None:
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("requests", ["task-api"])
        _materialized(instance, "project_request", "task-api", sha256="1" * 64)
        _materialized(instance, "precision_report", "task-api")
        result = _tick(instance)
        [run] = result.run_requests
        assert run.partition_key == "task-api@mvp" and run.job_name == "request_pipeline"
        assert run.tags == {DUAL_RUN_TAG: "true", FRESH_TAG: "true"}
        assert run.run_key == "dual-run:task-api:" + "1" * 16
        assert [r.partition_keys for r in result.dynamic_partitions_requests] == [["task-api@mvp"]]
        again = _tick(instance, cursor=result.cursor)  # nothing new materialized since
        assert not again.run_requests and "no new v2 precision report" in again.skip_reason.skip_message


def test_a_baseline_that_ran_on_the_same_text_is_not_asked_for_again_but_a_changed_request_is() -> None:
    with dg.instance_for_test() as instance:
        _materialized(instance, "project_request", "task-api@mvp", sha256="1" * 64)
        _materialized(instance, "project_request", "task-api", sha256="1" * 64)
        _materialized(instance, "precision_report", "task-api")
        _materialized(instance, "precision_report", "task-api@mvp")  # a baseline's own score asks for nothing
        first = _tick(instance)
        assert not first.run_requests
        _materialized(instance, "project_request", "task-api", sha256="2" * 64)
        _materialized(instance, "precision_report", "task-api")
        [run] = _tick(instance, cursor=first.cursor).run_requests
        assert run.partition_key == "task-api@mvp" and run.run_key.endswith("2" * 16)


def test_a_finished_baseline_run_asks_for_the_report_of_its_request() -> None:
    @dg.asset(name="project_request", partitions_def=requests_partitions)
    def stand_in() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"sha256": "1" * 64})

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("requests", ["task-api@mvp"])
        done = dg.materialize([stand_in], instance=instance, partition_key="task-api@mvp", tags={DUAL_RUN_TAG: "true"})
        _materialized(instance, "project_request", "task-api", sha256="1" * 64)
        result = _tick(instance)
        [report] = result.run_requests
        assert (report.job_name, report.partition_key) == ("dual_run", "task-api")
        assert report.run_key == f"dual-report:{done.run_id}"
        assert [r.partition_keys for r in result.dynamic_partitions_requests] == [["task-api"]]
        _materialized(instance, "project_request", "task-api", sha256="2" * 64)  # the request moved on
        assert not _tick(instance, cursor=result.cursor).run_requests


@pytest.mark.slow
def test_mge_dual_run_runs_both_modes_cold_and_prints_them_side_by_side(mge_env: Path) -> None:
    mge = [sys.executable, "-m", "mge_assets.cli"]
    assert subprocess.run([*mge, "submit", str(example_path("task_api"))], cwd=mge_env).returncode == 0
    done = subprocess.run([*mge, "dual-run", "task-api", "--json"], cwd=mge_env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout[done.stdout.index("{") :])
    v2, mvp = figures["v2"], figures["mvp"]
    assert (v2["partition"], mvp["partition"]) == ("task-api", "task-api@mvp")
    assert v2["precision"] == 1.0 and v2["gate_s"] is True  # the offline backend writes what the tests expect
    assert mvp["units"] < v2["units"]  # ~25-line task units against atoms
    assert mvp["model_calls"] < v2["model_calls"]
    assert (mge_env / "mge_workspace" / "task-api@mvp").is_dir() and (mge_env / "mge_workspace" / "task-api").is_dir()
    instance = dg.DagsterInstance.get()
    runs = instance.get_runs(filters=dg.RunsFilter(tags={FRESH_TAG: "true"}))
    assert sorted(r.tags["dagster/partition"] for r in runs) == ["task-api", "task-api@mvp"]
    assert figures["v2_ahead"] is False  # offline, both modes write what the tests expect: a tie
    again = subprocess.run([*mge, "dual-run", "task-api"], cwd=mge_env, capture_output=True, text=True)
    assert again.returncode == 0 and "running" not in again.stdout  # both ran on this text already
    assert "winner" in again.stdout
    assert "WARN dual_run_report_v2_ahead: v2 1.0000 is not ahead of mvp 1.0000" in again.stdout
