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
from dataclasses import dataclass, replace
from typing import Any, Protocol

from mge_assets.atomize.model import Atom
from mge_assets.errors import BudgetExceededError, ModelOutputError, ModelUnavailableError
from mge_assets.execute.outcome import (
    FINISHED,
    AtomOutcome,
    CallShare,
    Tries,
    Verdict,
    call_shares,
    group_trace_id,
    restore,
    trace_id,
)
from mge_assets.execute.progress import Progress, caps
from mge_assets.graph.model import DependencyGraph
from mge_assets.llm.answers import code_block, units
from mge_assets.llm.client import ModelClient
from mge_assets.llm.types import ModelRequest

MAX_ATTEMPTS = 4
MAX_ATOMS_PER_CALL = 5  # the most atoms one call asks for


# build(atom, attempt, errors so far, last rejected answer, final code of its dependencies) -> request
BuildRequest = Callable[[Atom, int, list[str], str, dict[str, str]], ModelRequest]
# build_group([(atom, final code of its dependencies), ...]) -> one request asking for all of them
BuildGroup = Callable[[list[tuple[Atom, dict[str, str]]]], ModelRequest]
Validate = Callable[[Atom, str], "Verdict | Awaitable[Verdict]"]


class Checkpoints(Protocol):
    """Where finished atoms are kept between runs, by fingerprint (what decided their answer)."""

    def load(self, fingerprint: str) -> dict[str, Any] | None: ...
    def save(self, fingerprint: str, atom_id: str, outcome: dict[str, Any]) -> None: ...


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
    # Small atoms ready at the same time asked together, this many to a call (1: one call per atom);
    # an atom of at most `small_atom_loc` lines is small. Each answer is validated, and retried, alone.
    atoms_per_call: int = 1
    small_atom_loc: int = 12


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
    build_group: BuildGroup | None = None,
) -> ExecutionReport:
    """Run every atom through the model in dependency order; outcomes come back in the atoms' order.
    With `build_group` and `settings.atoms_per_call` above 1, small atoms ready together share a call."""
    run = _Run(
        atoms,
        graph,
        client,
        build_request,
        validate,
        partition,
        settings or ExecutionSettings(),
        checkpoints,
        on_finish,
    )
    run.build_group = build_group
    return await run.run()


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
        self.build_group: BuildGroup | None = None
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
                taken = [atom_id, *self._group_mates(atom_id)]
                self.in_flight += len(taken)
                self._report()
            if len(taken) == 1:
                await self._settle(await self._execute(self.atoms[atom_id]))
            else:
                await self._execute_group([self.atoms[a] for a in taken])

    async def _settle(self, outcome: AtomOutcome) -> None:
        async with self.condition:
            self.in_flight -= 1
            self._finish(outcome)
            self.condition.notify_all()
            self._report()

    def _group_mates(self, first: str) -> list[str]:
        """Up to `atoms_per_call - 1` other small ready atoms to ask with `first` (itself small), those of
        its file first (they share their dependencies' code), then by priority; taken off the backlog."""
        size = self.settings.atoms_per_call
        if size <= 1 or self.build_group is None or not self._small(first) or not self.ready:
            return []
        file = self.atoms[first].file
        small = [entry for entry in self.ready if self._small(entry[2])]
        chosen = sorted(small, key=lambda entry: (self.atoms[entry[2]].file != file, entry))[: size - 1]
        taken = {entry[2] for entry in chosen}
        if taken:
            self.ready = [entry for entry in self.ready if entry[2] not in taken]
            heapq.heapify(self.ready)
        return [entry[2] for entry in chosen]

    def _small(self, atom_id: str) -> bool:
        return self.atoms[atom_id].loc <= self.settings.small_atom_loc

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

    def _prepare(self, atom: Atom) -> _Prepared:
        trace = trace_id(self.partition, atom.id)
        dependency_code = {d: self.outcomes[d].code for d in sorted(self.depends[atom.id])}

        def build(attempt: int, errors: list[str], rejected: str) -> ModelRequest:
            request = self.build_request(atom, attempt, errors, rejected, dependency_code)
            return replace(request, trace_id=trace, priority=float(self.priority[atom.id]))

        first = build(1, [], "")
        return _Prepared(atom, trace, dependency_code, build, first, self._fingerprint(first))

    def _restored(self, prepared: _Prepared, started: float) -> AtomOutcome | None:
        saved = self.checkpoints.load(prepared.fingerprint) if self.checkpoints else None
        if saved is None:
            return None
        self.resumed += 1
        return restore(saved, started, time.perf_counter() - self.clock)

    def _checkpoint(self, prepared: _Prepared, outcome: AtomOutcome) -> AtomOutcome:
        if self.checkpoints is not None and outcome.status in FINISHED:
            self.checkpoints.save(prepared.fingerprint, outcome.atom_id, outcome.as_checkpoint())
        return outcome

    async def _execute(self, atom: Atom) -> AtomOutcome:
        started = time.perf_counter() - self.clock
        if self.unavailable:
            return self._unsent(atom, "unavailable", self.unavailable)
        prepared = self._prepare(atom)
        restored = self._restored(prepared, started)
        if restored is not None:
            return restored
        return self._checkpoint(prepared, await self._attempts(prepared, started))

    async def _execute_group(self, atoms: list[Atom]) -> None:
        """Ask the atoms not restored from a checkpoint in one call; each part of the answer is judged
        on its own, and an atom whose part fails (or is missing) goes on alone from its second attempt."""
        started = time.perf_counter() - self.clock
        pending: list[_Prepared] = []
        for atom in atoms:
            if self.unavailable:
                await self._settle(self._unsent(atom, "unavailable", self.unavailable))
                continue
            prepared = self._prepare(atom)
            restored = self._restored(prepared, started)
            if restored is not None:
                await self._settle(restored)
            else:
                pending.append(prepared)
        if len(pending) < 2:
            for prepared in pending:
                await self._settle(self._checkpoint(prepared, await self._attempts(prepared, started)))
            return
        assert self.build_group is not None  # _group_mates takes no mate without it
        ids = [p.atom.id for p in pending]
        request = replace(
            self.build_group([(p.atom, p.dependency_code) for p in pending]),
            trace_id=group_trace_id(self.partition, ids),
            priority=max(p.first.priority for p in pending),
            reuse_key=hashlib.sha256(json.dumps([p.fingerprint for p in pending]).encode()).hexdigest(),
        )
        parts: dict[str, str | ModelOutputError] = {}
        try:
            response = await self.client.complete(request)
            parts = units(response.text, ids)
        except BudgetExceededError:
            pass  # alone, each atom's smaller call may still fit; each says so when it does not
        except ModelUnavailableError as error:
            self.unavailable = str(error)
            for prepared in pending:
                await self._settle(self._unsent(prepared.atom, "unavailable", self.unavailable))
            return
        except ModelOutputError as error:
            parts = dict.fromkeys(ids, error)
        shares = call_shares(self.client.records_for(request.trace_id), [len(p.atom.code) for p in pending])

        async def finish(prepared: _Prepared, share: CallShare) -> None:
            part = parts.get(prepared.atom.id)
            tries = Tries(code=prepared.atom.code)
            if part is not None:
                await self._judge(prepared.atom, tries, 1, request, part, group=request.trace_id)
            outcome = await self._attempts(prepared, started, tries, share if parts else CallShare())
            await self._settle(self._checkpoint(prepared, outcome))

        await asyncio.gather(*(finish(p, share) for p, share in zip(pending, shares, strict=True)))

    async def _attempts(
        self, prepared: _Prepared, started: float, tries: Tries | None = None, carried: CallShare | None = None
    ) -> AtomOutcome:
        """Ask for the atom until an answer validates or its attempts run out, after those in `tries`
        (its part of a grouped call, whose share of the cost is `carried`)."""
        atom, trace = prepared.atom, prepared.trace
        tries = tries or Tries(code=atom.code)
        records_before = len(self.client.records_for(trace))
        for attempt in range(len(tries.history) + 1, self.settings.max_attempts + 1):
            if tries.status == "valid":
                break
            if attempt > 1:  # one event loop: the counts need no lock
                self.retries += 1
                self._report()
            request = prepared.first if attempt == 1 else prepared.build(attempt, tries.errors, tries.rejected)
            try:
                response = await self.client.complete(request)
            except BudgetExceededError as error:
                tries.status = "budget"
                tries.errors.append(str(error))
                break
            except ModelUnavailableError as error:
                self.unavailable = str(error)
                tries.status = "unavailable"
                tries.errors.append(str(error))
                break
            except ModelOutputError as error:
                tries.reject(attempt, request.temperature, error)
                continue
            await self._judge(atom, tries, attempt, request, response.text)
        records = self.client.records_for(trace)[records_before:]
        calls = [r for r in records if not r.cached]
        carried = carried or CallShare()
        return AtomOutcome(
            atom_id=atom.id,
            trace_id=trace,
            status=tries.status,
            code=tries.code,
            attempts=len(tries.history),
            errors=tuple(tries.errors),
            model_calls=len(calls) + carried.calls,
            cache_hits=len(records) - len(calls) + carried.hits,
            input_tokens=sum(r.input_tokens + r.cache_write_tokens + r.cache_read_tokens for r in calls)
            + carried.input_tokens,
            output_tokens=sum(r.output_tokens for r in calls) + carried.output_tokens,
            cost_usd=sum(r.cost_usd for r in calls) + carried.cost_usd,
            latency_s=sum(r.latency_s for r in records) + carried.latency_s,
            validation_s=tries.validation_s,
            wave=self.wave.get(atom.id, 0),
            started_s=started,
            finished_s=time.perf_counter() - self.clock,
            checks=tries.checks,
            history=tuple(tries.history),
        )

    async def _judge(
        self, atom: Atom, tries: Tries, attempt: int, request: ModelRequest, text: str | Exception, group: str = ""
    ) -> None:
        """Read and validate one answer (or an atom's part of a grouped one) into `tries`."""
        try:
            if isinstance(text, Exception):
                raise text
            answer = code_block(text)
        except ModelOutputError as error:
            tries.reject(attempt, request.temperature, error, group)
            return
        clock = time.perf_counter()
        verdict = self.validate(atom, answer)
        if inspect.isawaitable(verdict):
            verdict = await verdict
        tries.validation_s += time.perf_counter() - clock
        tries.checks = verdict.checks
        entry: dict[str, Any] = {
            "attempt": attempt,
            "temperature": request.temperature,
            "problems": list(verdict.problems),
            "checks": verdict.checks,
            "answer": answer[:2000],
        }
        tries.history.append(entry | ({"group": group} if group else {}))
        if verdict.ok:
            tries.status, tries.code = "valid", answer
            return
        tries.errors.append(f"attempt {attempt}: " + "; ".join(verdict.problems))
        tries.rejected = text

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


@dataclass(frozen=True)
class _Prepared:
    """An atom ready to be asked: its trace, its dependencies' code, its first request and checkpoint key."""

    atom: Atom
    trace: str
    dependency_code: dict[str, str]
    build: Callable[[int, list[str], str], ModelRequest]
    first: ModelRequest
    fingerprint: str
