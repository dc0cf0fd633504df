"""The exporter's figures: the pure ones over aggregates and values, then the collector on a real
instance and a real ledger (what its queries sum, an older ledger too), and what it does when a source
cannot be read."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from mge_assets.defs.metadata import markdown_table
from mge_assets.ledger import Ledger, cost_events
from mge_assets.llm.client import CallRecord
from mge_assets.llm.pricing import cost_usd
from mge_assets.llm.types import Usage
from mge_assets.readback.metric_families import (
    CachedTokens,
    LatencyHistogram,
    PartitionReading,
    RunCalls,
    RunInfo,
    Stored,
    cache_figures,
    error_class,
    error_classes,
    projected_remaining_usd,
    run_spend,
    saved_usd,
    stopped_at_cap,
    trace_share,
)
from mge_assets.readback.metrics import MgeCollector, QueryTimer, read_calls
from mge_assets_tests.conftest import require_service

PG_SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432"


def test_a_histogram_counts_each_value_in_the_first_bucket_that_holds_it() -> None:
    histogram = LatencyHistogram((0.5, 2.0))
    for value in (0.1, 0.5, 1.0, 2.0, 3.0):
        histogram.observe(value)
    assert histogram.buckets() == [("0.5", 2), ("2.0", 4), ("+Inf", 5)]
    assert histogram.sum == pytest.approx(6.6)
    counted = LatencyHistogram.of((0.5, 2.0), [2, 4], 5, 6.6)  # as the ledger's query counts them
    assert counted.buckets() == histogram.buckets() and counted.sum == 6.6


def test_the_atoms_the_hard_cap_stopped_are_read_from_the_statuses_table() -> None:
    table = markdown_table(sorted({"valid": 7, "budget": 3, "invalid": 1}.items()), ["status", "atoms/units"])
    assert stopped_at_cap(table) == 3
    assert stopped_at_cap(markdown_table([("valid", 7)], ["status", "atoms/units"])) == 0


def test_the_projection_prices_the_atoms_left_at_the_mean_of_those_written() -> None:
    calls = RunCalls(atoms_written=2, atoms_usd=0.4)  # atoms a (0.1 twice) and b (0.2)
    assert projected_remaining_usd(5, calls, finished=False) == pytest.approx(0.4 / 2 * 3)
    assert projected_remaining_usd(5, calls, finished=True) == 0.0
    assert projected_remaining_usd(None, calls, finished=False) is None  # units not known
    assert projected_remaining_usd(5, RunCalls(), finished=False) is None  # nothing to project from


def test_a_runs_spend_is_its_own_ledger_rows_or_at_least_what_its_stages_report() -> None:
    reading = PartitionReading(
        "blog",
        latest={
            "discovery_document": Stored({"cost_usd": 0.25}, "r1", 0.0),
            "task_drafts": Stored({"cost_usd": 1.0}, "r0", 0.0),  # an earlier run's
            "atom_results": Stored({"cost_usd": 0.5}, "r1", 0.0),
        },
    )
    assert run_spend(reading, RunCalls(spent_usd=2.0), "r1") == pytest.approx(2.0)  # a stage still calling
    assert run_spend(reading, RunCalls(spent_usd=0.5), "r1") == pytest.approx(0.75)  # a ledger that missed calls


def test_cache_figures_leave_out_fresh_runs() -> None:
    reading = PartitionReading(
        "blog",
        latest={
            "task_drafts": Stored(
                {"model_calls": 4, "cache_hits": 6, "failed_calls": 1, "cache_errors": 1}, "cached", 0.0
            ),
            "atom_results": Stored({"model_calls": 9, "cache_hits": 0}, "fresh", 0.0),
        },
    )
    runs = {"cached": RunInfo(fresh=False, finished=True), "fresh": RunInfo(fresh=True, finished=True)}
    assert cache_figures(reading, runs) == {"task_drafts": (6, 4, 3, 1)}


def test_savings_are_what_a_cached_answer_would_have_cost() -> None:
    usage = Usage(1000, 500, 0, 200)
    expected = cost_usd("claude-haiku-4-5", usage)
    assert expected > 0
    assert saved_usd(CachedTokens("claude-haiku-4-5", usage)) == pytest.approx(expected)
    assert saved_usd(CachedTokens("claude-haiku-4-5", usage, batch=True)) == pytest.approx(expected / 2)
    assert saved_usd(CachedTokens("no-such-model", usage)) == 0.0


def test_error_classes_and_trace_share() -> None:
    assert error_class("TimeoutError: took too long") == "TimeoutError"
    assert error_class("something odd happened") == "other"
    assert error_classes({"TimeoutError": 2, "an odd one": 1, "": 3, "?": 1}) == {"TimeoutError": 2, "other": 2}
    assert trace_share(1, 2) == 0.5
    assert trace_share(0, 0) is None


def _scrape(collector: MgeCollector) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry()
    registry.register(collector)
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _materialize(instance: dg.DagsterInstance, asset: str, partition: str, **metadata: object) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(asset, partition=partition, metadata=metadata))


def test_the_collector_reads_a_real_instance_and_ledger(tmp_path: Path) -> None:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("requests", ["blog", "blog@mvp"])
    statuses = markdown_table([("budget", 2), ("valid", 5)], ["status", "atoms/units"])
    for partition, passed in (("blog", 9), ("blog@mvp", 4)):
        _materialize(instance, "project_request", partition, budget_usd=5.0)
        _materialize(instance, "acceptance_results", partition, tests=10, tests_passed=passed, must_share=1.0)
    _materialize(instance, "atom_results", "blog", budget_usd=2.0, statuses=statuses, budget_warnings="soft cap")
    _materialize(
        instance,
        "atom_results",
        "blog",
        budget_usd=2.0,
        statuses=statuses,
        budget_warnings="none",
        concurrency_limit=6,
        limit_changes=3,
        peak_backlog=12,
        backlog_dropped=1,
    )
    url = f"sqlite:///{tmp_path / 'mge.db'}"
    ledger = Ledger("blog", "r1", url)
    for latency, cached in ((0.3, False), (3.0, False), (0.0, True)):
        ledger.record_call(CallRecord("blog:a", "write_atom", "offline", 10, 5, 0, 0, 0.0, latency, cached))
    ledger.record_override(9.0, 5.0)

    values = _scrape(MgeCollector(instance, url))
    v2, mvp = (("mode", "v2"), ("request", "blog")), (("mode", "mvp"), ("request", "blog"))
    assert values[("mge_acceptance_pass_rate", v2)] == 0.9
    assert values[("mge_acceptance_pass_rate", mvp)] == 0.4
    assert values[("mge_acceptance_must_pass_rate", v2)] == 1.0
    assert values[("mge_cost_atoms_stopped_at_cap", v2)] == 2
    assert values[("mge_concurrency_limit", v2)] == 6 and values[("mge_concurrency_limit_changes", v2)] == 3
    assert values[("mge_concurrency_backlog_peak", v2)] == 12 and values[("mge_concurrency_dropped", v2)] == 1
    assert values[("mge_cost_runs_paused_at_cap_total", v2)] == 2
    assert values[("mge_cost_guardrail_triggers_total", (("guardrail", "soft_cap"), *v2))] == 1
    assert values[("mge_cost_guardrail_triggers_total", (("guardrail", "override"), *v2))] == 1
    # the two model calls, not the cache hit nor the override: one under 0.5 s, one over 2 s
    assert values[("mge_model_call_latency_seconds_count", v2)] == 2
    assert values[("mge_model_call_latency_seconds_bucket", (("le", "0.5"), *v2))] == 1
    assert values[("mge_model_call_latency_seconds_bucket", (("le", "2.0"), *v2))] == 1
    assert values[("mge_exporter_source_up", (("source", "ledger"),))] == 1
    assert values[("mge_db_query_duration_seconds_count", (("database", "ledger"),))] == 1
    assert ("mge_cost_spent_usd", mvp) in values and ("mge_model_cost_usd_total", mvp) not in values


def test_an_unreadable_source_is_counted_and_the_rest_is_still_served(tmp_path: Path) -> None:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("requests", ["blog"])
    _materialize(instance, "project_request", "blog", budget_usd=5.0)
    collector = MgeCollector(instance, f"sqlite:///{tmp_path}")  # a folder: SQLite cannot open it
    _scrape(collector)
    values = _scrape(collector)
    assert values[("mge_exporter_errors_total", (("source", "ledger"),))] == 2
    assert values[("mge_exporter_source_up", (("source", "ledger"),))] == 0
    assert values[("mge_exporter_source_up", (("source", "dagster"),))] == 1
    assert values[("mge_cost_budget_usd", (("mode", "v2"), ("request", "blog")))] == 5.0


class _BrokenInstance:
    def get_dynamic_partitions(self, name: str) -> list[str]:
        raise ConnectionError("the instance's database went away")


def test_an_unreachable_instance_is_counted_not_raised(tmp_path: Path) -> None:
    collector = MgeCollector(_BrokenInstance(), f"sqlite:///{tmp_path / 'none.db'}")  # type: ignore[arg-type]
    values = _scrape(collector)
    assert values[("mge_exporter_errors_total", (("source", "dagster"),))] == 1
    assert values[("mge_exporter_source_up", (("source", "dagster"),))] == 0
    assert values[("mge_exporter_source_up", (("source", "ledger"),))] == 1
    assert not (tmp_path / "none.db").exists()  # the exporter never creates the ledger


def _row(partition: str, run_id: str, trace_id: str, **values: object) -> dict[str, object]:
    fields = {"created_at": 0.0, "kind": "write_atom", "model": "claude-haiku-4-5", "error": "", "cached": False}
    fields |= {"cost_usd": 0.0, "latency_s": 0.0, "batch": False, "input_tokens": 0, "output_tokens": 0}
    fields |= {"cache_write_tokens": 0, "cache_read_tokens": 0}  # every row names every column (one insert)
    return {**fields, "partition": partition, "run_id": run_id, "trace_id": trace_id, **values}


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty ledger database on each dialect the ledger supports (PostgreSQL: one made and dropped
    here, as the shared `test` database may hold other tests' rows)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mge.db'}"
        return
    require_service("PostgreSQL", "127.0.0.1", 5432)
    name = f"mge_metrics_{uuid.uuid4().hex[:12]}"
    server = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with server.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        server.dispose()


def test_the_ledger_is_summed_per_partition_and_per_latest_run(ledger_url: str) -> None:
    engine = Ledger("setup", url=ledger_url).engine
    assert engine is not None
    tokens = {"input_tokens": 1000, "output_tokens": 500, "cache_read_tokens": 200}
    rows = [
        _row("blog", "r1", "blog:a", cost_usd=0.1, latency_s=0.3),
        _row("blog", "r1", "blog:a", cost_usd=0.1, latency_s=3.0, error="TimeoutError: took 30 s"),
        _row("blog", "r1", "blog:b", cost_usd=0.2, latency_s=0.5, error="TimeoutError: took 31 s"),
        _row("blog", "r1", "", cached=True, latency_s=0.0, **tokens),
        _row("blog", "r1", "blog:c", cached=True, batch=True, **tokens),
        _row("blog", "r1", "blog:d", kind="other_kind", cost_usd=0.05, error="an odd one: x"),
        _row("blog", "r1", "blog:budget", kind="budget_override", model="", error="hard cap raised"),
        _row("blog", "r0", "blog:z", cost_usd=4.0),  # an earlier run
        _row("shop", "s1", "shop:a", cost_usd=1.0, latency_s=70.0),
    ]
    with engine.begin() as connection:
        connection.execute(sa.insert(cost_events), rows)
    timer = QueryTimer()
    calls, runs = read_calls(engine, {"blog": "r1", "shop": "s1", "none": "n1"}, timer)
    blog = calls["blog"]
    assert (blog.rows, blog.traced, blog.overrides) == (8, 7, 1)
    assert blog.cost_usd == pytest.approx(4.45)
    assert error_classes(blog.errors) == {"TimeoutError": 2, "other": 2}  # the override's text too
    assert blog.errors["TimeoutError"] == 2  # one group for the two messages
    haiku = cost_usd("claude-haiku-4-5", Usage(1000, 500, 0, 200))
    assert sum(saved_usd(c) for c in blog.cached) == pytest.approx(haiku * 1.5)  # the batch one at half
    # the model calls only (no cache hit, no override): 0.3, 3.0, 0.5 (on a bound: counted under it), 0 twice
    buckets = dict(blog.latency.buckets())
    assert (buckets["0.25"], buckets["0.5"], buckets["2.0"], buckets["4.0"], buckets["+Inf"]) == (2, 4, 4, 5, 5)
    assert blog.latency.sum == pytest.approx(3.8)
    assert calls["shop"].latency.buckets()[-2:] == [("64.0", 0), ("+Inf", 1)]
    assert runs[("blog", "r1")] == RunCalls(pytest.approx(0.45), 4, pytest.approx(0.4))  # type: ignore[arg-type]  # a, b, c and ""
    assert set(runs) == {("blog", "r1"), ("shop", "s1")}
    assert sum(timer.histograms["ledger"].counts) == 1  # the ledger's queries timed as one read
    engine.dispose()


def test_a_ledger_made_before_the_batch_column_is_still_read(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'mge.db'}")
    old = sa.MetaData()
    sa.Table("cost_events", old, *(sa.Column(c.name, c.type) for c in cost_events.columns if c.name != "batch"))
    old.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(old.tables["cost_events"]),
            [
                {
                    k: v
                    for k, v in _row("blog", "r1", "a", cost_usd=0.25, cached=True, input_tokens=1000).items()
                    if k != "batch"
                }
            ],
        )
    calls, runs = read_calls(engine, {"blog": "r1"}, QueryTimer())
    assert calls["blog"].cached == [CachedTokens("claude-haiku-4-5", Usage(1000, 0, 0, 0))]
    assert runs[("blog", "r1")].spent_usd == 0.25
