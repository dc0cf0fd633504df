"""What an atom's attempts come to: the validator's verdict, the attempts so far, the outcome kept in
its checkpoint, and its share of a call it shared with other atoms."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

from mge_assets.llm.client import CallRecord

FINISHED = ("valid", "invalid")  # statuses that are checkpointed and never redone


@dataclass(frozen=True)
class Verdict:
    """A validator's judgement of one answer: its problems (empty when valid) and each check's result."""

    problems: tuple[str, ...] = ()
    checks: dict[str, bool | None] = field(default_factory=dict)  # None: not run

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class AtomOutcome:
    """What happened to one atom. `code` is the accepted answer, or the draft when none was accepted."""

    atom_id: str
    trace_id: str
    status: str  # valid | invalid | blocked | budget | unavailable
    code: str
    attempts: int
    errors: tuple[str, ...]
    model_calls: int
    cache_hits: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_s: float
    validation_s: float
    wave: int
    started_s: float
    finished_s: float
    checks: dict[str, bool | None] = field(default_factory=dict)
    history: tuple[dict[str, Any], ...] = ()
    resumed: bool = False

    def as_checkpoint(self) -> dict[str, Any]:
        return asdict(self)


def trace_id(partition: str, atom_id: str) -> str:
    """Stable per partition and atom, so logs and cost events of reruns line up."""
    return "mge-" + hashlib.sha256(f"{partition}:{atom_id}".encode()).hexdigest()[:16]


def group_trace_id(partition: str, atom_ids: list[str]) -> str:
    """The trace of a call that carried several atoms: its cost_events row, and each atom's history."""
    return "mge-group-" + hashlib.sha256(f"{partition}:{chr(0).join(atom_ids)}".encode()).hexdigest()[:16]


def restore(saved: dict[str, Any], started: float, finished: float) -> AtomOutcome:
    values = {k: v for k, v in saved.items() if k in AtomOutcome.__dataclass_fields__}
    values["errors"] = tuple(values.get("errors", ()))
    values["history"] = tuple(values.get("history", ()))
    return AtomOutcome(
        **{
            **values,
            "model_calls": 0,
            "cache_hits": 0,
            "input_tokens": 0,
            "output_tokens": 0,
            "cost_usd": 0.0,
            "latency_s": 0.0,
            "validation_s": 0.0,
            "started_s": started,
            "finished_s": finished,
            "resumed": True,
        }
    )


@dataclass
class Tries:
    """What an atom's attempts have come to so far."""

    code: str
    status: str = "invalid"
    errors: list[str] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    rejected: str = ""  # the last answer validation refused, shown to the next attempt
    checks: dict[str, bool | None] = field(default_factory=dict)
    validation_s: float = 0.0

    def reject(self, attempt: int, temperature: float, error: Exception, group: str = "") -> None:
        """An answer with no usable code: noted, and nothing of it shown to the next attempt."""
        problem = f"attempt {attempt}: {error}"
        self.errors.append(problem)
        entry = {"attempt": attempt, "temperature": temperature, "problems": [problem]}
        self.history.append(entry | ({"group": group} if group else {}))
        self.rejected = ""


@dataclass(frozen=True)
class CallShare:
    """An atom's share of a grouped call: the call (or cache hit) itself, its tokens and cost by the
    atom's share of the drafts' length, and the whole of its latency (the atom waited all of it)."""

    calls: int = 0
    hits: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0


def call_shares(records: list[CallRecord], weights: list[int]) -> list[CallShare]:
    total = sum(weights) or 1
    calls = [r for r in records if not r.cached]
    tokens_in = sum(r.input_tokens + r.cache_write_tokens + r.cache_read_tokens for r in calls)
    tokens_out = sum(r.output_tokens for r in calls)
    cost = sum(r.cost_usd for r in calls)
    latency = sum(r.latency_s for r in records)
    return [
        CallShare(
            calls=len(calls),
            hits=len(records) - len(calls),
            input_tokens=round(tokens_in * w / total),
            output_tokens=round(tokens_out * w / total),
            cost_usd=cost * w / total,
            latency_s=latency,
        )
        for w in weights
    ]
