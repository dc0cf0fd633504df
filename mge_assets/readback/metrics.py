"""MGE's Prometheus families read back on each scrape from the Dagster instance and the ledger.

The exporter is a process of its own (`mge metrics serve`) with a custom Collector, because Prometheus
pulls: it needs an HTTP endpoint that answers when it asks, which a sensor (a tick every 30 s, inside
the daemon) cannot serve. Reading the instance and `cost_events` on each scrape, rather than keeping
counters updated by the runs, keeps one source of truth: what the families say is what the runs
stored, whichever process ran them, and a restarted exporter loses nothing. The ledger is summed in
its database (per partition, and per latest run), so a scrape reads a few rows per request, however
many calls the ledger holds.

Each read is timed (`mge_db_query_duration_seconds`, by database). A source that cannot be read costs
that scrape its families and counts in `mge_exporter_errors_total`; the exporter goes on serving."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from mge_assets.defs.partitions import requests_partitions
from mge_assets.defs.resources import is_fresh
from mge_assets.errors import MgeError
from mge_assets.ledger import cost_events
from mge_assets.llm.types import Usage
from mge_assets.readback.canary_runs import latest_reported_evaluation
from mge_assets.readback.metric_families import (
    DB_LATENCY_BUCKETS,
    MODEL_LATENCY_BUCKETS,
    CachedTokens,
    LatencyHistogram,
    PartitionCalls,
    PartitionReading,
    Reading,
    RunCalls,
    RunInfo,
    Stored,
    families,
    latest_run,
)
from mge_assets.readback.report import GATE_S_CHECKS, latest_evaluations

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
NO_REGRESSION = dg.AssetCheckKey(dg.AssetKey("canary_report"), "canary_report_no_regression")
HISTORY_LIMIT = 1000  # atom_results materializations per partition the guardrail counters read
SOURCES = {"dagster": "Dagster instance", "ledger": "ledger database"}
OVERRIDE = "budget_override"


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


def read_calls(
    engine: sa.Engine, latest_runs: Mapping[str, str], timer: QueryTimer
) -> tuple[dict[str, PartitionCalls], dict[tuple[str, str], RunCalls]]:
    """`cost_events` summed per partition, and per latest run (`latest_runs`: partition → run id); nothing
    when the table has not been made yet (nothing has run)."""
    with timer.measure("ledger"), engine.connect() as connection:
        inspector = sa.inspect(connection)
        if not inspector.has_table(cost_events.name):
            return {}, {}
        # a database made before `batch` was added lacks it until a Ledger opens it: its rows are standard
        has_batch = "batch" in {column["name"] for column in inspector.get_columns(cost_events.name)}
        calls = {
            row.partition: PartitionCalls(
                row.partition,
                rows=int(row.rows),
                traced=int(row.traced or 0),
                cost_usd=float(row.cost_usd or 0.0),
                overrides=int(row.overrides or 0),
                latency=LatencyHistogram.of(
                    MODEL_LATENCY_BUCKETS,
                    [int(row._mapping[f"le_{i}"] or 0) for i in range(len(MODEL_LATENCY_BUCKETS))],
                    int(row.timed or 0),
                    float(row.latency_s or 0.0),
                ),
            )
            for row in connection.execute(_partition_totals())
        }
        for row in connection.execute(_error_counts(connection.dialect.name)):
            if row.partition in calls:
                calls[row.partition].errors[row.error] = int(row.rows)
        for row in connection.execute(_cached_usage(has_batch)):
            if row.partition in calls:
                usage = Usage(*(int(row._mapping[name] or 0) for name in _TOKENS))
                batch = bool(row.batch) if has_batch else False
                calls[row.partition].cached.append(CachedTokens(row.model, usage, batch))
        runs = _run_calls(connection, latest_runs) if latest_runs else {}
    return calls, runs


_TOKENS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens")


def _count_where(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.sum(sa.case((condition, 1), else_=0))


def _partition_totals() -> sa.Select[tuple[object, ...]]:
    """Per partition: rows, traced rows, cost, overrides, and the latency histogram of the model calls
    (cache hits and overrides left out) as counts at or under each bound (Prometheus's `le`)."""
    c = cost_events.c
    timed = sa.and_(sa.not_(c.cached), c.kind != OVERRIDE)
    at_most = [
        _count_where(sa.and_(timed, c.latency_s <= sa.literal(bound, sa.Float))).label(f"le_{i}")
        for i, bound in enumerate(MODEL_LATENCY_BUCKETS)
    ]
    return sa.select(
        c.partition,
        sa.func.count().label("rows"),
        _count_where(c.trace_id != "").label("traced"),
        sa.func.sum(c.cost_usd).label("cost_usd"),
        _count_where(c.kind == OVERRIDE).label("overrides"),
        _count_where(timed).label("timed"),
        sa.func.sum(sa.case((timed, c.latency_s), else_=0.0)).label("latency_s"),
        *at_most,
    ).group_by(c.partition)


def _error_counts(dialect: str) -> sa.Select[tuple[object, ...]]:
    """Failed rows per partition and error text up to its first ':' (what the class is read from), so
    texts that differ only in their message (ids, amounts) make one group."""
    error = cost_events.c.error
    position = (sa.func.strpos if dialect == "postgresql" else sa.func.instr)(error, ":")
    head = sa.case((position > 0, sa.func.substr(error, 1, position - 1)), else_=error).label("error")
    return (
        sa.select(cost_events.c.partition, head, sa.func.count().label("rows"))
        .where(error != "")
        .group_by(cost_events.c.partition, head)
    )


def _cached_usage(has_batch: bool) -> sa.Select[tuple[object, ...]]:
    """The tokens of the cached rows per partition, model and billing, for pricing what they saved."""
    c = cost_events.c
    keys = [c.partition, c.model, *([c.batch] if has_batch else [])]
    tokens = [sa.func.sum(c[name]).label(name) for name in _TOKENS]
    return sa.select(*keys, *tokens).where(c.cached).group_by(*keys)


def _run_calls(connection: sa.Connection, latest_runs: Mapping[str, str]) -> dict[tuple[str, str], RunCalls]:
    """Spend and written atoms of each partition's latest run."""
    c = cost_events.c
    atom = c.kind == "write_atom"
    query = (
        sa.select(
            c.partition,
            c.run_id,
            sa.func.sum(sa.case((c.kind != OVERRIDE, c.cost_usd), else_=0.0)).label("spent"),
            sa.func.count(sa.distinct(sa.case((atom, c.trace_id)))).label("written"),
            sa.func.sum(sa.case((atom, c.cost_usd), else_=0.0)).label("atoms_usd"),
        )
        .where(c.run_id.in_(sorted(set(latest_runs.values()))))
        .group_by(c.partition, c.run_id)
    )
    return {
        (row.partition, row.run_id): RunCalls(float(row.spent or 0), int(row.written or 0), float(row.atoms_usd or 0))
        for row in connection.execute(query)
        if latest_runs.get(row.partition) == row.run_id  # the latest run's rows of its own partition only
    }


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
            if self.engine is not None:
                latest_runs = {p.partition: run for p in reading.partitions if (run := latest_run(p)) is not None}
                reading.calls, reading.run_calls = read_calls(self.engine, latest_runs, self.timer)
        except sa.exc.SQLAlchemyError as error:
            up["ledger"] = self._failed("ledger", error)
        return reading, up

    def _failed(self, source: str, error: Exception) -> bool:
        self.errors[source] += 1
        first = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
        log.warning("mge metrics: cannot read the %s (%s: %s)", SOURCES[source], type(error).__name__, first)
        return False
