"""Helpers that turn stage results into Dagster metadata (Markdown, tables, numbers)."""

from collections.abc import Sequence
from typing import Any

import dagster as dg
import pandas as pd

from mge_assets.ledger import Ledger
from mge_assets.llm import ModelClient
from mge_assets.llm.reuse import regeneration_reasons

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


def reuse_metadata(
    ledger: Ledger,
    stage: str,
    inputs: dict[str, dict[str, str]],
    asked: set[str],
    outputs: dict[str, str] | None = None,
) -> dict[str, Any]:
    """What a stage reused and why it asked each other answer again: `inputs` are this run's inputs per
    item, `asked` the items it sent to the model, `outputs` the digests of the answers where the stage
    compares them (atoms: an answer asked again that came out as before cuts off its dependents). The
    inputs and outputs are then recorded for the next run."""
    recorded = ledger.answer_inputs(stage)
    reasons = regeneration_reasons({k: v[0] for k, v in recorded.items()}, inputs, sorted(asked))
    same = {item for item in asked if outputs and item in recorded and recorded[item][1] == outputs.get(item)}
    for item in same:
        reasons[item] += "; came out as before, so what depends on it is reused"
    ledger.save_answer_inputs(stage, inputs, outputs)
    rows = list(reasons.items())[:200]
    metadata: dict[str, Any] = {
        "answers_reused": len(inputs) - len(asked & set(inputs)),
        "answers_regenerated": len(asked),
        "regenerated_because": dg.MetadataValue.md(
            markdown_table(rows, ["asked again", "because"]) if rows else "nothing: every answer was reused"
        ),
    }
    if outputs is not None:
        metadata["early_cutoff"] = len(same)
    return metadata


def asked_items(client: ModelClient, traces: dict[str, str]) -> set[str]:
    """The items (by trace id) for which `client` made at least one model call, not only cache hits."""
    return {item for item, trace in traces.items() if any(not r.cached for r in client.records_for(trace))}
