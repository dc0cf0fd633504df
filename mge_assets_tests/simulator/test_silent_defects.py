"""Silent defects: each applies to the code the offline synthesizer writes and leaves it passing level-1
validation; the simulator labels each atom by the silent defect of its latest answer."""

import asyncio
import random
from collections import Counter

import pytest

from mge_assets.atomize import Atom, atomize_file
from mge_assets.execute import AtomValidator
from mge_assets.execute.typecheck import TypeChecker
from mge_assets.llm.answers import code_block
from mge_assets.llm.envelope import embed
from mge_assets.plan import discover, plan_project
from mge_assets.request import parse_request
from mge_assets.settings import mypy_cache_dir
from mge_assets.simulator import Simulator, SimulatorSettings
from mge_assets.simulator.defects import INJECTORS, SILENT_KINDS, silent_sites
from mge_assets.synth.render import draft_task
from mge_assets_tests.conftest import example_path

CHECKED_PER_KIND = 2  # mypy runs once per answer: a sample keeps the test short


@pytest.fixture(scope="module")
def drafts() -> dict[str, str]:
    """The Python files the offline synthesizer drafts for the task API example."""
    discovery = discover(parse_request(example_path("task_api").read_bytes()))
    files: dict[str, str] = {}
    for task in plan_project(discovery).tasks:
        files.update(draft_task(discovery, task))
    return {path: code for path, code in files.items() if path.endswith(".py")}


@pytest.fixture(scope="module")
def verdicts(drafts: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, list]:
    """kind -> (atom, broken code, level-1 verdict) for a sample of the atoms it applies to."""
    atoms = [atom for path, code in drafts.items() for atom in atomize_file(path, code.encode())]
    root = tmp_path_factory.mktemp("silent")
    validator = AtomValidator(
        {p: c.encode() for p, c in drafts.items()}, TypeChecker(drafts, root / "project", mypy_cache_dir())
    )
    samples = {kind: _sample(atoms, kind) for kind in SILENT_KINDS}

    async def judge() -> dict[str, list]:
        return {
            kind: [(atom, code, await validator(atom, code)) for atom, code in sample]
            for kind, sample in samples.items()
        }

    return asyncio.run(judge())


def _sample(atoms: list[Atom], kind: str) -> list[tuple[Atom, str]]:
    """The first atoms of different files `kind` applies to."""
    chosen: dict[str, tuple[Atom, str]] = {}
    for atom in atoms:
        broken = INJECTORS[kind](atom.code, random.Random(0))
        if broken is not None and atom.file not in chosen and len(chosen) < CHECKED_PER_KIND:
            chosen[atom.file] = (atom, broken)
    return list(chosen.values())


@pytest.mark.parametrize("kind", SILENT_KINDS)
def test_each_silent_defect_changes_synthesized_code_and_passes_level_one(kind, verdicts) -> None:
    assert len(verdicts[kind]) == CHECKED_PER_KIND
    for atom, broken, verdict in verdicts[kind]:
        assert broken != atom.code
        assert verdict.ok, (kind, atom.id, verdict.problems, broken)
        assert verdict.checks["types"] is True, (kind, atom.id, verdict.checks)  # mypy judged it


def test_silent_defects_apply_across_the_synthesized_layers(drafts) -> None:
    applies = Counter()
    for path, code in drafts.items():
        for atom in atomize_file(path, code.encode()):
            for kind in SILENT_KINDS:
                if INJECTORS[kind](atom.code, random.Random(0)) is not None:
                    applies[kind, path.split("/")[-2]] += 1
    assert applies["off_by_one", "rules"] and applies["off_by_one", "repositories"]
    assert applies["wrong_status", "api"] and applies["wrong_status", "rules"]
    assert applies["dropped_filter", "repositories"] and applies["dropped_filter", "api"]


def test_injectors_do_not_apply_where_there_is_nothing_to_get_wrong() -> None:
    plain = "def name(self) -> str:\n    return self.first + ' ' + self.last\n"
    assert all(INJECTORS[kind](plain, random.Random(0)) is None for kind in SILENT_KINDS)
    assert silent_sites(plain) == 0
    assert INJECTORS["off_by_one"]("const a = 1 >", random.Random(0)) is None  # not Python: not applied


def test_each_silent_kind_is_the_edit_it_names() -> None:
    rng = random.Random(0)
    bound = "    if count >= limit:\n        raise RuleError(409, 'full')\n"
    assert INJECTORS["off_by_one"]("def f(count: int, limit: int) -> None:\n" + bound, rng) == (
        "def f(count: int, limit: int) -> None:\n" + bound.replace(">=", ">")
    )
    status = "def f() -> int:\n    return 404\n"
    assert INJECTORS["wrong_status"](status, rng) in {status.replace("404", s) for s in ("400", "410")}
    kept = "def f(xs: list[int]) -> list[int]:\n    return [x for x in xs if x > 0]\n"
    assert INJECTORS["dropped_filter"](kept, rng) == kept.replace(" if x > 0", "")


# -- the label: the silent defect of each atom's latest answer ------------------------------------

RULE = '''    def _must_10_priority_bounds(self, values: dict[str, Any]) -> None:
        """MUST-10: A Task's priority is between 1 and 5."""
        value = values.get("priority")
        if value is not None and not (value >= 1 and value <= 5):
            raise RuleError(422, "MUST-10: A Task's priority is between 1 and 5.")
'''
ATOM = {"id": "rules/task.py::TaskRules._must_10_priority_bounds", "file": "rules/task.py", "kind": "method"}


def _answer(simulator: Simulator, feedback: bool) -> str:
    payload = {"atom": {**ATOM, "symbol": "TaskRules._must_10_priority_bounds"}, "draft": RULE, "feedback": feedback}
    body = {
        "model": "claude-haiku-4-5",
        "system": "You write code.",
        "messages": [{"role": "user", "content": "Write it.\n" + embed("write_atom", payload)}],
        "max_tokens": 1024,
    }
    message = simulator.compose(simulator.parse(body), 0.0)
    return code_block(message["content"][0]["text"])


def test_the_label_follows_the_latest_answer_whether_a_retry_repairs_or_keeps() -> None:
    outcomes = Counter()
    for seed in range(80):
        simulator = Simulator(SimulatorSettings(silent_defect_rate=0.2, seed=seed))
        first = _answer(simulator, feedback=False)
        assert (ATOM["id"] in simulator.stats.silent_atoms) == (first != RULE)
        retry = _answer(simulator, feedback=True)  # as after a visible defect: the validator's feedback
        assert (ATOM["id"] in simulator.stats.silent_atoms) == (retry != RULE)
        if first != RULE:
            outcomes["repaired" if retry == RULE else "kept" if retry == first else "slipped anew"] += 1
        else:
            outcomes["slipped on retry" if retry != RULE else "clean"] += 1
    assert outcomes["repaired"] and outcomes["kept"] and outcomes["slipped on retry"] and outcomes["clean"]


def test_a_retry_after_a_silent_only_answer_is_counted_as_rejected() -> None:
    """Validation cannot see a silent defect: a retry of an answer that carried only one would mean it did."""
    for seed in range(100):
        simulator = Simulator(SimulatorSettings(silent_defect_rate=0.3, seed=seed))
        if _answer(simulator, feedback=False) != RULE:
            break
    _answer(simulator, feedback=True)
    assert simulator.stats.silent_rejected == 1
    assert simulator.stats.as_dict()["silent_atoms_total"] == len(simulator.stats.silent_atoms)
    visible = Simulator(SimulatorSettings(silent_defect_rate=0.3, defect_rate=1.0, seed=seed))
    _answer(visible, feedback=False)
    _answer(visible, feedback=True)  # the retry a visible defect called for
    assert visible.stats.silent_rejected == 0


def test_silent_defects_leave_the_visible_draws_as_they_were() -> None:
    for seed in range(20):
        off = Simulator(SimulatorSettings(defect_rate=0.5, seed=seed))
        on = Simulator(SimulatorSettings(defect_rate=0.5, seed=seed, silent_defect_rate=0.3))
        _answer(off, False)
        _answer(on, False)
        assert off.stats.defective_atoms.keys() == on.stats.defective_atoms.keys()


def test_slips_are_likelier_on_retries_and_on_units_with_more_sites() -> None:
    def slips(feedback: bool) -> int:
        count = 0
        for seed in range(200):
            simulator = Simulator(SimulatorSettings(silent_defect_rate=0.1, seed=seed))
            count += _answer(simulator, feedback) != RULE
        return count

    first, retried = slips(False), slips(True)
    assert 0 < first < retried
    assert silent_sites(RULE) > silent_sites('    def f(self) -> None:\n        raise RuleError(422, "no")\n')
