"""Helpers that turn stage results into Dagster metadata (Markdown, tables, numbers)."""

from collections.abc import Sequence
from typing import Any

import dagster as dg
import pandas as pd

from mge_assets.ledger import Ledger
from mge_assets.llm import ModelClient

# Stages that call the model; each reports these numbers in its metadata.
MODEL_STAGES = ("discovery_document", "task_drafts", "atom_results", "acceptance_tests")
CALL_FIELDS = (
    "model_calls",
    "cache_hits",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "failed_calls",
    "cache_errors",
    "cache_write_tokens",
    "cache_read_tokens",
    "prompt_cache_saved_usd",
)


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
    """A stage's call numbers, and the share of its answers the response cache gave (no call made)."""
    answers = summary.get("model_calls", 0) + summary.get("cache_hits", 0)
    hit_rate = round(summary.get("cache_hits", 0) / answers, 4) if answers else 0.0
    return {name: summary.get(name, 0) for name in CALL_FIELDS} | {"cache_hit_rate": hit_rate}


def stage_call_metadata(context: dg.AssetExecutionContext, client: ModelClient, ledger: Ledger) -> dict[str, Any]:
    """A model stage's call numbers for its metadata, with its budget's and its ledger's warnings logged."""
    for warning in [*client.budget.warnings, *ledger.warnings]:
        context.log.warning(warning)
    return call_metadata(client.summary())


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
