"""The model calls of a request read back from its stages' metadata, per stage for a partition."""

import dagster as dg

from mge_assets.defs.metadata import CALL_FIELDS, MODEL_STAGES


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
