"""Progress of a running atom_results stage: a snapshot of the engine's counts, and a rate limit on
the callback that receives them (so observers see a few snapshots a minute, not one per atom)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, fields

# Metadata keys of a snapshot recorded by a run, read back by `mge status` (one name per field).
PREFIX = "progress_"


@dataclass(frozen=True)
class Progress:
    """Where the atoms of a run stand. done + in_flight + waiting + failed == total at every snapshot:
    done are valid, failed finished without a valid answer (invalid, blocked, budget, unavailable),
    in_flight are with a worker, waiting are ready in the backlog or waiting on their dependencies."""

    total: int
    done: int = 0
    in_flight: int = 0
    waiting: int = 0
    failed: int = 0
    retries: int = 0  # attempts sent after a rejected first answer, so far
    spent_usd: float = 0.0  # the run's spend so far, earlier stages included
    soft_cap_usd: float | None = None
    hard_cap_usd: float | None = None
    elapsed_s: float = 0.0
    final: bool = False  # the last snapshot of the stage

    @property
    def finished(self) -> int:
        return self.done + self.failed

    @property
    def share(self) -> float:
        """The finished share of the atoms, 0 to 1 (1 when there are none)."""
        return self.finished / self.total if self.total else 1.0

    def as_metadata(self) -> dict[str, float | int | bool]:
        """Flat, numeric figures (caps left out when there is none), plottable as they are."""
        return {PREFIX + f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    @classmethod
    def from_metadata(cls, metadata: dict[str, object]) -> Progress | None:
        """The snapshot written by `as_metadata`, or None when `metadata` holds none."""
        if PREFIX + "total" not in metadata:
            return None
        values: dict[str, object] = {}
        for f in fields(cls):
            value = metadata.get(PREFIX + f.name)
            if value is None:
                continue
            values[f.name] = bool(value) if f.name == "final" else value
        return cls(**values)  # type: ignore[arg-type]


def caps(cap_usd: float, soft_ratio: float) -> tuple[float | None, float | None]:
    """(soft cap, hard cap) of a budget; none for an unbounded one."""
    if math.isinf(cap_usd):
        return None, None
    return cap_usd * soft_ratio, cap_usd


class RateLimited:
    """Passes a snapshot on when `every_s` has passed since the last one it passed (the first and the
    final snapshots always), and drops the rest: the engine may report on every change."""

    def __init__(
        self,
        callback: Callable[[Progress], None],
        every_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.callback = callback
        self.every_s = every_s
        self.clock = clock
        self.last: float | None = None
        self.passed = 0

    def __call__(self, progress: Progress) -> None:
        now = self.clock()
        if not progress.final and self.last is not None and now - self.last < self.every_s:
            return
        self.last = now
        self.passed += 1
        self.callback(progress)
