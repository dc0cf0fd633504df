"""Where a request's run stands, read back from the instance: its run (the one in flight, else the
latest), the stage from the run's step events, the atoms from the latest progress observation of
atom_results, and the spend so far from the earlier stages' metadata and the ledger's cost events."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import dagster as dg

from mge_assets.defs.jobs import canary_evaluation, dual_run_job
from mge_assets.defs.metadata import MODEL_STAGES
from mge_assets.errors import MgeError
from mge_assets.execute.progress import Progress, caps
from mge_assets.ledger import Ledger
from mge_assets.llm.budget import Budget
from mge_assets.readback.report import FINISHED
from mge_assets.request.modes import split_partition
from mge_assets.request.store import load_request
from mge_assets.settings import requests_dir

# Runs tagged with a request's partition that are not its pipeline: the reports over many requests.
REPORT_JOBS = frozenset({dual_run_job.name, canary_evaluation.name})
OBSERVED = dg.AssetKey("atom_results")
_STEP_EVENTS = {
    dg.DagsterEventType.STEP_START,
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.STEP_SKIPPED,
}
# Read in one query: on SQLite each query of a run opens (and checks) that run's own database.
_RUN_EVENTS = {*_STEP_EVENTS, dg.DagsterEventType.ASSET_OBSERVATION, dg.DagsterEventType.ASSET_MATERIALIZATION}


@dataclass(frozen=True)
class RunStatus:
    """One request's run as `mge status` shows it. `status` is Dagster's run status in lower case
    (queued, starting, started, success, failure, canceled ...), or `not run`."""

    name: str
    run_id: str | None = None
    status: str = "not run"
    stage: str = ""  # the pipeline stage (asset) running, or the last one that ran
    step: str = ""  # the step key: the stage itself or one of its checks
    atoms: Progress = field(default_factory=lambda: Progress(total=0))  # all 0 until atom_results starts
    spent_usd: float = 0.0
    soft_cap_usd: float | None = None
    hard_cap_usd: float | None = None
    elapsed_s: float = 0.0

    @property
    def running(self) -> bool:
        return self.run_id is not None and self.status not in {s.value.lower() for s in FINISHED}

    def as_json(self) -> dict[str, object]:
        atoms = self.atoms
        return {
            "name": self.name,
            "run_id": self.run_id,
            "status": self.status,
            "running": self.running,
            "stage": self.stage,
            "step": self.step,
            "atoms": {
                "done": atoms.done,
                "in_flight": atoms.in_flight,
                "waiting": atoms.waiting,
                "failed": atoms.failed,
                "total": atoms.total,
            },
            "retries": atoms.retries,
            "spent_usd": round(self.spent_usd, 6),
            "soft_cap_usd": self.soft_cap_usd,
            "hard_cap_usd": self.hard_cap_usd,
            "elapsed_s": round(self.elapsed_s, 1),
        }


def require_request(instance: dg.DagsterInstance, name: str, home: str) -> None:
    """Stop with what to do when `name` is not a request partition of `instance`."""
    if name not in instance.get_dynamic_partitions("requests"):
        raise MgeError(
            f"no request named '{name}' has been submitted to {home}; submit it with `mge submit FILE` "
            "or run it with `mge run FILE`"
        )


def request_run(instance: dg.DagsterInstance, name: str) -> dg.RunRecord | None:
    """The pipeline run of the partition in flight (queued or running), else its latest; None if none."""
    records = [
        r
        for r in instance.get_run_records(filters=dg.RunsFilter(tags={"dagster/partition": name}), limit=50)
        if r.dagster_run.job_name not in REPORT_JOBS
    ]
    return next((r for r in records if r.dagster_run.status not in FINISHED), records[0] if records else None)


def read_status(
    instance: dg.DagsterInstance, name: str, run_id: str | None = None, ledger: Ledger | None = None
) -> RunStatus:
    """Where run `run_id` of partition `name` stands (default: `request_run`'s); `ledger`, that run's
    cost events (opened here when not given: a caller that reads again and again passes its own)."""
    record = instance.get_run_record_by_id(run_id) if run_id else request_run(instance, name)
    if record is None:
        return RunStatus(name=name, run_id=run_id, status="queued" if run_id else "not run", **_request_caps(name))
    run = record.dagster_run
    entries = run_entries(instance, run.run_id)
    step = current_step(entries)
    progress = latest_progress(entries)
    ledger = ledger if ledger is not None and ledger.run_id == run.run_id else Ledger(name, run.run_id)
    spent = max(_stage_spend(entries, name), ledger.run_cost_usd())  # the ledger holds calls in progress too
    figures = _request_caps(name)
    if progress is not None:
        spent = max(spent, progress.spent_usd)  # the ledger may be unreachable; the observation is not
        if progress.hard_cap_usd is not None:  # the cap the run really used (an override included)
            figures = {"soft_cap_usd": progress.soft_cap_usd, "hard_cap_usd": progress.hard_cap_usd}
    started = record.start_time
    elapsed = ((record.end_time or time.time()) - started) if started else 0.0
    return RunStatus(
        name=name,
        run_id=run.run_id,
        status=run.status.value.lower(),
        stage=stage_of(step),
        step=step,
        atoms=progress or Progress(total=0),
        spent_usd=spent,
        elapsed_s=max(0.0, elapsed),
        **figures,
    )


def run_entries(instance: dg.DagsterInstance, run_id: str) -> list[dg.EventLogEntry]:
    """The events of a run that its status is read from, oldest first."""
    return [r.event_log_entry for r in instance.get_records_for_run(run_id, of_type=_RUN_EVENTS).records]


def current_step(entries: list[dg.EventLogEntry]) -> str:
    """The step running now (the latest started of those not ended), else the last one that started."""
    running: dict[str, None] = {}
    last = ""
    for entry in entries:
        event = entry.dagster_event
        if event is None or event.event_type not in _STEP_EVENTS or not entry.step_key:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            running[entry.step_key] = None
            last = entry.step_key
        else:
            running.pop(entry.step_key, None)
    return next(reversed(running), last) if running else last


def stage_of(step: str) -> str:
    """The asset of a step key: a check's step is `<asset>_<check>`, and checks are named
    `<asset>_<predicate>`, so the asset is the prefix the rest starts with again."""
    for index, char in enumerate(step):
        if char == "_" and step[index + 1 :].startswith(step[:index] + "_"):
            return step[:index]
    return step


def latest_progress(entries: list[dg.EventLogEntry]) -> Progress | None:
    """The newest progress snapshot of atom_results among a run's events, if any."""
    for entry in reversed(entries):
        observation = entry.asset_observation
        if observation is not None and observation.asset_key == OBSERVED:
            progress = Progress.from_metadata({k: v.value for k, v in observation.metadata.items()})
            if progress is not None:
                return progress
    return None


def _stage_spend(entries: list[dg.EventLogEntry], partition: str) -> float:
    """The cost the model stages this run materialized report: what the ledger holds at least, unless
    it was unreachable."""
    total = 0.0
    for entry in entries:
        materialization = entry.asset_materialization
        if materialization is None or materialization.partition != partition:
            continue
        stage = materialization.asset_key.to_user_string()
        value = materialization.metadata.get("cost_usd")
        if stage in MODEL_STAGES and value is not None:
            total += float(value.value)
    return total


def _request_caps(partition: str) -> dict[str, float | None]:
    """The caps of the request's own budget (before atom_results reports the one it runs under)."""
    try:
        request = load_request(requests_dir(), split_partition(partition)[0])
    except (MgeError, ValueError):
        return {"soft_cap_usd": None, "hard_cap_usd": None}
    soft, hard = caps(request.settings.budget_usd, Budget.soft_ratio)
    return {"soft_cap_usd": soft, "hard_cap_usd": hard}
