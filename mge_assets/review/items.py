"""A review item: one queued atom with everything a reviewer needs to decide on it, and its status.

An item is an atom of one request as the latest `review_queue` saw it. Its status comes from the
decisions on that version of its code (the sha of the code it was queued with):

- `pending`: no decision on this version yet;
- `approved`, `edited`, `regenerated`, `rejected`: decided, waiting for a run to apply it;
- `applied`: a run applied the decision (an edit's new code is the reviewed version too).

An item is `stale` when the atom's code changed since it was queued (a later run rewrote it): a
decision on it is refused until the queue is materialized again.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mge_assets.review.store import Decision, code_sha

STATUSES = ("pending", "approved", "edited", "regenerated", "rejected", "applied")
_DECIDED = {"approve": "approved", "edit": "edited", "regenerate": "regenerated", "reject": "rejected"}
FACTORS = ("validation", "attempts", "complexity", "integration")


@dataclass(frozen=True)
class Requirement:
    id: str
    level: str
    text: str
    passed: bool | None  # None: not run


@dataclass(frozen=True)
class ReviewItem:
    id: str  # the atom's trace id
    request: str
    atom: str
    file: str
    kind: str
    symbol: str
    lines: str
    confidence: float
    factors: dict[str, float]
    reason: str
    spot_check: bool
    result_status: str  # what validation made of the atom: valid, invalid, blocked, ...
    attempts: int
    draft: str
    code: str
    code_sha: str
    current_sha: str  # of the atom's code in the latest atom_results
    queued_at: float
    history: tuple[dict[str, Any], ...] = ()
    requirements: tuple[Requirement, ...] = ()
    tests: tuple[tuple[str, str], ...] = ()  # (test id, outcome)
    decisions: tuple[Decision, ...] = ()
    status: str = "pending"

    @property
    def stale(self) -> bool:
        return self.code_sha != self.current_sha

    def diff(self) -> str:
        """The final code against the draft, as a unified diff (empty when the model kept the draft)."""
        return "".join(
            difflib.unified_diff(
                self.draft.splitlines(keepends=True),
                self.code.splitlines(keepends=True),
                fromfile=f"draft/{self.file}",
                tofile=f"final/{self.file}",
            )
        )

    def summary(self) -> dict[str, Any]:
        """The fields of `mge review list --json`."""
        return {
            "id": self.id,
            "request": self.request,
            "atom": self.atom,
            "file": self.file,
            "confidence": self.confidence,
            "status": self.status,
            "result_status": self.result_status,
            "reason": self.reason,
            "spot_check": self.spot_check,
            "stale": self.stale,
            "queued_at": self.queued_at,
        }

    def as_dict(self) -> dict[str, Any]:
        """Everything, for `mge review show --json` and the page's API."""
        return {
            **self.summary(),
            "kind": self.kind,
            "symbol": self.symbol,
            "lines": self.lines,
            "factors": self.factors,
            "attempts": self.attempts,
            "code_sha": self.code_sha,
            "draft": self.draft,
            "code": self.code,
            "diff": self.diff(),
            "history": list(self.history),
            "requirements": [r.__dict__ for r in self.requirements],
            "tests": [{"test_id": t, "outcome": o} for t, o in self.tests],
            "decisions": [d.as_dict() for d in self.decisions],
        }


@dataclass(frozen=True)
class RequestValues:
    """The stored values of one request that its review items are made of."""

    request: str
    queue: pd.DataFrame
    queued_at: float
    results: pd.DataFrame  # atom_results
    atoms: pd.DataFrame
    requirements_by_task: dict[str, tuple[str, ...]] = field(default_factory=dict)
    requirements: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (level, text)
    requirement_passed: dict[str, bool] = field(default_factory=dict)
    tests_by_requirement: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)


def build_items(values: RequestValues, decisions: list[Decision]) -> list[ReviewItem]:
    """The queue of one request as review items, lowest confidence first."""
    results = values.results.set_index("atom_id")
    atoms = values.atoms.set_index("id")
    by_atom: dict[str, list[Decision]] = {}
    for decision in decisions:
        by_atom.setdefault(decision.atom_id, []).append(decision)
    items = []
    for row in values.queue.to_dict("records"):
        atom_id = row["atom_id"]
        if atom_id not in results.index or atom_id not in atoms.index:
            continue
        result, atom = results.loc[atom_id], atoms.loc[atom_id]
        code = str(result["code"])
        queued_sha = str(row.get("code_sha") or code_sha(code))
        task = str(atom.get("task_id", "") or "")
        requirement_ids = values.requirements_by_task.get(task, ())
        item = ReviewItem(
            id=str(result["trace_id"]),
            request=values.request,
            atom=atom_id,
            file=str(atom["file"]),
            kind=str(atom["kind"]),
            symbol=str(atom["symbol"]),
            lines=f"{int(atom['start_line'])}-{int(atom['end_line'])}",
            confidence=float(row["confidence"]),
            factors={name: float(row.get(f"f_{name}", 0.0)) for name in FACTORS},
            reason=str(row.get("reason", "")),
            spot_check=bool(row.get("spot_check", False)),
            result_status=str(result["status"]),
            attempts=int(result["attempts"]),
            draft=str(atom["code"]),
            code=code,
            code_sha=queued_sha,
            current_sha=code_sha(code),
            queued_at=values.queued_at,
            history=tuple(json.loads(result["history"] or "[]")),
            requirements=tuple(
                Requirement(
                    r,
                    values.requirements.get(r, ("", ""))[0],
                    values.requirements.get(r, ("", ""))[1],
                    values.requirement_passed.get(r),
                )
                for r in requirement_ids
            ),
            tests=tuple(t for r in requirement_ids for t in values.tests_by_requirement.get(r, ())),
            decisions=tuple(by_atom.get(atom_id, ())),
        )
        items.append(_with_status(item))
    return sorted(items, key=lambda i: (i.confidence, i.request, i.atom))


def status_of(sha: str, decisions: tuple[Decision, ...] | list[Decision]) -> str:
    """The status of the version `sha` of an atom, from the decisions on the atom."""
    for decision in reversed(list(decisions)):
        if not decision.in_effect:
            continue
        reviewed = decision.action in ("approve", "edit") and code_sha(decision.code_after) == sha
        if decision.base_sha == sha or reviewed:
            return "applied" if decision.applied else _DECIDED[decision.action]
    return "pending"


def _with_status(item: ReviewItem) -> ReviewItem:
    return ReviewItem(**{**item.__dict__, "status": status_of(item.code_sha, item.decisions)})


def find_item(items: list[ReviewItem], item_id: str) -> ReviewItem:
    """The item whose id is `item_id`, or the one it is a unique prefix of."""
    from mge_assets.errors import MgeError

    exact = [i for i in items if i.id == item_id]
    if exact:
        return exact[0]
    matches = [i for i in items if i.id.startswith(item_id)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise MgeError(f"no review item '{item_id}'; `mge review list` shows the queue and each item's id")
    raise MgeError(f"'{item_id}' names {len(matches)} items; give more of the id")


def oldest_pending_age(items: list[ReviewItem], now: float) -> float | None:
    """Seconds the oldest pending item has waited (the review SLA), None when nothing is pending."""
    queued = [i.queued_at for i in items if i.status == "pending"]
    return max(0.0, now - min(queued)) if queued else None
