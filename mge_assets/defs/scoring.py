"""Scoring: the precision report (with Gates A and S) and the review queue."""

import time

import dagster as dg
import pandas as pd

from mge_assets.acceptance.results import AcceptanceResults
from mge_assets.assemble.project import GeneratedProject
from mge_assets.defs.metadata import frame_table, markdown_table
from mge_assets.defs.partitions import requests_partitions
from mge_assets.defs.resources import ModelBackendResource
from mge_assets.errors import MgeError
from mge_assets.execute.engine import MAX_ATTEMPTS
from mge_assets.graph import DependencyGraph
from mge_assets.readback.calls import stage_calls
from mge_assets.review.items import status_of
from mge_assets.review.spot import spot_checks
from mge_assets.review.store import ReviewStore, code_sha
from mge_assets.scoring import PrecisionReport, confidence_frame, select_for_review
from mge_assets.scoring.integration import integration_by_atom
from mge_assets.scoring.score import retries, score_project
from mge_assets.scoring.traceability import overall_share, trace_shares


@dg.asset(partitions_def=requests_partitions, group_name="scoring", kinds={"python"})
def precision_report(
    context: dg.AssetExecutionContext,
    acceptance_results: AcceptanceResults,
    atom_results: pd.DataFrame,
    atoms: pd.DataFrame,
    dependency_graph: DependencyGraph,
    generated_project: GeneratedProject,
    model_backend: ModelBackendResource,
) -> dg.MaterializeResult:
    """precision = 0.5 × spec conformance + 0.3 × integration pass + 0.2 × validation pass, each shown
    with its inputs; plus the run's time, cost, tokens, cache hits and retries. Once reviewers'
    decisions are applied, also the precision before review (recorded with the first decision). And
    `trace_share`: the share of the run's records (atoms, graph nodes, atom results, test results) that
    carry the trace id of the calls that made them."""
    calls = stage_calls(context.instance, context.partition_key)
    run = context.instance.get_run_record_by_id(context.run.run_id)
    started = run.start_time if run and run.start_time else time.time()
    totals = {
        "model_calls": sum(c["model_calls"] for c in calls.values()),
        "cache_hits": sum(c["cache_hits"] for c in calls.values()),
        "input_tokens": sum(c["input_tokens"] for c in calls.values()),
        "output_tokens": sum(c["output_tokens"] for c in calls.values()),
        "cost_usd": round(sum(c["cost_usd"] for c in calls.values()), 6),
        "retries": retries(atom_results),
        "run_seconds": round(time.time() - started, 2),
    }
    report = score_project(acceptance_results, atom_results, atoms, dependency_graph, generated_project, totals)
    in_effect = int((atom_results["review_decision"] > 0).sum()) if "review_decision" in atom_results else 0
    before = _precision_before(context, model_backend.database_url) if in_effect else None
    report = report.model_copy(update={"review_decisions": in_effect, "before_review": before})
    reviewed = {"review_decisions_in_effect": in_effect}
    shares = trace_shares(
        {
            "atoms": atoms["trace_id"] if "trace_id" in atoms else [""] * len(atoms),
            "graph nodes": [dependency_graph.traces.get(n, "") for n in dependency_graph.nodes],
            "atom results": atom_results["trace_id"],
            "test results": [t.trace_id for t in acceptance_results.tests],
        }
    )
    if before is not None:
        reviewed |= {"precision_before_review": before, "precision_change_by_review": round(report.score - before, 4)}
    return dg.MaterializeResult(
        value=report,
        metadata={
            "precision": report.score,
            **reviewed,
            **{c.name: c.value for c in report.components},
            **totals,
            "trace_share": overall_share(shares),
            "records": sum(n for _, n in shares.values()),
            "traced_records": dg.MetadataValue.md(
                markdown_table([(k, t, n) for k, (t, n) in shares.items()], ["records", "with a trace id", "of"])
            ),
            "components": dg.MetadataValue.md(
                markdown_table(
                    [
                        (c.name, c.weight, c.value, f"{c.numerator:g}/{c.denominator:g}", c.explanation)
                        for c in report.components
                    ],
                    ["component", "weight", "value", "inputs", "meaning"],
                )
            ),
            "calls_by_stage": dg.MetadataValue.md(
                markdown_table(
                    [
                        (s, int(c["model_calls"]), int(c["cache_hits"]), f"{c['cost_usd']:.4f}")
                        for s, c in calls.items()
                    ],
                    ["stage", "model calls", "cache hits", "cost USD"],
                )
            ),
        },
    )


def _precision_before(context: dg.AssetExecutionContext, database_url: str | None) -> float | None:
    try:
        return ReviewStore(database_url).precision_before(context.partition_key)
    except MgeError as error:
        context.log.warning(f"precision before review unknown: {error}")
        return None


@dg.asset_check(asset=precision_report, partitions_def=requests_partitions)
def precision_report_gate_a(precision_report: PrecisionReport) -> dg.AssetCheckResult:
    """Gate A (warning): precision ≥ 0.95."""
    return dg.AssetCheckResult(
        passed=precision_report.gate_a,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"precision": precision_report.score, "threshold": 0.95},
    )


@dg.asset_check(asset=precision_report, blocking=True, partitions_def=requests_partitions)
def precision_report_gate_s(precision_report: PrecisionReport) -> dg.AssetCheckResult:
    """Gate S: precision ≥ 0.98."""
    return dg.AssetCheckResult(
        passed=precision_report.gate_s, metadata={"precision": precision_report.score, "threshold": 0.98}
    )


@dg.asset(partitions_def=requests_partitions, group_name="scoring", kinds={"pandas"})
def review_queue(
    context: dg.AssetExecutionContext,
    atom_results: pd.DataFrame,
    atoms: pd.DataFrame,
    dependency_graph: DependencyGraph,
    generated_project: GeneratedProject,
    model_backend: ModelBackendResource,
) -> dg.MaterializeResult:
    """The atoms a person should review first: every atom that did not validate, then the least
    confident 15-20%. confidence = 0.4 validation + 0.2 attempts + 0.2 complexity + 0.2 integration,
    integration being that no failing test of the project points at the atom (its own test, a
    traceback line, a requirement id, the status it writes).
    Plus a few random high-confidence atoms as spot checks (what the queue misses is estimated from
    them). Each row carries the version of the code it was queued with (`code_sha`) and its status
    from the reviewers' decisions: `mge review` and its page read this queue."""
    integration = integration_by_atom(atoms, dependency_graph, generated_project, atom_results)
    frame = (
        atom_results[["atom_id", "status", "attempts", "file", "errors", "trace_id", "code"]]
        .merge(atoms[["id", "complexity"]].rename(columns={"id": "atom_id"}), on="atom_id")
        .merge(integration[["atom_id", "integration_ok", "integration_path_ok", "failing_clues"]], on="atom_id")
    )
    scored = confidence_frame(frame, MAX_ATTEMPTS)
    queued = select_for_review(scored).assign(spot_check=False)
    spots = spot_checks(scored, queued, context.partition_key)
    queue = pd.concat([queued, spots], ignore_index=True)
    queue["code_sha"] = queue["code"].map(code_sha)
    queue["decision"] = _statuses(context, queue, model_backend.database_url)
    queue = queue.drop(columns=["code"])
    return dg.MaterializeResult(
        value=queue,
        metadata={
            "queued": len(queued),
            "spot_checks": len(spots),
            "pending": int((queue["decision"] == "pending").sum()),
            "atoms": len(scored),
            "confidence_mean": round(float(scored["confidence"].mean()), 4),
            "queue": frame_table(
                queue,
                ["atom_id", "confidence", "status", "attempts", "complexity", "reason", "spot_check", "decision"],
            ),
        },
    )


def _statuses(context: dg.AssetExecutionContext, queue: pd.DataFrame, database_url: str | None) -> list[str]:
    """Each row's review status from the decisions on its version of the code."""
    try:
        decisions = ReviewStore(database_url).decisions(context.partition_key)
    except MgeError as error:
        context.log.warning(f"review statuses unknown: {error}")
        decisions = []
    by_atom: dict[str, list] = {}
    for decision in decisions:
        by_atom.setdefault(decision.atom_id, []).append(decision)
    return [status_of(sha, by_atom.get(a, [])) for a, sha in zip(queue["atom_id"], queue["code_sha"], strict=True)]
