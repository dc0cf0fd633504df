"""The governor: AIMD limit, prioritised slots, the pause after a 429, pacing by ratelimit headers."""

import asyncio

from mge_assets.llm.governor import RateGovernor


def test_aimd_ramps_up_then_halves_on_throttle():
    async def scenario():
        governor = RateGovernor(initial=2, maximum=16)
        for _ in range(6):
            governor.on_success()
        ramped = governor.limit
        governor.on_throttle(0.0)
        return ramped, governor.limit

    ramped, cut = asyncio.run(scenario())
    assert ramped == 8 and cut == 4


def test_slots_go_to_the_highest_priority_first():
    async def scenario():
        governor = RateGovernor(initial=1, maximum=1)
        await governor.acquire()
        order: list[float] = []

        async def wait(priority: float):
            await governor.acquire(priority)
            order.append(priority)
            governor.release()

        waiters = [asyncio.create_task(wait(p)) for p in (1.0, 5.0, 3.0)]
        await asyncio.sleep(0)
        governor.release()
        await asyncio.gather(*waiters)
        return order

    assert asyncio.run(scenario()) == [5.0, 3.0, 1.0]


def test_no_call_starts_before_retry_after_passes():
    async def scenario():
        governor = RateGovernor(initial=4, jitter_s=0.0)
        pause = governor.on_throttle(0.2)
        resume_at = governor.paused_until
        await governor.acquire()
        return pause, resume_at, governor.clock()

    pause, resume_at, acquired_at = asyncio.run(scenario())
    assert pause == 0.2 and acquired_at >= resume_at


def test_an_empty_bucket_in_the_headers_holds_calls_back():
    governor = RateGovernor()
    headers = {"anthropic-ratelimit-requests-limit": "60", "anthropic-ratelimit-requests-remaining": "0"}
    governor.observe(headers)
    assert governor._ready_in() > 0.5  # one request refills in one second at 60 a minute
    governor.observe({**headers, "anthropic-ratelimit-requests-remaining": "10"})
    assert governor._ready_in() <= 0


def _bucket_headers(remaining: int, full_in_s: float, limit: int = 1200) -> dict[str, str]:
    from datetime import UTC, datetime, timedelta

    reset = (datetime.now(UTC) + timedelta(seconds=full_in_s)).isoformat().replace("+00:00", "Z")
    return {
        "anthropic-ratelimit-requests-limit": str(limit),
        "anthropic-ratelimit-requests-remaining": str(remaining),
        "anthropic-ratelimit-requests-reset": reset,
    }


def test_calls_sent_just_before_stale_headers_arrive_stay_counted():
    async def scenario():
        governor = RateGovernor(initial=8)
        governor.observe(_bucket_headers(3, 0.85))  # 20 a second: 3 left
        for _ in range(2):
            await governor.acquire()  # sent, but not yet counted by the server's headers below
        governor.observe(_bucket_headers(3, 0.85))  # written before those two calls arrived
        return governor._ready_in()

    assert asyncio.run(scenario()) > 0  # 3 - 2 leaves one: below the margin, so the next call waits


def test_a_small_bucket_is_not_assumed_to_hold_a_minute():
    governor = RateGovernor()
    governor.observe(_bucket_headers(0, 1.0))  # a bucket of 20 at 1200 a minute, empty
    bucket = governor.buckets["requests"]
    assert 19 <= bucket.capacity <= 21
    assert bucket.level(bucket.updated_at + 10.0) <= 21  # ten seconds later it is full, not 200


def test_a_bucket_smaller_than_the_calls_in_flight_refills_instead_of_locking():
    now = [0.0]
    governor = RateGovernor(initial=6, maximum=6, clock=lambda: now[0])

    async def send_six():
        for _ in range(6):
            await governor.acquire()

    asyncio.run(send_six())
    now[0] = 0.1
    governor.observe(_bucket_headers(0, 0.5, limit=120))  # a bucket of one request, 2 a second, empty
    wait = governor._ready_in()
    assert 0 < wait < 10
    now[0] += wait + 0.01
    assert governor._ready_in() == 0


def test_a_429_without_retry_after_waits_for_the_reset_of_the_empty_bucket():
    async def scenario():
        governor = RateGovernor(jitter_s=0.0)
        headers = {**_bucket_headers(0, 2.0), "anthropic-ratelimit-tokens-remaining": "5000"}
        return governor.on_throttle(None, headers)

    assert 1.8 <= asyncio.run(scenario()) <= 2.0


def test_a_call_waiting_past_the_wait_timeout_gives_up_with_a_clear_error():
    import pytest

    from mge_assets.errors import ModelUnavailableError

    async def scenario():
        governor = RateGovernor(initial=1, maximum=1, wait_timeout_s=0.2)
        await governor.acquire()  # the only slot, never released
        with pytest.raises(ModelUnavailableError, match=r"waited \d+ s for a free slot"):
            await governor.acquire()
        return governor._waiters

    assert asyncio.run(scenario()) == []  # the call that gave up left the backlog


def test_a_429_cuts_the_limit_but_not_below_what_the_advertised_rate_keeps_busy():
    async def scenario(latency_s: float):
        governor = RateGovernor(initial=40, maximum=40, jitter_s=0.0)
        governor.on_success(_bucket_headers(10, 0.5), latency_s)  # 1200 a minute: 20 a second
        governor.on_throttle(0.0, _bucket_headers(0, 1.0))
        return governor.limit

    assert asyncio.run(scenario(1.5)) == 30  # 20 a second × 1.5 s: halving to 20 would idle a third of it
    assert asyncio.run(scenario(0.2)) == 20  # 4 calls keep the rate busy: the usual halving


def test_an_overload_halves_the_limit_whatever_the_rate():
    governor = RateGovernor(initial=40, maximum=40)
    governor.on_success(_bucket_headers(10, 0.5), 1.5)
    governor.on_overload()
    assert governor.limit == 20


def test_the_backlog_is_measured_waits_peaks_and_drops() -> None:
    import pytest

    from mge_assets.errors import ModelUnavailableError

    async def scenario() -> RateGovernor:
        governor = RateGovernor(initial=1, maximum=1, wait_timeout_s=0.05)
        await governor.acquire()  # the one slot, held: every other call waits in the backlog
        first, second = (asyncio.create_task(governor.acquire()) for _ in range(2))
        await asyncio.sleep(0.01)
        governor.release()  # the first waiter gets the slot after a measurable wait
        await first
        with pytest.raises(ModelUnavailableError):
            await second  # still waiting when its timeout passes: dropped
        return governor

    stats = asyncio.run(scenario()).stats
    assert stats.peak_backlog == 2
    assert stats.waited == 1 and 0 < stats.max_wait_s <= stats.wait_seconds
    assert stats.dropped == 1


def test_limit_changes_count_real_changes_only() -> None:
    governor = RateGovernor(initial=2, maximum=4)
    for _ in range(6):
        governor.on_success()  # 2 → 3 → 4, then held at the maximum
    governor.on_overload()  # 4 → 2
    assert governor.limit == 2
    assert governor.stats.limit_changes == 3
