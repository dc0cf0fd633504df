"""The canary schedule (every submitted gold request × repeat, tagged) and the canary_evaluation_sensor
(a harness error re-run once, then the report once every run has finished), evaluated with
build_schedule_context / build_sensor_context on runs whose model API is down (they end at once)."""

import datetime as dt
import os
import subprocess
import sys

import dagster as dg

from mge_assets.defs.canaries import canary_report, canary_report_gate_s_share, canary_report_no_regression
from mge_assets.defs.io_manager import MgeIOManager
from mge_assets.defs.resources import ModelBackendResource
from mge_assets.defs.schedules import canary_schedule
from mge_assets.defs.sensors import canary_evaluation_sensor
from mge_assets.defs.tags import ATTEMPT_TAG, CANARY_TAG, FRESH_TAG, REPEAT_TAG
from mge_assets.errors import ModelUnavailableError
from mge_assets.readback.canary_runs import read_evaluation
from mge_assets_tests.conftest import ROOT, example_path
from mge_assets_tests.helpers import ASSETS, CHECKS, submit, test_resources

EVALUATION = "2026-12-03"
REPORT = [canary_report, canary_report_gate_s_share, canary_report_no_regression]


class ModelApiDown(ModelBackendResource):
    def build_backend(self):
        raise ModelUnavailableError("the model API answered 529 five times")


def down_run(instance: dg.DagsterInstance, root, name: str, attempt: int = 1) -> dg.ExecuteInProcessResult:
    tags = {CANARY_TAG: EVALUATION, REPEAT_TAG: "0", FRESH_TAG: "true", ATTEMPT_TAG: str(attempt)}
    return dg.materialize(
        [*ASSETS, *CHECKS],
        instance=instance,
        partition_key=name,
        resources=test_resources(root, ModelApiDown(cache_dir=str(root / "cache"))),
        tags=tags,
        raise_on_error=False,
    )


def tick(instance: dg.DagsterInstance) -> dg.SensorResult | dg.SkipReason:
    return canary_evaluation_sensor(dg.build_sensor_context(instance=instance))


def test_a_harness_error_is_re_run_once_then_the_evaluation_is_reported_once(tmp_path) -> None:
    with dg.instance_for_test() as instance:
        skipped = tick(instance)
        assert isinstance(skipped, dg.SkipReason) and "no canary run yet" in skipped.skip_message
        name = submit(instance, tmp_path, example_path("blog"))
        assert not down_run(instance, tmp_path, name).success
        [run] = read_evaluation(instance, EVALUATION)
        assert run.outcome.harness_error.startswith("resources did not start")
        assert "529" in run.outcome.harness_error

        [rerun] = tick(instance).run_requests
        assert (rerun.job_name, rerun.partition_key) == ("request_pipeline", "blog")
        assert rerun.tags == {CANARY_TAG: EVALUATION, REPEAT_TAG: "0", FRESH_TAG: "true", ATTEMPT_TAG: "2"}
        assert rerun.run_key == f"canary:blog:{EVALUATION}:0:2"

        second = down_run(instance, tmp_path, name, attempt=2)  # down again: not re-run a third time
        [report] = tick(instance).run_requests
        assert (report.job_name, report.partition_key) == ("canary_evaluation", EVALUATION)
        assert report.run_key == f"canary_report:{EVALUATION}:{second.run_id}"

        made = dg.materialize(
            REPORT,
            instance=instance,
            partition_key=EVALUATION,
            resources={"io_manager": MgeIOManager(base_dir=str(tmp_path / "assets"))},
            raise_on_error=False,
        )
        assert made.success
        gate = next(e for e in made.get_asset_check_evaluations() if e.check_name == "canary_report_gate_s_share")
        assert not gate.passed and "only harness errors, re-run them: blog" in gate.description
        done = tick(instance)
        assert isinstance(done, dg.SkipReason) and f"{EVALUATION}: reported after its last run" in done.skip_message


def test_the_sensor_waits_while_a_canary_run_has_not_finished(tmp_path) -> None:
    with dg.instance_for_test() as instance:
        name = submit(instance, tmp_path, example_path("blog"))
        down_run(instance, tmp_path, name)
        instance.add_run(
            dg.DagsterRun(
                job_name="request_pipeline",
                run_id="still-running",
                status=dg.DagsterRunStatus.STARTED,
                tags={CANARY_TAG: EVALUATION, REPEAT_TAG: "1", "dagster/partition": name},
            )
        )
        waiting = tick(instance)
        assert isinstance(waiting, dg.SkipReason) and "1 canary runs not finished" in waiting.skip_message


def test_the_schedule_runs_each_submitted_gold_request_once_per_repeat(monkeypatch) -> None:
    monkeypatch.setenv("MGE_GOLD_SET", str(ROOT / "examples" / "gold_set.yaml"))
    monkeypatch.setenv("MGE_CANARY_REPEATS", "2")
    when = dt.datetime(2026, 12, 3, 3, 0, tzinfo=dt.UTC)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("requests", ["task-api", "blog", "not-gold"])
        runs = canary_schedule(dg.build_schedule_context(instance=instance, scheduled_execution_time=when))
    assert sorted(r.run_key for r in runs) == [
        "canary:blog:2026-12-03:0",
        "canary:blog:2026-12-03:1",
        "canary:task-api:2026-12-03:0",
        "canary:task-api:2026-12-03:1",
    ]
    blog = next(r for r in runs if r.run_key == "canary:blog:2026-12-03:1")
    assert blog.partition_key == "blog"
    assert blog.tags == {CANARY_TAG: "2026-12-03", REPEAT_TAG: "1", FRESH_TAG: "true"}


def test_a_second_tick_the_same_day_does_not_start_the_evaluation_again(monkeypatch) -> None:
    monkeypatch.setenv("MGE_GOLD_SET", str(ROOT / "examples" / "gold_set.yaml"))
    monkeypatch.setenv("MGE_CANARY_REPEATS", "1")

    @dg.asset
    def started() -> None:
        """Stands for the first canary run of the day."""

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("requests", ["task-api"])
        dg.materialize([started], instance=instance, tags={CANARY_TAG: "2026-12-03"})
        later = dt.datetime(2026, 12, 3, 15, 0, tzinfo=dt.UTC)
        skipped = canary_schedule(dg.build_schedule_context(instance=instance, scheduled_execution_time=later))
        assert "the evaluation of 2026-12-03 has started already" in skipped.skip_message
        tomorrow = later + dt.timedelta(days=1)
        [run] = canary_schedule(dg.build_schedule_context(instance=instance, scheduled_execution_time=tomorrow))
        assert run.tags[CANARY_TAG] == "2026-12-04"


def test_the_schedule_ticks_on_mge_canary_cron() -> None:
    def cron(**env: str) -> str:
        code = "from mge_assets.defs.schedules import canary_schedule; print(canary_schedule.cron_schedule)"
        environment = {k: v for k, v in os.environ.items() if k != "MGE_CANARY_CRON"} | env
        done = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    assert cron() == "0 3 * * *"
    assert cron(MGE_CANARY_CRON="* * * * *") == "* * * * *"


def test_the_canary_report_is_daily_in_its_own_group_and_job_with_documented_checks() -> None:
    from mge_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey("canary_report"))
    assert node.group_name == "canaries" and isinstance(node.partitions_def, dg.DailyPartitionsDefinition)
    assert node.description and "baseline" in node.description
    checks = {key.name for key in graph.asset_check_keys if key.asset_key == node.key}
    assert checks == {"canary_report_gate_s_share", "canary_report_no_regression"}
    job = defs.resolve_job_def("canary_evaluation")
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} == {"canary_report"}
    assert "canary_report" not in {
        k.to_user_string() for k in defs.resolve_job_def("request_pipeline").asset_layer.executable_asset_keys
    }
    sensor = defs.resolve_sensor_def("canary_evaluation_sensor")
    assert {target.job_name for target in sensor.targets} == {"request_pipeline", "canary_evaluation"}
