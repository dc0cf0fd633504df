"""The `anthropic` backend through the real SDK against the simulator: 429s waited out, 529/500 retried,
bad answers turned into failed attempts, and the hard cap held with many calls in flight."""

import asyncio

import pytest

from mge_assets.errors import BudgetExceededError, ModelOutputError
from mge_assets.llm import Budget, ModelClient, ModelRequest
from mge_assets.llm.anthropic_backend import AnthropicBackend
from mge_assets.llm.envelope import embed
from mge_assets.llm.governor import RateGovernor
from mge_assets.simulator import SimulatorSettings, running_simulator

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
    settings = SimulatorSettings(latency_mean_s=0.2, latency_p95_s=0.4, seed=1)
    with running_simulator(settings) as (url, _):
        model = backend(url, initial=in_flight, maximum=in_flight)
        one_call_worst = 0.0045  # about what one of these calls may cost (input estimate + 256 output tokens)
        budget = Budget(cap_usd=one_call_worst * in_flight / 3)
        client = ModelClient(model, budget=budget)

        async def call(i: int) -> str:
            try:
                await client.complete(atom_request(f"a{i}"))
                return "answered"
            except BudgetExceededError:
                return "refused"

        async def many():
            return await asyncio.gather(*(call(i) for i in range(in_flight)))

        outcomes = asyncio.run(many())
    spent = sum(r.cost_usd for r in client.records)
    assert outcomes.count("refused") > 0 and outcomes.count("answered") > 0
    assert spent <= budget.cap_usd
    assert budget.spent_usd == pytest.approx(spent) and budget.reserved_usd == pytest.approx(0.0, abs=1e-12)
