"""A partition's latest run on its request, scored from its stored values: the figures of one mode
(v2 or the mvp baseline) that the dual-run compares."""

import time
from collections.abc import Callable
from typing import Any

import dagster as dg
import pandas as pd

from mge_assets.acceptance.results import AcceptanceResults
from mge_assets.assemble.project import GeneratedProject
from mge_assets.canary.dual import ModeFigures
from mge_assets.errors import MgeError
from mge_assets.graph import DependencyGraph
from mge_assets.readback.calls import stage_calls
from mge_assets.readback.report import RequestReport, latest_evaluations
from mge_assets.scoring.precision import COMPONENTS
from mge_assets.scoring.score import retries, score_project, units

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
    evaluation = latest_evaluations(instance, partition, {gate}).get(gate)
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
