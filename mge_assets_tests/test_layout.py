"""The layout the code promises: a functional core without Dagster, no private Dagster module anywhere,
and reading the instance back in one home (`mge_assets/readback/`)."""

import ast
from pathlib import Path

import mge_assets

PACKAGE = Path(mge_assets.__file__).parent
PURE = [
    "acceptance",
    "assemble",
    "atomize",
    "canary",
    "execute",
    "graph",
    "llm",
    "node",
    "plan",
    "request",
    "review",
    "rules",
    "sandbox",
    "scoring",
    "simulator",
    "synth",
    "validation",
]
# Reading what runs recorded after the fact; sensors and schedules read to decide, and stay in defs/.
READ_BACK_CALLS = {"fetch_materializations", "all_logs", "get_records_for_run", "fetch_observations"}
READERS = ("readback", "defs/sensors.py", "defs/schedules.py")


def _modules() -> list[tuple[str, ast.Module]]:
    return [(str(p.relative_to(PACKAGE)), ast.parse(p.read_text())) for p in sorted(PACKAGE.rglob("*.py"))]


def _imported(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_no_module_imports_a_private_dagster_module() -> None:
    private = {
        path: sorted(n for n in _imported(tree) if n.startswith("dagster._") or n.startswith("dagster_postgres._"))
        for path, tree in _modules()
    }
    assert {p: n for p, n in private.items() if n} == {}


def test_the_functional_core_never_imports_dagster() -> None:
    offending = {
        path: sorted(n for n in _imported(tree) if n.split(".")[0] in {"dagster", "dagster_postgres"})
        for path, tree in _modules()
        if path.split("/")[0] in PURE
    }
    assert {p: n for p, n in offending.items() if n} == {}


def test_reading_runs_back_lives_in_readback() -> None:
    calls = {
        path: sorted(
            node.func.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in READ_BACK_CALLS
        )
        for path, tree in _modules()
        if not path.startswith(READERS)
    }
    assert {p: c for p, c in calls.items() if c} == {}
