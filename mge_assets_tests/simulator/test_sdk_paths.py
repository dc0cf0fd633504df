"""The `anthropic` backend through the real SDK against the simulator: 429s waited out, 529/500 retried,
bad answers turned into failed attempts, and the hard cap held with many calls in flight."""

import asyncio
import itertools
import time
from dataclasses import replace

import pytest

from mge_assets.errors import BudgetExceededError, ModelOutputError
from mge_assets.llm import Budget, ModelClient, ModelRequest
from mge_assets.llm.anthropic_backend import AnthropicBackend
from mge_assets.llm.envelope import embed
from mge_assets.llm.governor import RateGovernor
from mge_assets.llm.pricing import estimate_tokens, worst_case_usd
from mge_assets.simulator import Simulator, SimulatorSettings, running_simulator

DRAFT = "def add(a: int, b: int) -> int:\n    total = a + b\n    return total\n"


def atom_request(atom_id: str, feedback: bool = False) -> ModelRequest:
    payload = {
        "atom": {"id": atom_id, "file": "m.py", "kind": "function", "symbol": "add"},
        "draft": DRAFT,
        "feedback": feedback,
    }
    return ModelRequest(
        "write_atom", "You write code.", "Write it.\n" + embed("write_atom", payload), max_tokens=256, trace_id=atom_id
    )


def backend(url: str, **governor) -> AnthropicBackend:
    return AnthropicBackend(
        "test-key", "claude-sonnet-4-6", base_url=url, max_wait_s=5, governor=RateGovernor(**governor)
    )


def test_answers_with_usage_like_the_api():
    with running_simulator() as (url, simulator):
        response = asyncio.run(backend(url).complete(atom_request("a")))
    assert "def add" in response.text
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert simulator.stats.by_kind["write_atom"] == 1


def test_429_is_waited_out_and_no_call_is_sent_before_retry_after():
    settings = SimulatorSettings(requests_per_minute=120, burst_s=0.5)  # one request in the bucket, 2 a second
    with running_simulator(settings) as (url, simulator):
        client = backend(url, initial=6, maximum=6)

        async def many():
            return await asyncio.gather(*(client.complete(atom_request(f"a{i}")) for i in range(6)))

        answers = asyncio.run(many())
    assert len(answers) == 6 and all("def add" in a.text for a in answers)
    assert simulator.stats.status[429] >= 1 and client.governor.stats.throttled >= 1
    assert simulator.stats.early_requests == 0
    # each refused request came back only after the retry-after it was given (at least 1 s here)
    assert simulator.stats.early_retries == 0
    assert len(simulator.stats.retry_gaps_s["429"]) == simulator.stats.status[429]
    assert min(simulator.stats.retry_gaps_s["429"]) >= 1.0


@pytest.mark.parametrize(("status", "rates"), [(529, {"overload_rate": 0.5}), (500, {"error_rate": 0.5})])
def test_529_and_500_are_retried_with_backoff(status, rates):
    with running_simulator(SimulatorSettings(**rates)) as (url, simulator):
        client = backend(url, initial=4)

        async def many():
            return await asyncio.gather(*(client.complete(atom_request(f"a{i}")) for i in range(8)))

        answers = asyncio.run(many())
    assert len(answers) == 8
    assert simulator.stats.status[status] >= 1
    assert client.governor.stats.overloaded == simulator.stats.status[status]
    gaps = simulator.stats.retry_gaps_s[str(status)]
    assert len(gaps) == simulator.stats.status[status]  # every refused request was sent again ...
    assert min(gaps) >= 0.5  # ... after a backoff (0.5 s, doubling, plus jitter), never at once


def test_the_same_request_takes_the_same_time_and_latency_is_lognormal():
    simulator = Simulator(SimulatorSettings(latency_mean_s=1.0, latency_p95_s=2.5, seed=3))
    draws = sorted(simulator._latency(f"request {i}") for i in range(4000))
    assert simulator._latency("request 7") == simulator._latency("request 7")
    assert Simulator(SimulatorSettings(latency_mean_s=1.0, seed=4))._latency("request 7") != draws[7]
    assert sum(draws) / len(draws) == pytest.approx(1.0, rel=0.05)
    assert draws[int(0.95 * len(draws))] == pytest.approx(2.5, rel=0.1)


def test_an_answer_takes_its_generation_time_on_top_of_the_latency():
    with running_simulator(SimulatorSettings(output_tokens_per_s=20.0)) as (url, _):
        began = time.perf_counter()
        response = asyncio.run(backend(url).complete(atom_request("a")))
        elapsed = time.perf_counter() - began
    assert response.usage.output_tokens >= 15  # so that its generation takes most of a second
    assert elapsed >= response.usage.output_tokens / 20.0


def test_an_empty_answer_is_a_model_output_error():
    with (
        running_simulator(SimulatorSettings(empty_rate=1.0)) as (url, _),
        pytest.raises(ModelOutputError, match="empty answer"),
    ):
        asyncio.run(backend(url).complete(atom_request("a")))


def test_temperature_is_refused_like_the_current_api():
    import anthropic

    with running_simulator() as (url, _):
        sdk = anthropic.Anthropic(api_key="k", base_url=url, max_retries=0)
        with pytest.raises(anthropic.BadRequestError, match="temperature"):
            sdk.messages.create(
                model="claude-sonnet-4-6",
                max_tokens=10,
                messages=[{"role": "user", "content": "x"}],
                extra_body={"temperature": 0.5},
            )


@pytest.mark.parametrize("in_flight", [50, 100])
def test_hard_cap_holds_with_many_calls_in_flight(in_flight):
    """Every worker calls until the budget refuses it; the cap leaves room for all of them at the
    start, so they are in flight together, and spend runs up against the cap."""
    settings = SimulatorSettings(latency_mean_s=0.1, latency_p95_s=0.2, seed=1)
    request = atom_request("a")
    worst = worst_case_usd("claude-sonnet-4-6", estimate_tokens(request.system + request.prompt), request.max_tokens)
    budget = Budget(cap_usd=worst * in_flight * 1.5)
    with running_simulator(settings) as (url, _):
        model = backend(url, initial=in_flight, maximum=in_flight)
        client = ModelClient(model, budget=budget)

        async def worker(i: int) -> int:
            for call in itertools.count():
                try:
                    await client.complete(replace(atom_request(f"a{i}"), prompt=f"{request.prompt} {call}"))
                except BudgetExceededError:
                    return call

        async def many():
            calls = await asyncio.gather(*(worker(i) for i in range(in_flight)))
            await model.client.close()
            return calls

        calls = asyncio.run(many())
    spent = sum(r.cost_usd for r in client.records)
    assert model.governor.stats.peak_in_flight == in_flight
    assert sum(calls) > 2 * in_flight  # spend came from many rounds of calls, not one
    # the last refusal came when spend, what was in flight and one more worst case passed the cap:
    # so spend got within `in_flight` worst cases of it (without reservations it ends about 7% over)
    assert budget.cap_usd - in_flight * worst < spent <= budget.cap_usd
    assert budget.spent_usd == pytest.approx(spent) and budget.reserved_usd == pytest.approx(0.0, abs=1e-12)


def test_an_atom_asked_anew_is_drawn_again_while_a_fresh_simulator_repeats_its_first_draws():
    settings = SimulatorSettings(defect_rate=0.5, seed=3)
    atoms = [f"a{i}" for i in range(16)]

    def first_run(simulator_settings: SimulatorSettings, runs: int) -> list[dict[str, str]]:
        with running_simulator(simulator_settings) as (url, simulator):
            client = backend(url)
            drawn = []
            for _ in range(runs):  # each run asks every atom once, as a repeat with nothing cached does
                before = dict(simulator.stats.defective_atoms)
                simulator.stats.defective_atoms.clear()

                async def ask_all() -> None:
                    await asyncio.gather(*(client.complete(atom_request(atom)) for atom in atoms))

                asyncio.run(ask_all())
                drawn.append(dict(simulator.stats.defective_atoms))
                simulator.stats.defective_atoms.update(before)
            return drawn

    first, second = first_run(settings, runs=2)
    assert first and second and first != second  # the second repeat is a new draw
    [again] = first_run(settings, runs=1)
    assert again == first  # a fresh simulator with the same seed starts from the same draws
