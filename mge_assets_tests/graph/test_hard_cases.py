"""Every hard case: its file edges exactly, and no false negative among its atom edges."""

import networkx as nx
import pytest

from mge_assets.atomize import atomize_files
from mge_assets.graph import build_graph, file_edges, parse_tsconfig
from mge_assets_tests.graph.hard_cases import CASES, Case


def _analyze(case: Case):
    sources = {p: t for p, t in case.files.items() if p != "tsconfig.json"}
    config = parse_tsconfig(case.files["tsconfig.json"]) if "tsconfig.json" in case.files else None
    atoms = atomize_files(sources)
    return atoms, file_edges(atoms, config, sources), build_graph(atoms, config, sources)


def test_there_are_at_least_twenty_hard_cases() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hard_case(case: Case) -> None:
    _, files, graph = _analyze(case)
    assert {(e.source, e.target, e.kind) for e in files} == case.file_edges
    edges = {(e.source, e.target, e.type) for e in graph.edges} | {(b.source, b.target, b.type) for b in graph.broken}
    assert case.atom_edges - edges == set()
    assert tuple(b.type for b in graph.broken) == case.broken_types
    assert all(b.type not in ("inherit", "parent") for b in graph.broken)
    assert nx.is_directed_acyclic_graph(nx.DiGraph([(e.source, e.target) for e in graph.edges]))
    assert graph == _analyze(case)[2]  # identical on a repeated run
