"""Several requests at once on the multi-process topology (code server over gRPC, webserver, daemon,
PostgreSQL): submitted together through the webserver's GraphQL API, they wait in the run queue and
the daemon starts them within deploy/postgres/dagster.yaml's limits. Read back from the run records:
never more model-calling runs started at once than the `mge/model-calls` limit, the queue held one
back until a slot freed, two requests ran side by side, and every run succeeded; the CLI reads them
back from the same Postgres instance and ledger."""

from __future__ import annotations

import json
import subprocess

import dagster as dg
import pytest
import yaml

from mge_assets.definitions import defs
from mge_assets.defs.tags import CANARY_TAG, MODEL_CALLS_TAG
from mge_assets.readback.report import read_report
from mge_assets_tests.deploy.conftest import REQUESTS, Topology
from mge_assets_tests.processes import BIN

pytestmark = [pytest.mark.slow, pytest.mark.services]
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
IN_PROGRESS = {dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED}
RUNS_TIMEOUT_S = 600  # three requests, two at a time, take about two minutes here


def _tag_limits(config: dict) -> dict[str, int]:
    return {limit["key"]: limit["limit"] for limit in config["concurrency"]["runs"]["tag_concurrency_limits"]}


def peak_concurrency(intervals: list[tuple[float, float]]) -> int:
    """The most intervals open at one moment (one ending as another starts counts once)."""
    edges = sorted([(end, -1) for _, end in intervals] + [(start, 1) for start, _ in intervals])
    peak = open_now = 0
    for _, step in edges:
        open_now += step
        peak = max(peak, open_now)
    return peak


def _launch_time(instance: dg.DagsterInstance, run_id: str) -> float:
    """When the run queue's daemon launched the run (its RUN_STARTING event)."""
    [event] = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_STARTING)
    return event.timestamp


def test_peak_concurrency_counts_overlaps_only() -> None:
    assert peak_concurrency([(0, 10), (5, 15), (10, 20)]) == 2
    assert peak_concurrency([(0, 1), (1, 2), (2, 3)]) == 1
    assert peak_concurrency([(0, 9), (1, 8), (2, 7)]) == 3


def test_the_webserver_reports_the_instances_limits(topology: Topology) -> None:
    data = topology.graphql(
        """{ instance {
            runQueuingSupported
            runQueueConfig { maxConcurrentRuns tagConcurrencyLimitsYaml }
            poolConfig { defaultPoolLimit }
            concurrencyLimit(concurrencyKey: "anthropic") { limit usingDefaultLimit }
        } }"""
    )["instance"]
    limits = _tag_limits(topology.config)
    assert data["runQueuingSupported"], data
    shown = {item["key"]: item["limit"] for item in yaml.safe_load(data["runQueueConfig"]["tagConcurrencyLimitsYaml"])}
    assert shown == limits and set(limits) == {MODEL_CALLS_TAG, CANARY_TAG}, shown
    assert data["runQueueConfig"]["maxConcurrentRuns"] == topology.config["concurrency"]["runs"]["max_concurrent_runs"]
    pool_limit = topology.config["concurrency"]["pools"]["default_limit"]
    assert data["poolConfig"]["defaultPoolLimit"] == pool_limit, data
    assert data["concurrencyLimit"] == {"limit": pool_limit, "usingDefaultLimit": True}, data


def test_requests_submitted_at_once_queue_within_the_tag_limit_and_run_side_by_side(topology: Topology) -> None:
    instance = topology.instance
    limit = _tag_limits(topology.config)[MODEL_CALLS_TAG]
    names = list(REQUESTS)
    assert 2 <= limit < len(names), f"the limit ({limit}) must let two run and hold one of {len(names)} back"

    client = topology.client()
    run_ids = [client.submit_job_execution("request_pipeline", tags={"dagster/partition": name}) for name in names]

    # Watched live as well: a moment with the limit's runs in progress and another still queued.
    full_with_queue: list[list[dg.DagsterRunStatus]] = []

    def finished() -> list[dg.RunRecord] | None:
        records = instance.get_run_records(dg.RunsFilter(run_ids=run_ids))
        statuses = [record.dagster_run.status for record in records]
        in_progress = sum(status in IN_PROGRESS for status in statuses)
        assert in_progress <= limit, f"{in_progress} runs in progress at once, limit {limit}: {statuses}"
        if in_progress == limit and dg.DagsterRunStatus.QUEUED in statuses:
            full_with_queue.append(statuses)
        done = len(records) == len(run_ids) and all(status in FINISHED for status in statuses)
        return records if done else None

    records = topology.wait_for(finished, f"{len(run_ids)} runs finished", RUNS_TIMEOUT_S)
    by_name = {record.dagster_run.tags["dagster/partition"]: record for record in records}
    for name, record in by_name.items():
        run = record.dagster_run
        assert run.status == dg.DagsterRunStatus.SUCCESS, f"{name} run {run.run_id}: {run.status}{topology.tail()}"
        assert run.tags[MODEL_CALLS_TAG] == "true", run.tags
        assert record.start_time is not None and record.end_time is not None, record
    assert set(by_name) == set(names)

    # Every model-calling run this instance ever started (the UI test's too), by its recorded times.
    model_calling = instance.get_run_records(dg.RunsFilter(tags={MODEL_CALLS_TAG: "true"}))
    intervals = [(record.start_time, record.end_time) for record in model_calling if record.start_time]
    assert peak_concurrency(intervals) <= limit, intervals

    ours = [(record.start_time, record.end_time) for record in records]
    assert peak_concurrency(ours) == limit, f"no {limit} requests side by side: {ours}"

    # The queue held a run back: the daemon launched it (took it off the queue) only once another
    # of them had ended. From launch on a run holds its slot, so the launch-to-end spans keep the limit too.
    launched = {record.dagster_run.run_id: _launch_time(instance, record.dagster_run.run_id) for record in records}
    first_end = min(record.end_time for record in records)
    held = [run_id for run_id, at in launched.items() if at >= first_end]
    assert held, f"no run waited for a slot: first end {first_end}, launched {launched}"
    assert peak_concurrency([(launched[r.dagster_run.run_id], r.end_time) for r in records]) <= limit, launched
    assert full_with_queue, "never saw the limit's runs in progress with another queued"

    # Each request produced its project and passed Gate S, as `mge report` reads it back.
    for name in names:
        assert (topology.root / "mge_workspace" / name / "Dockerfile").is_file(), name
        report = read_report(instance, defs, name)
        assert report.gate_s_passed and report.metadata("precision_report", "precision") == 1.0, name
    # ... and as a user reads it with the CLI on the same Postgres instance (its cost events in the
    # Postgres ledger): `mge report` and `mge status`.
    cli = [str(BIN / "mge"), "report", names[0]]
    shown = subprocess.run(cli, cwd=topology.root, env=topology.env, capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0 and "PASS  acceptance_results_gate_s" in shown.stdout, shown.stdout + shown.stderr
    cli = [str(BIN / "mge"), "status", names[0], "--json"]
    shown = subprocess.run(cli, cwd=topology.root, env=topology.env, capture_output=True, text=True, timeout=300)
    status = json.loads(shown.stdout)
    assert (status["status"], status["stage"]) == ("success", "precision_report"), status
    assert status["atoms"]["done"] == status["atoms"]["total"] > 0, status

    origin = min(start for start, _ in ours)
    spans = {r.dagster_run.tags["dagster/partition"]: (r.start_time - origin, r.end_time - origin) for r in records}
    print(  # what the queue did, for `pytest -rP`
        f"limit {limit}; peak started at once {peak_concurrency(ours)} (all model-calling runs: "
        f"{peak_concurrency(intervals)}); held back: {len(held)}; run spans (s): "
        + ", ".join(f"{name} {start:.0f}-{end:.0f}" for name, (start, end) in sorted(spans.items(), key=lambda i: i[1]))
    )
