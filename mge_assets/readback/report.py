"""Read what the pipeline recorded for a request (gates, score, calls, project) back from the instance."""

from dataclasses import dataclass, field

import dagster as dg

from mge_assets.canary import CanaryOutcome
from mge_assets.defs.jobs import REPORT_GROUPS
from mge_assets.readback.calls import stage_calls
from mge_assets.scoring.precision import COMPONENTS

FINISHED = frozenset({dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED})
# Gate S: both checks passed (acceptance: 100% MUST, ≥95% SHOULD; precision ≥ 0.98).
GATE_S_CHECKS = (
    dg.AssetCheckKey(dg.AssetKey("acceptance_results"), "acceptance_results_gate_s"),
    dg.AssetCheckKey(dg.AssetKey("precision_report"), "precision_report_gate_s"),
)


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
    latest = latest_evaluations(instance, name, set(check_keys))
    for key in check_keys:
        report.gates.append(gate_result(key, latest.get(key)))
    for asset_key in order:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[name]), limit=1
        ).records
        if records:
            metadata = records[0].asset_materialization.metadata
            report.materialized[asset_key.to_user_string()] = {k: v.value for k, v in metadata.items()}
    report.calls = stage_calls(instance, name)
    return report


def latest_evaluations(
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


def gate_result(key: dg.AssetCheckKey, evaluation: dg.AssetCheckEvaluation | None) -> GateResult:
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
        before = report.metadata("precision_report", "precision_before_review")
        if before is not None:
            reviewed = report.metadata("precision_report", "review_decisions_in_effect")
            lines.append(f"Before review: {before:.4f}  ({reviewed} atom(s) carry a reviewer's decision)")
    traced, records = report.metadata("precision_report", "trace_share"), report.metadata("precision_report", "records")
    if traced is not None:
        lines.append(f"Traceability: {traced:.0%} of {records} records carry the trace id of their calls")
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
    lines.append(cache_line(report))
    atoms = report.materialized.get("atoms", {})
    graph = report.materialized.get("dependency_graph", {})
    if atoms:
        lines.append(f"Atoms: {atoms.get('atoms')} in {graph.get('waves', '?')} waves")
    path = report.metadata("generated_project", "path")
    lines.append(f"Generated project: {path or 'not written'}")
    return "\n".join(lines)


def cache_line(report: RequestReport) -> str:
    """The response cache's hit rate per stage, and the prompt cache's share of the input tokens with
    what it saved at the price table's cache rates."""
    rates = []
    for stage, numbers in report.calls.items():
        answers = numbers["model_calls"] + numbers["cache_hits"]
        if answers:
            rates.append(f"{stage.replace('_', ' ')} {numbers['cache_hits'] / answers:.0%}")
    read = report.call_total("cache_read_tokens")
    prompt = report.call_total("input_tokens") + report.call_total("cache_write_tokens") + read
    share = read / prompt if prompt else 0.0
    return (
        f"Cache: responses reused {', '.join(rates) or 'none asked'}; prompt cache read {share:.0%} of "
        f"{int(prompt):,} prompt tokens, saving ${report.call_total('prompt_cache_saved_usd'):.4f}"
    )


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
