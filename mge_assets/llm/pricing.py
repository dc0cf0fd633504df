"""USD per million tokens, per model: input, output, cache write (5 min), cache read; a 1-hour cache
write costs twice the input price. And each model's minimum cacheable prompt length: a prefix shorter
than it is not cached at all (both cache counters read 0).

The Message Batches API bills all usage at half the standard price; the discount stacks with the
prompt-caching multipliers (a cache read in a batch costs half a standard cache read)."""

from __future__ import annotations

from dataclasses import dataclass

from mge_assets.errors import SettingsError
from mge_assets.llm.types import Usage


@dataclass(frozen=True)
class Price:
    input: float
    output: float
    cache_write: float
    cache_read: float
    cache_min_tokens: int = 1024

    @property
    def cache_write_1h(self) -> float:
        return 2 * self.input


PRICES: dict[str, Price] = {
    "offline": Price(0.0, 0.0, 0.0, 0.0),
    "claude-opus-5": Price(5.0, 25.0, 6.25, 0.50, 4096),
    "claude-sonnet-5": Price(2.0, 10.0, 2.50, 0.20, 1024),
    "claude-opus-4-7": Price(5.0, 25.0, 6.25, 0.50, 4096),
    "claude-opus-4-6": Price(5.0, 25.0, 6.25, 0.50, 4096),
    "claude-opus-4-5": Price(5.0, 25.0, 6.25, 0.50, 4096),
    "claude-sonnet-4-6": Price(3.0, 15.0, 3.75, 0.30, 2048),
    "claude-sonnet-4-5": Price(3.0, 15.0, 3.75, 0.30, 1024),
    "claude-haiku-4-5": Price(1.0, 5.0, 1.25, 0.10, 4096),
}
BATCH_DISCOUNT = 0.5  # share of the standard price a Message Batches request pays, on every kind of token


def price_of(model: str) -> Price:
    """The price of a model id; dated ids (`claude-haiku-4-5-20251001`) use their alias's price."""
    for name in (model, model.rsplit("-", 1)[0]):
        if name in PRICES:
            return PRICES[name]
    raise SettingsError(
        f"no price is known for model '{model}', so its spend cannot be capped; use one of "
        f"{', '.join(sorted(PRICES))}, or add it to mge_assets/llm/pricing.py"
    )


def cache_min_tokens(model: str) -> int:
    """The shortest prefix the model caches; 1,024 for a model the table does not know."""
    try:
        return price_of(model).cache_min_tokens
    except SettingsError:
        return 1024


def cost_usd(model: str, usage: Usage, batch: bool = False) -> float:
    """What a call's usage costs; `batch` for an answer of the Message Batches API (half price).
    `cache_write_tokens` holds both TTLs; the 1-hour ones among them cost twice the input price."""
    price = price_of(model)
    write_5m = usage.cache_write_tokens - usage.cache_write_1h_tokens
    standard = (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + write_5m * price.cache_write
        + usage.cache_write_1h_tokens * price.cache_write_1h
        + usage.cache_read_tokens * price.cache_read
    ) / 1_000_000
    return standard * BATCH_DISCOUNT if batch else standard


def worst_case_usd(model: str, input_tokens: int, max_tokens: int) -> float:
    """The most a call can cost: every prompt token written to the cache (MGE asks for the 5-minute TTL
    only), every output token used."""
    price = price_of(model)
    return (input_tokens * max(price.input, price.cache_write) + max_tokens * price.output) / 1_000_000


def estimate_tokens(text: str) -> int:
    """A conservative token estimate (about 3.5 characters a token for code and English)."""
    return max(1, round(len(text) / 3.5))


def prompt_cache_saving_usd(model: str, usage: Usage, batch: bool = False) -> float:
    """What the prompt cache saved on a call against sending every prompt token as plain input: reads
    at the cache-read price instead of the input price, less the premium its writes paid."""
    price = price_of(model)
    write_5m = usage.cache_write_tokens - usage.cache_write_1h_tokens
    saved = (
        usage.cache_read_tokens * (price.input - price.cache_read)
        - write_5m * (price.cache_write - price.input)
        - usage.cache_write_1h_tokens * (price.cache_write_1h - price.input)
    ) / 1_000_000
    return saved * BATCH_DISCOUNT if batch else saved
