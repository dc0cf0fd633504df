"""Anthropic's prompt caching, as the Messages API documents it, for the simulator's `usage`.

- A request is read as one sequence of blocks in the API's order: tools, then system, then messages.
  A block with `cache_control` is a breakpoint; the entry it writes is keyed by the exact bytes of
  every block up to and including it (model included), so a changed byte anywhere before it is a miss.
- At most 4 breakpoints; `ttl` is "5m" (the default) or "1h", and a 1-hour breakpoint may not come
  after a 5-minute one. Either mistake is the API's 400.
- A prefix shorter than the model's minimum cacheable length (the price table's `cache_min_tokens`)
  is not cached: no write, no read, no error.
- The longest live prefix is read (and its TTL refreshed); the tokens after it up to the last cacheable
  breakpoint are written, each stretch at the TTL of the breakpoint that ends it.
- An entry can be read only by requests that arrive after the answer that wrote it: calls sent together
  with a new prefix all write it.

Simplification: hits are looked up at the breakpoints only (the API also looks back up to 20 blocks
before each); MGE puts its breakpoint at the end of the shared context, where both agree.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mge_assets.llm.pricing import cache_min_tokens

MAX_BREAKPOINTS = 4
TTL_S = {"5m": 300.0, "1h": 3600.0}


class CacheControlError(ValueError):
    """A request the API refuses (400) for its cache_control blocks."""


@dataclass(frozen=True)
class Block:
    """One block of a request as the cache sees it: its canonical bytes, its text, its breakpoint TTL."""

    material: str
    text: str
    ttl: str | None  # None: not a breakpoint


def request_blocks(body: dict[str, Any]) -> list[Block]:
    """The blocks of a Messages request body in cache order: tools, system, then each message's content."""
    blocks = [_block("tool", tool, json.dumps(tool, sort_keys=True)) for tool in body.get("tools") or []]
    blocks += [_block("system", b, b.get("text", "")) for b in _content_blocks(body.get("system", ""))]
    for message in body.get("messages", []):
        where = str(message.get("role", ""))
        blocks += [_block(where, b, b.get("text", "")) for b in _content_blocks(message.get("content", ""))]
    return blocks


def _content_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _block(where: str, raw: dict[str, Any], text: str) -> Block:
    control = raw.get("cache_control")
    ttl = None
    if isinstance(control, dict):
        ttl = str(control.get("ttl", "5m"))
        if control.get("type") != "ephemeral" or ttl not in TTL_S:
            raise CacheControlError(f"cache_control must be {{'type': 'ephemeral', 'ttl': '5m' | '1h'}}, not {control}")
    content = {k: v for k, v in raw.items() if k != "cache_control"}
    material = json.dumps({"in": where, "block": content}, sort_keys=True, ensure_ascii=False)
    return Block(material, text, ttl)


class PromptCache:
    """The simulated API's prompt cache: prefix digests and when each expires."""

    def __init__(self, chars_per_token: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.chars_per_token = chars_per_token
        self.clock = clock
        self.expires: dict[str, float] = {}
        self.written_at: dict[str, float] = {}

    def usage(
        self, model: str, blocks: list[Block], input_tokens: int, output_tokens: int, arrived_at: float | None = None
    ) -> dict[str, Any]:
        """The `usage` of one request answered now, sent at `arrived_at` (default now): the prefix read
        or written, and the rest as input."""
        breakpoints = self._breakpoints(model, blocks)
        now = self.clock()
        sent = now if arrived_at is None else arrived_at
        read_at = next((i for i in range(len(breakpoints) - 1, -1, -1) if self._live(breakpoints[i][1], sent)), None)
        read = 0
        written = {"5m": 0, "1h": 0}
        start = 0
        if read_at is not None:
            read, key, ttl = breakpoints[read_at]
            self.expires[key] = now + TTL_S[ttl]
            start = read
        for tokens, key, ttl in breakpoints[(read_at + 1) if read_at is not None else 0 :]:
            written[ttl] += tokens - start
            start = tokens
            if not self._live(key, now):
                self.written_at[key] = now
            self.expires[key] = now + TTL_S[ttl]
        write = written["5m"] + written["1h"]
        return {
            "input_tokens": max(0, input_tokens - read - write),
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": write,
            "cache_read_input_tokens": read,
            "cache_creation": {"ephemeral_5m_input_tokens": written["5m"], "ephemeral_1h_input_tokens": written["1h"]},
        }

    def _live(self, key: str, sent: float) -> bool:
        """Whether a request sent at `sent` can read the entry: written before it, and not expired."""
        return self.written_at.get(key, float("inf")) <= sent < self.expires.get(key, 0.0)

    def _breakpoints(self, model: str, blocks: list[Block]) -> list[tuple[int, str, str]]:
        """(tokens up to it, prefix digest, ttl) of each breakpoint long enough to be cached; refuses
        the request as the API does for too many breakpoints or a 1-hour one after a 5-minute one."""
        marked = [i for i, b in enumerate(blocks) if b.ttl is not None]
        if len(marked) > MAX_BREAKPOINTS:
            raise CacheControlError(
                f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {len(marked)}."
            )
        ttls = [blocks[i].ttl for i in marked]
        if "5m" in ttls and "1h" in ttls[ttls.index("5m") :]:
            raise CacheControlError("a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block")
        minimum = cache_min_tokens(model)
        digest = hashlib.sha256(model.encode())
        text = ""
        found = []
        for block in blocks:
            digest.update(block.material.encode() + b"\0")
            text += block.text
            if block.ttl is not None:
                tokens = max(1, math.ceil(len(text) / self.chars_per_token))
                if tokens >= minimum:
                    found.append((tokens, digest.copy().hexdigest(), block.ttl))
        return found
