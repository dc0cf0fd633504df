"""How much of what a run produced can be traced back: the share of its records carrying a trace id.

A trace id ties a record to the model calls that made it (`cost_events.trace_id`): an atom and its
graph node and result carry their atom's, a test and its result their requirement's."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def trace_shares(records: Mapping[str, Iterable[str]]) -> dict[str, tuple[int, int]]:
    """Per kind of record: (records carrying a trace id, records)."""
    shares = {}
    for kind, traces in records.items():
        values = list(traces)
        shares[kind] = (sum(bool(t) for t in values), len(values))
    return shares


def overall_share(shares: Mapping[str, tuple[int, int]]) -> float:
    """The share of all records carrying a trace id (1.0 when there is none to trace)."""
    traced = sum(t for t, _ in shares.values())
    total = sum(n for _, n in shares.values())
    return round(traced / total, 4) if total else 1.0
