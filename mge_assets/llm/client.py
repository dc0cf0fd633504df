"""The one way the pipeline calls a model: cache first, then budget, then the backend; every call recorded."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from mge_assets.llm.budget import Budget
from mge_assets.llm.cache import ResponseCache, cache_key, dump_response, load_response
from mge_assets.llm.pricing import cost_usd, estimate_tokens, worst_case_usd
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
    ):
        self.backend = backend
        self.cache = cache
        self.budget = budget or Budget(cap_usd=float("inf"))
        self.on_record = on_record  # e.g. the cost_events table, written as calls happen
        self.records: list[CallRecord] = []
        self._by_trace: dict[str, list[CallRecord]] = {}

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
                )
            )
            raise
        cost = cost_usd(response.model, response.usage, batch=response.batch)
        self.budget.settle(worst, cost)
        if self.cache:
            self.cache.set(key, dump_response(response))
        self._record(request, response, cost)
        return response

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
            )
        )

    def _append(self, record: CallRecord) -> None:
        self.records.append(record)
        self._by_trace.setdefault(record.trace_id, []).append(record)
        if self.on_record is not None:
            self.on_record(record)

    def summary(self) -> dict[str, float | int]:
        """Totals for metadata: calls (cache hits excluded), hits, tokens, cost, errors of calls and of the cache."""
        calls = [r for r in self.records if not r.cached]
        return {
            "model_calls": len(calls),
            "cache_hits": sum(r.cached for r in self.records),
            "input_tokens": sum(r.input_tokens for r in calls),
            "output_tokens": sum(r.output_tokens for r in calls),
            "cost_usd": round(sum(r.cost_usd for r in calls), 6),
            "failed_calls": sum(bool(r.error) for r in calls),
            "cache_errors": int(getattr(self.cache, "errors", 0)),
        }
