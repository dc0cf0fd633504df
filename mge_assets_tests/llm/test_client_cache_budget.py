"""The model client: answers cached (Redis, or disk when Redis is absent or down), spend capped, garbage refused."""

import asyncio
from pathlib import Path

import pytest

from mge_assets.errors import BudgetExceededError, ModelOutputError, SettingsError
from mge_assets.llm import Budget, ModelClient, ModelRequest, ModelResponse, Usage
from mge_assets.llm.answers import code_block, files, json_object
from mge_assets.llm.anthropic_backend import AnthropicBackend
from mge_assets.llm.cache import DiskCache, RedisCache, cache_key, open_cache
from mge_assets.llm.envelope import embed, extract
from mge_assets.llm.pricing import cost_usd, price_of


class CountingBackend:
    """Answers every prompt with a fixed text and counts the calls; priced like a real model."""

    name = "fake"
    model = "claude-haiku-4-5"

    def __init__(self, text: str = "```python\nx = 1\n```") -> None:
        self.text = text
        self.calls = 0

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.calls += 1
        await asyncio.sleep(0)
        return ModelResponse(self.text, self.model, Usage(input_tokens=1000, output_tokens=200))


def _request(prompt: str = "write x") -> ModelRequest:
    return ModelRequest(kind="write_atom", system="context", prompt=prompt, max_tokens=500)


def test_identical_calls_are_answered_once_from_the_disk_cache(tmp_path: Path) -> None:
    backend = CountingBackend()
    client = ModelClient(backend, cache=open_cache(None, tmp_path))
    first = asyncio.run(client.complete(_request()))
    second = asyncio.run(client.complete(_request()))
    other = asyncio.run(client.complete(_request("write y")))
    assert backend.calls == 2
    assert (first.cached, second.cached, other.cached) == (False, True, False)
    assert client.summary()["model_calls"] == 2 and client.summary()["cache_hits"] == 1
    assert client.summary()["cost_usd"] == pytest.approx(2 * cost_usd("claude-haiku-4-5", Usage(1000, 200)))


def test_cache_key_covers_model_system_prompt_temperature_and_max_tokens() -> None:
    base = _request()
    variants = [
        cache_key("other-model", base),
        cache_key("m", ModelRequest("write_atom", "other", base.prompt, max_tokens=500)),
        cache_key("m", ModelRequest("write_atom", "context", "other", max_tokens=500)),
        cache_key("m", ModelRequest("write_atom", "context", base.prompt, temperature=0.3, max_tokens=500)),
        cache_key("m", ModelRequest("write_atom", "context", base.prompt, max_tokens=501)),
    ]
    assert len({cache_key("m", base), *variants}) == 6


def test_a_redis_that_is_down_costs_a_warning_and_the_disk_takes_over(tmp_path: Path) -> None:
    cache = open_cache("redis://127.0.0.1:1/0", tmp_path)  # nothing listens on port 1
    backend = CountingBackend()
    client = ModelClient(backend, cache=cache)
    asyncio.run(client.complete(_request()))
    asyncio.run(client.complete(_request()))
    assert backend.calls == 1
    assert len(cache.warnings) == 1 and "going on with the disk cache" in cache.warnings[0]
    assert client.summary()["cache_errors"] == 1  # what the stage's metadata and mge_cache_errors report
    assert "redis://127.0.0.1:1/0" in cache.warnings[0]


def test_redis_cache_round_trip_on_the_local_server(redis_url: str, tmp_path: Path) -> None:
    import uuid

    cache = open_cache(redis_url, tmp_path)
    backend = CountingBackend(text=f"```python\nx = '{uuid.uuid4()}'\n```")
    request = _request(prompt=f"unique {uuid.uuid4()}")
    client = ModelClient(backend, cache=cache)
    asyncio.run(client.complete(request))
    assert RedisCache(redis_url, 60).get(cache_key(backend.model, request)) is not None
    again = asyncio.run(ModelClient(CountingBackend(), cache=open_cache(redis_url, tmp_path / "x")).complete(request))
    assert again.cached and again.text == backend.text
    assert not list(tmp_path.rglob("*.json"))  # Redis was used, not the disk
    assert not cache.warnings


def test_disk_cache_entries_expire(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, ttl_s=-1)
    cache.set("k" * 64, "v")
    assert cache.get("k" * 64) is None


def test_a_call_that_could_pass_the_hard_cap_is_refused_before_it_is_sent() -> None:
    backend = CountingBackend()
    client = ModelClient(backend, budget=Budget(cap_usd=0.004))
    asyncio.run(client.complete(_request()))  # worst case about $0.0027
    with pytest.raises(BudgetExceededError, match=r"hard cap of \$0\.00"):
        asyncio.run(client.complete(_request("another")))
    assert backend.calls == 1
    assert client.budget.spent_usd <= client.budget.cap_usd


def test_reservations_hold_the_cap_with_many_calls_in_flight() -> None:
    backend = CountingBackend()
    client = ModelClient(backend, budget=Budget(cap_usd=0.02))

    async def many() -> list[object]:
        calls = [client.complete(_request(f"p{i}")) for i in range(50)]
        return await asyncio.gather(*calls, return_exceptions=True)

    outcomes = asyncio.run(many())
    refused = [o for o in outcomes if isinstance(o, BudgetExceededError)]
    assert refused and backend.calls == 50 - len(refused)
    assert client.budget.spent_usd <= 0.02


def test_soft_cap_warns_once() -> None:
    budget = Budget(cap_usd=1.0)
    budget.reserve(0.5)
    budget.settle(0.5, 0.5)
    budget.reserve(0.3)
    budget.settle(0.3, 0.3)
    budget.reserve(0.1)
    budget.settle(0.1, 0.1)
    assert len(budget.warnings) == 1 and "soft cap" in budget.warnings[0]


@pytest.mark.parametrize(
    ("reader", "answer", "problem"),
    [
        (code_block, "no code at all", "exactly one fenced code block"),
        (code_block, "```python\na\n```\n```python\nb\n```", "found 2"),
        (files, "```python\nx\n```", '<file path="...">'),
        (files, '<file path="a.py">\nx\n</file>\n<file path="a.py">\ny\n</file>', "same file twice"),
        (json_object, "{not json", "not valid JSON"),
        (json_object, "[1, 2]", "not an object"),
    ],
)
def test_garbage_answers_are_model_output_errors(reader, answer: str, problem: str) -> None:
    with pytest.raises(ModelOutputError, match=problem):
        reader(answer)


def test_envelope_round_trip_and_missing_envelope() -> None:
    payload = extract("system " + embed("context", {"a": 1}), "prompt " + embed("write_atom", {"b": "</x>"}))
    assert payload == {"kind": "write_atom", "a": 1, "b": "</x>"}
    with pytest.raises(ModelOutputError, match="no <mge-task> envelope"):
        extract("just words")


def test_anthropic_backend_without_a_key_is_a_clear_settings_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(SettingsError, match="ANTHROPIC_API_KEY"):
        AnthropicBackend(api_key=None, model="claude-sonnet-4-6")


def test_unknown_models_have_no_price_and_dated_ids_use_their_alias() -> None:
    assert price_of("claude-haiku-4-5-20251001") == price_of("claude-haiku-4-5")
    with pytest.raises(SettingsError, match="no price is known for model 'gpt-9'"):
        price_of("gpt-9")


class WithoutWarmUp(ModelClient):
    """Every call goes out at once, as before the first call of a context was let through alone."""

    async def _wait_for_prefix(self, system: str) -> None:
        return None


@pytest.mark.parametrize("warm_up", [True, False])
def test_the_first_call_of_a_shared_context_is_answered_before_the_others_go_out(warm_up: bool) -> None:
    from mge_assets.llm.governor import RateGovernor
    from mge_assets.simulator import SimulatorSettings, running_simulator
    from mge_assets_tests.simulator.test_sdk_paths import atom_request

    shared = "The shared context of every call of the run.\n" * 200  # ~2,300 tokens: Sonnet 4.6 caches it

    async def ask_together(client: ModelClient) -> None:
        requests = [atom_request(f"a{i}") for i in range(6)]
        await asyncio.gather(*(client.complete(ModelRequest(**{**vars(r), "system": shared})) for r in requests))

    with running_simulator(SimulatorSettings(latency_mean_s=0.2)) as (url, _simulator):
        governor = RateGovernor(initial=8, maximum=8)  # all six may be in flight at once
        backend = AnthropicBackend("test-key", "claude-sonnet-4-6", base_url=url, governor=governor)
        client = ModelClient(backend) if warm_up else WithoutWarmUp(backend)
        asyncio.run(ask_together(client))
    writes = [r for r in client.records if r.cache_write_tokens]
    reads = [r for r in client.records if r.cache_read_tokens]
    if warm_up:
        assert len(writes) == 1 and len(reads) == 5
        assert client.summary()["prompt_cache_saved_usd"] > 0
    else:
        assert len(writes) == 6 and not reads
