"""The engine's invariants: dependencies first, retries with feedback, blocked dependents, resume."""

import asyncio
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from mge_assets.atomize import Atom
from mge_assets.execute import ExecutionSettings, Verdict, execute_atoms
from mge_assets.execute.engine import critical_priorities, trace_id
from mge_assets.graph.model import DependencyGraph, Edge
from mge_assets.llm import ModelClient, ModelRequest, ModelResponse
from mge_assets.llm.answers import render_code, render_units
from mge_assets.llm.envelope import embed, extract


def make_atom(atom_id: str) -> Atom:
    code = f"def {atom_id}() -> int:\n    return 1\n"
    return Atom(atom_id, "python", f"{atom_id}.py", 0, len(code), 1, 2, "function", atom_id, None, 2, 1, code)


def make_graph(ids: list[str], edges: list[tuple[str, str]]) -> DependencyGraph:
    depends = {i: {t for s, t in edges if s == i} for i in ids}
    waves, placed = [], set()
    while len(placed) < len(ids):
        wave = tuple(i for i in ids if i not in placed and depends[i] <= placed)
        waves.append(wave)
        placed |= set(wave)
    return DependencyGraph(
        nodes=tuple(ids),
        edges=tuple(Edge(source=s, target=t, type="call") for s, t in edges),
        broken=(),
        unresolved=(),
        waves=tuple(waves),
    )


class RecordingBackend:
    """Answers the draft back after a random pause, logging when each atom's call starts."""

    name = model = "offline"

    def __init__(self, log: list[tuple[str, str]], seed: int = 0) -> None:
        self.log = log
        self.random = random.Random(seed)

    async def complete(self, request: ModelRequest) -> ModelResponse:
        payload = extract(request.prompt)
        asked = payload.get("atoms", [payload])  # one atom, or several in one call
        self.log.extend(("start", unit["atom"]["id"]) for unit in asked)
        await asyncio.sleep(self.random.choice([0, 0, 0.001, 0.002]))
        if "atoms" in payload:
            parts = {n: render_code(unit["draft"]) for n, unit in enumerate(asked, 1)}
            return ModelResponse(text=render_units(parts), model="offline")
        return ModelResponse(text=render_code(payload["draft"]), model="offline")


def build(atom, attempt, errors, rejected, final_code):
    payload = {"atom": {"id": atom.id}, "draft": atom.code, "feedback": bool(errors), "deps": sorted(final_code)}
    temperature = (0.7, 0.5, 0.3, 0.3)[attempt - 1]
    return ModelRequest("write_atom", "system", f"{errors}\n" + embed("write_atom", payload), temperature)


def build_group(members):
    units = [{"atom": {"id": atom.id}, "draft": atom.code, "feedback": False} for atom, _code in members]
    return ModelRequest("write_atoms", "system", embed("write_atoms", {"atoms": units}), 0.7)


def accept(atom, code):
    return Verdict()


@st.composite
def dags(draw):
    size = draw(st.integers(min_value=1, max_value=25))
    ids = [f"a{i}" for i in range(size)]
    edges = [(ids[i], ids[j]) for i in range(size) for j in range(i) if draw(st.booleans()) and draw(st.booleans())]
    order = draw(st.permutations(ids))
    return list(order), edges


@settings(max_examples=60, deadline=None)
@given(
    dag=dags(),
    workers=st.integers(min_value=1, max_value=8),
    barrier=st.booleans(),
    seed=st.integers(0, 99),
    per_call=st.sampled_from([1, 3, 5]),
)
def test_no_atom_starts_before_its_dependencies_finish(dag, workers, barrier, seed, per_call):
    ids, edges = dag
    log: list[tuple[str, str]] = []
    client = ModelClient(RecordingBackend(log, seed))
    settings_ = ExecutionSettings(workers=workers, barrier=barrier, atoms_per_call=per_call)

    def finished(outcome):
        log.append(("finish", outcome.atom_id))

    report = asyncio.run(
        execute_atoms(
            [make_atom(i) for i in ids],
            make_graph(ids, edges),
            client,
            build,
            accept,
            "p",
            settings_,
            on_finish=finished,
            build_group=build_group,
        )
    )
    assert [o.atom_id for o in report.outcomes] == ids
    assert all(o.status == "valid" for o in report.outcomes)
    position = {event: index for index, event in enumerate(log)}
    for source, target in edges:
        assert position[("finish", target)] < position[("start", source)], (source, target)


def test_critical_path_first():
    ids = ["chain0", "chain1", "chain2", "leaf"]
    depends = {"chain1": {"chain0"}, "chain2": {"chain1"}, "chain0": set(), "leaf": set()}
    priority = critical_priorities([make_atom(i) for i in ids], depends)
    assert priority == {"chain0": 3, "chain1": 2, "chain2": 1, "leaf": 1}
    log: list[tuple[str, str]] = []
    graph = make_graph(ids, [("chain1", "chain0"), ("chain2", "chain1")])
    asyncio.run(
        execute_atoms(
            [make_atom(i) for i in ids[::-1]],
            graph,
            ModelClient(RecordingBackend(log)),
            build,
            accept,
            "p",
            ExecutionSettings(workers=1),
        )
    )
    assert log[0] == ("start", "chain0")


def test_retries_carry_feedback_and_temperatures_then_block_dependents():
    ids = ["base", "user", "other"]
    requests: list[ModelRequest] = []

    class Backend(RecordingBackend):
        async def complete(self, request):
            requests.append(request)
            return await super().complete(request)

    def reject_base(atom, code):
        return Verdict(("base is wrong",), {"parses": True}) if atom.id == "base" else Verdict()

    report = asyncio.run(
        execute_atoms(
            [make_atom(i) for i in ids],
            make_graph(ids, [("user", "base")]),
            ModelClient(Backend([])),
            build,
            reject_base,
            "p",
        )
    )
    outcomes = {o.atom_id: o for o in report.outcomes}
    assert outcomes["base"].status == "invalid" and outcomes["base"].attempts == 4
    assert [h["temperature"] for h in outcomes["base"].history] == [0.7, 0.5, 0.3, 0.3]
    base_requests = [r for r in requests if '"id": "base"' in r.prompt]
    assert [r.temperature for r in base_requests] == [0.7, 0.5, 0.3, 0.3]
    assert "base is wrong" not in base_requests[0].prompt and "base is wrong" in base_requests[1].prompt
    assert outcomes["user"].status == "blocked" and outcomes["user"].model_calls == 0
    assert outcomes["user"].code == make_atom("user").code
    assert outcomes["other"].status == "valid"


class MemoryCheckpoints:
    def __init__(self):
        self.saved: dict[str, dict] = {}

    def load(self, fingerprint):
        return self.saved.get(fingerprint)

    def save(self, fingerprint, atom_id, outcome):
        self.saved[fingerprint] = outcome


def test_checkpointed_atoms_are_not_redone():
    ids = [f"a{i}" for i in range(6)]
    graph = make_graph(ids, [("a1", "a0"), ("a2", "a1"), ("a4", "a3")])
    store = MemoryCheckpoints()
    first: list[tuple[str, str]] = []
    asyncio.run(
        execute_atoms(
            [make_atom(i) for i in ids],
            graph,
            ModelClient(RecordingBackend(first)),
            build,
            accept,
            "p",
            checkpoints=store,
        )
    )
    assert len(store.saved) == 6
    del store.saved[next(iter(store.saved))]  # as if the run had been killed before this atom finished
    second: list[tuple[str, str]] = []
    report = asyncio.run(
        execute_atoms(
            [make_atom(i) for i in ids],
            graph,
            ModelClient(RecordingBackend(second)),
            build,
            accept,
            "p",
            checkpoints=store,
        )
    )
    assert len(second) == 1 and report.resumed == 5
    assert all(o.status == "valid" for o in report.outcomes)


def test_trace_ids_are_stable_per_partition_and_atom():
    assert trace_id("task-api", "a.py::f") == trace_id("task-api", "a.py::f")
    assert len({trace_id("task-api", "a.py::f"), trace_id("blog", "a.py::f"), trace_id("task-api", "a.py::g")}) == 3


def test_the_prompt_carries_the_final_code_of_the_dependencies_not_their_drafts():
    ids = ["base", "user"]
    seen: dict[str, dict[str, str]] = {}

    class Rewriting(RecordingBackend):
        async def complete(self, request):
            payload = extract(request.prompt)
            if payload["atom"]["id"] == "base":
                return ModelResponse(text=render_code("def base() -> int:\n    return 2\n"), model="offline")
            return await super().complete(request)

    def recording_build(atom, attempt, errors, rejected, final_code):
        seen[atom.id] = dict(final_code)
        return build(atom, attempt, errors, rejected, final_code)

    asyncio.run(
        execute_atoms(
            [make_atom(i) for i in ids],
            make_graph(ids, [("user", "base")]),
            ModelClient(Rewriting([])),
            recording_build,
            accept,
            "p",
        )
    )
    assert seen["base"] == {}
    assert seen["user"] == {"base": "def base() -> int:\n    return 2\n"}
