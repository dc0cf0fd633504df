"""What a run's tags decide about its model client: a canary run with Claude goes through the Message
Batches API at half price; a fresh run has no response cache; an ordinary run neither."""

import asyncio
from pathlib import Path

import pytest

from mge_assets.defs.resources import ModelBackendResource
from mge_assets.defs.tags import CANARY_TAG, FRESH_TAG
from mge_assets.llm import Budget
from mge_assets.llm.anthropic_backend import AnthropicBackend
from mge_assets.llm.batches import BatchingBackend
from mge_assets.simulator import running_simulator
from mge_assets_tests.simulator.test_sdk_paths import atom_request


def _resource(url: str, tmp_path: Path) -> ModelBackendResource:
    return ModelBackendResource(
        backend="anthropic",
        api_key="simulated",
        base_url=url,
        cache_dir=str(tmp_path / "cache"),
        batch_window_s=0.05,
        batch_poll_s=0.05,
    )


def test_a_canary_run_asks_claude_in_a_batch_and_pays_the_batch_price(tmp_path: Path) -> None:
    with running_simulator() as (url, simulator):
        resource = _resource(url, tmp_path)
        canary = resource.client(Budget(5.0), run_tags={CANARY_TAG: "2026-12-04", FRESH_TAG: "true"})
        assert isinstance(canary.backend, BatchingBackend) and canary.cache is None
        answer = asyncio.run(canary.complete(atom_request("a")))
        ordinary = resource.client(Budget(5.0), run_tags={})
        assert isinstance(ordinary.backend, AnthropicBackend) and ordinary.cache is not None
        direct = asyncio.run(ordinary.complete(atom_request("b")))
        assert simulator.stats.batches == 1
    assert answer.batch and not direct.batch
    [batched] = canary.records
    [standard] = ordinary.records
    assert batched.batch and batched.cost_usd > 0
    # the same kind of call, half the price per token
    per_token = standard.cost_usd / (standard.input_tokens + 5 * standard.output_tokens)
    assert batched.cost_usd / (batched.input_tokens + 5 * batched.output_tokens) == pytest.approx(per_token / 2)


def test_batching_can_be_turned_off(tmp_path: Path) -> None:
    resource = ModelBackendResource(
        backend="anthropic", api_key="k", base_url="http://127.0.0.1:9", batch_canaries=False
    )
    client = resource.client(Budget(1.0), run_tags={CANARY_TAG: "2026-12-04"})
    assert isinstance(client.backend, AnthropicBackend)


def test_a_rerun_counts_what_earlier_runs_spent_and_says_so_when_it_stops_at_the_cap(tmp_path: Path) -> None:
    import dagster as dg

    from mge_assets.defs.intake import discovery_document, project_request
    from mge_assets.ledger import Ledger
    from mge_assets.llm import CallRecord
    from mge_assets_tests.conftest import example_path
    from mge_assets_tests.helpers import ledger_url, submit, test_resources

    resource = ModelBackendResource(
        backend="anthropic",
        api_key="unused",
        base_url="http://127.0.0.1:9",  # never reached: the budget refuses the call first
        cache_dir=str(tmp_path / "cache"),
        database_url=ledger_url(tmp_path),
    )
    with dg.instance_for_test() as instance:
        name = submit(instance, tmp_path, example_path("task_api"))
        earlier = Ledger(name, "an-earlier-run", ledger_url(tmp_path))
        earlier.record_call(CallRecord(f"{name}:discover", "discover", "claude-sonnet-4-6", 0, 0, 0, 0, 4.99, 1, False))
        result = dg.materialize(
            [project_request, discovery_document],
            instance=instance,
            partition_key=name,
            resources=test_resources(tmp_path, resource),
            raise_on_error=False,
        )
    assert not result.success
    [failure] = result.get_step_failure_events()
    error = str(failure.step_failure_data.error)  # the task_api request's budget_usd is 5
    assert "hard cap of $5.00" in error and "of which $4.9900 by earlier runs of this request" in error
