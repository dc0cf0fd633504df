"""MGE's Prometheus families read back on each scrape from the Dagster instance and the ledger.

The exporter is a process of its own (`mge metrics serve`) with a custom Collector, because Prometheus
pulls: it needs an HTTP endpoint that answers when it asks, which a sensor (a tick every 30 s, inside
the daemon) cannot serve. Reading the instance and `cost_events` on each scrape, rather than keeping
counters updated by the runs, keeps one source of truth: what the families say is what the runs
stored, whichever process ran them, and a restarted exporter loses nothing.

Each read is timed (`mge_db_query_duration_seconds`, by database). A source that cannot be read costs
that scrape its families and counts in `mge_exporter_errors_total`; the exporter goes on serving."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from mge_assets.defs.partitions import requests_partitions
from mge_assets.defs.resources import is_fresh
from mge_assets.errors import MgeError
from mge_assets.ledger import cost_events
from mge_assets.readback.canary_runs import latest_reported_evaluation
from mge_assets.readback.metric_families import (
    DB_LATENCY_BUCKETS,
    CallRow,
    LatencyHistogram,
    PartitionReading,
    Reading,
    RunInfo,
    Stored,
    families,
    latest_run,
)
from mge_assets.readback.report import latest_evaluations

log = logging.getLogger(__name__)
# The assets whose latest materialization a family reads.
READ_ASSETS = (
    "project_request",
    "discovery_document",
    "task_drafts",
    "atoms",
    "dependency_graph",
    "atom_results",
    "acceptance_tests",
    "acceptance_results",
    "precision_report",
    "review_queue",
)
GATE_S_CHECKS = frozenset(
    {
        dg.AssetCheckKey(dg.AssetKey("acceptance_results"), "acceptance_results_gate_s"),
        dg.AssetCheckKey(dg.AssetKey("precision_report"), "precision_report_gate_s"),
    }
)
NO_REGRESSION = dg.AssetCheckKey(dg.AssetKey("canary_report"), "canary_report_no_regression")
HISTORY_LIMIT = 1000  # atom_results materializations per partition the guardrail counters read
SOURCES = {"dagster": "Dagster instance", "ledger": "ledger database"}
_CALL_FIELDS = {f.name for f in fields(CallRow)}


class QueryTimer:
    """The exporter's own query latency, per database, accumulated over the process's life."""

    def __init__(self) -> None:
        self.histograms = {source: LatencyHistogram(DB_LATENCY_BUCKETS) for source in SOURCES}

    @contextmanager
    def measure(self, database: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.histograms[database].observe(time.perf_counter() - started)


def read_calls(engine: sa.Engine, timer: QueryTimer) -> list[CallRow]:
    """Every `cost_events` row (none when the table has not been made yet: nothing has run)."""
    with timer.measure("ledger"), engine.connect() as connection:
        if not sa.inspect(connection).has_table(cost_events.name):
            return []
        # SELECT *: a database made before a column was added lacks it; the row's default stands in
        rows = connection.execute(sa.text(f"SELECT * FROM {cost_events.name}")).mappings().all()
    return [CallRow(**{k: v for k, v in row.items() if k in _CALL_FIELDS and v is not None}) for row in rows]


def read_partition(instance: dg.DagsterInstance, partition: str, timer: QueryTimer) -> PartitionReading:
    """The latest materialization of each asset a family reads, Gate S, and atom_results' history."""
    reading = PartitionReading(partition)
    for asset in READ_ASSETS:
        with timer.measure("dagster"):
            records = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition]), limit=1
            ).records
        if records:
            reading.latest[asset] = _stored(records[0])
    if latest_run(reading) is None:
        return reading  # submitted, never run
    with timer.measure("dagster"):
        gates = latest_evaluations(instance, partition, set(GATE_S_CHECKS))
    reading.gate_s = {key.name: (e.passed if e is not None else None) for key, e in gates.items()}
    with timer.measure("dagster"):
        history = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("atom_results"), asset_partitions=[partition]),
            limit=HISTORY_LIMIT,
        ).records
    reading.atom_history = [_stored(r).metadata for r in history]
    return reading


def _stored(record: dg.EventLogRecord) -> Stored:
    materialization = record.asset_materialization
    metadata = {k: v.value for k, v in materialization.metadata.items()} if materialization else {}
    return Stored(metadata, record.run_id, record.timestamp)


def read_runs(instance: dg.DagsterInstance, run_ids: set[str], timer: QueryTimer) -> dict[str, RunInfo]:
    """Whether each run was fresh (no response cache) and has finished."""
    if not run_ids:
        return {}
    with timer.measure("dagster"):
        runs = instance.get_runs(filters=dg.RunsFilter(run_ids=sorted(run_ids)))
    return {run.run_id: RunInfo(fresh=is_fresh(run.tags), finished=run.is_finished) for run in runs}


def read_canary(instance: dg.DagsterInstance, timer: QueryTimer) -> tuple[str, bool] | None:
    """(evaluation, canary_report_no_regression passed) of the latest canary report, if it was checked."""
    with timer.measure("dagster"):
        try:
            evaluation = latest_reported_evaluation(instance)
        except MgeError:
            return None
        check = latest_evaluations(instance, evaluation, {NO_REGRESSION}).get(NO_REGRESSION)
    return (evaluation, check.passed) if check is not None else None


def read_instance(instance: dg.DagsterInstance, timer: QueryTimer) -> Reading:
    """Every request partition, their latest runs and the canary verdict."""
    with timer.measure("dagster"):
        partitions = instance.get_dynamic_partitions(str(requests_partitions.name))
    reading = Reading(partitions=[read_partition(instance, p, timer) for p in sorted(partitions)])
    run_ids = {stored.run_id for part in reading.partitions for stored in part.latest.values()}
    reading.runs = read_runs(instance, run_ids, timer)
    reading.canary = read_canary(instance, timer)
    return reading


def ledger_engine(url: str) -> sa.Engine | None:
    """An engine on the ledger, or None for a SQLite file not made yet (the exporter never creates it)."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    return sa.create_engine(url, pool_pre_ping=True)


class MgeCollector(Collector):
    """Reads the instance and the ledger on every scrape and yields MGE's families."""

    def __init__(self, instance: dg.DagsterInstance, ledger_url: str) -> None:
        self.instance = instance
        self.ledger_url = ledger_url
        self.engine: sa.Engine | None = None
        self.timer = QueryTimer()
        self.errors: Counter[str] = Counter()
        self._lock = threading.Lock()  # the HTTP server may scrape from two threads at once

    def describe(self) -> Iterable[Metric]:
        return []  # registering must not read anything

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            started = time.perf_counter()
            reading, up = self.read()
            metrics = families(reading, self.timer.histograms, self.errors, up, time.time())
            duration = GaugeMetricFamily(
                "mge_exporter_scrape_duration_seconds",
                "Seconds the last scrape took to read the instance and the ledger.",
                value=time.perf_counter() - started,
            )
        return [*metrics, duration]

    def read(self) -> tuple[Reading, dict[str, bool]]:
        """What the sources hold; a source that fails is counted, logged and left empty."""
        up = dict.fromkeys(SOURCES, True)
        reading = Reading()
        try:
            reading = read_instance(self.instance, self.timer)
        except Exception as error:  # any storage failure: the exporter must keep answering
            up["dagster"] = self._failed("dagster", error)
        try:
            if self.engine is None:
                self.engine = ledger_engine(self.ledger_url)
            reading.calls = read_calls(self.engine, self.timer) if self.engine is not None else []
        except sa.exc.SQLAlchemyError as error:
            up["ledger"] = self._failed("ledger", error)
        return reading, up

    def _failed(self, source: str, error: Exception) -> bool:
        self.errors[source] += 1
        first = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
        log.warning("mge metrics: cannot read the %s (%s: %s)", SOURCES[source], type(error).__name__, first)
        return False
