"""atom_results reports the governor's concurrency figures, which the exporter's families read."""

import asyncio
from types import SimpleNamespace

import pandas as pd

from mge_assets.defs.execution import _metadata
from mge_assets.defs.resources import ModelBackendResource
from mge_assets.execute.engine import ExecutionReport
from mge_assets.execute.validate import CHECKS
from mge_assets.llm import Budget
from mge_assets.llm.governor import RateGovernor


def _governor_after_a_wait() -> RateGovernor:
    async def scenario() -> RateGovernor:
        governor = RateGovernor(initial=1, maximum=1)
        await governor.acquire()
        waiting = asyncio.create_task(governor.acquire())
        await asyncio.sleep(0.01)
        governor.release()
        await waiting
        governor.release()
        governor.on_overload()  # at the minimum already: no change of the limit
        return governor

    return asyncio.run(scenario())


def test_the_governors_limit_backlog_and_drops_are_in_the_metadata() -> None:
    governor = _governor_after_a_wait()
    client = SimpleNamespace(backend=SimpleNamespace(governor=governor), summary=lambda: {}, budget=Budget(5.0))
    frame = pd.DataFrame(
        {
            "atom_id": ["a"],
            "status": ["valid"],
            "attempts": [1],
            "model_calls": [2],
            "cache_hits": [0],
            "cost_usd": [0.0],
            "wave": [0],
            "trace_id": ["t"],
            "budget_cap_usd": [5.0],
            **{f"check_{c}": ["pass"] for c in CHECKS},
        }
    )
    metadata = _metadata(frame, ExecutionReport([], 1.0), client, ModelBackendResource(), "v2")
    assert metadata["concurrency_limit"] == 1 and metadata["limit_changes"] == 0
    assert metadata["peak_backlog"] == 1 and metadata["backlog_waited"] == 1
    assert 0 < metadata["backlog_max_wait_s"] <= metadata["backlog_wait_s"]
    assert metadata["backlog_dropped"] == 0 and metadata["overloaded"] == 1
