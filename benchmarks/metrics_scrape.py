"""What one scrape of `mge metrics serve` costs as the ledger grows: the exporter reads the instance
and sums `cost_events` in the ledger's database on each scrape (one source of truth, nothing kept
between scrapes), so it reads a few rows per request however long the history, and only the
database's scan of the table grows with it. Prints, per ledger size, the median wall time of a scrape
and the bytes it serves, with the instance held at a fixed number of requests.

    python benchmarks/metrics_scrape.py [--rows 1000 10000 100000] [--requests 20] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from prometheus_client import CollectorRegistry, generate_latest

from mge_assets.ledger import Ledger, cost_events
from mge_assets.readback.metrics import MgeCollector

SCRAPES = 5


def _instance(requests: int) -> dg.DagsterInstance:
    """An ephemeral instance holding `requests` partitions, each with the stage figures a run leaves."""
    instance = dg.DagsterInstance.ephemeral()
    names = [f"request-{i}" for i in range(requests)]
    instance.add_dynamic_partitions("requests", names)
    for name in names:
        for asset, metadata in (
            ("project_request", {"budget_usd": 5.0}),
            ("atom_results", {"budget_usd": 5.0, "budget_warnings": "none", "model_calls": 40, "cache_hits": 10}),
            ("acceptance_results", {"tests": 30, "tests_passed": 29, "must_share": 1.0, "should_share": 0.9}),
            ("precision_report", {"precision": 0.98, "spec_conformance": 1.0, "retries": 3}),
        ):
            event = dg.AssetMaterialization(asset, partition=name, metadata=metadata)
            instance.report_runless_asset_event(event)
    return instance


def _ledger(url: str, rows: int, requests: int) -> None:
    """`rows` cost events spread over the requests, written in bulk (the ledger's own table)."""
    engine = Ledger("setup", url=url).engine
    assert engine is not None
    now = time.time()
    batch = [
        {
            "created_at": now,
            "partition": f"request-{i % requests}",
            "run_id": f"run-{i % requests}",
            "trace_id": f"request-{i % requests}:atom-{i}",
            "kind": "write_atom",
            "model": "claude-sonnet-4-6",
            "input_tokens": 900,
            "output_tokens": 300,
            "cache_write_tokens": 0,
            "cache_read_tokens": 0,
            "cost_usd": 0.007,
            "latency_s": 0.4 + (i % 17) / 10,
            "cached": i % 4 == 0,
            "error": "",
            "batch": False,
        }
        for i in range(rows)
    ]
    with engine.begin() as connection:
        connection.execute(sa.insert(cost_events), batch)
    engine.dispose()


def measure(rows: int, requests: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'mge.db'}"
        _ledger(url, rows, requests)
        registry = CollectorRegistry()
        registry.register(MgeCollector(_instance(requests), url))
        times, size = [], 0
        for _ in range(SCRAPES):
            started = time.perf_counter()
            size = len(generate_latest(registry))
            times.append(time.perf_counter() - started)
    return {"rows": rows, "requests": requests, "scrape_s": round(statistics.median(times), 4), "bytes": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    figures = [measure(rows, args.requests) for rows in args.rows]
    print(f"{'cost_events rows':>16} {'requests':>8} {'scrape (median of 5)':>21} {'served':>10}")
    for f in figures:
        print(f"{f['rows']:>16,} {f['requests']:>8} {f['scrape_s']:>19.3f} s {f['bytes']:>8,} B")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
