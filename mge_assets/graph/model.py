"""The dependency graph of atoms: typed edges, broken cycles, and execution waves."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

EDGE_TYPES = ("import", "call", "type", "inherit", "data", "parent")


class Edge(BaseModel):
    """`source` depends on `target`: the target must exist before the source is written."""

    model_config = ConfigDict(frozen=True)

    source: str
    target: str
    type: str
    late: bool = False  # the use happens inside a function body (or a dynamic import), not at import time


class FileEdge(BaseModel):
    """File-level import: `source` imports `target`; `kind` is static, type, late, dynamic, require, reexport."""

    model_config = ConfigDict(frozen=True)

    source: str
    target: str
    kind: str


class BrokenEdge(BaseModel):
    """An edge dropped to break a cycle, and why that one."""

    model_config = ConfigDict(frozen=True)

    source: str
    target: str
    type: str
    reason: str


class Unresolved(BaseModel):
    """A name an atom imports from the project itself that no atom defines."""

    model_config = ConfigDict(frozen=True)

    atom: str
    name: str
    module: str


class DependencyGraph(BaseModel):
    """Atoms as nodes, typed edges, and waves: topological generations, dependencies first."""

    model_config = ConfigDict(frozen=True)

    nodes: tuple[str, ...]
    edges: tuple[Edge, ...]
    broken: tuple[BrokenEdge, ...]
    unresolved: tuple[Unresolved, ...]
    waves: tuple[tuple[str, ...], ...]
    traces: dict[str, str] = {}  # node -> the trace id of its atom (its cost_events rows, its review item)

    def dependencies(self) -> dict[str, set[str]]:
        """For each atom, the atoms it depends on."""
        result: dict[str, set[str]] = {n: set() for n in self.nodes}
        for edge in self.edges:
            result[edge.source].add(edge.target)
        return result

    def wave_of(self) -> dict[str, int]:
        return {atom: index for index, wave in enumerate(self.waves) for atom in wave}

    def wave_stats(self) -> dict[str, float]:
        """Depth (number of waves), widest wave, and parallelism (atoms per wave on average)."""
        widths = [len(w) for w in self.waves]
        return {
            "depth": len(widths),
            "widest_wave": max(widths, default=0),
            "parallelism": round(len(self.nodes) / max(1, len(widths)), 2),
        }

    def edges_by_type(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for edge in self.edges:
            counts[edge.type] = counts.get(edge.type, 0) + 1
        return dict(sorted(counts.items()))
