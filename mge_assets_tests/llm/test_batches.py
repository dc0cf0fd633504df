"""The Message Batches path (BatchingBackend) through the real SDK against the simulator: concurrent
calls gathered into few batches and matched back by custom_id, costs at half price, errored and expired
requests sent again, clear errors that fail only the requests they concern; and the batch flag kept by
the cache and the cost_events table."""

import asyncio
import math
import socket
from dataclasses import replace

import anthropic
import httpx2
import pytest
import sqlalchemy as sa

from mge_assets.errors import ModelUnavailableError, SettingsError
from mge_assets.ledger import Ledger, cost_events
from mge_assets.llm import CallRecord, ModelClient, ModelRequest, ModelResponse, Usage
from mge_assets.llm.batches import BatchingBackend
from mge_assets.llm.cache import dump_response, load_response
from mge_assets.llm.envelope import embed, extract
from mge_assets.llm.pricing import cost_usd
from mge_assets.simulator import Simulator, SimulatorSettings, running_simulator
from mge_assets.simulator.batches import outcome
from mge_assets_tests.simulator.test_sdk_paths import DRAFT, atom_request, backend

MODEL = "claude-sonnet-4-6"


def distinct_request(i: int) -> ModelRequest:
    """A write_atom request whose answer is its own: the draft names `total_<i>`."""
    base = atom_request(f"a{i}")
    payload = extract(base.system, base.prompt)
    payload["draft"] = DRAFT.replace("total", f"total_{i}")
    return replace(base, prompt="Write it.\n" + embed("write_atom", payload))


def batching(url: str, **options) -> BatchingBackend:
    settings = {"window_s": 0.1, "poll_s": 0.05, "max_poll_s": 0.2, **options}
    return BatchingBackend(backend(url), **settings)


def complete_all(model, requests: list[ModelRequest]) -> list:
    async def run():
        return await asyncio.gather(*(model.complete(r) for r in requests), return_exceptions=True)

    return asyncio.run(run())


def outcomes(settings: SimulatorSettings, request: ModelRequest, sendings: int) -> list[str]:
    """What the simulator answers the first `sendings` batch sendings of a request."""
    params = backend("http://unused").params(request)
    digest = Simulator(settings).parse(params).digest
    return [outcome(settings, digest, n) for n in range(sendings)]


def first_success(draws: list[str]) -> int | None:
    return next((n for n, draw in enumerate(draws) if draw == "succeeded"), None)


def seed_where(wanted, **rates) -> SimulatorSettings:
    """The first seed whose draws satisfy `wanted(settings)`: the simulator's draws are reproducible,
    so the test knows in advance which request fails how often."""
    for seed in range(2000):
        settings = SimulatorSettings(seed=seed, batch_latency_s=0.05, **rates)
        if wanted(settings):
            return settings
    raise AssertionError("no seed gives the wanted draws")


# -- gathering, matching, price ---------------------------------------------------------------------


def test_concurrent_calls_gather_into_fewer_batches_and_each_gets_its_own_answer():
    requests = [distinct_request(i) for i in range(30)]
    with running_simulator() as (url, simulator):
        model = batching(url)
        answers = complete_all(model, requests)
    assert all(isinstance(a, ModelResponse) for a in answers), answers
    for i, answer in enumerate(answers):  # the simulator shuffles results: matched by custom_id, not order
        assert f"total_{i} = a + b" in answer.text and answer.batch
        assert not any(f"total_{j} " in answer.text for j in range(30) if j != i)
    assert 1 <= len(model.batch_ids) < len(requests)
    assert simulator.stats.batches == len(model.batch_ids) and simulator.stats.batch_requests == 30
    assert simulator.stats.requests == 0  # nothing went through /v1/messages


def test_a_full_queue_is_sent_at_once_in_batches_of_max_batch():
    requests = [distinct_request(i) for i in range(30)]
    with running_simulator() as (url, simulator):
        model = batching(url, max_batch=8)
        answers = complete_all(model, requests)
    assert all(f"total_{i} = a + b" in a.text for i, a in enumerate(answers))
    assert len(model.batch_ids) == math.ceil(30 / 8) == simulator.stats.batches


def test_batch_costs_are_half_the_standard_price_of_the_same_usage():
    requests = [distinct_request(i) for i in range(6)]
    with running_simulator() as (url, _):
        direct = ModelClient(backend(url))
        batched = ModelClient(batching(url))
        complete_all(direct, requests)
        complete_all(batched, requests)
    assert [r.batch for r in direct.records] == [False] * 6 and [r.batch for r in batched.records] == [True] * 6
    by_trace = {r.trace_id: r for r in direct.records}
    for record in batched.records:
        standard = by_trace[record.trace_id]
        assert (record.input_tokens, record.output_tokens) == (standard.input_tokens, standard.output_tokens)
        assert record.cost_usd == pytest.approx(standard.cost_usd / 2) and record.cost_usd > 0
    assert batched.summary()["cost_usd"] == pytest.approx(direct.summary()["cost_usd"] / 2)


def test_the_discount_also_applies_to_cache_writes_and_reads():
    shared = "You write code for one project; its conventions follow.\n" * 200  # past Sonnet 4.6's 2,048 minimum
    requests = [replace(distinct_request(i), system=shared) for i in range(4)]
    with running_simulator() as (url, _):
        client = ModelClient(batching(url))
        complete_all(client, requests)
    assert sum(r.cache_write_tokens for r in client.records) > 0 and sum(r.cache_read_tokens for r in client.records)
    for r in client.records:
        usage = Usage(r.input_tokens, r.output_tokens, r.cache_write_tokens, r.cache_read_tokens)
        assert r.cost_usd == pytest.approx(cost_usd(MODEL, usage) / 2)


def test_batch_price_table():
    usage = Usage(input_tokens=1000, output_tokens=200, cache_write_tokens=300, cache_read_tokens=400)
    standard = (1000 * 3.0 + 200 * 15.0 + 300 * 3.75 + 400 * 0.30) / 1_000_000
    assert cost_usd(MODEL, usage) == pytest.approx(standard)
    assert cost_usd(MODEL, usage, batch=True) == pytest.approx(standard / 2)


# -- resubmits and failures -------------------------------------------------------------------------


def test_errored_and_expired_requests_are_sent_again_and_succeed():
    requests = [distinct_request(i) for i in range(10)]
    resubmits = 3

    def wanted(settings: SimulatorSettings) -> bool:
        draws = [outcomes(settings, r, resubmits + 1) for r in requests]
        first = [d[0] for d in draws]
        return (
            any(d.startswith("errored") for d in first)
            and "expired" in first
            and all(first_success(d) is not None for d in draws)
        )

    settings = seed_where(wanted, batch_error_rate=0.25, batch_expire_rate=0.25)
    sendings = sum(first_success(outcomes(settings, r, resubmits + 1)) + 1 for r in requests)
    with running_simulator(settings) as (url, simulator):
        model = batching(url, max_resubmits=resubmits)
        answers = complete_all(model, requests)
    assert all(isinstance(a, ModelResponse) for a in answers), answers
    assert all(f"total_{i} = a + b" in a.text for i, a in enumerate(answers))
    results = simulator.stats.batch_results
    assert results["errored"] >= 1 and results["expired"] >= 1 and results["succeeded"] == 10
    assert simulator.stats.batch_requests == sendings  # each sent again exactly until it succeeded
    assert len(model.batch_ids) >= 2


def test_a_request_that_keeps_expiring_fails_clearly_and_the_others_resolve():
    requests = [distinct_request(i) for i in range(8)]
    resubmits = 2

    def wanted(settings: SimulatorSettings) -> bool:
        draws = [outcomes(settings, r, resubmits + 1) for r in requests]
        return draws[3] == ["expired"] * 3 and all(first_success(d) is not None for n, d in enumerate(draws) if n != 3)

    settings = seed_where(wanted, batch_expire_rate=0.5)
    with running_simulator(settings) as (url, simulator):
        model = batching(url, max_resubmits=resubmits)
        answers = complete_all(model, requests)
    failure = answers[3]
    assert isinstance(failure, ModelUnavailableError), failure
    message = str(failure)
    assert "trace a3" in message and "in 3 batches" in message and "expired" in message
    assert sum(batch_id in message for batch_id in model.batch_ids) == 3  # names every batch it was in
    assert all(f"total_{i} = a + b" in a.text for i, a in enumerate(answers) if i != 3)
    assert simulator.stats.batch_results["expired"] >= 3


def test_a_refused_request_fails_at_once_and_is_not_sent_again():
    requests = [distinct_request(i) for i in range(4)]
    requests[2] = replace(requests[2], max_tokens=0)  # the API refuses it: invalid_request_error
    with running_simulator() as (url, simulator):
        model = batching(url)
        answers = complete_all(model, requests)
    assert isinstance(answers[2], ModelUnavailableError) and "invalid_request_error" in str(answers[2])
    assert "not sent again" in str(answers[2]) and model.batch_ids[0] in str(answers[2])
    assert all(isinstance(a, ModelResponse) for i, a in enumerate(answers) if i != 2)
    assert simulator.stats.batches == 1 and simulator.stats.batch_requests == 4


def test_an_unknown_batch_is_a_404_through_the_sdk():
    with running_simulator() as (url, _):
        batches = backend(url).client.messages.batches

        async def ask() -> list[Exception]:
            errors = []
            for call in (batches.retrieve, batches.results):  # results retrieves the batch first
                with pytest.raises(anthropic.NotFoundError) as raised:
                    await call("msgbatch_does_not_exist")
                errors.append(raised.value)
            return errors

        errors = asyncio.run(ask())
    assert all(e.status_code == 404 and e.body["error"]["type"] == "not_found_error" for e in errors)
    assert "msgbatch_does_not_exist" in str(errors[0])


def test_an_api_that_cannot_be_reached_is_a_clear_error():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inner = backend(f"http://127.0.0.1:{port}")
    inner.max_attempts = 2
    answers = complete_all(BatchingBackend(inner, window_s=0.05), [distinct_request(i) for i in range(3)])
    assert all(isinstance(a, ModelUnavailableError) for a in answers), answers
    assert "could not create a Message Batch of 3" in str(answers[0]) and "after 2 attempts" in str(answers[0])


def test_5xx_and_connection_errors_on_create_and_poll_are_retried(monkeypatch):
    requests = [distinct_request(i) for i in range(5)]
    with running_simulator(SimulatorSettings(batch_latency_s=0.1)) as (url, simulator):
        model = batching(url)
        batches = model.inner.client.messages.batches
        failed: list[str] = []

        def failing_once(name: str, error: Exception):
            real = getattr(batches, name)

            async def call(*args, **kwargs):
                if name not in failed:
                    failed.append(name)
                    raise error
                return await real(*args, **kwargs)

            monkeypatch.setattr(batches, name, call)

        request = httpx2.Request("GET", url)
        failing_once(
            "create", anthropic.InternalServerError("down", response=httpx2.Response(503, request=request), body=None)
        )
        failing_once("retrieve", anthropic.APIConnectionError(request=request))
        answers = complete_all(model, requests)
    assert failed == ["create", "retrieve"]
    assert all(f"total_{i} = a + b" in a.text for i, a in enumerate(answers))
    assert simulator.stats.batches == 1


def test_a_batch_that_does_not_end_by_the_deadline_is_canceled_and_its_requests_fail():
    with running_simulator(SimulatorSettings(batch_latency_s=600)) as (url, simulator):
        model = batching(url, deadline_s=0.3)
        answers = complete_all(model, [distinct_request(i) for i in range(3)])
    assert all(isinstance(a, ModelUnavailableError) for a in answers), answers
    assert f"Message Batch {model.batch_ids[0]} did not end within" in str(answers[0])
    assert simulator.stats.batch_results["canceled"] == 3  # canceled, not left running


def test_settings_are_checked():
    with pytest.raises(SettingsError, match="max_batch"):
        BatchingBackend(backend("http://unused"), max_batch=0)
    with pytest.raises(SettingsError, match="poll_s"):
        BatchingBackend(backend("http://unused"), poll_s=0)


# -- the flag kept by the cache and the ledger --------------------------------------------------------


def test_the_response_cache_keeps_the_batch_flag():
    response = ModelResponse("x = 1", MODEL, Usage(10, 2), batch=True)
    assert load_response(dump_response(response)).batch is True
    old_entry = '{"text": "x = 1", "model": "claude-sonnet-4-6", "usage": {"input_tokens": 10}}'
    assert load_response(old_entry).batch is False


def test_cost_events_made_before_the_batch_column_get_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    columns = (sa.Column(c.name, c.type, primary_key=c.primary_key) for c in cost_events.columns if c.name != "batch")
    old = sa.Table("cost_events", sa.MetaData(), *columns)
    old.create(engine)
    row = {"created_at": 1.0, "partition": "p", "run_id": "r", "trace_id": "old", "kind": "write_atom", "model": MODEL}
    with engine.begin() as connection:
        connection.execute(sa.insert(old), [row])
    ledger = Ledger("p", "r", url)
    ledger.record_call(CallRecord("new", "write_atom", MODEL, 100, 20, 0, 0, 0.001, 0.5, False, batch=True))
    assert ledger.warnings == []
    assert [(e["trace_id"], e["batch"]) for e in ledger.costs()] == [("old", False), ("new", True)]
    assert Ledger("p", "r", url).warnings == []  # opening it again finds the column there
    indexed = {tuple(i["column_names"]) for i in sa.inspect(engine).get_indexes("cost_events")}
    assert ("run_id",) in indexed  # the reads by run (a run's spend, the exporter's latest runs) use it
