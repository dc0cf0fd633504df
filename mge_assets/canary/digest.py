"""A digest of what a stage produced, blind to what changes from run to run without changing what was
produced (timings, logs, where it was stored, cache use), so two repeats agree where their outputs do."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pandas as pd
from pydantic import BaseModel

# Keys (record fields, table columns) that vary between runs producing the same thing: where it was
# stored or written, trace ids, what the model calls cost and whether the cache answered them; with
# them every key whose last word is `s` or `seconds` (a duration) or `at` (a moment), and every key
# with the word `log` (a captured log, timings in it).
VOLATILE = frozenset(
    {
        "root",
        "trace_id",
        "stdout",
        "stderr",
        "cached",
        "cache_hits",
        "model_calls",
        "input_tokens",
        "output_tokens",
        "cost_usd",
    }
)


def volatile(key: str) -> bool:
    words = key.split("_")
    return key in VOLATILE or words[-1] in ("s", "seconds", "at") or "log" in words


def output_digest(value: Any) -> str:
    """sha256 (16 hex digits) of `value` in a canonical JSON form, volatile keys left out."""
    if isinstance(value, pd.DataFrame):
        kept = value.drop(columns=[c for c in value.columns if volatile(str(c))])
        canonical: Any = json.loads(kept.to_json(orient="records", date_format="iso"))
    elif isinstance(value, BaseModel):
        canonical = value.model_dump(mode="json")
    else:
        canonical = value
    text = json.dumps(_without_volatile(canonical), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _without_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_volatile(v) for k, v in value.items() if not volatile(str(k))}
    if isinstance(value, list | tuple):
        return [_without_volatile(v) for v in value]
    return value
