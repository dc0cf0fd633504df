"""Wave execution: every atom written by the model once its dependencies are done, validated, retried.

Atoms start as soon as all their dependencies have finished (waves are reported, not waited on). Ready
atoms wait in a prioritised backlog, longest remaining chain first; a fixed pool of workers (the
backlog's bound) takes them, and the backend's governor decides how many calls are really in flight.
A failed attempt is retried, up to four attempts at temperatures 0.7, 0.5, 0.3, 0.3, with the
validator's errors and the rejected answer in the prompt. An atom that never validates keeps its
draft, goes to the review queue with its history, and its dependents are not sent (they keep their
drafts too); everything else goes on. Each finished atom is checkpointed as it finishes, so a run
killed half-way redoes only what had not finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import inspect
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

from mge_assets.atomize.model import Atom
from mge_assets.errors import BudgetExceededError, ModelOutputError, ModelUnavailableError
from mge_assets.execute.progress import Progress, caps
from mge_assets.graph.model import DependencyGraph
from mge_assets.llm.answers import code_block
from mge_assets.llm.client import ModelClient
from mge_assets.llm.types import ModelRequest

MAX_ATTEMPTS = 4
FINISHED = ("valid", "invalid")  # statuses that are checkpointed and never redone


@dataclass(frozen=True)
class Verdict:
    """A validator's judgement of one answer: its problems (empty when valid) and each check's result."""

    problems: tuple[str, ...] = ()
    checks: dict[str, bool | None] = field(default_factory=dict)  # None: not run

    @property
    def ok(self) -> bool:
        return not self.problems


# build(atom, attempt, errors so far, last rejected answer, final code of its dependencies) -> request
BuildRequest = Callable[[Atom, int, list[str], str, dict[str, str]], ModelRequest]
Validate = Callable[[Atom, str], "Verdict | Awaitable[Verdict]"]


class Checkpoints(Protocol):
    """Where finished atoms are kept between runs, by fingerprint (what decided their answer)."""

    def load(self, fingerprint: str) -> dict[str, Any] | None: ...
    def save(self, fingerprint: str, atom_id: str, outcome: dict[str, Any]) -> None: ...


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


@dataclass(frozen=True)
class ExecutionSettings:
    max_attempts: int = MAX_ATTEMPTS
    workers: int = 64  # atoms in progress at once: the bound of the backlog handed to the backend
    barrier: bool = False  # strict wave barrier (the baseline the benchmark compares against)
    fingerprint_salt: str = ""  # e.g. model and mode: what else decides an answer
    # Told of every change of the counts (an atom taken, retried or finished) and once at the end;
    # rate-limit it (execute.progress.RateLimited) when what it does costs.
    on_progress: Callable[[Progress], None] | None = None
    progress_tick_s: float = 1.0  # and also this often while nothing changes


@dataclass
class ExecutionReport:
    outcomes: list[AtomOutcome]
    makespan_s: float
    resumed: int = 0
    unavailable_error: str = ""

    def by_status(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        return counts


def trace_id(partition: str, atom_id: str) -> str:
    """Stable per partition and atom, so logs and cost events of reruns line up."""
    return "mge-" + hashlib.sha256(f"{partition}:{atom_id}".encode()).hexdigest()[:16]


def critical_priorities(atoms: list[Atom], depends: dict[str, set[str]]) -> dict[str, int]:
    """For each atom, the length of the longest chain of atoms that waits on it (itself included)."""
    dependents: dict[str, list[str]] = {a.id: [] for a in atoms}
    for atom_id, targets in depends.items():
        for target in targets:
            if target in dependents and atom_id in dependents:
                dependents[target].append(atom_id)
    order = _topological([a.id for a in atoms], depends)
    level: dict[str, int] = {}
    for atom_id in reversed(order):
        level[atom_id] = 1 + max((level[d] for d in dependents[atom_id]), default=0)
    return level


def _topological(ids: list[str], depends: dict[str, set[str]]) -> list[str]:
    known = set(ids)
    remaining = {i: len(depends.get(i, set()) & known) for i in ids}
    dependents: dict[str, list[str]] = {i: [] for i in ids}
    for i in ids:
        for target in depends.get(i, set()) & known:
            dependents[target].append(i)
    order = [i for i in ids if remaining[i] == 0]
    for current in order:
        for dependent in dependents[current]:
            remaining[dependent] -= 1
            if remaining[dependent] == 0:
                order.append(dependent)
    if len(order) != len(ids):
        raise ValueError("the dependency graph has a cycle; the dependency_graph stage must break it first")
    return order


async def execute_atoms(
    atoms: list[Atom],
    graph: DependencyGraph,
    client: ModelClient,
    build_request: BuildRequest,
    validate: Validate,
    partition: str,
    settings: ExecutionSettings | None = None,
    checkpoints: Checkpoints | None = None,
    on_finish: Callable[[AtomOutcome], None] | None = None,
) -> ExecutionReport:
    """Run every atom through the model in dependency order; outcomes come back in the atoms' order."""
    return await _Run(
        atoms,
        graph,
        client,
        build_request,
        validate,
        partition,
        settings or ExecutionSettings(),
        checkpoints,
        on_finish,
    ).run()


class _Run:
    def __init__(
        self,
        atoms: list[Atom],
        graph: DependencyGraph,
        client: ModelClient,
        build_request: BuildRequest,
        validate: Validate,
        partition: str,
        settings: ExecutionSettings,
        checkpoints: Checkpoints | None,
        on_finish: Callable[[AtomOutcome], None] | None,
    ) -> None:
        self.atoms = {a.id: a for a in atoms}
        self.order = [a.id for a in atoms]
        self.position = {a: i for i, a in enumerate(self.order)}
        deps = graph.dependencies()
        self.depends = {a: deps.get(a, set()) & self.atoms.keys() for a in self.atoms}
        self.dependents: dict[str, list[str]] = {a: [] for a in self.atoms}
        for atom_id, targets in self.depends.items():
            for target in targets:
                self.dependents[target].append(atom_id)
        self.waiting_on = {a: len(t) for a, t in self.depends.items()}
        self.wave = graph.wave_of()
        self.priority = critical_priorities(atoms, self.depends)
        self.client, self.build_request, self.validate = client, build_request, validate
        self.partition, self.settings = partition, settings
        self.checkpoints, self.on_finish = checkpoints, on_finish
        self.outcomes: dict[str, AtomOutcome] = {}
        self.ready: list[tuple[int, int, str]] = []
        self.waves_left: dict[int, int] = {}
        self.held: dict[int, list[str]] = {}  # barrier mode: ready atoms of waves not yet open
        self.open_wave = 0
        self.condition = asyncio.Condition()
        self.clock = time.perf_counter()
        self.unavailable = ""
        self.resumed = 0
        # progress accounting: atoms with a worker, attempts after a first, finished by verdict, and
        # atoms still waiting on a dependency (neither ready, nor taken, nor finished)
        self.in_flight = 0
        self.retries = 0
        self.done = 0
        self.failed = 0
        self.not_ready = sum(1 for n in self.waiting_on.values() if n > 0)

    async def run(self) -> ExecutionReport:
        for atom_id in self.order:
            wave = self.wave.get(atom_id, 0)
            self.waves_left[wave] = self.waves_left.get(wave, 0) + 1
        for atom_id in self.order:
            if self.waiting_on[atom_id] == 0:
                self._make_ready(atom_id)
        workers = max(1, min(self.settings.workers, len(self.atoms)))
        self._report()
        ticker = asyncio.create_task(self._tick()) if self.settings.on_progress is not None else None
        try:
            await asyncio.gather(*(self._worker() for _ in range(workers)))
        finally:
            if ticker is not None:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker
        self._report(final=True)
        makespan = time.perf_counter() - self.clock
        return ExecutionReport([self.outcomes[a] for a in self.order], makespan, self.resumed, self.unavailable)

    # -- scheduling ---------------------------------------------------------------------------

    def _make_ready(self, atom_id: str) -> None:
        wave = self.wave.get(atom_id, 0)
        if self.settings.barrier and wave > self.open_wave:
            self.held.setdefault(wave, []).append(atom_id)
            return
        heapq.heappush(self.ready, (-self.priority[atom_id], self.position[atom_id], atom_id))

    async def _worker(self) -> None:
        while True:
            async with self.condition:
                while not self.ready and len(self.outcomes) < len(self.atoms):
                    await self.condition.wait()
                if not self.ready:
                    return
                _, _, atom_id = heapq.heappop(self.ready)
                self.in_flight += 1
                self._report()
            outcome = await self._execute(self.atoms[atom_id])
            async with self.condition:
                self.in_flight -= 1
                self._finish(outcome)
                self.condition.notify_all()
                self._report()

    async def _tick(self) -> None:
        """Report while nothing changes too: a rate-limited observer that dropped the last change (atoms
        taken just after the snapshot it passed, then a long wait for answers) is not left showing it."""
        while True:
            await asyncio.sleep(self.settings.progress_tick_s)
            self._report()

    def _report(self, final: bool = False) -> None:
        if self.settings.on_progress is None:
            return
        budget = self.client.budget
        soft, hard = caps(budget.cap_usd, budget.soft_ratio)
        held = sum(len(atoms) for atoms in self.held.values())
        self.settings.on_progress(
            Progress(
                total=len(self.atoms),
                done=self.done,
                in_flight=self.in_flight,
                waiting=len(self.ready) + held + self.not_ready,
                failed=self.failed,
                retries=self.retries,
                spent_usd=round(budget.spent_usd, 6),
                soft_cap_usd=soft,
                hard_cap_usd=hard,
                elapsed_s=round(time.perf_counter() - self.clock, 3),
                final=final,
            )
        )

    def _finish(self, outcome: AtomOutcome) -> None:
        """Record an outcome; release dependents, or block them when this atom did not validate."""
        pending = [outcome]
        while pending:
            current = pending.pop()
            self.outcomes[current.atom_id] = current
            if current.status == "valid":
                self.done += 1
            else:
                self.failed += 1
            if self.on_finish is not None:
                self.on_finish(current)
            wave = self.wave.get(current.atom_id, 0)
            self.waves_left[wave] -= 1
            for dependent in self.dependents[current.atom_id]:
                if dependent in self.outcomes or self.waiting_on[dependent] < 0:  # finished, or already blocked
                    continue
                if current.status != "valid":
                    pending.append(
                        self._unsent(
                            self.atoms[dependent], "blocked", f"depends on {current.atom_id}, which is {current.status}"
                        )
                    )
                    if self.waiting_on[dependent] > 0:
                        self.not_ready -= 1
                    self.waiting_on[dependent] = -1  # never made ready
                    continue
                self.waiting_on[dependent] -= 1
                if self.waiting_on[dependent] == 0:
                    self.not_ready -= 1
                    self._make_ready(dependent)
        if self.settings.barrier:
            while self.open_wave in self.waves_left and self.waves_left[self.open_wave] == 0:
                self.open_wave += 1
                for atom_id in self.held.pop(self.open_wave, []):
                    self._make_ready(atom_id)

    # -- one atom -----------------------------------------------------------------------------

    async def _execute(self, atom: Atom) -> AtomOutcome:
        started = time.perf_counter() - self.clock
        if self.unavailable:
            return self._unsent(atom, "unavailable", self.unavailable)
        trace = trace_id(self.partition, atom.id)
        dependency_code = {d: self.outcomes[d].code for d in sorted(self.depends[atom.id])}

        def build(attempt: int, errors: list[str], rejected: str) -> ModelRequest:
            request = self.build_request(atom, attempt, errors, rejected, dependency_code)
            return replace(request, trace_id=trace, priority=float(self.priority[atom.id]))

        first = build(1, [], "")
        fingerprint = self._fingerprint(first)
        restored = self.checkpoints.load(fingerprint) if self.checkpoints else None
        if restored is not None:
            self.resumed += 1
            return _restore(restored, started, time.perf_counter() - self.clock)
        outcome = await self._attempts(atom, trace, build, first, started)
        if self.checkpoints is not None and outcome.status in FINISHED:
            self.checkpoints.save(fingerprint, atom.id, outcome.as_checkpoint())
        return outcome

    async def _attempts(
        self,
        atom: Atom,
        trace: str,
        build: Callable[[int, list[str], str], ModelRequest],
        first: ModelRequest,
        started: float,
    ) -> AtomOutcome:
        errors: list[str] = []
        history: list[dict[str, Any]] = []
        rejected, status, code, checks = "", "invalid", atom.code, {}
        validation_s = 0.0
        records_before = len(self.client.records_for(trace))
        for attempt in range(1, self.settings.max_attempts + 1):
            if attempt > 1:  # one event loop: the counts need no lock
                self.retries += 1
                self._report()
            request = first if attempt == 1 else build(attempt, errors, rejected)
            try:
                response = await self.client.complete(request)
                answer = code_block(response.text)
            except BudgetExceededError as error:
                status, errors = "budget", [*errors, str(error)]
                break
            except ModelUnavailableError as error:
                self.unavailable = str(error)
                status, errors = "unavailable", [*errors, str(error)]
                break
            except ModelOutputError as error:
                problem = f"attempt {attempt}: {error}"
                errors.append(problem)
                history.append({"attempt": attempt, "temperature": request.temperature, "problems": [problem]})
                rejected = ""
                continue
            clock = time.perf_counter()
            verdict = self.validate(atom, answer)
            if inspect.isawaitable(verdict):
                verdict = await verdict
            validation_s += time.perf_counter() - clock
            checks = verdict.checks
            history.append(
                {
                    "attempt": attempt,
                    "temperature": request.temperature,
                    "problems": list(verdict.problems),
                    "checks": checks,
                    "answer": answer[:2000],
                }
            )
            if verdict.ok:
                status, code = "valid", answer
                break
            errors.append(f"attempt {attempt}: " + "; ".join(verdict.problems))
            rejected = response.text
        records = self.client.records_for(trace)[records_before:]
        calls = [r for r in records if not r.cached]
        return AtomOutcome(
            atom_id=atom.id,
            trace_id=trace,
            status=status,
            code=code,
            attempts=len(history),
            errors=tuple(errors),
            model_calls=len(calls),
            cache_hits=len(records) - len(calls),
            input_tokens=sum(r.input_tokens + r.cache_write_tokens + r.cache_read_tokens for r in calls),
            output_tokens=sum(r.output_tokens for r in calls),
            cost_usd=sum(r.cost_usd for r in calls),
            latency_s=sum(r.latency_s for r in records),
            validation_s=validation_s,
            wave=self.wave.get(atom.id, 0),
            started_s=started,
            finished_s=time.perf_counter() - self.clock,
            checks=checks,
            history=tuple(history),
        )

    def _unsent(self, atom: Atom, status: str, reason: str) -> AtomOutcome:
        now = time.perf_counter() - self.clock
        return AtomOutcome(
            atom_id=atom.id,
            trace_id=trace_id(self.partition, atom.id),
            status=status,
            code=atom.code,
            attempts=0,
            errors=(reason,),
            model_calls=0,
            cache_hits=0,
            input_tokens=0,
            output_tokens=0,
            cost_usd=0.0,
            latency_s=0.0,
            validation_s=0.0,
            wave=self.wave.get(atom.id, 0),
            started_s=now,
            finished_s=now,
        )

    def _fingerprint(self, request: ModelRequest) -> str:
        material = json.dumps(
            [
                self.settings.fingerprint_salt,
                self.client.model,
                *([request.reuse_key] if request.reuse_key else [request.system, request.prompt]),
                self.settings.max_attempts,
            ]
        )
        return hashlib.sha256(material.encode()).hexdigest()


def _restore(saved: dict[str, Any], started: float, finished: float) -> AtomOutcome:
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
