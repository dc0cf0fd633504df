"""The real `dagster-daemon` on the instance `mge` writes, the way a deployment runs MGE unattended.

One daemon session proves the three automations end to end, each through the daemon's own ticks,
run queue and run launcher (nothing is materialized in the test process):

1. a request dropped into the inbox becomes partition `task-api` and a `request_pipeline` run
   (the `request_inbox` sensor, on by default), which succeeds;
2. the `dual_run` sensor (on by default) then asks for the cold mvp baseline `task-api@mvp`
   (tagged `mge/dual-run`) and, once it has finished, for the `dual_run` job, whose
   `dual_run_report` for `task-api` carries both modes' precision;
3. the `canary_schedule`, started with `dagster schedule start` on a cron of every minute (and
   stopped once its first tick has launched), runs the one canary of a gold set of one (tagged
   `mge/canary=<date>`), and the `canary_evaluation_sensor` (on by default) reports that evaluation
   once its runs have finished: `canary_report` materialized for that day, its two checks passed.

The canaries start only after the dual-run report: a canary repeat re-runs the `task-api` partition,
and a dual-run report reading v2's figures while that partition is being re-run would read a
half-finished run.
"""

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import dagster as dg
import pytest

from mge_assets.commands.instance import ensure_dagster_home
from mge_assets.defs.tags import CANARY_TAG, DUAL_RUN_TAG, FRESH_TAG, REPEAT_TAG
from mge_assets_tests.conftest import ROOT, example_path
from mge_assets_tests.processes import stop

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
DAEMON = BIN / "dagster-daemon"
WORKSPACE = ROOT / "workspace.yaml"
# Only to fail instead of hanging: each wait below normally ends within one or two minutes.
DEADLINE_S = 900
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
SENSOR_TAG = "dagster/sensor_name"
SCHEDULE_TAG = "dagster/schedule_name"
PARTITION_TAG = "dagster/partition"

T = TypeVar("T")


@dataclass
class Daemon:
    """The daemon this test started, the file its stdout and stderr go to, and its instance."""

    process: subprocess.Popen[bytes]
    log: Path
    instance: dg.DagsterInstance

    def tail(self, chars: int = 6000) -> str:
        return f"\n--- dagster-daemon log (tail) ---\n{self.log.read_text(errors='replace')[-chars:]}"

    def wait_for(self, find: Callable[[], T | None], what: str) -> T:
        """Poll `find` until it returns something; fail with the daemon's log if the daemon exits or
        the deadline passes first."""
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            found = find()
            if found is not None:
                return found
            if self.process.poll() is not None:
                raise AssertionError(f"dagster-daemon exited ({self.process.returncode}) before {what}{self.tail()}")
            time.sleep(2)
        raise AssertionError(f"no {what} after {DEADLINE_S} s{self.tail()}")


@pytest.fixture
def daemon(mge_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    """`dagster-daemon run -w workspace.yaml` on the CLI's instance, in the test's own folder.

    workspace.yaml loads `mge_assets.definitions` with the repository as its working directory (put
    on sys.path); the code server and the runs it launches inherit the daemon's current directory
    (the temporary folder) and environment (MGE_HOME, MGE_WORKSPACE, MGE_INBOX, DAGSTER_HOME, the
    canary settings), so everything they write lands under the temporary folder."""
    if not DAEMON.exists():
        pytest.skip(f"dagster-daemon is not installed at {DAEMON}; install the project's dependencies")
    manifest = mge_env / "gold_set.yaml"
    manifest.write_text(f"canaries:\n  - request: {example_path('task_api')}\n")
    monkeypatch.setenv("MGE_GOLD_SET", str(manifest))
    monkeypatch.setenv("MGE_CANARY_CRON", "* * * * *")
    monkeypatch.setenv("MGE_CANARY_REPEATS", "1")
    ensure_dagster_home()  # the instance's dagster.yaml exactly as `mge` writes it
    # Open it once first, as `mge submit` would: a brand-new SQLite instance whose databases the daemon
    # and its code server create at the same moment can end with two alembic heads in schedules.db,
    # and the code location then fails to load.
    instance = dg.DagsterInstance.get()
    log = mge_env / "dagster-daemon.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(DAEMON), "run", "-w", str(WORKSPACE)],
            cwd=mge_env,
            env=os.environ.copy(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its code server and run workers share its process group
        )
        try:
            yield Daemon(process, log, instance)
        finally:
            stop(process, grace_s=30)
            instance.dispose()


def _schedule(verb: str) -> None:
    """`dagster schedule start|stop canary_schedule`, as a user runs it, on the same instance."""
    done = subprocess.run(
        [str(BIN / "dagster"), "schedule", verb, "canary_schedule", "-w", str(WORKSPACE)],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"dagster schedule {verb}: {done.stdout}{done.stderr}"


def _all_finished(runs: Sequence[dg.DagsterRun]) -> Sequence[dg.DagsterRun] | None:
    return runs if runs and all(run.status in FINISHED for run in runs) else None


def _finished_run(instance: dg.DagsterInstance, job: str, tags: dict[str, str]) -> dg.DagsterRun | None:
    """The newest finished run of `job` with `tags`, once there is one."""
    runs = instance.get_runs(filters=dg.RunsFilter(job_name=job, tags=tags, statuses=list(FINISHED)), limit=1)
    return runs[0] if runs else None


def _materialization(instance: dg.DagsterInstance, asset: str, partition: str) -> dg.AssetMaterialization | None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition]), limit=1
    ).records
    return records[0].asset_materialization if records else None


def _check_results(instance: dg.DagsterInstance, run_id: str) -> dict[str, bool]:
    """Each asset check the run evaluated → whether it passed."""
    entries = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    return {
        entry.dagster_event.event_specific_data.check_name: entry.dagster_event.event_specific_data.passed
        for entry in entries
        if entry.dagster_event is not None
    }


def test_the_daemon_runs_the_inbox_the_dual_run_and_the_canaries(mge_env: Path, daemon: Daemon) -> None:
    instance = daemon.instance

    # 1. The inbox: a dropped file becomes a partition and a run.
    shutil.copy(example_path("task_api"), mge_env / "mge_inbox" / "task_api.md")
    v2 = daemon.wait_for(
        lambda: _finished_run(instance, "request_pipeline", {PARTITION_TAG: "task-api"}),
        "finished request_pipeline run of task-api from the inbox",
    )
    assert v2.status == dg.DagsterRunStatus.SUCCESS, f"inbox run {v2.run_id}: {v2.status}{daemon.tail()}"
    assert v2.tags.get(SENSOR_TAG) == "request_inbox", v2.tags
    assert "task-api" in instance.get_dynamic_partitions("requests")
    assert not (mge_env / "mge_inbox" / "task_api.md.error.txt").exists()
    precision = _materialization(instance, "precision_report", "task-api")
    assert precision is not None and precision.metadata["precision"].value == 1.0

    # 2. The dual-run: the cold mvp baseline, then the report of both.
    mvp = daemon.wait_for(
        lambda: _finished_run(instance, "request_pipeline", {DUAL_RUN_TAG: "true"}),
        "finished mvp baseline run requested by the dual_run sensor",
    )
    assert mvp.status == dg.DagsterRunStatus.SUCCESS, f"mvp run {mvp.run_id}: {mvp.status}{daemon.tail()}"
    assert mvp.tags[PARTITION_TAG] == "task-api@mvp" and mvp.tags[FRESH_TAG] == "true", mvp.tags
    assert mvp.tags.get(SENSOR_TAG) == "dual_run", mvp.tags
    dual = daemon.wait_for(
        lambda: _finished_run(instance, "dual_run", {PARTITION_TAG: "task-api"}),
        "finished dual_run job run of task-api",
    )
    assert dual.status == dg.DagsterRunStatus.SUCCESS, f"dual_run run {dual.run_id}: {dual.status}{daemon.tail()}"
    assert dual.tags.get(SENSOR_TAG) == "dual_run", dual.tags
    assert "task-api" in instance.get_dynamic_partitions("dual_runs")
    report = _materialization(instance, "dual_run_report", "task-api")
    assert report is not None, f"no dual_run_report for task-api{daemon.tail()}"
    v2_precision = report.metadata["v2/precision"].value
    mvp_precision = report.metadata["mvp/precision"].value
    assert v2_precision == 1.0  # the same score precision_report gave the inbox run
    assert isinstance(mvp_precision, float) and 0.0 <= mvp_precision <= 1.0
    assert report.metadata["precision_delta"].value == pytest.approx(v2_precision - mvp_precision, abs=1e-6)
    figures = {key: value.value for key, value in report.metadata.items()}
    request = _materialization(instance, "project_request", "task-api")
    assert request is not None and figures["request_sha256"] == request.metadata["sha256"].value, figures
    assert figures["v2/model_calls"] > 0 and figures["mvp/model_calls"] > 0, figures
    assert 0 < figures["mvp/units"] < figures["v2/units"], figures  # the baseline's coarse task units, not atoms

    # 3. The canaries: the schedule, started as a user starts it, ticked by the daemon every minute.
    _schedule("start")
    first = daemon.wait_for(
        lambda: next(iter(instance.get_runs(filters=dg.RunsFilter(tags={SCHEDULE_TAG: "canary_schedule"}))), None),
        "canary run launched by canary_schedule",
    )
    # Dagster dedupes a schedule's run keys within one tick only: left on, the next minute's tick would
    # start another repeat of the same evaluation, and the evaluation would never be done.
    _schedule("stop")
    evaluation = first.tags[CANARY_TAG]  # the UTC date of the tick
    created = instance.get_run_record_by_id(first.run_id).create_timestamp.astimezone(dt.UTC).date()
    assert (created - dt.date.fromisoformat(evaluation)).days in (0, 1), (evaluation, created)  # ticked before
    canaries = daemon.wait_for(
        lambda: _all_finished(instance.get_runs(filters=dg.RunsFilter(tags={CANARY_TAG: evaluation}))),
        f"every canary run of {evaluation} finished",
    )
    for canary in canaries:  # one per tick that came before the stop (a single one, but for a tick racing it)
        assert canary.status == dg.DagsterRunStatus.SUCCESS, f"canary {canary.run_id}: {canary.status}{daemon.tail()}"
        assert canary.job_name == "request_pipeline" and canary.tags[SCHEDULE_TAG] == "canary_schedule", canary.tags
        assert canary.tags[PARTITION_TAG] == "task-api", canary.tags
        assert canary.tags[REPEAT_TAG] == "0" and canary.tags[FRESH_TAG] == "true", canary.tags

    evaluated = daemon.wait_for(
        lambda: _finished_run(instance, "canary_evaluation", {PARTITION_TAG: evaluation}),
        f"finished canary_evaluation run of {evaluation}",
    )
    assert evaluated.status == dg.DagsterRunStatus.SUCCESS, f"{evaluated.run_id}: {evaluated.status}{daemon.tail()}"
    assert evaluated.tags.get(SENSOR_TAG) == "canary_evaluation_sensor", evaluated.tags
    canary_report = _materialization(instance, "canary_report", evaluation)
    assert canary_report is not None, f"no canary_report for {evaluation}{daemon.tail()}"
    metadata = {key: value.value for key, value in canary_report.metadata.items()}
    assert metadata["canaries"] == 1 and metadata["repeats"] == 1 and metadata["harness_errors"] == 0, metadata
    assert metadata["task-api/precision"] == 1.0 and metadata["task-api/pass_k"] == 1.0, metadata
    assert metadata["baseline"] == "none blessed"
    checks = _check_results(instance, evaluated.run_id)
    assert checks == {"canary_report_gate_s_share": True, "canary_report_no_regression": True}, checks
    # The canary re-scored task-api on the same text: the dual_run sensor asked for no second baseline.
    assert len(instance.get_runs(filters=dg.RunsFilter(tags={DUAL_RUN_TAG: "true"}))) == 1
    assert len(instance.get_runs(filters=dg.RunsFilter(job_name="dual_run"))) == 1
