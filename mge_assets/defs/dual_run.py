"""The dual-run report: a request's v2 partition beside its mvp baseline (`<name>@mvp`), and its check."""

import dagster as dg

from mge_assets.canary.dual import DualRun, DualRunMismatchError, ModeFigures, behind, dual_run, render_dual_run
from mge_assets.defs.partitions import dual_run_partitions
from mge_assets.errors import MgeError
from mge_assets.readback.modes import mode_figures
from mge_assets.request.modes import MVP, V2, mode_partition


@dg.asset(
    partitions_def=dual_run_partitions,
    group_name="dual_run",
    kinds={"python"},
    required_resource_keys={"io_manager"},
)
def dual_run_report(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """v2 and the mvp baseline of one request, side by side: precision and its three components (scored
    for both from what each produced, even where Gate S stopped `precision_report`), Gate S, wall time,
    cost, tokens, model calls, retries and units generated, with each figure's delta and winner. Both
    partitions must have run on the same request text. The `dual_run` sensor materializes it once the
    mvp run it asked for has finished; `mge dual-run NAME` does the same from the command line."""
    name = context.partition_key
    store = context.resources.io_manager

    def figures(mode: str) -> ModeFigures:
        partition = mode_partition(name, mode)
        return mode_figures(
            context.instance, partition, lambda asset, kind: store.stored(dg.AssetKey(asset), partition, kind)
        )

    try:
        run = dual_run(name, figures(V2), figures(MVP))
    except DualRunMismatchError as error:
        raise MgeError(str(error)) from error
    metadata: dict[str, object] = {"table": dg.MetadataValue.md(f"```\n{render_dual_run(run)}\n```")}
    for delta in run.deltas:
        metadata |= {f"v2/{delta.figure}": delta.v2, f"mvp/{delta.figure}": delta.mvp}
    metadata |= {"precision_delta": run.deltas[0].delta, "request_sha256": run.v2.request_sha256}
    return dg.MaterializeResult(value=run, metadata=metadata)


@dg.asset_check(asset=dual_run_report, partitions_def=dual_run_partitions)
def dual_run_report_v2_ahead(dual_run_report: DualRun) -> dg.AssetCheckResult:
    """Warns when v2 is not ahead of the mvp baseline on precision for this request."""
    v2, mvp = dual_run_report.v2.precision, dual_run_report.mvp.precision
    return dg.AssetCheckResult(
        passed=dual_run_report.v2_ahead,
        severity=dg.AssetCheckSeverity.WARN,
        description=None if dual_run_report.v2_ahead else behind(dual_run_report),
        metadata={"v2_precision": v2, "mvp_precision": mvp, "delta": round(v2 - mvp, 6)},
    )
