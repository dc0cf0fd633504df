"""Reviewers' decisions applied to a run's atom results.

The atom_results stage first reproduces the model's results (from checkpoints: no call for an atom
whose inputs did not change), then applies every decision in effect, oldest first, each to the version
of the code it was made on:

- approve keeps the code and marks it reviewed;
- edit replaces the code with the reviewer's;
- regenerate sends the atom back to the model, the reviewer's comment as feedback and the rejected code
  in the prompt, so the answer is not the same code again (retried on validation errors like any atom);
- reject marks the atom rejected, with the reviewer's comment as its error.

A decision whose version is no longer the atom's code (the request changed and the model wrote it anew)
is stale: it and the later decisions on that atom are not applied, and the outcome says so. Then the
atoms whose code changed, and the atoms that depend on them, are validated again in the files as they
now are; and atoms that were blocked behind an atom that is now valid are written by the model. Only
regenerated and newly unblocked atoms cost model calls.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mge_assets.atomize.model import Atom, evolve
from mge_assets.execute.context import dependency_context
from mge_assets.execute.engine import (
    MAX_ATTEMPTS,
    AtomOutcome,
    Checkpoints,
    ExecutionSettings,
    Verdict,
    execute_atoms,
)
from mge_assets.execute.typecheck import TypeChecker
from mge_assets.execute.validate import AtomValidator
from mge_assets.graph.model import DependencyGraph
from mge_assets.llm.client import ModelClient
from mge_assets.llm.prompts import atom_request
from mge_assets.plan.discovery import DiscoveryDocument
from mge_assets.review.sources import current_sources
from mge_assets.review.store import Decision, code_sha

REVIEW_COLUMNS = ("review_decision", "review_action", "review_note")
_COST_FIELDS = ("model_calls", "cache_hits", "input_tokens", "output_tokens", "cost_usd", "latency_s")

# Validation of files as they are now: (files, the atom placed in them, its code) -> verdict
Revalidate = Callable[[dict[str, bytes], Atom, str], Awaitable[Verdict]]


@dataclass
class ReviewApplication:
    frame: pd.DataFrame
    outcomes: dict[int, tuple[str, str]] = field(default_factory=dict)  # decision id -> (what it did, code after)
    changed: list[str] = field(default_factory=list)  # atoms whose code changed
    revalidated: dict[str, str] = field(default_factory=dict)  # atom -> "valid" or its problems
    regenerated: list[str] = field(default_factory=list)
    unblocked: list[str] = field(default_factory=list)
    stale: list[int] = field(default_factory=list)

    def rows(self, decisions: dict[int, Decision]) -> list[tuple[Any, ...]]:
        """One row per decision applied in this run: id, atom, action, reviewer, outcome."""
        return [
            (i, decisions[i].atom_id, decisions[i].action, decisions[i].reviewer, text)
            for i, (text, _) in sorted(self.outcomes.items())
        ]


@dataclass(frozen=True)
class ReviewContext:
    """What applying needs beyond the frame and the decisions."""

    atoms: pd.DataFrame
    graph: DependencyGraph
    discovery: DiscoveryDocument
    client: ModelClient
    partition: str
    checkpoints: Checkpoints | None = None
    revalidate: Revalidate | None = None  # default: level 1 without the type check
    fingerprint_salt: str = ""


async def apply_review(frame: pd.DataFrame, decisions: list[Decision], context: ReviewContext) -> ReviewApplication:
    """`frame` with the decisions applied (plus the review columns); what each decision did."""
    records = {r["atom_id"]: dict(r) for r in frame.to_dict("records")}
    for record in records.values():
        record.update(review_decision=0, review_action="", review_note="")
    atoms = {row["id"]: Atom.from_row(row) for row in context.atoms.to_dict("records")}
    application = ReviewApplication(frame)
    for decision in decisions:
        if decision.action == "undo" and not decision.applied:
            application.outcomes[decision.id] = (f"undid #{decision.undoes}", decision.code_after)
    chains: dict[str, list[Decision]] = {}
    for decision in decisions:
        if decision.in_effect and decision.atom_id in records:
            chains.setdefault(decision.atom_id, []).append(decision)
    before = {a: r["code"] for a, r in records.items()}
    for atom_id in sorted(chains, key=lambda a: (records[a]["wave"], a)):
        for decision in chains[atom_id]:
            if not await _apply_one(decision, records, atoms, context, application):
                break
    application.changed = [a for a, r in records.items() if r["code"] != before[a]]
    await _revalidate(records, atoms, context, application)
    await _unblock(records, atoms, context, application)
    columns = [*frame.columns, *(c for c in REVIEW_COLUMNS if c not in frame.columns)]
    application.frame = pd.DataFrame([records[a] for a in frame["atom_id"]], columns=columns)
    return application


async def _apply_one(
    decision: Decision,
    records: dict[str, dict[str, Any]],
    atoms: dict[str, Atom],
    context: ReviewContext,
    application: ReviewApplication,
) -> bool:
    """Apply one decision to its atom's record; False when it is stale (the chain stops there)."""
    record = records[decision.atom_id]
    current = code_sha(record["code"])
    if current != decision.base_sha:
        application.stale.append(decision.id)
        application.outcomes[decision.id] = (
            f"stale: decided on version {decision.base_sha}, the atom is now {current}; not applied",
            record["code"],
        )
        return False
    note = f"#{decision.id} {decision.action} by {decision.reviewer}"
    if decision.action == "edit":
        record.update(code=decision.code_after, status="valid", errors="")
        text = "edited: the reviewer's code replaces the atom's"
    elif decision.action == "reject":
        record.update(status="rejected", errors=f"rejected by {decision.reviewer}: {decision.comment}")
        text = "rejected: the atom is marked rejected"
    elif decision.action == "regenerate":
        outcome = await _regenerate(decision, records, atoms, context)
        _take_outcome(record, outcome)
        application.regenerated.append(decision.atom_id)
        same = outcome.code == decision.code_before
        text = f"regenerated: {outcome.status} after {outcome.attempts} attempt(s)" + (
            "; the same code came back, so nothing that depends on it is stale" if same else ""
        )
    else:
        text = "approved: the code is kept"
    record.update(review_decision=decision.id, review_action=decision.action, review_note=note)
    application.outcomes[decision.id] = (text, record["code"])
    return True


async def _regenerate(
    decision: Decision, records: dict[str, dict[str, Any]], atoms: dict[str, Atom], context: ReviewContext
) -> AtomOutcome:
    """One atom through the engine: the comment as feedback, the rejected code in the prompt. Its own
    fingerprint (the decision's id in the salt) keeps its answer apart from the model's first one."""
    codes = {a: r["code"] for a, r in records.items()}
    files, placed = current_sources(codes, atoms)
    feedback = f"a reviewer sent this code back: {decision.comment}"

    def build(atom: Atom, attempt: int, errors: list[str], rejected: str, final: dict[str, str]):
        deps = dependency_context(atom, context.graph, atoms, {**codes, **final})
        answer = rejected or f"```{atom.language}\n{decision.code_before}```"
        return atom_request(context.discovery, atom.__dict__, deps, "", attempt, [feedback, *errors], answer)

    settings = ExecutionSettings(
        max_attempts=MAX_ATTEMPTS, workers=1, fingerprint_salt=f"review:{decision.id}:{context.fingerprint_salt}"
    )
    return (await _through_engine([placed[decision.atom_id]], build, files, settings, context))[0]


async def _revalidate(
    records: dict[str, dict[str, Any]], atoms: dict[str, Atom], context: ReviewContext, application: ReviewApplication
) -> None:
    """The changed atoms and their direct dependents, validated in the files as they now are."""
    if not application.changed:
        return
    dependents: dict[str, set[str]] = {}
    for atom_id, targets in context.graph.dependencies().items():
        for target in targets:
            dependents.setdefault(target, set()).add(atom_id)
    touched = set(application.changed)
    for atom_id in application.changed:
        touched |= dependents.get(atom_id, set()) & records.keys()
    files, placed = current_sources({a: r["code"] for a, r in records.items()}, atoms)
    revalidate = context.revalidate or _level_one
    for atom_id in sorted(touched):
        record = records[atom_id]
        if record["status"] != "valid":
            continue
        verdict = await revalidate(files, evolve(placed[atom_id], code=record["code"]), record["code"])
        if verdict.ok:
            application.revalidated[atom_id] = "valid"
            continue
        cause = atom_id if atom_id in application.changed else ", ".join(sorted(set(application.changed)))
        problems = "; ".join(verdict.problems)
        record.update(status="invalid", errors=f"re-validated after the review of {cause}: {problems}")
        application.revalidated[atom_id] = problems


async def _level_one(files: dict[str, bytes], atom: Atom, code: str) -> Verdict:
    return await AtomValidator(files)(atom, code)


class TypedRevalidation:
    """Level 1 with the type check: mypy on the files as they now are, set up once per set of files
    (the re-validations of one application share them)."""

    def __init__(self, workdir: Path, cache_dir: Path | None) -> None:
        self.workdir, self.cache_dir = workdir, cache_dir or workdir / "mypy_cache"
        self._files: dict[str, bytes] | None = None
        self._validator: AtomValidator | None = None

    async def __call__(self, files: dict[str, bytes], atom: Atom, code: str) -> Verdict:
        if self._validator is None or files is not self._files:
            texts = {path: data.decode() for path, data in files.items()}
            self._files = files
            self._validator = AtomValidator(files, TypeChecker(texts, self.workdir / "project", self.cache_dir))
        return await self._validator(atom, code)


async def _unblock(
    records: dict[str, dict[str, Any]], atoms: dict[str, Atom], context: ReviewContext, application: ReviewApplication
) -> None:
    """Atoms blocked behind atoms that are all valid now (or blocked with them) go to the model."""
    deps = context.graph.dependencies()
    blocked = {a for a, r in records.items() if r["status"] == "blocked"}
    ready = {a for a in blocked if all(records[d]["status"] == "valid" or d in blocked for d in deps.get(a, ()))}
    if not ready or not application.changed:
        return
    codes = {a: r["code"] for a, r in records.items()}
    files, placed = current_sources(codes, atoms)

    def build(atom: Atom, attempt: int, errors: list[str], rejected: str, final: dict[str, str]):
        context_lines = dependency_context(atom, context.graph, atoms, {**codes, **final})
        return atom_request(context.discovery, atom.__dict__, context_lines, "", attempt, errors, rejected)

    settings = ExecutionSettings(max_attempts=MAX_ATTEMPTS, fingerprint_salt=f"v2:{context.fingerprint_salt}")
    for outcome in await _through_engine([placed[a] for a in sorted(ready)], build, files, settings, context):
        _take_outcome(records[outcome.atom_id], outcome)
        application.unblocked.append(outcome.atom_id)


async def _through_engine(
    atoms: list[Atom], build: Any, files: dict[str, bytes], settings: ExecutionSettings, context: ReviewContext
) -> list[AtomOutcome]:
    """Atoms written by the model the way atom_results writes them (checkpointed, validated, retried)."""
    report = await execute_atoms(
        atoms,
        context.graph,
        context.client,
        build,
        AtomValidator(files),
        context.partition,
        settings,
        context.checkpoints,
    )
    return report.outcomes


def _take_outcome(record: dict[str, Any], outcome: AtomOutcome) -> None:
    record.update(
        status=outcome.status,
        code=outcome.code,
        attempts=int(record["attempts"]) + outcome.attempts,
        errors="\n".join(outcome.errors),
        history=json.dumps([*json.loads(record["history"] or "[]"), *outcome.history], default=str),
        **{f: record[f] + getattr(outcome, f) for f in _COST_FIELDS},
    )
