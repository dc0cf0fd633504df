"""The review queue: the atoms a person should look at first, by confidence.

confidence = 0.4 * validation + 0.3 * attempts + 0.2 * complexity + 0.1 * integration, each in [0, 1].
The queue holds every atom that did not validate, then the lowest-confidence atoms up to 15% of all
atoms (more, up to 20%, when the cut falls inside a tie).
"""

from __future__ import annotations

import math

import pandas as pd

CONFIDENCE_WEIGHTS = {"validation": 0.4, "attempts": 0.3, "complexity": 0.2, "integration": 0.1}
QUEUE_SHARE, QUEUE_MAX_SHARE = 0.15, 0.20
COMPLEXITY_CEILING = 10


def confidence_frame(results: pd.DataFrame, max_attempts: int) -> pd.DataFrame:
    """`results` needs columns atom_id, status, attempts, complexity, integration_ok; adds the factors."""
    frame = results.copy()
    frame["f_validation"] = (frame["status"] == "valid").astype(float)
    spare = max(1, max_attempts - 1)
    frame["f_attempts"] = (1 - (frame["attempts"].clip(lower=1) - 1) / spare).clip(0, 1)
    frame["f_complexity"] = (1 - (frame["complexity"] - 1) / (COMPLEXITY_CEILING - 1)).clip(0, 1)
    frame["f_integration"] = frame["integration_ok"].astype(float)
    frame["confidence"] = sum(w * frame[f"f_{name}"] for name, w in CONFIDENCE_WEIGHTS.items()).round(4)
    return frame


def select_for_review(frame: pd.DataFrame) -> pd.DataFrame:
    """The queue: all invalid atoms, then the least confident, 15% (up to 20% to keep ties together)."""
    if frame.empty:
        return frame.assign(reason=pd.Series(dtype=str))
    ordered = frame.sort_values(["confidence", "atom_id"]).reset_index(drop=True)
    quota = math.ceil(QUEUE_SHARE * len(ordered))
    ceiling = math.floor(QUEUE_MAX_SHARE * len(ordered))
    if 0 < quota < len(ordered):
        cut = ordered["confidence"].iloc[quota - 1]
        tied = int((ordered["confidence"] <= cut).sum())
        quota = tied if tied <= ceiling else quota
    chosen = ordered.head(quota)
    invalid = ordered[ordered["status"] != "valid"]
    queue = pd.concat([invalid, chosen]).drop_duplicates("atom_id").sort_values(["confidence", "atom_id"])
    queue = queue.assign(reason=[_reason(row) for row in queue.itertuples()])
    return queue.reset_index(drop=True)


def _reason(row: object) -> str:
    reasons = []
    if row.status != "valid":
        reasons.append(f"did not validate ({row.status})")
    if row.attempts > 1:
        reasons.append(f"{row.attempts} attempts")
    if row.complexity > 3:
        reasons.append(f"complexity {row.complexity}")
    if not row.integration_ok:
        reasons.append("its module or the service failed a check")
    return "; ".join(reasons) or "lowest confidence of this run"
