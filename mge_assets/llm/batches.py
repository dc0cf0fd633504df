"""Calls that can wait (canaries) through the Message Batches API, at half the standard price.

`BatchingBackend` is a ModelBackend over an `AnthropicBackend`: same SDK client, model, max_tokens and
parameters (the shared context marked for prompt caching), same conversion of a Message into a
ModelResponse. Callers of `complete()` — the engine runs many at once, each in its own asyncio task —
are queued; a collector sends what gathered within `window_s` (or `max_batch` of it, at once) as one
batch, polls it until it has ended, streams its results and gives each caller the result whose
`custom_id` is theirs. Every answer is marked `batch`, so its cost is recorded at the batch price.

A result `errored` with a retryable error (api_error, overloaded_error), or `expired`, is sent again in
a later batch, up to `max_resubmits` times; any other error fails that request at once. An API that
cannot be reached, or answers 429/5xx, is retried with the inner backend's backoff. A failure only
ever fails the requests it concerns: the others' results still resolve.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import anthropic

from mge_assets.errors import MgeError, ModelOutputError, ModelUnavailableError, SettingsError
from mge_assets.llm.anthropic_backend import MAX_THROTTLES, RETRYABLE_STATUS, AnthropicBackend
from mge_assets.llm.types import ModelRequest, ModelResponse

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRYABLE_ERRORS = frozenset({"api_error", "overloaded_error"})
MAX_BATCH = 100_000  # the API's limit on requests in one batch
POLL_GROWTH = 1.5  # each poll waits this much longer than the last, up to max_poll_s


@dataclass(eq=False)
class Queued:
    """One caller's request and the future it waits on; `batches` are the ids it was sent in."""

    custom_id: str
    request: ModelRequest
    future: asyncio.Future[ModelResponse]
    queued_at: float
    batches: list[str] = field(default_factory=list)


class BatchingBackend:
    """Claude through the Message Batches API; construct it over the AnthropicBackend a run would use."""

    name = "anthropic-batch"

    def __init__(
        self,
        inner: AnthropicBackend,
        window_s: float = 2.0,
        poll_s: float = 5.0,
        max_poll_s: float = 60.0,
        max_batch: int = 10_000,
        max_resubmits: int = 3,
        deadline_s: float = 24 * 3600 + 600,
    ) -> None:
        if window_s < 0 or poll_s <= 0 or max_poll_s < poll_s or deadline_s <= 0:
            raise SettingsError(
                f"batch timings must be window_s >= 0, 0 < poll_s <= max_poll_s and deadline_s > 0, not "
                f"window_s={window_s}, poll_s={poll_s}, max_poll_s={max_poll_s}, deadline_s={deadline_s}"
            )
        if not 1 <= max_batch <= MAX_BATCH or max_resubmits < 0:
            raise SettingsError(
                f"max_batch must be between 1 and {MAX_BATCH} and max_resubmits at least 0, not "
                f"max_batch={max_batch}, max_resubmits={max_resubmits}"
            )
        self.inner = inner
        self.model = inner.model
        self.window_s = window_s
        self.poll_s = poll_s
        self.max_poll_s = max_poll_s
        self.max_batch = max_batch
        self.max_resubmits = max_resubmits
        self.deadline_s = deadline_s
        self.batch_ids: list[str] = []  # every batch created, in order (for reports and tests)
        self._numbers = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: list[Queued] = []
        self._full = asyncio.Event()
        self._collector: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Queue the request for the next batch and wait for its own result."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (asyncio.run again): what the old one held is gone
            self._loop, self._queue, self._full, self._collector = loop, [], asyncio.Event(), None
        queued = Queued(self._custom_id(request), request, loop.create_future(), time.perf_counter())
        self._enqueue(queued)
        return await queued.future

    # -- gathering requests into batches --------------------------------------------------------

    def _custom_id(self, request: ModelRequest) -> str:
        """Unique per queued request (a number), readable in the API's console (the trace id)."""
        trace = re.sub(r"[^A-Za-z0-9_-]+", "-", request.trace_id)
        return f"{next(self._numbers):06d}-{trace}"[:64].rstrip("-")

    def _enqueue(self, queued: Queued) -> None:
        self._queue.append(queued)
        if len(self._queue) >= self.max_batch:
            self._full.set()
        if self._collector is None:
            self._collector = asyncio.get_running_loop().create_task(self._collect())

    async def _collect(self) -> None:
        """Flush the queue into batches: after `window_s`, or at once when `max_batch` are waiting."""
        try:
            while self._queue:
                if len(self._queue) < self.max_batch:
                    self._full.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._full.wait(), self.window_s)
                group = [q for q in self._queue[: self.max_batch] if not q.future.done()]
                del self._queue[: self.max_batch]
                if group:
                    task = asyncio.get_running_loop().create_task(self._run(group))
                    self._running.add(task)
                    task.add_done_callback(self._running.discard)
        finally:
            self._collector = None

    # -- one batch ------------------------------------------------------------------------------

    async def _run(self, group: list[Queued]) -> None:
        """Create a batch of `group`, wait for it, settle every request; whatever fails fails only
        the requests still waiting on this batch."""
        pending = {q.custom_id: q for q in group}
        try:
            batch = await self._create(group)
            batch = await self._wait(batch)
            await self._collect_results(batch, pending)
            for queued in list(pending.values()):  # the API gave no result line for it
                self._retry(pending.pop(queued.custom_id), batch.id, "had no result line")
        except asyncio.CancelledError:
            for queued in pending.values():
                queued.future.cancel()
            raise
        except Exception as error:
            failure = error if isinstance(error, MgeError) else _unexpected(error)
            for queued in pending.values():
                _fail(queued, failure)

    async def _create(self, group: list[Queued]) -> anthropic.types.messages.MessageBatch:
        requests: list[Any] = [{"custom_id": q.custom_id, "params": self.inner.params(q.request)} for q in group]
        batches = self.inner.client.messages.batches
        batch = await self._send(f"create a Message Batch of {len(group)}", partial(batches.create, requests=requests))
        self.batch_ids.append(batch.id)
        for queued in group:
            queued.batches.append(batch.id)
        log.info("Message Batch %s created with %d requests", batch.id, len(group))
        return batch

    async def _wait(self, batch: anthropic.types.messages.MessageBatch) -> anthropic.types.messages.MessageBatch:
        """Poll until the batch has ended, each wait longer than the last; past the deadline, cancel it
        (best effort) and give up on its requests."""
        deadline = time.monotonic() + self.deadline_s
        interval = self.poll_s
        retrieve = self.inner.client.messages.batches.retrieve
        while batch.processing_status != "ended":
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise await self._past_deadline(batch)
            await asyncio.sleep(min(interval, remaining))
            interval = min(self.max_poll_s, interval * POLL_GROWTH)
            batch = await self._send(f"poll Message Batch {batch.id}", partial(retrieve, batch.id))
        return batch

    async def _past_deadline(self, batch: anthropic.types.messages.MessageBatch) -> ModelUnavailableError:
        with contextlib.suppress(MgeError):
            cancel = self.inner.client.messages.batches.cancel
            await self._send(f"cancel Message Batch {batch.id}", partial(cancel, batch.id))
        counts = batch.request_counts
        return ModelUnavailableError(
            f"Message Batch {batch.id} did not end within {self.deadline_s:.0f}s (status {batch.processing_status}, "
            f"{counts.processing} requests still processing); it was canceled and its requests fail. Raise "
            "deadline_s, or run without batching; finished atoms are kept and not redone"
        )

    async def _collect_results(self, batch: anthropic.types.messages.MessageBatch, pending: dict[str, Queued]) -> None:
        """Stream the results and settle each request by custom_id. A stream broken midway is fetched
        again: requests already settled are skipped, so none is settled twice."""
        results = self.inner.client.messages.batches.results
        failures = 0
        while True:
            stream = await self._send(f"fetch the results of Message Batch {batch.id}", partial(results, batch.id))
            try:
                async for line in stream:
                    queued = pending.pop(line.custom_id, None)
                    if queued is not None:
                        self._settle(queued, line.result, batch.id)
                return
            except Exception as error:  # the SDK's transport errors while streaming are its HTTP library's own
                failures += 1
                if failures >= self.inner.max_attempts:
                    raise self._down(f"read the results of Message Batch {batch.id}", error, failures) from error
                await asyncio.sleep(self.inner._backoff(error, failures))
            finally:
                await stream.close()

    # -- one result -----------------------------------------------------------------------------

    def _settle(self, queued: Queued, result: Any, batch_id: str) -> None:
        if result.type == "succeeded":
            try:
                response = self.inner._response(result.message, time.perf_counter() - queued.queued_at, batch=True)
            except ModelOutputError as error:
                _fail(queued, error)
                return
            if not queued.future.done():
                queued.future.set_result(response)
        elif result.type == "errored":
            error = result.error.error
            if error.type in RETRYABLE_ERRORS:
                self._retry(queued, batch_id, f"errored ({error.type}: {error.message})")
            else:
                _fail(queued, self._refused(queued, batch_id, f"{error.type}: {error.message}"))
        elif result.type == "expired":
            self._retry(queued, batch_id, "expired")
        else:  # canceled by someone else: they wanted it stopped, so it is not sent again
            _fail(queued, self._refused(queued, batch_id, f"{result.type} before it was processed"))

    def _retry(self, queued: Queued, batch_id: str, reason: str) -> None:
        """Send the request again in a later batch, or fail it once it has had its resubmits."""
        if queued.future.done():
            return
        if len(queued.batches) > self.max_resubmits:
            _fail(
                queued,
                ModelUnavailableError(
                    f"request {queued.custom_id} ({queued.request.kind}, trace {queued.request.trace_id or '-'}) got "
                    f"no answer from the Message Batches API in {len(queued.batches)} batches "
                    f"({', '.join(queued.batches)}): in the last, {batch_id}, it {reason}; re-materialize later, "
                    "or run without batching: finished atoms are kept and not redone"
                ),
            )
            return
        log.warning("request %s of Message Batch %s %s; sending it again", queued.custom_id, batch_id, reason)
        self._enqueue(queued)

    def _refused(self, queued: Queued, batch_id: str, what: str) -> ModelUnavailableError:
        return ModelUnavailableError(
            f"Claude refused request {queued.custom_id} ({queued.request.kind}, trace "
            f"{queued.request.trace_id or '-'}) of Message Batch {batch_id} ({what}); it is not sent again"
        )

    # -- HTTP calls to the Batches API ----------------------------------------------------------

    async def _send(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """One call to the Batches API, retried like AnthropicBackend's: 429s waited out (retry-after),
        529, 5xx and connection errors retried with jittered backoff, anything else refused at once."""
        failures = throttles = 0
        while True:
            try:
                return await call()
            except anthropic.RateLimitError as error:
                throttles += 1
                if throttles > MAX_THROTTLES:
                    raise self._down(what, error, failures + throttles) from error
                await asyncio.sleep(self.inner._backoff(error, throttles))
            except (anthropic.APIConnectionError, anthropic.APIStatusError) as error:
                status = getattr(error, "status_code", None)
                if status is not None and status not in RETRYABLE_STATUS:
                    message = f"the Message Batches API refused to {what} ({status}): {error}"
                    raise ModelUnavailableError(message) from error
                failures += 1
                if failures >= self.inner.max_attempts:
                    raise self._down(what, error, failures + throttles) from error
                await asyncio.sleep(self.inner._backoff(error, failures))

    def _down(self, what: str, error: Exception, attempts: int) -> ModelUnavailableError:
        where = self.inner.base_url or "the Anthropic API"
        return ModelUnavailableError(
            f"could not {what} at {where} after {attempts} attempts (last: {error}); check the network and "
            "https://status.anthropic.com, then re-materialize: finished atoms are kept and not redone"
        )


def _fail(queued: Queued, error: Exception) -> None:
    if not queued.future.done():
        queued.future.set_exception(error)


def _unexpected(error: Exception) -> ModelUnavailableError:
    return ModelUnavailableError(f"the Message Batches path failed unexpectedly ({type(error).__name__}: {error})")
