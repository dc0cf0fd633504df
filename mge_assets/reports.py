"""Read what the pipeline recorded for a request (gates, score, calls, project) back from the instance."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import pandas as pd

from mge_assets.acceptance.results import AcceptanceResults
from mge_assets.assemble.project import GeneratedProject
from mge_assets.canary import CanaryOutcome
from mge_assets.canary.dual import ModeFigures
from mge_assets.canary.report import CanaryRun
from mge_assets.defs.jobs import REPORT_GROUPS
from mge_assets.defs.metadata import CALL_FIELDS, MODEL_STAGES, stage_calls
from mge_assets.defs.tags import ATTEMPT_TAG, CANARY_TAG, REPEAT_TAG
from mge_assets.errors import MgeError
from mge_assets.graph import DependencyGraph
from mge_assets.scoring.precision import COMPONENTS
from mge_assets.scoring.score import retries, score_project, units


@dataclass(frozen=True)
class GateResult:
    check: str
    asset: str
    status: str  # passed | failed | warning | not run
    detail: str


@dataclass
class RequestReport:
    name: str
    gates: list[GateResult] = field(default_factory=list)
    materialized: dict[str, dict[str, object]] = field(default_factory=dict)
    calls: dict[str, dict[str, float]] = field(default_factory=dict)

    def metadata(self, asset: str, key: str, default: object = None) -> object:
        return self.materialized.get(asset, {}).get(key, default)

    def call_total(self, key: str) -> float:
        """`key` (model_calls, cache_hits, cost_usd, input_tokens, output_tokens) summed over the stages."""
        return sum(c[key] for c in self.calls.values())

    @property
    def gate_s_passed(self) -> bool:
        return any(g.check == "acceptance_results_gate_s" and g.status == "passed" for g in self.gates)

    @property
    def blocking_failures(self) -> list[GateResult]:
        return [g for g in self.gates if g.status == "failed"]


def read_report(instance: dg.DagsterInstance, defs: dg.Definitions, name: str) -> RequestReport:
    """Gates (latest evaluation of each check for this partition) and each asset's latest metadata."""
    graph = defs.resolve_asset_graph()
    # the request's own stages: the reports over many requests (canaries, dual-runs) are not its gates
    order = [k for k in graph.toposorted_asset_keys if graph.get(k).group_name not in REPORT_GROUPS]
    report = RequestReport(name=name)
    checks = [k for k in graph.asset_check_keys if k.asset_key in order]
    check_keys = sorted(checks, key=lambda k: (order.index(k.asset_key), k.name))
    latest = _latest_evaluations(instance, name, set(check_keys))
    for key in check_keys:
        report.gates.append(_gate(key, latest.get(key)))
    for asset_key in order:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[name]), limit=1
        ).records
        if records:
            metadata = records[0].asset_materialization.metadata
            report.materialized[asset_key.to_user_string()] = {k: v.value for k, v in metadata.items()}
    report.calls = stage_calls(instance, name)
    return report


def _latest_evaluations(
    instance: dg.DagsterInstance, name: str, keys: set[dg.AssetCheckKey]
) -> dict[dg.AssetCheckKey, dg.AssetCheckEvaluation | None]:
    """Each check's evaluation in the latest run of the partition that planned it (None: planned, not
    run, as downstream of a blocking failure), from the runs' event logs, newest run first."""
    found: dict[dg.AssetCheckKey, dg.AssetCheckEvaluation | None] = {}
    kinds = {dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED, dg.DagsterEventType.ASSET_CHECK_EVALUATION}
    for run in instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": name})):
        planned: set[dg.AssetCheckKey] = set()
        evaluated: dict[dg.AssetCheckKey, dg.AssetCheckEvaluation] = {}
        for entry in instance.all_logs(run.run_id, of_type=kinds):
            event = entry.dagster_event
            if event is None:
                continue
            if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED:
                data = event.event_specific_data
                planned.add(dg.AssetCheckKey(data.asset_key, data.check_name))
            else:
                evaluation = event.event_specific_data
                evaluated[dg.AssetCheckKey(evaluation.asset_key, evaluation.check_name)] = evaluation
        for key in (planned | set(evaluated)) & (keys - set(found)):
            found[key] = evaluated.get(key)
        if set(found) >= keys:
            break
    return found


def _gate(key: dg.AssetCheckKey, evaluation: dg.AssetCheckEvaluation | None) -> GateResult:
    if evaluation is None:
        return GateResult(key.name, key.asset_key.to_user_string(), "not run", "")
    status = (
        "passed"
        if evaluation.passed
        else ("warning" if evaluation.severity == dg.AssetCheckSeverity.WARN else "failed")
    )
    detail = ""
    if not evaluation.passed:
        interesting = [(k, v.value) for k, v in evaluation.metadata.items() if k not in ("log",)]
        detail = "; ".join(f"{k}: {_short(v)}" for k, v in interesting)
    return GateResult(key.name, key.asset_key.to_user_string(), status, detail)


def _short(value: object, limit: int = 400) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_report(report: RequestReport) -> str:
    """The short text report printed by `mge run` and `mge report`."""
    lines = [f"MGE report for request '{report.name}'", "", "Gates:"]
    marks = {"passed": "PASS", "failed": "FAIL", "warning": "WARN", "not run": "----"}
    for gate in report.gates:
        lines.append(f"  {marks[gate.status]}  {gate.check}" + (f"  ({gate.detail})" if gate.detail else ""))
    precision = report.metadata("precision_report", "precision")
    lines.append("")
    if precision is None:
        lines.append("Precision: not computed (a blocking gate failed before precision_report).")
    else:
        parts = ", ".join(
            f"{name.replace('_', ' ')} {report.metadata('precision_report', name):.3f}"
            for name in ("spec_conformance", "integration_pass", "validation_pass")
        )
        lines.append(f"Precision: {precision:.4f}  ({parts})")
    results = report.materialized.get("acceptance_results")
    if results:
        lines.append(
            f"Acceptance: {results['tests_passed']}/{results['tests']} tests passed; "
            f"MUST {results['must_share']:.0%}, SHOULD {results['should_share']:.0%}"
        )
    calls = report.call_total("model_calls")
    hits = report.call_total("cache_hits")
    cost = report.call_total("cost_usd")
    tokens_in = report.call_total("input_tokens")
    tokens_out = report.call_total("output_tokens")
    lines.append(
        f"Model: {int(calls)} calls, {int(hits)} cache hits, {int(tokens_in):,} tokens in, "
        f"{int(tokens_out):,} out, ${cost:.4f}"
    )
    atoms = report.materialized.get("atoms", {})
    graph = report.materialized.get("dependency_graph", {})
    if atoms:
        lines.append(f"Atoms: {atoms.get('atoms')} in {graph.get('waves', '?')} waves")
    path = report.metadata("generated_project", "path")
    lines.append(f"Generated project: {path or 'not written'}")
    return "\n".join(lines)


def failure_message(events: list[dg.DagsterEvent]) -> str:
    """The first step or resource failure of a run, as one line (with the user error, not Dagster's wrapper)."""
    for event in events:
        if event.event_type_value not in ("STEP_FAILURE", "RESOURCE_INIT_FAILURE"):
            continue
        error = getattr(event.event_specific_data, "error", None)
        while error is not None and error.cause is not None and "dagster._core.errors" in error.message:
            error = error.cause
        where = event.step_key or "resources"
        return f"{where}: {error.message.strip().splitlines()[0] if error else 'failed'}"
    return ""


def canary_outcome(report: RequestReport, repeat: int) -> CanaryOutcome:
    """What one canary run measured, from its report: score, Gate S, costs and each stage's digest."""
    components = {c: float(v) for c in COMPONENTS if (v := report.metadata("precision_report", c)) is not None}
    precision = report.metadata("precision_report", "precision")
    return CanaryOutcome(
        name=report.name,
        repeat=repeat,
        precision=float(precision) if precision is not None else None,
        components=components,
        gate_s=report.gate_s_passed,
        cost_usd=report.call_total("cost_usd"),
        wall_s=float(report.metadata("precision_report", "run_seconds", 0.0)),
        calls=int(report.call_total("model_calls")),
        cache_hits=int(report.call_total("cache_hits")),
        retries=int(report.metadata("precision_report", "retries", 0)),
        stage_digests={a: str(v["digest"]) for a, v in report.materialized.items() if "digest" in v},
    )


# The stored values a precision is computed from, with their types.
SCORED_INPUTS: dict[str, type] = {
    "acceptance_results": AcceptanceResults,
    "atom_results": pd.DataFrame,
    "atoms": pd.DataFrame,
    "dependency_graph": DependencyGraph,
    "generated_project": GeneratedProject,
}


def request_sha256(instance: dg.DagsterInstance, partition: str) -> str | None:
    """The text (sha256) the partition's latest `project_request` materialization read, if any."""
    record = _latest_record(instance, "project_request", partition)
    value = record.asset_materialization.metadata.get("sha256") if record else None
    return str(value.value) if value is not None else None


def mode_figures(instance: dg.DagsterInstance, partition: str, stored: Callable[[str, type], Any]) -> ModeFigures:
    """What the partition's latest run on its request produced: precision scored from the stored values
    (0 where a gate stopped the run before them), Gate S, wall time, cost, tokens, calls, retries, units.
    `stored(asset, type)` loads a stored value of this partition."""
    start = _latest_record(instance, "project_request", partition)
    if start is None:
        raise MgeError(f"partition '{partition}' has never run; run it first")
    sha = str(start.asset_materialization.metadata["sha256"].value)
    current = {
        asset
        for asset in SCORED_INPUTS
        if (record := _latest_record(instance, asset, partition)) is not None and record.storage_id > start.storage_id
    }
    atom_results = stored("atom_results", pd.DataFrame) if "atom_results" in current else None
    components = dict.fromkeys(COMPONENTS, 0.0)
    precision = 0.0
    if current == set(SCORED_INPUTS):
        values = {asset: stored(asset, kind) for asset, kind in SCORED_INPUTS.items()}
        report = score_project(**values, totals={})
        precision, components = report.score, {c.name: c.value for c in report.components}
    calls = RequestReport(partition, calls=stage_calls(instance, partition))
    gate = dg.AssetCheckKey(dg.AssetKey("acceptance_results"), "acceptance_results_gate_s")
    evaluation = _latest_evaluations(instance, partition, {gate}).get(gate)
    return ModeFigures(
        partition=partition,
        request_sha256=sha,
        precision=precision,
        **components,
        gate_s=bool(evaluation and evaluation.passed),
        wall_s=_run_seconds(instance, start.run_id),
        cost_usd=round(calls.call_total("cost_usd"), 6),
        input_tokens=int(calls.call_total("input_tokens")),
        output_tokens=int(calls.call_total("output_tokens")),
        model_calls=int(calls.call_total("model_calls")),
        retries=retries(atom_results) if atom_results is not None else 0,
        units=units(atom_results) if atom_results is not None else 0,
    )


def _latest_record(instance: dg.DagsterInstance, asset: str, partition: str) -> dg.EventLogRecord | None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition]), limit=1
    ).records
    return records[0] if records else None


def _run_seconds(instance: dg.DagsterInstance, run_id: str) -> float:
    record = instance.get_run_record_by_id(run_id)
    if record is None or record.start_time is None:
        return 0.0
    return round((record.end_time or time.time()) - record.start_time, 2)


# -- canary evaluations: each run's own events, not the latest of the partition ---------------------

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
FINISHED = frozenset({dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED})
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
    report.gates = [_gate(key, evaluated.get(key)) for key in dict.fromkeys([*planned, *evaluated])]
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
