"""How many model calls may be in flight, and when the next one may be sent.

One governor is shared by every call of a backend:

- an AIMD limit on calls in flight: it starts low and grows by one per success until the first
  throttle (the ramp-up), then by one per window of successes; a 429, 529 or timeout cuts it by half.
  Error-driven, because a model's latency follows the length of its answer, not queueing. A 429 never
  cuts it below what the advertised request rate keeps busy (rate × mean latency, Little's law): the
  rate is held by the pause and the pacing, and fewer calls in flight would only leave it unused.
- a global pause: after a 429 no call is sent until its `retry-after` has passed (plus jitter, capped).
- pacing by the `anthropic-ratelimit-*` headers: the remaining requests and tokens of the server's
  token buckets are tracked, refilled at the advertised rate, and a call waits instead of being sent
  into an empty bucket.
- a prioritised wait: when a slot frees, the waiting call with the highest priority gets it; a call
  that waits longer than `wait_timeout_s` gives up with ModelUnavailableError.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import random
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from mge_assets.errors import ModelUnavailableError

HEADER = "anthropic-ratelimit-"
BUCKETS = ("requests", "input-tokens", "output-tokens")
PACING_MARGIN = 1.0  # keep one request's worth in the server's bucket: our clock and its clock differ a little
# A response's headers were written a moment before we read them (longer when the event loop is busy):
# the calls we sent in that moment may not be counted in them yet, so they stay counted against the
# fresh estimate. Never more than half of what the bucket refills in its size, or a small bucket would
# always look empty.
UNSEEN_SENDS_S = 0.5


@dataclass
class Bucket:
    """The client's copy of one of the server's token buckets: `limit` per minute refilled
    continuously, holding at most `capacity` (a minute's worth unless the reset header says less).
    Our calls are taken out when sent; the level may go below zero and refills from there."""

    limit: float
    tokens: float
    updated_at: float
    capacity: float | None = None

    @property
    def size(self) -> float:
        return self.capacity or self.limit

    def level(self, now: float) -> float:
        self.tokens = min(self.size, self.tokens + self.limit / 60.0 * max(0.0, now - self.updated_at))
        self.updated_at = max(self.updated_at, now)
        return self.tokens

    def spend(self, amount: float, now: float) -> None:
        self.tokens = self.level(now) - amount

    def wait_for(self, amount: float, now: float) -> float:
        """Seconds until `amount` is available (0 when it is now); a tiny bucket never holds the margin."""
        missing = min(amount, self.size) - self.level(now)
        return max(0.0, missing / (self.limit / 60.0)) if missing > 0 else 0.0


@dataclass
class GovernorStats:
    calls: int = 0
    successes: int = 0
    throttled: int = 0
    overloaded: int = 0
    peak_in_flight: int = 0
    busy_seconds: float = 0.0  # integral of calls in flight over time
    paused_seconds: float = 0.0
    limit_history: list[tuple[float, float]] = field(default_factory=list)
    limit_changes: int = 0  # every change, though the history keeps the last 1000
    # The backlog of calls waiting for a slot: its peak size, the calls that waited and for how long,
    # and those dropped after waiting wait_timeout_s.
    peak_backlog: int = 0
    waited: int = 0
    wait_seconds: float = 0.0
    max_wait_s: float = 0.0
    dropped: int = 0


class RateGovernor:
    def __init__(
        self,
        initial: int = 4,
        minimum: int = 1,
        maximum: int = 64,
        decrease: float = 0.5,
        max_pause_s: float = 60.0,
        wait_timeout_s: float = 900.0,
        jitter_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = float(max(minimum, min(initial, maximum)))
        self.minimum, self.maximum = minimum, maximum
        self.threshold = float(maximum)  # slow start below it, additive increase above
        self.decrease = decrease
        self.max_pause_s = max_pause_s
        self.wait_timeout_s = wait_timeout_s
        self.jitter_s = jitter_s
        self.clock = clock
        self.in_flight = 0
        self.paused_until = 0.0
        self.buckets: dict[str, Bucket] = {}
        self.stats = GovernorStats()
        self._waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._sends: deque[tuple[float, float]] = deque()  # (sent at, input tokens)
        self._last_change = clock()
        self._wakeup: asyncio.TimerHandle | None = None
        self._last_cut = -1.0
        self.latency_s: float | None = None  # moving mean of answered calls' latency

    # -- slots ---------------------------------------------------------------------------------

    async def acquire(self, priority: float = 0.0, input_tokens: int = 0) -> None:
        """Wait for a slot (highest priority first) and for the server's buckets; then count the call."""
        started = self.clock()
        deadline = started + self.wait_timeout_s
        queued = False
        while True:
            if not self._waiters and self._free() and self._ready_in() <= 0:
                break
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            entry = (-priority, next(self._order), future)
            heapq.heappush(self._waiters, entry)
            queued = True
            self.stats.peak_backlog = max(self.stats.peak_backlog, len(self._waiters))
            self._schedule_wakeup()
            remaining = deadline - self.clock()
            try:
                await asyncio.wait_for(future, timeout=max(0.0, remaining))
            except TimeoutError:
                self._discard(entry)
                self.stats.dropped += 1
                raise ModelUnavailableError(
                    f"a model call waited {self.wait_timeout_s:.0f} s for a free slot (limit {self.limit:.0f}, "
                    f"{len(self._waiters)} waiting); the API is throttling hard: lower the concurrency or retry later"
                ) from None
            except BaseException:
                self._discard(entry)
                raise
            if self._free() and self._ready_in() <= 0:
                break
        if queued:
            self._record_wait(self.clock() - started)
        self._account(+1)
        self.stats.calls += 1
        self._sends.append((self.clock(), float(input_tokens)))
        for name, amount in (("requests", 1.0), ("input-tokens", float(input_tokens))):
            if name in self.buckets:
                self.buckets[name].spend(amount, self.clock())
        self._wake()

    def release(self) -> None:
        self._account(-1)
        self._wake()

    # -- feedback ------------------------------------------------------------------------------

    def on_success(self, headers: Mapping[str, str] | None = None, latency_s: float | None = None) -> None:
        self.stats.successes += 1
        if latency_s is not None:
            self.latency_s = latency_s if self.latency_s is None else 0.9 * self.latency_s + 0.1 * latency_s
        if self.limit < self.threshold:
            self._set_limit(self.limit + 1)  # ramp-up: one more per success, doubling per round trip
        else:
            self._set_limit(self.limit + 1 / self.limit)
        self.observe(headers)

    def on_throttle(self, retry_after_s: float | None, headers: Mapping[str, str] | None = None) -> float:
        """A 429: cut the limit, pause every call until retry-after (+jitter, capped); returns the pause."""
        self.stats.throttled += 1
        self.observe(headers)
        self._cut(floor=self._rate_floor())
        wait = retry_after_s if retry_after_s is not None else self._reset_wait(headers)
        wait = min(self.max_pause_s, max(0.0, wait) + random.uniform(0, self.jitter_s))
        until = self.clock() + wait
        if until > self.paused_until:
            self.stats.paused_seconds += until - max(self.paused_until, self.clock())
            self.paused_until = until
        self._schedule_wakeup()
        return wait

    def on_overload(self) -> None:
        """A 529, 5xx or timeout: cut the limit (the caller backs off on its own)."""
        self.stats.overloaded += 1
        self._cut()

    def observe(self, headers: Mapping[str, str] | None) -> None:
        """Refresh the bucket estimates from a response's `anthropic-ratelimit-*` headers."""
        if not headers:
            return
        now = self.clock()
        while self._sends and self._sends[0][0] < now - UNSEEN_SENDS_S:
            self._sends.popleft()
        for name in BUCKETS:
            limit, remaining = headers.get(f"{HEADER}{name}-limit"), headers.get(f"{HEADER}{name}-remaining")
            if limit is None or remaining is None:
                continue
            try:
                bucket = Bucket(float(limit), float(remaining), now)
            except ValueError:
                continue
            bucket.capacity = _capacity(bucket, headers.get(f"{HEADER}{name}-reset"))
            bucket.tokens -= self._unseen(name, bucket, now)
            self.buckets[name] = bucket

    def _unseen(self, name: str, bucket: Bucket, now: float) -> float:
        """What we sent recently enough that the server may not have counted it in these headers."""
        window = min(UNSEEN_SENDS_S, 0.5 * (bucket.capacity or bucket.limit) / (bucket.limit / 60.0))
        recent = [tokens for sent_at, tokens in self._sends if sent_at >= now - window]
        return float(len(recent)) if name == "requests" else sum(recent)

    # -- reporting -----------------------------------------------------------------------------

    def mean_in_flight(self, elapsed_s: float) -> float:
        self._account(0)
        return self.stats.busy_seconds / elapsed_s if elapsed_s > 0 else 0.0

    # -- internals -----------------------------------------------------------------------------

    def _cut(self, floor: float = 0.0) -> None:
        now = self.clock()
        if now - self._last_cut < 0.5:  # one cut per burst of errors, not one per error
            return
        self._last_cut = now
        self.threshold = max(self.minimum, self.limit * self.decrease, min(self.limit, floor))
        self._set_limit(self.threshold)

    def _rate_floor(self) -> float:
        """Calls in flight that the advertised request rate keeps busy: rate × mean latency."""
        bucket = self.buckets.get("requests")
        if bucket is None or self.latency_s is None:
            return 0.0
        return math.ceil(bucket.limit / 60.0 * self.latency_s)

    def _set_limit(self, value: float) -> None:
        limit = max(float(self.minimum), min(float(self.maximum), value))
        self.stats.limit_changes += int(limit) != int(self.limit)  # the slots, not the fractional growth
        self.limit = limit
        self.stats.limit_history.append((self.clock(), self.limit))
        del self.stats.limit_history[:-1000]

    def _record_wait(self, waited_s: float) -> None:
        self.stats.waited += 1
        self.stats.wait_seconds += waited_s
        self.stats.max_wait_s = max(self.stats.max_wait_s, waited_s)

    def _free(self) -> bool:
        return self.in_flight < int(self.limit)

    def _ready_in(self) -> float:
        """Seconds until a call may be sent: a pause after a 429, or an empty bucket."""
        now = self.clock()
        wait = self.paused_until - now
        for bucket in self.buckets.values():
            wait = max(wait, bucket.wait_for(1.0 + PACING_MARGIN, now))
        return wait

    def _account(self, delta: int) -> None:
        now = self.clock()
        self.stats.busy_seconds += self.in_flight * (now - self._last_change)
        self._last_change = now
        self.in_flight += delta
        self.stats.peak_in_flight = max(self.stats.peak_in_flight, self.in_flight)

    def _wake(self) -> None:
        """Hand free slots to the highest-priority waiters, if calls may be sent now."""
        if self._ready_in() > 0:
            self._schedule_wakeup()
            return
        free = int(self.limit) - self.in_flight
        while free > 0 and self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)
                free -= 1

    def _schedule_wakeup(self) -> None:
        wait = self._ready_in()
        if wait <= 0 or not self._waiters:
            return
        if self._wakeup is not None:
            self._wakeup.cancel()
        self._wakeup = asyncio.get_running_loop().call_later(wait + 0.001, self._wake)

    def _discard(self, entry: tuple[float, int, asyncio.Future[None]]) -> None:
        try:
            self._waiters.remove(entry)
            heapq.heapify(self._waiters)
        except ValueError:
            pass
        self._wake()  # a slot handed to this waiter just as it gave up goes to the next one

    def _reset_wait(self, headers: Mapping[str, str] | None) -> float:
        """Without retry-after: the earliest reset time among the exhausted buckets, else one second."""
        if not headers:
            return 1.0
        waits = []
        for name in BUCKETS:
            reset, remaining = headers.get(f"{HEADER}{name}-reset"), headers.get(f"{HEADER}{name}-remaining")
            if reset is None or remaining not in ("0", None):
                continue
            try:
                waits.append(datetime.fromisoformat(reset.replace("Z", "+00:00")).timestamp() - time.time())
            except ValueError:
                continue
        return max(waits) if waits else 1.0


def _capacity(bucket: Bucket, reset: str | None) -> float | None:
    """What the bucket holds when full: `remaining` plus the refill until `reset` (the time it is full
    again). Without it, a bucket is assumed to hold a minute's worth, as the API's do; assuming that of a
    smaller bucket would send a burst into it after every pause."""
    if reset is None:
        return None
    try:
        full_in = datetime.fromisoformat(reset.replace("Z", "+00:00")).timestamp() - time.time()
    except ValueError:
        return None
    return min(bucket.limit, bucket.tokens + max(0.0, full_in) * bucket.limit / 60.0)
