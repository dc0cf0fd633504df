"""The request inbox: a file dropped into the inbox folder becomes a partition and a run."""

import datetime as dt
import hashlib
import json
from pathlib import Path

import dagster as dg

from mge_assets.defs.jobs import (
    canary_evaluation,
    dual_run_job,
    request_pipeline,
    review_apply,
    review_queue_refresh,
)
from mge_assets.defs.partitions import dual_run_partitions, requests_partitions
from mge_assets.defs.resources import ModelBackendResource, WorkspaceResource
from mge_assets.defs.tags import ATTEMPT_TAG, CANARY_TAG, DUAL_RUN_TAG, FRESH_TAG, REPEAT_TAG, REVIEW_TAG
from mge_assets.errors import MgeError, RequestError
from mge_assets.readback.canary_runs import canary_run_records, newest_per_repeat, read_canary_run
from mge_assets.readback.modes import request_sha256
from mge_assets.readback.report import FINISHED
from mge_assets.readback.review import queue_skipped
from mge_assets.request.modes import MVP, V2, mode_partition, split_partition
from mge_assets.request.submit import submit_request
from mge_assets.review.store import ReviewStore


@dg.sensor(job=request_pipeline, minimum_interval_seconds=10, default_status=dg.DefaultSensorStatus.RUNNING)
def request_inbox(
    context: dg.SensorEvaluationContext, workspace: WorkspaceResource, model_backend: ModelBackendResource
) -> dg.SensorResult | dg.SkipReason:
    """Watches the inbox folder for `*.md` requests. A new or changed file is validated and stored,
    its partition added, and a run requested; a file that fails validation gets a `.error.txt` note
    beside it and adds nothing."""
    inbox = Path(workspace.inbox)
    if not inbox.is_dir():
        return dg.SkipReason(f"no inbox folder at {inbox.resolve()}; create it and drop request files there")
    seen: dict[str, str] = json.loads(context.cursor or "{}")
    known = set(context.instance.get_dynamic_partitions(requests_partitions.name))
    added: list[str] = []
    runs: list[dg.RunRequest] = []
    for path in sorted(inbox.glob("*.md")):
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if seen.get(path.name) == digest:
            continue
        seen[path.name] = digest
        note = path.with_name(path.name + ".error.txt")
        try:
            submission = submit_request(data, str(path), Path(workspace.requests_dir), model_backend.backend)
        except RequestError as error:
            note.write_text(f"{error}\n")
            context.log.warning(str(error))
            continue
        note.unlink(missing_ok=True)
        name = submission.request.name
        context.log.info(f"{path.name}: {submission.describe()}")
        if name not in known and name not in added:
            added.append(name)
        runs.append(dg.RunRequest(partition_key=name, run_key=f"{name}:{submission.request.sha256[:16]}"))
    if not runs:
        return dg.SensorResult(
            skip_reason=f"no new or changed request in {inbox}", cursor=json.dumps(seen, sort_keys=True)
        )
    return dg.SensorResult(
        run_requests=runs,
        dynamic_partitions_requests=[requests_partitions.build_add_request(added)] if added else [],
        cursor=json.dumps(seen, sort_keys=True),
    )


@dg.sensor(
    jobs=[request_pipeline, dual_run_job], minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING
)
def dual_run(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    """The dual-run: when a request's v2 `precision_report` is materialized and its mvp partition
    (`NAME@mvp`) has not run on the same request text, requests that mvp run (tagged `mge/dual-run`);
    when such an mvp run has finished, requests `dual_run_report` for the request."""
    instance = context.instance
    after = int(context.cursor or 0)
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("precision_report"), after_storage_id=after),
        limit=100,
        ascending=True,
    ).records
    runs: list[dg.RunRequest] = []
    partitions: list[str] = []
    for record in records:
        after = max(after, record.storage_id)
        name, mode = split_partition(record.partition_key or "")
        sha = request_sha256(instance, name)
        if mode != V2 or sha is None or request_sha256(instance, mode_partition(name, MVP)) == sha:
            continue
        baseline = mode_partition(name, MVP)
        if not instance.has_dynamic_partition(requests_partitions.name, baseline) and baseline not in partitions:
            partitions.append(baseline)
        runs.append(  # a partition scored twice since the last tick is asked for once (same run key)
            dg.RunRequest(
                job_name=request_pipeline.name,
                partition_key=baseline,
                run_key=f"dual-run:{name}:{sha[:16]}",
                tags={DUAL_RUN_TAG: "true", FRESH_TAG: "true"},  # cold: the v2 run primed the cache
            )
        )
    reports, names = _dual_run_reports(instance)
    requests = [requests_partitions.build_add_request(partitions)] if partitions else []
    if names:
        requests.append(dual_run_partitions.build_add_request(names))
    if not runs and not reports:
        return dg.SensorResult(skip_reason="no new v2 precision report and no finished mvp run", cursor=str(after))
    unique = list({run.run_key: run for run in runs + reports}.values())
    return dg.SensorResult(run_requests=unique, dynamic_partitions_requests=requests, cursor=str(after))


def _dual_run_reports(instance: dg.DagsterInstance) -> tuple[list[dg.RunRequest], list[str]]:
    """A `dual_run_report` run for each recently finished mvp run the sensor asked for (its run key
    names that run, so each is reported once), with the dual-run partitions still to add."""
    finished = instance.get_runs(
        filters=dg.RunsFilter(
            tags={DUAL_RUN_TAG: "true"}, statuses=[dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE]
        ),
        limit=50,
    )
    known = set(instance.get_dynamic_partitions(dual_run_partitions.name))
    runs, names = [], []
    for run in finished:
        name, _mode = split_partition(run.tags.get("dagster/partition", ""))
        if request_sha256(instance, name) != request_sha256(instance, mode_partition(name, MVP)):
            continue  # the request changed since: its new v2 run will ask for a new mvp run
        if name not in known and name not in names:
            names.append(name)
        runs.append(dg.RunRequest(job_name=dual_run_job.name, partition_key=name, run_key=f"dual-report:{run.run_id}"))
    return runs, names


# The newest evaluations the canary sensor looks after (older ones are left as they ended).
RECENT_EVALUATIONS = 3


@dg.sensor(
    jobs=[request_pipeline, canary_evaluation],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def canary_evaluation_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    """Reports each canary evaluation once its runs are done: when every run tagged `mge/canary=<date>`
    has finished and no `canary_report` of that date is newer than them, requests the
    `canary_evaluation` job for that date. A repeat that a harness error ended (a model API down, a
    timeout, a crashed sandbox) is first re-run once, tagged `mge/attempt=2`."""
    requests: list[dg.RunRequest] = []
    notes: list[str] = []
    for evaluation in _recent_evaluations(context.instance):
        found, note = _evaluation_requests(context.instance, evaluation)
        requests += found
        notes.append(note)
    if not requests:
        return dg.SkipReason("; ".join(notes) or "no canary run yet (tag mge/canary)")
    return dg.SensorResult(run_requests=requests)


def _recent_evaluations(instance: dg.DagsterInstance) -> list[str]:
    """The newest dates that tag a canary run (`mge/canary=<date>`)."""
    values = {value for _key, found in instance.get_run_tags([CANARY_TAG]) for value in found}
    dates = []
    for value in values:
        try:
            dates.append(dt.date.fromisoformat(value).isoformat())
        except ValueError:
            continue  # a tag from before evaluations were dates
    return sorted(dates, reverse=True)[:RECENT_EVALUATIONS]


def _evaluation_requests(instance: dg.DagsterInstance, evaluation: str) -> tuple[list[dg.RunRequest], str]:
    """The runs one evaluation needs now (re-runs of harness errors, else its report), and why."""
    records = canary_run_records(instance, evaluation)
    running = [r for r in records if r.dagster_run.status not in FINISHED]
    if running:
        return [], f"{evaluation}: {len(running)} canary runs not finished"
    newest = newest_per_repeat(records)
    reruns = [
        _rerun(evaluation, name, repeat) for (name, repeat), record in newest.items() if _rerun_due(instance, record)
    ]
    if reruns:
        return reruns, f"{evaluation}: re-running {len(reruns)} repeats a harness error ended"
    last = max(newest.values(), key=lambda r: r.end_time or 0.0)
    reports = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("canary_report"), asset_partitions=[evaluation]), limit=1
    ).records
    if reports and reports[0].timestamp >= (last.end_time or 0.0):
        return [], f"{evaluation}: reported after its last run"
    request = dg.RunRequest(
        job_name=canary_evaluation.name,
        partition_key=evaluation,
        run_key=f"canary_report:{evaluation}:{last.dagster_run.run_id}",
    )
    return [request], f"{evaluation}: report requested"


def _rerun_due(instance: dg.DagsterInstance, record: dg.RunRecord) -> bool:
    """A first attempt that did not succeed and ended in a harness error (a success never does)."""
    run = record.dagster_run
    if run.tags.get(ATTEMPT_TAG, "1") != "1" or run.status == dg.DagsterRunStatus.SUCCESS:
        return False
    return read_canary_run(instance, record).outcome.harness_error is not None


def _rerun(evaluation: str, name: str, repeat: int) -> dg.RunRequest:
    return dg.RunRequest(
        job_name=request_pipeline.name,
        partition_key=name,
        run_key=f"canary:{name}:{evaluation}:{repeat}:2",
        tags={CANARY_TAG: evaluation, REPEAT_TAG: str(repeat), FRESH_TAG: "true", ATTEMPT_TAG: "2"},
    )


@dg.sensor(job=review_apply, minimum_interval_seconds=15, default_status=dg.DefaultSensorStatus.RUNNING)
def review_decisions(
    context: dg.SensorEvaluationContext, model_backend: ModelBackendResource
) -> dg.SensorResult | dg.SkipReason:
    """Turns reviewers' new decisions (`mge review`, or its page) into one review_apply run per request:
    atom_results applies them (edited and approved code replaces the atom's result, regenerated atoms
    go back to the model with the comment, their dependents are re-validated), then the project,
    acceptance, score and queue are made again. The run's `mge/review-decisions` tag names the
    decisions it applies. The cursor is the newest decision seen: a decision whose run failed is
    applied by the next run of its request."""
    seen = int(context.cursor or 0)
    try:
        new = ReviewStore(model_backend.database_url).unapplied(after_id=seen)
    except MgeError as error:
        return dg.SkipReason(str(error))
    if not new:
        return dg.SkipReason("no new review decision")
    known = set(context.instance.get_dynamic_partitions(requests_partitions.name))
    by_partition: dict[str, list[int]] = {}
    for decision in new:
        if decision.partition in known:
            by_partition.setdefault(decision.partition, []).append(decision.id)
    runs = [
        dg.RunRequest(
            partition_key=partition,
            run_key=f"review:{partition}:{max(ids)}",
            tags={REVIEW_TAG: ",".join(map(str, ids))},
        )
        for partition, ids in sorted(by_partition.items())
    ]
    return dg.SensorResult(run_requests=runs, cursor=str(max(d.id for d in new)))


@dg.run_failure_sensor(
    monitored_jobs=[request_pipeline, review_apply],
    request_job=review_queue_refresh,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def review_queue_after_a_gate(context: dg.RunFailureSensorContext) -> dg.RunRequest | dg.SkipReason:
    """When a gate on the generated project (its imports, its unit tests) fails a request's run, the
    run skips review_queue: this requests a review_queue_refresh run that makes the queue from the
    values the failed run stored, so the atoms to look at are listed exactly when the project is
    broken."""
    run = context.dagster_run
    partition = run.tags.get("dagster/partition")
    if not partition or not queue_skipped(context.instance, run.run_id, partition):
        return dg.SkipReason(f"run {run.run_id} stopped before its project, or made its review queue")
    return dg.RunRequest(run_key=f"queue:{run.run_id}", partition_key=partition)
