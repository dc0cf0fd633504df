"""Canary evaluations read back run by run: each run's own events, not the latest of the partition,
so repeats of one partition never overwrite each other."""

import time
from typing import Any

import dagster as dg

from mge_assets.canary.report import CanaryRun
from mge_assets.defs.metadata import CALL_FIELDS, MODEL_STAGES
from mge_assets.defs.tags import ATTEMPT_TAG, CANARY_TAG, REPEAT_TAG
from mge_assets.errors import MgeError
from mge_assets.readback.report import FINISHED, RequestReport, canary_outcome, gate_result

# Errors of the harness, not of the pipeline: such a repeat is re-run, never scored or counted as a
# regression (the model API down, a timeout, the machine or a sandbox failing under the run).
HARNESS_ERRORS = frozenset(
    {
        "ModelUnavailableError",
        "TimeoutError",
        "TimeoutExpired",
        "SubprocessError",
        "OSError",
        "FileNotFoundError",
        "PermissionError",
        "BlockingIOError",
        "ChildProcessError",
        "BrokenPipeError",
        "ConnectionError",
        "BrokenProcessPool",
        "MemoryError",
        "DagsterExecutionInterruptedError",
    }
)
_RUN_EVENTS = {
    dg.DagsterEventType.ASSET_MATERIALIZATION,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.RESOURCE_INIT_FAILURE,
    dg.DagsterEventType.RUN_FAILURE,
}


def canary_run_records(instance: dg.DagsterInstance, evaluation: str) -> list[dg.RunRecord]:
    """Every run of the evaluation (tag `mge/canary=<evaluation>`), newest first, finished or not."""
    return list(instance.get_run_records(filters=dg.RunsFilter(tags={CANARY_TAG: evaluation})))


def newest_per_repeat(records: list[dg.RunRecord]) -> dict[tuple[str, int], dg.RunRecord]:
    """(canary, repeat) → its newest run among `records` (newest first): a re-run replaces the one before."""
    newest: dict[tuple[str, int], dg.RunRecord] = {}
    for record in records:
        tags = record.dagster_run.tags
        newest.setdefault((tags.get("dagster/partition", ""), int(tags.get(REPEAT_TAG, "0"))), record)
    return newest


def read_evaluation(instance: dg.DagsterInstance, evaluation: str) -> list[CanaryRun]:
    """The newest finished run of each canary repeat of `evaluation`, each read from its own events."""
    finished = [r for r in canary_run_records(instance, evaluation) if r.dagster_run.status in FINISHED]
    return [read_canary_run(instance, record) for _, record in sorted(newest_per_repeat(finished).items())]


def read_canary_run(instance: dg.DagsterInstance, record: dg.RunRecord) -> CanaryRun:
    """What one canary run measured, from its own event log: the stages it materialized (with their
    digests), its gates, its model calls, its wall time from the run record, and the harness error
    that kept it from a score, if any. A run a blocking gate stopped is scored (precision 0)."""

    run = record.dagster_run
    name = run.tags.get("dagster/partition", "")
    report = RequestReport(name=name)
    planned: list[dg.AssetCheckKey] = []
    evaluated: dict[dg.AssetCheckKey, dg.AssetCheckEvaluation] = {}
    failures: list[dg.DagsterEvent] = []
    for entry in instance.all_logs(run.run_id, of_type=_RUN_EVENTS):
        event = entry.dagster_event
        if event is None:
            continue
        data = event.event_specific_data
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = entry.asset_materialization
            report.materialized[materialization.asset_key.to_user_string()] = {
                k: v.value for k, v in materialization.metadata.items()
            }
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED:
            planned.append(dg.AssetCheckKey(data.asset_key, data.check_name))
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluated[dg.AssetCheckKey(data.asset_key, data.check_name)] = data
        else:
            failures.append(event)
    report.gates = [gate_result(key, evaluated.get(key)) for key in dict.fromkeys([*planned, *evaluated])]
    report.calls = {
        stage: {f: float(report.metadata(stage, f, 0.0)) for f in CALL_FIELDS}
        for stage in MODEL_STAGES
        if stage in report.materialized
    }
    outcome = canary_outcome(report, int(run.tags.get(REPEAT_TAG, "0")))
    wall = (record.end_time or time.time()) - record.start_time if record.start_time else outcome.wall_s
    error = harness_error(run.status, failures)
    return CanaryRun(
        outcome=outcome.model_copy(update={"wall_s": round(wall, 2), "harness_error": error}),
        gates={gate.check: gate.status for gate in report.gates},
        run_id=run.run_id,
        attempt=int(run.tags.get(ATTEMPT_TAG, "1")),
    )


def harness_error(status: dg.DagsterRunStatus, failures: list[dg.DagsterEvent]) -> str | None:
    """Why the harness, not the pipeline, ended a run (None when the pipeline decided it): a step that
    raised one of HARNESS_ERRORS, resources that did not start, a run canceled or failed outside any step."""
    if status == dg.DagsterRunStatus.CANCELED:
        return "the run was canceled"
    steps = [e for e in failures if e.event_type_value == "STEP_FAILURE"]
    for event in failures:
        error = getattr(event.event_specific_data, "error", None)
        if event.event_type_value == "RESOURCE_INIT_FAILURE":
            return f"resources did not start: {_first_line(error)}"
        names = _error_classes(error)
        if event.event_type_value == "STEP_FAILURE" and names & HARNESS_ERRORS:
            return f"{event.step_key}: {sorted(names & HARNESS_ERRORS)[0]}: {_first_line(error)}"
        if event.event_type_value == "RUN_FAILURE" and not steps:
            return f"the run failed outside any step: {_first_line(error) or 'no step failed'}"
    return None


def _error_classes(error: Any) -> set[str]:
    names: set[str] = set()
    while error is not None and error.cls_name not in names:
        names.add(error.cls_name or "")
        error = error.cause or error.context
    return names


def _first_line(error: Any) -> str:
    while error is not None and error.cause is not None and "dagster._core.errors" in error.message:
        error = error.cause
    return error.message.strip().splitlines()[0] if error is not None and error.message.strip() else ""


def latest_reported_evaluation(instance: dg.DagsterInstance) -> str:
    """The evaluation whose canary_report was materialized last."""
    records = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=dg.AssetKey("canary_report")), limit=1)
    if not records.records or records.records[0].partition_key is None:
        raise MgeError("no canary evaluation has been reported on this instance yet; run `mge canary run` first")
    return records.records[0].partition_key


def reported_evaluations(instance: dg.DagsterInstance) -> set[str]:
    """Every evaluation with a canary_report."""
    return set(instance.get_materialized_partitions(dg.AssetKey("canary_report")))
