"""Helpers that turn stage results into Dagster metadata (Markdown, tables, numbers) and read it back."""

from collections.abc import Sequence
from typing import Any

import dagster as dg
import pandas as pd

# Stages that call the model; each reports these numbers in its metadata.
MODEL_STAGES = ("discovery_document", "task_drafts", "atom_results", "acceptance_tests")
CALL_FIELDS = ("model_calls", "cache_hits", "input_tokens", "output_tokens", "cost_usd", "failed_calls")


def markdown_table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def frame_table(frame: pd.DataFrame, columns: Sequence[str], limit: int = 200) -> dg.TableMetadataValue:
    """A table for the UI from some columns of a DataFrame (the first `limit` rows)."""
    subset = frame.loc[:, list(columns)].head(limit)
    schema = dg.TableSchema(columns=[dg.TableColumn(name=c, type=_column_type(subset[c])) for c in columns])
    records = [dg.TableRecord({c: _plain(v) for c, v in row.items()}) for row in subset.to_dict("records")]
    return dg.MetadataValue.table(records=records, schema=schema)


def call_metadata(summary: dict[str, float | int]) -> dict[str, Any]:
    return {name: summary.get(name, 0) for name in CALL_FIELDS}


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


def _column_type(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "float"
    return "string"


def _plain(value: Any) -> Any:
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if hasattr(value, "item"):
        return value.item()
    return str(value)
