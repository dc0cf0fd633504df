"""Resolve what each atom references to the atoms that define it, across the project's modules."""

from __future__ import annotations

import networkx as nx

from mge_assets.atomize.model import Atom, ImportRef
from mge_assets.graph.model import BrokenEdge, DependencyGraph, Edge, Unresolved

# Which edges a cycle gives up first: annotations, then calls made inside bodies, then data.
_BREAK_ORDER = {"type": 0, "call": 1, "data": 2}
_NEVER_BROKEN = {"inherit", "import", "parent"}


def module_name(path: str) -> str:
    """`pkg/sub/mod.py` → `pkg.sub.mod`; `pkg/__init__.py` → `pkg`."""
    parts = path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


class _Index:
    """Module-level definitions and imports of every module, for name resolution."""

    def __init__(self, atoms: list[Atom]) -> None:
        self.atoms = {a.id: a for a in atoms}
        self.module_of = {a.id: module_name(a.file) for a in atoms}
        self.is_package = {module_name(a.file): a.file.endswith("__init__.py") for a in atoms}
        self.defs: dict[str, dict[str, str]] = {}
        self.imports: dict[str, dict[str, tuple[ImportRef, str]]] = {}
        for atom in atoms:
            module = self.module_of[atom.id]
            for name in atom.defines:
                self.defs.setdefault(module, {}).setdefault(name, atom.id)
            for ref in atom.imports:
                self.imports.setdefault(module, {})[ref.alias] = (ref, atom.id)
        self.top_packages = {m.split(".")[0] for m in self.defs}

    def absolute(self, module: str, ref: ImportRef) -> str:
        if not ref.level:
            return ref.module
        base = module.split(".")
        base = base if self.is_package.get(module) else base[:-1]
        base = base[: len(base) - (ref.level - 1)] if ref.level > 1 else base
        return ".".join([*base, ref.module] if ref.module else base)

    def is_internal(self, module: str) -> bool:
        return module.split(".")[0] in self.top_packages

    def resolve(self, module: str, name: str, depth: int = 0) -> str | None:
        """The atom defining `name` as seen from `module`, following imports and re-exports."""
        if depth > 8:
            return None
        if name in self.defs.get(module, {}):
            return self.defs[module][name]
        entry = self.imports.get(module, {}).get(name)
        if entry is None:
            for ref, _ in self.imports.get(module, {}).values():
                if ref.name == "*":
                    found = self.resolve(self.absolute(module, ref), name, depth + 1)
                    if found:
                        return found
            return None
        ref, _ = entry
        if ref.name is None:
            return None  # a module object, not a definition
        return self.resolve(self.absolute(module, ref), ref.name, depth + 1)


def build_graph(atoms: list[Atom]) -> DependencyGraph:
    """Edges from names defined and referenced across modules; cycles broken; waves computed."""
    index = _Index(atoms)
    edges: dict[tuple[str, str], str] = {}
    unresolved: list[Unresolved] = []
    for atom in atoms:
        for target, kind in _dependencies(atom, index, unresolved):
            if target != atom.id and (atom.id, target) not in edges:
                edges[(atom.id, target)] = kind
    graph = nx.DiGraph()
    graph.add_nodes_from(a.id for a in atoms)
    graph.add_edges_from((s, t, {"type": k}) for (s, t), k in edges.items())
    broken = _break_cycles(graph)
    waves = [tuple(sorted(w)) for w in nx.topological_generations(graph.reverse(copy=False))]
    return DependencyGraph(
        nodes=tuple(a.id for a in atoms),
        edges=tuple(Edge(source=s, target=t, type=d["type"]) for s, t, d in sorted(graph.edges(data=True))),
        broken=tuple(broken),
        unresolved=tuple(unresolved),
        waves=tuple(waves),
    )


def _dependencies(atom: Atom, index: _Index, unresolved: list[Unresolved]) -> list[tuple[str, str]]:
    module = index.module_of[atom.id]
    found: list[tuple[str, str]] = []
    if atom.parent:
        found.append((atom.parent, "parent"))
    for ref in atom.imports:
        if ref.name in (None, "*"):
            continue
        target_module = index.absolute(module, ref)
        target = index.resolve(target_module, ref.name)
        if target:
            found.append((target, "import"))
        elif index.is_internal(target_module) and not _is_module(index, f"{target_module}.{ref.name}"):
            unresolved.append(Unresolved(atom=atom.id, name=ref.name, module=target_module))
    for name in atom.references:
        target = index.resolve(module, name)
        if target:
            found.append((target, _edge_type(atom, name, index.atoms[target])))
    for dotted in atom.attribute_references:
        target = _resolve_attribute(atom, dotted, module, index)
        if target:
            found.append((target, "call" if index.atoms[target].kind in ("method", "function") else "data"))
    return found


def _resolve_attribute(atom: Atom, dotted: str, module: str, index: _Index) -> str | None:
    owner, attribute = dotted.split(".", 1)
    if owner in ("self", "cls") and "." in atom.symbol:
        return index.defs.get(module, {}).get(f"{atom.symbol.split('.')[0]}.{attribute}")
    entry = index.imports.get(module, {}).get(owner)
    if entry and entry[0].name is None:  # `import pkg.mod as m` then `m.attr`
        return index.resolve(index.absolute(module, entry[0]), attribute)
    if entry and _is_module(index, f"{index.absolute(module, entry[0])}.{entry[0].name}"):
        return index.resolve(f"{index.absolute(module, entry[0])}.{entry[0].name}", attribute)
    target = index.resolve(module, owner)
    if target and index.atoms[target].kind in ("class", "class_header"):
        target_atom = index.atoms[target]
        return index.defs.get(index.module_of[target], {}).get(f"{target_atom.symbol}.{attribute}")
    return None


def _is_module(index: _Index, name: str) -> bool:
    return name in index.defs or name in index.is_package


def _edge_type(atom: Atom, name: str, target: Atom) -> str:
    if name in atom.bases:
        return "inherit"
    if name in atom.type_references and target.kind in ("class", "class_header"):
        return "type"
    if target.kind in ("function", "method", "class", "class_header"):
        return "call"
    return "data"


def _break_cycles(graph: nx.DiGraph) -> list[BrokenEdge]:
    """Drop the cheapest edge of each cycle until none is left; record every decision."""
    broken: list[BrokenEdge] = []
    while True:
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            return broken
        candidates = [(s, t) for s, t in cycle if graph.edges[s, t]["type"] not in _NEVER_BROKEN]
        if not candidates:
            candidates = list(cycle)
            reason = "cycle of import-time edges only; dropped the last one to keep going"
        else:
            reason = None
        source, target = min(candidates, key=lambda e: (_BREAK_ORDER.get(graph.edges[e]["type"], 9), e))
        kind = graph.edges[source, target]["type"]
        reason = reason or {
            "type": "type-only use: the annotation can refer to the name before it exists",
            "call": "late-bound: the call happens inside a body, after both atoms exist",
            "data": "a value read at run time, after both atoms exist",
        }.get(kind, "cycle")
        broken.append(BrokenEdge(source=source, target=target, type=kind, reason=reason))
        graph.remove_edge(source, target)
