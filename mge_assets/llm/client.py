"""The one way the pipeline calls a model: cache first, then budget, then the backend; every call recorded.

With a backend that caches prompts (`prompt_caching`), the first call of a new shared context (the
`system` text) is answered before the calls that share it go out: they then read the provider's prompt
cache instead of all writing it at once."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from mge_assets.llm.budget import Budget
from mge_assets.llm.cache import ResponseCache, cache_key, dump_response, load_response
from mge_assets.llm.pricing import cost_usd, estimate_tokens, prompt_cache_saving_usd, worst_case_usd
from mge_assets.llm.types import ModelBackend, ModelRequest, ModelResponse


@dataclass(frozen=True)
class CallRecord:
    """One answered request: a model call, or a cache hit (`cached`, no cost); `batch` when the answer
    came through the Message Batches API and its cost is the batch price."""

    trace_id: str
    kind: str
    model: str
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    cost_usd: float
    latency_s: float
    cached: bool
    error: str = ""
    batch: bool = False
    stage: str = ""  # the asset (or command) that made the call: discovery_document, atom_results, ...

    def as_row(self) -> dict:
        return asdict(self)


class ModelClient:
    """Wraps a backend with the response cache and the run's budget."""

    def __init__(
        self,
        backend: ModelBackend,
        cache: ResponseCache | None = None,
        budget: Budget | None = None,
        on_record: Callable[[CallRecord], None] | None = None,
        stage: str = "",
    ):
        self.backend = backend
        self.stage = stage
        self.cache = cache
        self.budget = budget or Budget(cap_usd=float("inf"))
        self.on_record = on_record  # e.g. the cost_events table, written as calls happen
        self.records: list[CallRecord] = []
        self._by_trace: dict[str, list[CallRecord]] = {}
        self._prefixes: dict[str, asyncio.Event] = {}  # a shared context -> set once its first call answered
        self.prompt_cache_saved_usd = 0.0

    def records_for(self, trace_id: str) -> list[CallRecord]:
        return self._by_trace.get(trace_id, [])

    @property
    def model(self) -> str:
        return self.backend.model

    async def complete(self, request: ModelRequest) -> ModelResponse:
        key = cache_key(self.backend.model, request)
        hit = self.cache.get(key) if self.cache else None
        if hit is not None:
            response = load_response(hit)
            self._record(request, response, cost=0.0)
            return response
        first_of_prefix = await self._wait_for_prefix(request.system)
        try:
            return await self._ask_backend(request, key)
        finally:
            if first_of_prefix is not None:
                first_of_prefix.set()  # also when the call failed: the others go on, and one of them writes it

    async def _ask_backend(self, request: ModelRequest, key: str) -> ModelResponse:
        worst = worst_case_usd(self.backend.model, estimate_tokens(request.system + request.prompt), request.max_tokens)
        self.budget.reserve(worst)
        started = time.perf_counter()
        try:
            response = await self.backend.complete(request)
        except Exception as error:
            self.budget.settle(worst, 0.0)
            self._append(
                CallRecord(
                    request.trace_id,
                    request.kind,
                    self.backend.model,
                    0,
                    0,
                    0,
                    0,
                    0.0,
                    time.perf_counter() - started,
                    False,
                    f"{type(error).__name__}: {error}",
                    stage=self.stage,
                )
            )
            raise
        cost = cost_usd(response.model, response.usage, batch=response.batch)
        self.prompt_cache_saved_usd += prompt_cache_saving_usd(response.model, response.usage, batch=response.batch)
        self.budget.settle(worst, cost)
        if self.cache:
            self.cache.set(key, dump_response(response))
        self._record(request, response, cost)
        return response

    async def _wait_for_prefix(self, system: str) -> asyncio.Event | None:
        """Wait while the first call of this shared context is out; that first call gets the event to set."""
        if not getattr(self.backend, "prompt_caching", False) or not system:
            return None
        key = hashlib.sha256(system.encode()).hexdigest()
        answered = self._prefixes.get(key)
        if answered is None:
            self._prefixes[key] = answered = asyncio.Event()
            return answered
        await answered.wait()
        return None

    def _record(self, request: ModelRequest, response: ModelResponse, cost: float) -> None:
        u = response.usage
        self._append(
            CallRecord(
                request.trace_id,
                request.kind,
                response.model,
                u.input_tokens,
                u.output_tokens,
                u.cache_write_tokens,
                u.cache_read_tokens,
                cost,
                response.latency_s,
                response.cached,
                batch=response.batch,
                stage=self.stage,
            )
        )

    def _append(self, record: CallRecord) -> None:
        self.records.append(record)
        self._by_trace.setdefault(record.trace_id, []).append(record)
        if self.on_record is not None:
            self.on_record(record)

    def summary(self) -> dict[str, float | int]:
        """Totals for metadata: calls (cache hits excluded), hits, tokens (prompt-cache writes and reads
        apart from `input_tokens`, as the API counts them), cost, errors of calls and of the cache."""
        calls = [r for r in self.records if not r.cached]
        return {
            "model_calls": len(calls),
            "cache_hits": sum(r.cached for r in self.records),
            "input_tokens": sum(r.input_tokens for r in calls),
            "output_tokens": sum(r.output_tokens for r in calls),
            "cache_write_tokens": sum(r.cache_write_tokens for r in calls),
            "cache_read_tokens": sum(r.cache_read_tokens for r in calls),
            "cost_usd": round(sum(r.cost_usd for r in calls), 6),
            "prompt_cache_saved_usd": round(self.prompt_cache_saved_usd, 6),
            "failed_calls": sum(bool(r.error) for r in calls),
            "cache_errors": int(getattr(self.cache, "errors", 0)),
        }
