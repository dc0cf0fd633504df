"""Small atoms ready together asked in one call: split back to each atom, judged and retried alone."""

import asyncio
from pathlib import Path

import pytest

from mge_assets.atomize import Atom
from mge_assets.defs.resources import default_resources
from mge_assets.errors import ModelOutputError, ModelUnavailableError, SettingsError
from mge_assets.execute import ExecutionSettings, Verdict, execute_atoms
from mge_assets.llm import Budget, ModelClient, ModelRequest, ModelResponse
from mge_assets.llm.answers import code_block, render_code, render_units, units
from mge_assets.llm.envelope import extract
from mge_assets.llm.prompts import atom_request, atoms_request
from mge_assets.llm.types import Usage
from mge_assets.plan import discover
from mge_assets.request import parse_request
from mge_assets.simulator import SimulatorSettings
from mge_assets.simulator.server import Simulator
from mge_assets_tests.execute.test_engine import MemoryCheckpoints, build, build_group, make_atom, make_graph

MODEL = "claude-sonnet-4-6"
EXAMPLE = Path(__file__).parents[2] / "examples" / "requests" / "task_api.md"


def large_atom(atom_id: str) -> Atom:
    body = "".join(f"    x{i} = {i}\n" for i in range(20))
    code = f"def {atom_id}() -> int:\n{body}    return 1\n"
    return Atom(atom_id, "python", f"{atom_id}.py", 0, len(code), 1, 22, "function", atom_id, None, 22, 1, code)


class Backend:
    """Answers every atom with its draft, except where `broken` says otherwise (grouped calls only):
    an atom id mapped to None is left out of the answer, to text is answered with that text."""

    name = "claude"
    model = MODEL

    def __init__(self, broken: dict[str, str | None] | None = None) -> None:
        self.broken = broken or {}
        self.requests: list[ModelRequest] = []

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        payload = extract(request.prompt)
        usage = Usage(input_tokens=len(request.prompt) // 4, output_tokens=200)
        if "atoms" not in payload:
            return ModelResponse(render_code(payload["draft"]), MODEL, usage)
        parts = {}
        for number, unit in enumerate(payload["atoms"], 1):
            answer = self.broken.get(unit["atom"]["id"], render_code(unit["draft"]))
            if answer is not None:
                parts[number] = answer
        return ModelResponse(render_units(parts), MODEL, usage)


def defines_its_unit(atom: Atom, code: str) -> Verdict:
    return Verdict() if f"def {atom.id}() -> int:" in code else Verdict((f"does not define {atom.id}",))


def run(atoms, backend, per_call, checkpoints=None, validate=defines_its_unit):
    ids = [a.id for a in atoms]
    client = ModelClient(backend)
    report = asyncio.run(
        execute_atoms(
            atoms,
            make_graph(ids, []),
            client,
            build,
            validate,
            "p",
            ExecutionSettings(atoms_per_call=per_call),
            checkpoints,
            build_group=build_group,
        )
    )
    return {o.atom_id: o for o in report.outcomes}, client


def test_a_batched_answer_is_split_by_unit_and_each_missing_or_doubled_part_is_named():
    answer = render_units({1: "```python\nA\n```\n", 2: "```python\nB\n```\n", 7: "```python\nZ\n```\n"})
    answer += '<unit n="2">\n```python\nB2\n```\n</unit>\n<unit id="c">\n```python\nC\n```\n</unit>\n'
    parts = units(answer, ["a", "b", "c"])
    assert code_block(parts["a"]) == "A\n"
    assert isinstance(parts["b"], ModelOutputError) and '2 <unit n="2"> blocks (for b)' in str(parts["b"])
    assert isinstance(parts["c"], ModelOutputError) and 'no <unit n="3"> block (for c)' in str(parts["c"])
    assert set(parts) == {"a", "b", "c"}  # a block under a number nobody asked for is never taken


def test_small_atoms_ready_together_share_calls_and_their_cost():
    small = [make_atom(f"a{i}") for i in range(7)]
    atoms = [*small, large_atom("big")]
    grouped, client = run(atoms, Backend(), per_call=3)
    kinds = [r.kind for r in client.backend.requests]
    # seven small atoms: two calls of three and one alone; the large one is never grouped
    assert sorted(kinds) == ["write_atom", "write_atom", "write_atoms", "write_atoms"]
    assert all(o.status == "valid" and o.attempts == 1 and o.model_calls == 1 for o in grouped.values())
    groups = {o.history[0].get("group") for o in grouped.values()}
    assert len([g for g in groups if g]) == 2 and all(g.startswith("mge-group-") for g in groups if g)
    assert "group" not in grouped["big"].history[0]
    # the atoms' shares add up to what the calls cost, and the code is what single calls give
    assert abs(sum(o.cost_usd for o in grouped.values()) - client.summary()["cost_usd"]) < 1e-6
    single, single_client = run(atoms, Backend(), per_call=1)
    assert {a: o.code for a, o in single.items()} == {a: o.code for a, o in grouped.items()}
    assert single_client.summary()["model_calls"] == 8 and client.summary()["model_calls"] == 4


def test_a_part_that_fails_or_is_missing_is_retried_alone_with_its_problem():
    atoms = [make_atom(f"a{i}") for i in range(3)]
    backend = Backend({"a1": render_code("def wrong() -> int:\n    return 2\n"), "a2": None})
    outcomes, _client = run(atoms, backend, per_call=3)
    assert outcomes["a0"].status == "valid" and outcomes["a0"].attempts == 1
    for atom_id, problem in (("a1", "does not define a1"), ("a2", 'no <unit n="3">')):
        outcome = outcomes[atom_id]
        assert outcome.status == "valid" and outcome.attempts == 2, atom_id
        assert outcome.history[0]["group"] and problem in outcome.history[0]["problems"][0]
        assert "group" not in outcome.history[1]
        alone = [r for r in backend.requests if r.kind == "write_atom" and f'"id": "{atom_id}"' in r.prompt]
        assert len(alone) == 1 and problem in alone[0].prompt and alone[0].temperature == 0.5


def test_grouped_atoms_are_checkpointed_one_by_one():
    atoms = [make_atom(f"a{i}") for i in range(4)]
    store = MemoryCheckpoints()
    run(atoms, Backend(), per_call=4, checkpoints=store)
    assert len(store.saved) == 4
    again = Backend()
    outcomes, _client = run(atoms, again, per_call=1, checkpoints=store)
    assert not again.requests and all(o.resumed for o in outcomes.values())


def test_the_simulator_answers_each_grouped_atom_as_if_it_were_asked_alone():
    discovery = discover(parse_request(EXAMPLE.read_text()))
    drafts = [f"def unit{i}(x: int) -> int:\n    if x > {i}:\n        return {i}\n    return 0\n" for i in range(4)]
    atoms = [
        {"id": f"m.py::unit{i}", "file": "m.py", "kind": "function", "symbol": f"unit{i}", "code": code}
        for i, code in enumerate(drafts)
    ]
    settings = SimulatorSettings(defect_rate=0.5, defect_kinds=("wrong_return", "syntax"), seed=3)
    together = atoms_request(discovery, [(atom, []) for atom in atoms], "t")
    grouped = Simulator(settings)
    parts = units(grouped._answer(together.system, together.prompt, 0.0), [a["id"] for a in atoms])
    alone = Simulator(settings)
    for atom in atoms:
        single = atom_request(discovery, atom, [], "t")
        assert parts[atom["id"]] == alone._answer(single.system, single.prompt, 0.0), atom["id"]
    assert grouped.stats.defects_injected == alone.stats.defects_injected
    assert sum(grouped.stats.defects_injected.values()) > 0  # the seed puts a defect in some of them
    assert grouped.stats.by_kind["write_atoms"] == 1 and alone.stats.by_kind["write_atom"] == 4


@pytest.mark.parametrize("value, problem", [("9", "must be 1 to 5, not 9"), ("five", "must be a whole number")])
def test_atoms_per_call_out_of_range_is_a_clear_settings_error(monkeypatch, value: str, problem: str) -> None:
    monkeypatch.setenv("MGE_ATOMS_PER_CALL", value)
    with pytest.raises(SettingsError, match=problem):
        default_resources()["model_backend"].build_backend()
    monkeypatch.setenv("MGE_ATOMS_PER_CALL", "5")
    assert default_resources()["model_backend"].atoms_per_call == 5


def test_a_grouped_call_refused_by_the_budget_leaves_each_atom_to_say_so_alone():
    atoms = [make_atom(f"a{i}") for i in range(3)]
    backend = Backend()
    client = ModelClient(backend, budget=Budget(cap_usd=0.0))
    report = asyncio.run(
        execute_atoms(
            atoms,
            make_graph([a.id for a in atoms], []),
            client,
            build,
            defines_its_unit,
            "p",
            ExecutionSettings(atoms_per_call=3),
            build_group=build_group,
        )
    )
    assert not backend.requests
    assert all(o.status == "budget" and "budget" in o.errors[-1] for o in report.outcomes)


def test_a_model_api_that_is_down_for_a_grouped_call_stops_every_atom_of_it():
    class Down(Backend):
        async def complete(self, request: ModelRequest) -> ModelResponse:
            raise ModelUnavailableError("the model API did not answer")

    atoms = [make_atom(f"a{i}") for i in range(3)]
    outcomes, _client = run(atoms, Down(), per_call=3)
    assert all(o.status == "unavailable" and "did not answer" in o.errors[-1] for o in outcomes.values())
