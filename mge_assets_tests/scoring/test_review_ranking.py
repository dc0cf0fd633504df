"""What ranks the review queue: the AUC it is judged by, the atoms failing tests point at, and the
integration factor that follows them."""

import pandas as pd
import pytest

from mge_assets.assemble.project import GeneratedProject
from mge_assets.graph.model import DependencyGraph
from mge_assets.scoring import confidence_frame, select_for_review
from mge_assets.scoring.integration import failing_clues, integration_by_atom
from mge_assets.scoring.review import queued, roc_auc
from mge_assets.validation.project import ProjectChecks


def test_roc_auc_by_the_rank_formula() -> None:
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == pytest.approx(0.75)
    assert roc_auc([3, 2, 1], [True, False, False]) == 1.0
    assert roc_auc([1, 1, 1, 1], [True, False, True, False]) == 0.5  # ties count half
    assert roc_auc([0.2, 0.9], [True, True]) is None


SERVICE = {
    "app/app.py": [
        ("app/app.py::<module>", "from fastapi import FastAPI\n\n\n"),
        ("app/app.py::not_found", "def not_found() -> int:\n    return 410\n\n\n"),
        ("app/app.py::conflict", "def conflict() -> int:\n    return 409\n"),
    ],
    "app/rules.py": [
        ("app/rules.py::Rules", "class Rules:\n"),
        ("app/rules.py::Rules.bounds", '    def bounds(self) -> None:\n        """MUST-10: 1 to 5."""\n'),
        ("app/rules.py::Rules.quota", '    def quota(self) -> None:\n        """MUST-11: at most 2."""\n'),
    ],
    "tests/test_thing.py": [
        ("tests/test_thing.py::<module>", "import pytest\n\n\n"),
        ("tests/test_thing.py::test_missing", "def test_missing(client) -> None:\n    assert get() == 404\n\n\n"),
        ("tests/test_thing.py::test_create", "def test_create(client) -> None:\n    assert post() == 201\n"),
    ],
}
LOG = """____ test_missing ____
>       assert client.get("/things/9").status_code == 404
E       AssertionError: assert 410 == 404
tests/test_thing.py:5: AssertionError
____ test_create ____
E       AssertionError: {"detail":"MUST-10: 1 to 5."}
app/rules.py:2: in bounds
FAILED tests/test_thing.py::test_missing - AssertionError: assert 410 == 404
"""


def _results() -> pd.DataFrame:
    rows = []
    for path, atoms in SERVICE.items():
        start = 0
        for atom_id, code in atoms:
            rows.append({"atom_id": atom_id, "file": path, "start_byte": start, "code": code})
            start += len(code.encode())
    return pd.DataFrame(rows)


def _project(unit_tests: dict[str, str], log: str) -> GeneratedProject:
    checks = ProjectChecks(
        modules={"app.app": "", "app.rules": ""},
        system={"/health": 200},
        system_error="",
        unit_tests=unit_tests,
        unit_log=log,
    )
    return GeneratedProject(
        name="thing", root="/tmp/thing", package="app", files={}, modules=(), entity_paths=(), checks=checks
    )


FAILING = {"tests/test_thing.py::test_missing": "failed", "tests/test_thing.py::test_create": "failed"}


def test_failing_tests_point_at_their_atoms_their_lines_requirements_and_statuses() -> None:
    clues = failing_clues(_results(), _project(FAILING, LOG))
    pointed = set(clues[clues > 0].index)
    assert pointed == {
        "tests/test_thing.py::test_missing",  # its own atom (and its traceback line, 5)
        "tests/test_thing.py::test_create",  # its own atom
        "app/app.py::not_found",  # writes the 410 the test got instead of 404
        "app/rules.py::Rules.bounds",  # names MUST-10, and its traceback line
    }
    assert clues["tests/test_thing.py::test_missing"] == 2 and clues["app/rules.py::Rules.bounds"] == 2


def test_nothing_is_pointed_at_when_every_test_passes() -> None:
    passing = dict.fromkeys(FAILING, "passed")
    assert (failing_clues(_results(), _project(passing, LOG)) == 0).all()


def test_integration_path_ok_judges_a_test_file_by_its_own_tests() -> None:
    results = _results()
    atoms = results.rename(columns={"atom_id": "id"})
    graph = DependencyGraph(nodes=tuple(atoms["id"]), edges=(), broken=(), unresolved=(), waves=())
    one_failing = {**FAILING, "tests/test_thing.py::test_create": "passed"}
    frame = integration_by_atom(atoms, graph, _project(one_failing, LOG.split("____ test_create")[0]), results)
    by_atom = frame.set_index("atom_id")
    assert not by_atom.loc["tests/test_thing.py::test_create", "integration_ok"]  # its file has a failure
    assert by_atom.loc["tests/test_thing.py::test_create", "integration_path_ok"]  # its own test passed
    assert not by_atom.loc["tests/test_thing.py::test_missing", "integration_path_ok"]
    assert not by_atom.loc["app/app.py::not_found", "integration_path_ok"]
    assert by_atom.loc["app/app.py::conflict", "integration_path_ok"]
    assert list(integration_by_atom(atoms, graph, _project(one_failing, ""))) == [
        "atom_id",
        "has_dependencies",
        "integration_ok",
    ]  # without the final code, what the precision score reads and nothing more


def test_confidence_follows_integration_path_ok_when_given() -> None:
    frame = pd.DataFrame(
        {
            "atom_id": ["a", "b"],
            "status": ["valid", "valid"],
            "attempts": [1, 1],
            "complexity": [1, 1],
            "integration_ok": [False, True],
            "integration_path_ok": [True, False],
            "failing_clues": [0, 2],
        }
    )
    scored = confidence_frame(frame, max_attempts=4)
    assert list(scored["f_integration"]) == [1.0, 0.0]
    assert list(confidence_frame(frame.drop(columns="integration_path_ok"), 4)["f_integration"]) == [0.0, 1.0]
    assert "a failing test points at it" in select_for_review(scored).iloc[0]["reason"]


def test_queued_marks_exactly_what_select_for_review_returns() -> None:
    frame = pd.DataFrame(
        {
            "atom_id": [f"a{i:02d}" for i in range(20)],
            "status": ["invalid"] + ["valid"] * 19,
            "attempts": [1, 1, 3, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 4, 1],
            "complexity": [1] * 10 + [5] * 10,
            "integration_ok": [True] * 20,
        }
    )
    scored = confidence_frame(frame, max_attempts=4)
    assert set(scored.loc[queued(scored), "atom_id"]) == set(select_for_review(scored)["atom_id"])
