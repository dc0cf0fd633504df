"""What one scrape read, turned into MGE's Prometheus families: plain functions over stored values and
the ledger's aggregates, with no Dagster, so each figure is tested on its own.

Every figure is one MGE already stores: materialization metadata (the latest of each asset per
partition, and the history of atom_results), check evaluations, run tags and the `cost_events` rows,
which the reading sums in the ledger's database (per partition, and per latest run) so that what a
scrape reads does not grow with the ledger's history.
Per request they carry the labels `request` and `mode` (`NAME@mvp` is mode mvp, `NAME` is v2)."""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from mge_assets.errors import SettingsError
from mge_assets.llm.pricing import cost_usd, price_of
from mge_assets.llm.types import Usage
from mge_assets.request.modes import split_partition
from mge_assets.scoring.precision import COMPONENTS

LABELS = ("request", "mode")
MODEL_STAGES = ("discovery_document", "task_drafts", "atom_results", "acceptance_tests")
# Model calls take seconds; the p95 alert's 2 s threshold falls on a bucket bound.
MODEL_LATENCY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
# The exporter's own queries take milliseconds; the alert's 100 ms threshold falls on a bucket bound.
DB_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

# (family, asset, metadata key, help): a gauge read straight from the latest materialization.
STORED_GAUGES = (
    ("mge_acceptance_tests_generated", "acceptance_tests", "tests", "Acceptance tests generated and trusted."),
    ("mge_acceptance_run_seconds", "acceptance_results", "seconds", "Seconds the acceptance suite ran."),
    ("mge_acceptance_must_pass_rate", "acceptance_results", "must_share", "Share of MUST requirements passing."),
    ("mge_acceptance_should_pass_rate", "acceptance_results", "should_share", "Share of SHOULD requirements passing."),
    ("mge_precision_score", "precision_report", "precision", "Precision (0.5 spec + 0.3 integration + 0.2 valid)."),
    ("mge_precision_retries", "precision_report", "retries", "Retries the atoms of the scored run needed."),
    ("mge_atoms", "atoms", "atoms", "Atoms the drafts were split into."),
    ("mge_atoms_complexity_max", "atoms", "complexity_max", "Highest cyclomatic complexity of an atom."),
    ("mge_atoms_loc_mean", "atoms", "loc_mean", "Mean lines of code per atom."),
    ("mge_atoms_atomicity_mean", "atoms", "atomicity_mean", "Mean atomicity score of the atoms."),
    (
        "mge_atoms_context_completeness_mean",
        "atoms",
        "context_completeness_mean",
        "Mean share of the names an atom reads that its context resolves.",
    ),
    ("mge_dependency_graph_edges", "dependency_graph", "edges", "Typed edges between atoms."),
    ("mge_dependency_graph_broken_edges", "dependency_graph", "broken_edges", "Edges removed to break cycles."),
    ("mge_dependency_graph_unresolved", "dependency_graph", "unresolved", "Internal references no atom defines."),
    ("mge_dependency_graph_waves", "dependency_graph", "waves", "Execution waves of the graph."),
    ("mge_concurrency_peak_in_flight", "atom_results", "peak_concurrency", "Most model calls in flight at once."),
    ("mge_concurrency_mean_in_flight", "atom_results", "mean_concurrency", "Mean model calls in flight."),
    ("mge_concurrency_throttled", "atom_results", "throttled_429", "429 answers that cut the concurrency limit."),
    ("mge_concurrency_overloaded", "atom_results", "overloaded", "529 answers that cut the concurrency limit."),
    ("mge_concurrency_limit", "atom_results", "concurrency_limit", "The adaptive concurrency limit at the end."),
    ("mge_concurrency_limit_changes", "atom_results", "limit_changes", "Changes of the concurrency limit, in slots."),
    ("mge_concurrency_backlog_peak", "atom_results", "peak_backlog", "Most calls waiting for a slot at once."),
    ("mge_concurrency_backlog_waited", "atom_results", "backlog_waited", "Calls that waited for a slot."),
    ("mge_concurrency_backlog_wait_seconds", "atom_results", "backlog_wait_s", "Seconds calls waited for slots."),
    ("mge_concurrency_backlog_max_wait_seconds", "atom_results", "backlog_max_wait_s", "Longest wait for a slot."),
    ("mge_concurrency_dropped", "atom_results", "backlog_dropped", "Calls dropped after the slot wait timeout."),
    ("mge_review_queue_size", "review_queue", "queued", "Atoms queued for a person's review."),
    ("mge_review_pending", "review_queue", "pending", "Queued atoms (and spot checks) no reviewer has decided on."),
    ("mge_review_decisions_applied", "atom_results", "review_decisions_in_effect", "Review decisions in effect."),
)


@dataclass(frozen=True)
class Stored:
    """The latest materialization of an asset for one partition."""

    metadata: Mapping[str, Any]
    run_id: str
    timestamp: float


@dataclass(frozen=True)
class RunInfo:
    fresh: bool  # tagged mge/fresh: no response cache, so neither hits nor misses
    finished: bool


@dataclass
class PartitionReading:
    """What the instance holds for one partition: latest materializations, Gate S, atom_results' history."""

    partition: str
    latest: dict[str, Stored] = field(default_factory=dict)
    gate_s: dict[str, bool | None] = field(default_factory=dict)  # check → passed (None: planned, not run)
    atom_history: list[Mapping[str, Any]] = field(default_factory=list)  # every atom_results materialization


class LatencyHistogram:
    """Cumulative bucket counts and a sum, as Prometheus histograms are exposed."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)  # the last one is +Inf
        self.sum = 0.0

    @classmethod
    def of(cls, bounds: Sequence[float], at_most: Sequence[int], count: int, total: float) -> LatencyHistogram:
        """A histogram from counts already taken: `at_most[i]` values <= bounds[i], `count` in all."""
        histogram = cls(bounds)
        cumulative = [*at_most, count]
        histogram.counts = [n - (cumulative[i - 1] if i else 0) for i, n in enumerate(cumulative)]
        histogram.sum = total
        return histogram

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value

    def buckets(self) -> list[tuple[str, float]]:
        total, result = 0, list[tuple[str, float]]()
        for bound, count in zip([*map(repr, self.bounds), "+Inf"], self.counts, strict=True):
            total += count
            result.append((bound, total))
        return result


@dataclass(frozen=True)
class CachedTokens:
    """The summed usage of one partition's cached `cost_events` rows of one model and billing."""

    model: str
    usage: Usage
    batch: bool = False


@dataclass
class PartitionCalls:
    """One partition's `cost_events` rows, summed in the ledger's database."""

    partition: str
    rows: int = 0
    traced: int = 0  # rows carrying a trace id
    cost_usd: float = 0.0
    overrides: int = 0  # budget_override rows
    errors: dict[str, int] = field(default_factory=dict)  # an error's text up to its first ':' → rows
    cached: list[CachedTokens] = field(default_factory=list)
    latency: LatencyHistogram = field(default_factory=lambda: LatencyHistogram(MODEL_LATENCY_BUCKETS))


@dataclass(frozen=True)
class RunCalls:
    """A partition's latest run's `cost_events` rows, summed in the ledger's database."""

    spent_usd: float = 0.0  # every row but budget overrides
    atoms_written: int = 0  # distinct trace ids of its write_atom rows
    atoms_usd: float = 0.0  # what its write_atom rows cost


@dataclass
class Reading:
    """Everything one scrape read; a source that failed leaves its part empty."""

    partitions: list[PartitionReading] = field(default_factory=list)
    calls: dict[str, PartitionCalls] = field(default_factory=dict)  # by partition
    run_calls: dict[tuple[str, str], RunCalls] = field(default_factory=dict)  # by (partition, latest run)
    runs: dict[str, RunInfo] = field(default_factory=dict)
    canary: tuple[str, bool] | None = None  # (evaluation, no_regression passed) of the latest canary_report


def labels_of(partition: str) -> tuple[str, str]:
    """(request, mode) of a partition key."""
    return split_partition(partition)


def latest_run(reading: PartitionReading) -> str | None:
    """The partition's latest run: the one that last read its request (every run starts there)."""
    start = reading.latest.get("project_request")
    return start.run_id if start else None


def stopped_at_cap(statuses: str) -> int:
    """Atoms the hard cap stopped, from atom_results' `statuses` table (`| budget | N |`)."""
    match = re.search(r"^\|\s*budget\s*\|\s*(\d+)\s*\|", statuses, re.MULTILINE)
    return int(match.group(1)) if match else 0


def run_spend(reading: PartitionReading, calls: RunCalls, run_id: str) -> float:
    """What run `run_id` spent: its cost_events rows, which every model stage writes as it calls (so a
    run in progress counts too); at least what the stages it materialized report (`cost_usd`), for a
    ledger that missed calls (one written before every stage recorded its calls, or unreachable)."""
    reported = sum(
        float(stored.metadata.get("cost_usd", 0.0))
        for stage, stored in reading.latest.items()
        if stage in MODEL_STAGES and stored.run_id == run_id
    )
    return max(reported, calls.spent_usd)


def projected_remaining_usd(atoms_total: int | None, calls: RunCalls, finished: bool) -> float | None:
    """The atoms of a run not yet written, at the mean cost of those it wrote: 0 once the run has finished,
    None when the number of units is not known (the mvp baseline's task units)."""
    if finished:
        return 0.0
    if atoms_total is None:
        return None
    if not calls.atoms_written:
        return None
    return calls.atoms_usd / calls.atoms_written * max(0, atoms_total - calls.atoms_written)


def cache_figures(reading: PartitionReading, runs: Mapping[str, RunInfo]) -> dict[str, tuple[int, int, int, int]]:
    """Per model stage of a cache-enabled latest materialization: (hits, misses, writes, errors). A call
    the cache missed went to the model, and every answer the model gave (not failed) was written to it;
    an error is the cache failing (Redis down), after which the stage went on with the disk cache."""
    figures: dict[str, tuple[int, int, int]] = {}
    for stage in MODEL_STAGES:
        stored = reading.latest.get(stage)
        if stored is None or runs.get(stored.run_id, RunInfo(fresh=False, finished=True)).fresh:
            continue
        value = stored.metadata.get
        calls, failed = int(value("model_calls", 0)), int(value("failed_calls", 0))
        figures[stage] = (int(value("cache_hits", 0)), calls, calls - failed, int(value("cache_errors", 0)))
    return figures


def saved_usd(cached: CachedTokens) -> float:
    """What cached answers would have cost from the model (0 for a model with no known price). The price
    is linear in the tokens, so pricing their sum prices each answer."""
    try:
        price_of(cached.model)
    except SettingsError:  # a model priced no more (renamed): its savings are unknown, not invented
        return 0.0
    return cost_usd(cached.model, cached.usage, batch=cached.batch)


def error_class(error: str) -> str:
    """The exception class a failed call recorded (`TimeoutError: ...` → TimeoutError)."""
    head = error.split(":", 1)[0].strip()
    return head if head.isidentifier() else "other"


def error_classes(errors: Mapping[str, int]) -> Counter[str]:
    """Failed calls by exception class, from counts by error text (or its part before the first ':')."""
    classes = Counter[str]()
    for error, count in errors.items():
        if error:
            classes[error_class(error)] += count
    return classes


def trace_share(traced: int, rows: int) -> float | None:
    """Share of cost_events rows that carry a trace id."""
    return traced / rows if rows else None


def families(
    reading: Reading,
    db_latency: Mapping[str, LatencyHistogram],
    errors: Mapping[str, int],
    up: Mapping[str, bool],
    now: float,
) -> list[Metric]:
    """Every MGE family of one scrape."""
    result = [*_stored_families(reading, now), *_cost_families(reading), *_cache_families(reading)]
    result += _call_families(reading)
    result += _health_families(reading, db_latency, errors, up)
    return result


def _gauge(name: str, doc: str, extra: Sequence[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=[*LABELS, *extra])


def _stored_families(reading: Reading, now: float) -> list[Metric]:
    gauges = {name: _gauge(name, doc) for name, _, _, doc in STORED_GAUGES}
    pass_rate = _gauge("mge_acceptance_pass_rate", "Share of acceptance tests passing.")
    gate_s = _gauge("mge_gate_s_passed", "1 when both Gate S checks passed on the latest run, else 0.")
    component = _gauge("mge_precision_component", "A component of the precision score.", ["component"])
    for part in reading.partitions:
        labels = list(labels_of(part.partition))
        for name, asset, key, _ in STORED_GAUGES:
            stored = part.latest.get(asset)
            if stored is not None and key in stored.metadata:
                gauges[name].add_metric(labels, float(stored.metadata[key]))
        results = part.latest.get("acceptance_results")
        if results is not None and int(results.metadata.get("tests", 0)):
            pass_rate.add_metric(labels, int(results.metadata["tests_passed"]) / int(results.metadata["tests"]))
        if part.gate_s:
            gate_s.add_metric(labels, float(all(part.gate_s.values())))
        scored = part.latest.get("precision_report")
        for name in COMPONENTS:
            if scored is not None and name in scored.metadata:
                component.add_metric([*labels, name], float(scored.metadata[name]))
    return [*gauges.values(), pass_rate, gate_s, component, _review_age(reading, now)]


def _review_age(reading: Reading, now: float) -> GaugeMetricFamily:
    # The queue's pending items wait since it was materialized (a queue from before review statuses
    # counts every queued atom as pending).
    family = _gauge("mge_review_oldest_pending_age_seconds", "Seconds the oldest pending review has waited.")
    for part in reading.partitions:
        queue = part.latest.get("review_queue")
        if queue is not None and int(queue.metadata.get("pending", queue.metadata.get("queued", 0))) > 0:
            family.add_metric(list(labels_of(part.partition)), max(0.0, now - queue.timestamp))
    return family


def _cost_families(reading: Reading) -> list[Metric]:
    budget = _gauge("mge_cost_budget_usd", "Hard budget cap of the latest run (USD; the override when set).")
    spent = _gauge("mge_cost_spent_usd", "What the latest run has spent so far (USD).")
    remaining = _gauge("mge_cost_projected_remaining_usd", "The latest run's atoms not yet written, at its mean cost.")
    stopped = _gauge("mge_cost_atoms_stopped_at_cap", "Atoms of the latest atom_results the hard cap stopped.")
    triggers = CounterMetricFamily(
        "mge_cost_guardrail_triggers", "Soft-cap warnings and budget overrides.", labels=[*LABELS, "guardrail"]
    )
    paused = CounterMetricFamily(
        "mge_cost_runs_paused_at_cap", "atom_results materializations the hard cap stopped atoms of.", labels=LABELS
    )
    for part in reading.partitions:
        labels = list(labels_of(part.partition))
        run_id = latest_run(part)
        mine = reading.calls.get(part.partition, PartitionCalls(part.partition))
        results = part.latest.get("atom_results")
        request = part.latest.get("project_request")
        cap = results.metadata.get("budget_usd") if results is not None and results.run_id == run_id else None
        if cap is None and request is not None:
            cap = request.metadata.get("budget_usd")
        if cap is not None:
            budget.add_metric(labels, float(cap))
        if run_id is not None:
            run_calls = reading.run_calls.get((part.partition, run_id), RunCalls())
            spent.add_metric(labels, run_spend(part, run_calls, run_id))
            atoms = part.latest.get("atoms")
            total = int(atoms.metadata["atoms"]) if atoms and labels[1] == "v2" and "atoms" in atoms.metadata else None
            info = reading.runs.get(run_id)
            projection = projected_remaining_usd(total, run_calls, info.finished if info else True)
            if projection is not None:
                remaining.add_metric(labels, projection)
        if results is not None:
            stopped.add_metric(labels, stopped_at_cap(str(results.metadata.get("statuses", ""))))
        history = part.atom_history
        soft = sum(str(m.get("budget_warnings", "none")) != "none" for m in history)
        triggers.add_metric([*labels, "soft_cap"], soft)
        triggers.add_metric([*labels, "override"], mine.overrides)
        paused.add_metric(labels, sum(stopped_at_cap(str(m.get("statuses", ""))) > 0 for m in history))
    return [budget, spent, remaining, stopped, triggers, paused]


def _cache_families(reading: Reading) -> list[Metric]:
    names = ("mge_cache_hits", "mge_cache_misses", "mge_cache_writes", "mge_cache_errors")
    docs = (
        "Answers served from the response cache by the latest materialization of a model stage.",
        "Calls the response cache could not answer (sent to the model).",
        "Model answers written to the response cache.",
        "Failures of the response cache (Redis down); the stage went on with the disk cache.",
    )
    gauges = [_gauge(name, doc, ["stage"]) for name, doc in zip(names, docs, strict=True)]
    for part in reading.partitions:
        labels = list(labels_of(part.partition))
        for stage, figures in cache_figures(part, reading.runs).items():
            for gauge, value in zip(gauges, figures, strict=True):
                gauge.add_metric([*labels, stage], value)
    return list[Metric](gauges)


def _call_families(reading: Reading) -> list[Metric]:
    cost = CounterMetricFamily("mge_model_cost_usd", "Cost of the model calls in cost_events (USD).", labels=LABELS)
    savings = CounterMetricFamily(
        "mge_cache_savings_usd", "What the cached answers in cost_events would have cost (USD).", labels=LABELS
    )
    failures = CounterMetricFamily(
        "mge_model_call_errors", "Model calls that failed, by exception class.", labels=[*LABELS, "error"]
    )
    timeouts = CounterMetricFamily("mge_concurrency_timeouts", "Model calls that timed out.", labels=LABELS)
    share = _gauge("mge_trace_share", "Share of cost_events records carrying a trace id.")
    latency = HistogramMetricFamily(
        "mge_model_call_latency_seconds", "Latency of model calls (cache hits excluded).", labels=LABELS
    )
    for partition, calls in sorted(reading.calls.items()):
        labels = list(labels_of(partition))
        cost.add_metric(labels, calls.cost_usd)
        savings.add_metric(labels, sum(saved_usd(c) for c in calls.cached))
        classes = error_classes(calls.errors)
        for name, count in sorted(classes.items()):
            failures.add_metric([*labels, name], count)
        timeouts.add_metric(labels, sum(n for name, n in classes.items() if "Timeout" in name))
        if (value := trace_share(calls.traced, calls.rows)) is not None:
            share.add_metric(labels, value)
        latency.add_metric(labels, calls.latency.buckets(), calls.latency.sum)
    return [cost, savings, failures, timeouts, share, latency]


def _health_families(
    reading: Reading, db_latency: Mapping[str, LatencyHistogram], errors: Mapping[str, int], up: Mapping[str, bool]
) -> list[Metric]:
    canary = GaugeMetricFamily(
        "mge_canary_regression",
        "1 when the latest canary_report failed canary_report_no_regression.",
        labels=["evaluation"],
    )
    if reading.canary is not None:
        canary.add_metric([reading.canary[0]], 0.0 if reading.canary[1] else 1.0)
    db = HistogramMetricFamily(
        "mge_db_query_duration_seconds",
        "The exporter's own queries to the ledger and the Dagster instance.",
        labels=["database"],
    )
    for database, histogram in sorted(db_latency.items()):
        db.add_metric([database], histogram.buckets(), histogram.sum)
    failed = CounterMetricFamily("mge_exporter_errors", "Scrapes a source could not be read in.", labels=["source"])
    source_up = GaugeMetricFamily(
        "mge_exporter_source_up", "1 when the last scrape read the source.", labels=["source"]
    )
    for source in sorted(up):
        failed.add_metric([source], errors.get(source, 0))
        source_up.add_metric([source], float(up[source]))
    return [canary, db, failed, source_up]
