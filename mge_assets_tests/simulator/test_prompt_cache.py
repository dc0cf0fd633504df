"""The simulator's prompt cache follows the API's documented rules: the minimum cacheable length per
model, the exact prefix (tools → system → messages), the 5-minute and 1-hour TTLs, at most 4 breakpoints."""

import pytest

from mge_assets.llm.pricing import cache_min_tokens, cost_usd
from mge_assets.llm.types import Usage
from mge_assets.simulator.prompt_cache import CacheControlError, PromptCache, request_blocks

EPHEMERAL = {"type": "ephemeral"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def body(system: str, prompt: str = "question", ttl: str | None = None, tools: list | None = None) -> dict:
    control = {**EPHEMERAL, **({"ttl": ttl} if ttl else {})}
    request = {
        "system": [{"type": "text", "text": system, "cache_control": control}],
        "messages": [{"role": "user", "content": prompt}],
    }
    return request | ({"tools": tools} if tools else {})


def ask(cache: PromptCache, request: dict, model: str = "claude-sonnet-4-5") -> dict:
    blocks = request_blocks(request)
    total = sum(len(b.text) for b in blocks) // 4
    return cache.usage(model, blocks, total, 10)


@pytest.mark.parametrize(
    ("model", "minimum"),
    [
        ("claude-opus-4-5", 4096),
        ("claude-opus-4-7", 4096),
        ("claude-haiku-4-5", 4096),
        ("claude-haiku-4-5-20251001", 4096),
        ("claude-sonnet-4-6", 2048),
        ("claude-sonnet-4-5", 1024),
    ],
)
def test_a_prefix_below_the_models_minimum_is_not_cached_and_one_at_it_is(model: str, minimum: int) -> None:
    assert cache_min_tokens(model) == minimum
    cache = PromptCache(4.0, Clock())
    short = body("s" * (4 * minimum - 4))  # one token short
    for _ in range(2):  # neither written nor, the second time, read
        usage = ask(cache, short, model)
        assert usage["cache_creation_input_tokens"] == usage["cache_read_input_tokens"] == 0
    exact = body("s" * (4 * minimum))
    assert ask(cache, exact, model)["cache_creation_input_tokens"] == minimum
    assert ask(cache, exact, model)["cache_read_input_tokens"] == minimum


def test_a_changed_byte_before_the_breakpoint_misses_and_after_it_hits() -> None:
    cache = PromptCache(4.0, Clock())
    system = "shared context " * 400
    first = ask(cache, body(system, "the first atom"))
    assert first["cache_creation_input_tokens"] > 1024 and first["cache_read_input_tokens"] == 0
    other_prompt = ask(cache, body(system, "another atom, after the breakpoint"))
    assert other_prompt["cache_read_input_tokens"] == first["cache_creation_input_tokens"]
    assert other_prompt["cache_creation_input_tokens"] == 0
    changed = ask(cache, body(system.replace("shared", "Shared", 1), "the first atom"))
    assert changed["cache_read_input_tokens"] == 0 and changed["cache_creation_input_tokens"] > 0
    tools = [{"name": "lookup", "description": "d", "input_schema": {"type": "object"}}]
    with_tool = ask(cache, body(system, "the first atom", tools=tools))  # tools come before the system
    assert with_tool["cache_read_input_tokens"] == 0 and with_tool["cache_creation_input_tokens"] > 0


def test_entries_expire_after_their_ttl_unless_read_and_the_1h_write_costs_twice_the_input() -> None:
    clock = Clock()
    cache = PromptCache(4.0, clock)
    system = "x" * 8000
    written = ask(cache, body(system))
    assert written["cache_creation"] == {"ephemeral_5m_input_tokens": 2000, "ephemeral_1h_input_tokens": 0}
    clock.now += 299
    assert ask(cache, body(system))["cache_read_input_tokens"] == 2000  # a read refreshes the 5 minutes
    clock.now += 299
    assert ask(cache, body(system))["cache_read_input_tokens"] == 2000
    clock.now += 301
    assert ask(cache, body(system))["cache_read_input_tokens"] == 0
    long = ask(cache, body("y" * 8000, ttl="1h"))
    assert long["cache_creation"] == {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 2000}
    clock.now += 3000
    assert ask(cache, body("y" * 8000, ttl="1h"))["cache_read_input_tokens"] == 2000
    usage = Usage(input_tokens=0, cache_write_tokens=2000, cache_write_1h_tokens=2000)
    assert cost_usd("claude-sonnet-4-5", usage) == pytest.approx(2000 * 6.0 / 1e6)
    assert cost_usd("claude-sonnet-4-5", Usage(cache_write_tokens=2000)) == pytest.approx(2000 * 3.75 / 1e6)


def test_the_longest_live_prefix_is_read_and_the_rest_written_at_its_breakpoints_ttl() -> None:
    cache = PromptCache(4.0, Clock())
    contract = {"type": "text", "text": "c" * 8000, "cache_control": {**EPHEMERAL, "ttl": "1h"}}
    domain = {"type": "text", "text": "d" * 4000, "cache_control": EPHEMERAL}
    request = {"system": [contract, domain], "messages": [{"role": "user", "content": "q"}]}
    assert ask(cache, request)["cache_creation"] == {
        "ephemeral_5m_input_tokens": 1000,
        "ephemeral_1h_input_tokens": 2000,
    }
    other_domain = {**domain, "text": "e" * 4000}
    usage = ask(cache, {**request, "system": [contract, other_domain]})
    assert usage["cache_read_input_tokens"] == 2000 and usage["cache_creation_input_tokens"] == 1000


def test_more_than_four_breakpoints_or_a_1h_after_a_5m_is_refused_like_the_api() -> None:
    cache = PromptCache(4.0, Clock())
    five = [{"type": "text", "text": f"part {i}", "cache_control": EPHEMERAL} for i in range(5)]
    with pytest.raises(
        CacheControlError, match=r"A maximum of 4 blocks with cache_control may be provided\. Found 5\."
    ):
        ask(cache, {"system": five, "messages": []})
    mixed = [five[0], {"type": "text", "text": "later", "cache_control": {**EPHEMERAL, "ttl": "1h"}}]
    with pytest.raises(CacheControlError, match="must not come after"):
        ask(cache, {"system": mixed, "messages": []})
    with pytest.raises(CacheControlError, match="ephemeral"):
        request_blocks({"system": [{"type": "text", "text": "t", "cache_control": {"type": "forever"}}]})
