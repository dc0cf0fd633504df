"""The model calls of a request read back from its stages' metadata: per stage for a partition, and
what the current run has spent so far (the project budget's guard)."""

import dagster as dg

from mge_assets.defs.metadata import CALL_FIELDS, MODEL_STAGES


def run_spend(context: dg.AssetExecutionContext) -> float:
    """What the model stages of this run have spent so far (their `cost_usd` metadata)."""
    records = context.instance.get_records_for_run(
        run_id=context.run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    total = 0.0
    for record in records:
        materialization = record.event_log_entry.asset_materialization
        if materialization is not None and materialization.partition == _partition(context):
            value = materialization.metadata.get("cost_usd")
            total += float(value.value) if value is not None else 0.0
    return total


def stage_calls(instance: dg.DagsterInstance, partition: str) -> dict[str, dict[str, float]]:
    """Per model stage, the call numbers of its latest materialization for this partition."""
    result: dict[str, dict[str, float]] = {}
    for stage in MODEL_STAGES:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(stage), asset_partitions=[partition]), limit=1
        ).records
        metadata = records[0].asset_materialization.metadata if records else {}
        result[stage] = {f: float(metadata[f].value) if f in metadata else 0.0 for f in CALL_FIELDS}
    return result


def _partition(context: dg.AssetExecutionContext) -> str | None:
    return context.partition_key if context.has_partition_key else None
