"""The `mvp` baseline: task-level units of about 25 lines instead of atoms, one call each, no atom-level
validation or retry; the same engine runs them, so the dual-run compares like with like."""

from __future__ import annotations

from dataclasses import replace

from mge_assets.atomize.model import Atom
from mge_assets.graph.model import DependencyGraph, Edge

UNIT_LINES = 25


def task_units(
    atoms: list[Atom], graph: DependencyGraph, tasks: dict[str, str], line_budget: int = UNIT_LINES
) -> tuple[list[Atom], DependencyGraph, dict[str, list[str]]]:
    """Consecutive atoms of one file and task merged up to `line_budget` lines.

    Returns the units (as atoms of kind `unit`), their dependency graph (edges between units, kept only
    from a later wave to an earlier one so that merging cannot create a cycle), and each unit's atoms.
    """
    by_file: dict[str, list[Atom]] = {}
    for atom in atoms:
        by_file.setdefault(atom.file, []).append(atom)
    groups: list[list[Atom]] = []
    for file_atoms in by_file.values():
        current: list[Atom] = []
        for atom in sorted(file_atoms, key=lambda a: a.start_byte):
            same_task = not current or tasks.get(current[0].id) == tasks.get(atom.id)
            if current and (not same_task or sum(a.loc for a in current) + atom.loc > line_budget):
                groups.append(current)
                current = []
            current.append(atom)
        if current:
            groups.append(current)
    units = [_merge(group, index) for index, group in enumerate(groups)]
    members = {unit.id: [a.id for a in group] for unit, group in zip(units, groups, strict=True)}
    return units, _unit_graph(units, members, graph), members


def _merge(group: list[Atom], index: int) -> Atom:
    first, last = group[0], group[-1]
    return replace(
        first,
        id=f"unit-{index:04d}:{first.file}",
        end_byte=last.end_byte,
        end_line=last.end_line,
        kind="unit",
        symbol=", ".join(a.symbol for a in group),
        parent=None,
        loc=sum(a.loc for a in group),
        complexity=max(a.complexity for a in group),
        code="".join(a.code for a in group),
        defines=tuple(n for a in group for n in a.defines),
        references=tuple(n for a in group for n in a.references),
    )


def _unit_graph(units: list[Atom], members: dict[str, list[str]], graph: DependencyGraph) -> DependencyGraph:
    unit_of = {atom_id: unit_id for unit_id, ids in members.items() for atom_id in ids}
    wave_of = graph.wave_of()
    rank = {u: min(wave_of.get(a, 0) for a in ids) for u, ids in members.items()}
    edges: dict[tuple[str, str], str] = {}
    for edge in graph.edges:
        source, target = unit_of.get(edge.source), unit_of.get(edge.target)
        if source and target and source != target and rank[target] < rank[source]:
            edges.setdefault((source, target), edge.type)
    nodes = tuple(u.id for u in units)
    depends: dict[str, set[str]] = {n: set() for n in nodes}
    for source, target in edges:
        depends[source].add(target)
    waves: list[tuple[str, ...]] = []
    placed: set[str] = set()
    while len(placed) < len(nodes):
        wave = tuple(n for n in nodes if n not in placed and depends[n] <= placed)
        waves.append(wave)
        placed.update(wave)
    return DependencyGraph(
        nodes=nodes,
        edges=tuple(Edge(source=s, target=t, type=k) for (s, t), k in edges.items()),
        broken=(),
        unresolved=(),
        waves=tuple(waves),
    )
