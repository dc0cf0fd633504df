"""The review queue: the atoms a person should look at first, by confidence.

confidence = 0.4 * validation + 0.2 * attempts + 0.2 * complexity + 0.2 * integration, each in [0, 1].
Integration is `integration_path_ok` when the results carry it (no failing test points at the atom,
see scoring/integration.py), else the per-module `integration_ok`.

The weights were 0.4/0.3/0.2/0.1 at first. On the silent-defect benchmark (benchmarks/review_ranking.py,
nine requests, seeds 7, 3 and 11) they queued 49-63% of the atoms still carrying a defect (ROC AUC
0.78-0.88) with the per-atom integration signal; even weights on attempts, complexity and
integration (chosen on seed 7, held on 3 and 11) queue 67-80% (AUC 0.81-0.91). Validation's weight
moves no atom in or out of the queue: every invalid atom is queued anyway.
The queue holds every atom that did not validate, then the lowest-confidence atoms up to 15% of all
atoms (more, up to 20%, when the cut falls inside a tie).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

CONFIDENCE_WEIGHTS = {"validation": 0.4, "attempts": 0.2, "complexity": 0.2, "integration": 0.2}
QUEUE_SHARE, QUEUE_MAX_SHARE = 0.15, 0.20
COMPLEXITY_CEILING = 10


def confidence_frame(results: pd.DataFrame, max_attempts: int) -> pd.DataFrame:
    """`results` needs columns atom_id, status, attempts, complexity, integration_ok (and may carry
    integration_path_ok, which then decides the integration factor); adds the factors."""
    frame = results.copy()
    frame["f_validation"] = (frame["status"] == "valid").astype(float)
    spare = max(1, max_attempts - 1)
    frame["f_attempts"] = (1 - (frame["attempts"].clip(lower=1) - 1) / spare).clip(0, 1)
    frame["f_complexity"] = (1 - (frame["complexity"] - 1) / (COMPLEXITY_CEILING - 1)).clip(0, 1)
    integration = frame["integration_path_ok"] if "integration_path_ok" in frame else frame["integration_ok"]
    frame["f_integration"] = integration.astype(float)
    frame["confidence"] = sum(w * frame[f"f_{name}"] for name, w in CONFIDENCE_WEIGHTS.items()).round(4)
    return frame


def select_for_review(frame: pd.DataFrame) -> pd.DataFrame:
    """The queue: all invalid atoms, then the least confident, 15% (up to 20% to keep ties together)."""
    if frame.empty:
        return frame.assign(reason=pd.Series(dtype=str))
    queue = frame[queued(frame)].sort_values(["confidence", "atom_id"])
    queue = queue.assign(reason=[_reason(row) for row in queue.itertuples()])
    return queue.reset_index(drop=True)


def queued(frame: pd.DataFrame) -> pd.Series:
    """Per atom (on `frame`'s index), whether `select_for_review` queues it; cheap enough to try many
    weightings with."""
    ordered = frame.sort_values(["confidence", "atom_id"])
    quota = math.ceil(QUEUE_SHARE * len(ordered))
    ceiling = math.floor(QUEUE_MAX_SHARE * len(ordered))
    if 0 < quota < len(ordered):
        cut = ordered["confidence"].iloc[quota - 1]
        tied = int((ordered["confidence"] <= cut).sum())
        quota = tied if tied <= ceiling else quota
    chosen = pd.Series(False, index=frame.index)
    chosen[ordered.index[:quota]] = True
    return chosen | (frame["status"] != "valid")


def roc_auc(scores: pd.Series | np.ndarray, labels: pd.Series | np.ndarray) -> float | None:
    """How well `scores` rank `labels` (higher score, likelier True): the chance a random positive
    scores above a random negative, ties counting half, by the rank formula. None without both classes."""
    truth = np.asarray(labels, dtype=bool)
    positives, negatives = int(truth.sum()), int((~truth).sum())
    if not positives or not negatives:
        return None
    ranks = pd.Series(np.asarray(scores, dtype=float)).rank(method="average").to_numpy()
    return float((ranks[truth].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _reason(row: object) -> str:
    reasons = []
    if row.status != "valid":
        reasons.append(f"did not validate ({row.status})")
    if row.attempts > 1:
        reasons.append(f"{row.attempts} attempts")
    if row.complexity > 3:
        reasons.append(f"complexity {row.complexity}")
    path_ok = getattr(row, "integration_path_ok", None)
    if path_ok is not None and not path_ok and getattr(row, "failing_clues", 0):
        reasons.append("a failing test points at it")
    elif not (row.integration_ok if path_ok is None else path_ok):
        reasons.append("its module or the service failed a check")
    return "; ".join(reasons) or "lowest confidence of this run"
