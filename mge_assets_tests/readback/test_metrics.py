"""The exporter's figures: the pure ones over rows and values, then the collector on a real instance
and a real ledger, and what it does when a source cannot be read."""

from pathlib import Path

import dagster as dg
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from mge_assets.defs.metadata import markdown_table
from mge_assets.ledger import Ledger
from mge_assets.llm.client import CallRecord
from mge_assets.llm.pricing import cost_usd
from mge_assets.llm.types import Usage
from mge_assets.readback.metric_families import (
    CallRow,
    LatencyHistogram,
    PartitionReading,
    RunInfo,
    Stored,
    cache_figures,
    error_class,
    projected_remaining_usd,
    run_spend,
    saved_usd,
    stopped_at_cap,
    trace_share,
)
from mge_assets.readback.metrics import MgeCollector


def _call(run_id: str = "r1", **values: object) -> CallRow:
    fields = {"partition": "blog", "run_id": run_id, "trace_id": "t", "kind": "write_atom", "model": "offline"}
    return CallRow(**{**fields, **values})  # type: ignore[arg-type]


def test_a_histogram_counts_each_value_in_the_first_bucket_that_holds_it() -> None:
    histogram = LatencyHistogram((0.5, 2.0))
    for value in (0.1, 0.5, 1.0, 2.0, 3.0):
        histogram.observe(value)
    assert histogram.buckets() == [("0.5", 2), ("2.0", 4), ("+Inf", 5)]
    assert histogram.sum == pytest.approx(6.6)


def test_the_atoms_the_hard_cap_stopped_are_read_from_the_statuses_table() -> None:
    table = markdown_table(sorted({"valid": 7, "budget": 3, "invalid": 1}.items()), ["status", "atoms/units"])
    assert stopped_at_cap(table) == 3
    assert stopped_at_cap(markdown_table([("valid", 7)], ["status", "atoms/units"])) == 0


def test_the_projection_prices_the_atoms_left_at_the_mean_of_those_written() -> None:
    calls = [_call(trace_id="a", cost_usd=0.1), _call(trace_id="a", cost_usd=0.1), _call(trace_id="b", cost_usd=0.2)]
    assert projected_remaining_usd(5, calls, finished=False) == pytest.approx(0.4 / 2 * 3)
    assert projected_remaining_usd(5, calls, finished=True) == 0.0
    assert projected_remaining_usd(None, calls, finished=False) is None  # units not known
    assert projected_remaining_usd(5, [], finished=False) is None  # nothing to project from


def test_a_runs_spend_is_its_stages_and_its_own_ledger_rows() -> None:
    reading = PartitionReading(
        "blog",
        latest={
            "discovery_document": Stored({"cost_usd": 0.25}, "r1", 0.0),
            "task_drafts": Stored({"cost_usd": 1.0}, "r0", 0.0),  # an earlier run's
            "atom_results": Stored({"cost_usd": 9.0}, "r1", 0.0),  # counted from the ledger instead
        },
    )
    calls = [_call(cost_usd=0.5), _call(cost_usd=0.25), _call("r0", cost_usd=4.0), _call(kind="budget_override")]
    assert run_spend(reading, calls, "r1") == pytest.approx(1.0)


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
    tokens = {"input_tokens": 1000, "output_tokens": 500, "cache_read_tokens": 200}
    expected = cost_usd("claude-haiku-4-5", Usage(1000, 500, 0, 200))
    assert expected > 0
    assert saved_usd(_call(model="claude-haiku-4-5", cached=True, **tokens)) == pytest.approx(expected)
    assert saved_usd(_call(model="claude-haiku-4-5", cached=False, **tokens)) == 0.0
    assert saved_usd(_call(model="no-such-model", cached=True, **tokens)) == 0.0


def test_error_classes_and_trace_share() -> None:
    assert error_class("TimeoutError: took too long") == "TimeoutError"
    assert error_class("something odd happened") == "other"
    assert trace_share([_call(trace_id="a"), _call(trace_id="")]) == 0.5
    assert trace_share([]) is None


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
