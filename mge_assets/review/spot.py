"""Spot checks: a small random share of the atoms the queue left out, offered for review too, so that
what the queue misses can be estimated from reviewers' own decisions on them.

The sample is drawn from the request's name (the same atoms on every run of the same request, so a
reviewer is not asked again about a new random set each time), at SPOT_CHECK_SHARE of the unqueued
atoms, at least one when there is any.
"""

from __future__ import annotations

import math
import random

import pandas as pd

SPOT_CHECK_SHARE = 0.05
SPOT_REASON = "spot check: a random high-confidence atom, to measure what the queue misses"


def spot_checks(scored: pd.DataFrame, queue: pd.DataFrame, seed: str) -> pd.DataFrame:
    """Rows of `scored` (not in `queue`) drawn for a spot check, with `reason` and `spot_check` set."""
    rest = scored[~scored["atom_id"].isin(queue["atom_id"])].sort_values("atom_id")
    if rest.empty:
        return rest.assign(reason=pd.Series(dtype=str), spot_check=pd.Series(dtype=bool))
    count = max(1, math.ceil(SPOT_CHECK_SHARE * len(rest)))
    chosen = sorted(random.Random(seed).sample(list(rest["atom_id"]), min(count, len(rest))))
    return rest[rest["atom_id"].isin(chosen)].assign(reason=SPOT_REASON, spot_check=True)
