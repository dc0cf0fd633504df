"""The canary report: one evaluation (a UTC date) of the gold set, read from its runs and held to the
blessed baseline, with its two checks (Gate S share, no regression)."""

import dagster as dg

from mge_assets.canary.baseline import BaselineStore
from mge_assets.canary.gold import GoldCanary, GoldSetError, gold_manifest, load_gold_set
from mge_assets.canary.report import (
    CanaryReport,
    Verdict,
    build_report,
    gate_s_share_verdict,
    no_regression_verdict,
    per_canary_metrics,
    render_table,
)
from mge_assets.defs.partitions import canary_partitions
from mge_assets.defs.tags import CANARY_TAG
from mge_assets.errors import MgeError
from mge_assets.readback.canary_runs import read_evaluation


@dg.asset(partitions_def=canary_partitions, group_name="canaries", kinds={"python"})
def canary_report(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """One canary evaluation (the partition, a UTC date): for each gold request, its mean precision and
    three components over the repeats, pass^k (Gate S in every repeat), cost, wall time, model calls,
    cache hits and retries per repeat, the gates that ended otherwise than the gold set expects, and
    the harness errors (timeouts, crashed sandboxes, a model API down) set apart: re-run, never scored.
    Each run is read from its own events (the newest run of each canary repeat tagged
    `mge/canary=<date>`), and the evaluation is held to the newest blessed baseline (`mge canary bless`)."""
    evaluation = context.partition_key
    runs = read_evaluation(context.instance, evaluation)
    if not runs:
        raise MgeError(
            f"no finished canary run is tagged {CANARY_TAG}={evaluation}; run `mge canary run` (or turn on "
            "the canary_schedule) first"
        )
    baseline = BaselineStore().latest()
    report = build_report(
        evaluation,
        runs,
        gold=_gold_set(context),
        baseline=(baseline.ref, baseline.outcomes) if baseline else None,
    )
    return dg.MaterializeResult(value=report, metadata=_metadata(report))


def _gold_set(context: dg.AssetExecutionContext) -> list[GoldCanary]:
    try:
        return load_gold_set(gold_manifest())
    except GoldSetError as error:
        context.log.warning(f"the gold set's expectations are not checked: {error}")
        return []


def _metadata(report: CanaryReport) -> dict[str, object]:
    share = gate_s_share_verdict(report)
    return {
        "table": dg.MetadataValue.md(f"```\n{render_table(report)}\n```"),
        "baseline": report.baseline.describe() if report.baseline else "none blessed",
        "canaries": len(report.rows),
        "repeats": len(report.outcomes),
        "harness_errors": sum(len(row.harness_errors) for row in report.rows),
        "gate_s_share": share.metadata["share"],
        "regressions": len(report.regressed),
        **per_canary_metrics(report),
    }


def _result(verdict: Verdict) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=verdict.passed, description=verdict.description, metadata=verdict.metadata)


@dg.asset_check(asset=canary_report, partitions_def=canary_partitions)
def canary_report_gate_s_share(canary_report: CanaryReport) -> dg.AssetCheckResult:
    """At least 80% of the canaries pass Gate S in every one of their repeats (pass^k); a canary with
    only harness errors is left out and named, to be re-run."""
    return _result(gate_s_share_verdict(canary_report))


@dg.asset_check(asset=canary_report, partitions_def=canary_partitions)
def canary_report_no_regression(canary_report: CanaryReport) -> dg.AssetCheckResult:
    """No canary regressed against the blessed baseline: precision below the baseline's mean by more
    than the tolerance from its own spread (never under 0.02), or Gate S passed in fewer repeats. A
    failure names each regressed canary and the stages whose output changed. With no baseline blessed,
    it passes and says how to bless one."""
    return _result(no_regression_verdict(canary_report))
