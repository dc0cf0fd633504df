"""The atom_results stage as one pure function: atoms and graph in, a result row per atom out."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mge_assets.atomize.model import Atom
from mge_assets.execute.context import dependency_context
from mge_assets.execute.engine import (
    MAX_ATTEMPTS,
    AtomOutcome,
    Checkpoints,
    ExecutionReport,
    ExecutionSettings,
    Verdict,
    execute_atoms,
)
from mge_assets.execute.mvp import task_units
from mge_assets.execute.progress import Progress, RateLimited
from mge_assets.execute.typecheck import TypeChecker
from mge_assets.execute.validate import CHECKS, AtomValidator
from mge_assets.graph.model import DependencyGraph
from mge_assets.llm.client import ModelClient
from mge_assets.llm.prompts import atom_request, atoms_request
from mge_assets.plan.discovery import DiscoveryDocument
from mge_assets.request.modes import MODES

RESULT_COLUMNS = [
    "atom_id",
    "unit_id",
    "task_id",
    "file",
    "start_byte",
    "kind",
    "status",
    "attempts",
    "model_calls",
    "cache_hits",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "latency_s",
    "validation_s",
    "wave",
    "started_s",
    "finished_s",
    "resumed",
    "trace_id",
    *(f"check_{name}" for name in CHECKS),
    "errors",
    "history",
    "code",
]


@dataclass(frozen=True)
class StageOptions:
    mode: str = "v2"
    workers: int = 64
    type_check_dir: Path | None = None  # where the drafts are written for mypy; None: no type check
    mypy_cache: Path | None = None
    fingerprint_salt: str = ""
    atoms_per_call: int = 1  # v2: small atoms ready together asked in one call, this many at most
    # Snapshots of the atoms' progress: the first, then at most one per `progress_every_s` seconds of
    # `clock`, and always the final one (so an observer's cost does not grow with the atoms).
    on_progress: Callable[[Progress], None] | None = None
    progress_every_s: float = 2.0
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)

    def progress_callback(self) -> Callable[[Progress], None] | None:
        if self.on_progress is None:
            return None
        return RateLimited(self.on_progress, self.progress_every_s, self.clock)


async def run_atoms(
    atoms: pd.DataFrame,
    graph: DependencyGraph,
    discovery: DiscoveryDocument,
    client: ModelClient,
    partition: str,
    options: StageOptions,
    checkpoints: Checkpoints | None = None,
    on_finish: Callable[[AtomOutcome], None] | None = None,
) -> tuple[pd.DataFrame, ExecutionReport]:
    """Generate every atom (v2) or every ~25-line task unit (mvp); one result row per atom."""
    if options.mode not in MODES:
        raise ValueError(f"unknown execution mode '{options.mode}'; choose one of {', '.join(MODES)}")
    by_id = {row["id"]: Atom.from_row(row) for row in atoms.to_dict("records")}
    tasks = dict(zip(atoms["id"], atoms["task_id"], strict=True)) if "task_id" in atoms else {}
    drafts = _drafts(by_id.values())
    if options.mode == "mvp":
        units, unit_graph, members = task_units(list(by_id.values()), graph, tasks)
        unit_by_id = {u.id: u for u in units}
        settings = ExecutionSettings(
            max_attempts=1,
            workers=options.workers,
            fingerprint_salt=f"mvp:{options.fingerprint_salt}",
            on_progress=options.progress_callback(),
        )
        report = await execute_atoms(
            units,
            unit_graph,
            client,
            _builder(discovery, unit_graph, unit_by_id),
            _accept_any,
            partition,
            settings,
            checkpoints,
            on_finish,
        )
        return _mvp_frame(report.outcomes, members, atoms), report
    checker = None
    if options.type_check_dir is not None:
        checker = TypeChecker(
            {f: b.decode() for f, b in drafts.items()},
            options.type_check_dir / "project",
            options.type_check_dir / "mypy_cache",
        )
    settings = ExecutionSettings(
        max_attempts=MAX_ATTEMPTS,
        workers=options.workers,
        fingerprint_salt=f"v2:{options.fingerprint_salt}",
        on_progress=options.progress_callback(),
        atoms_per_call=options.atoms_per_call,
    )
    report = await execute_atoms(
        list(by_id.values()),
        graph,
        client,
        _builder(discovery, graph, by_id),
        AtomValidator(drafts, checker),
        partition,
        settings,
        checkpoints,
        on_finish,
        build_group=_group_builder(discovery, graph, by_id),
    )
    return results_frame(report.outcomes, atoms), report


def _builder(discovery: DiscoveryDocument, graph: DependencyGraph, by_id: dict[str, Atom]):
    def build(atom: Atom, attempt: int, errors: list[str], rejected: str, final_code: dict[str, str]):
        context = dependency_context(atom, graph, by_id, final_code)
        return atom_request(discovery, atom.__dict__, context, "", attempt, errors, rejected)

    return build


def _group_builder(discovery: DiscoveryDocument, graph: DependencyGraph, by_id: dict[str, Atom]):
    def build(members: list[tuple[Atom, dict[str, str]]]):
        asked = [(atom.__dict__, dependency_context(atom, graph, by_id, code)) for atom, code in members]
        return atoms_request(discovery, asked, "")

    return build


def _accept_any(atom: Atom, code: str) -> Verdict:
    """The mvp baseline validates nothing at unit level: any code block is taken as it is."""
    return Verdict()


def _drafts(atoms: object) -> dict[str, bytes]:
    grouped: dict[str, list[Atom]] = {}
    for atom in atoms:
        grouped.setdefault(atom.file, []).append(atom)
    return {f: "".join(a.code for a in sorted(g, key=lambda a: a.start_byte)).encode() for f, g in grouped.items()}


def results_frame(outcomes: list[AtomOutcome], atoms: pd.DataFrame) -> pd.DataFrame:
    info = atoms.set_index("id")
    rows = [_row(o, o.atom_id, info, o.atom_id, o.code) for o in outcomes]
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def _mvp_frame(outcomes: list[AtomOutcome], members: dict[str, list[str]], atoms: pd.DataFrame) -> pd.DataFrame:
    """A unit's code goes on its first atom's row (the others are empty), so files still assemble."""
    info = atoms.set_index("id")
    rows = []
    for outcome in outcomes:
        for index, atom_id in enumerate(members[outcome.atom_id]):
            row = _row(outcome, atom_id, info, outcome.atom_id, outcome.code if index == 0 else "")
            if index:
                row.update(model_calls=0, cache_hits=0, input_tokens=0, output_tokens=0, cost_usd=0.0)
            rows.append(row)
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def _row(outcome: AtomOutcome, atom_id: str, info: pd.DataFrame, unit_id: str, code: str) -> dict:
    return {
        **{k: v for k, v in outcome.__dict__.items() if k not in ("errors", "checks", "history", "code", "atom_id")},
        "atom_id": atom_id,
        "unit_id": unit_id,
        "code": code,
        "errors": "\n".join(outcome.errors),
        "history": json.dumps(list(outcome.history), default=str),
        **{f"check_{name}": _check(outcome.checks.get(name)) for name in CHECKS},
        "task_id": info.at[atom_id, "task_id"] if "task_id" in info else "",
        "file": info.at[atom_id, "file"],
        "start_byte": int(info.at[atom_id, "start_byte"]),
        "kind": info.at[atom_id, "kind"],
    }


def _check(value: bool | None) -> str:
    return "not run" if value is None else ("pass" if value else "fail")
