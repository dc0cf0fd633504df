"""Atomize and graph an existing codebase: every Python, JavaScript and TypeScript file under a folder.

A file that does not parse is reported with its error positions and the rest goes on (tree-sitter still
gives its atoms). Folders of dependencies, caches and virtual environments are left out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mge_assets.atomize import LINE_BUDGET, Atom, ParseError, language_of
from mge_assets.atomize.batch import atomize_tree, paused_gc
from mge_assets.atomize.cache import AtomCache
from mge_assets.graph.build import build_graph, file_edges
from mge_assets.graph.model import DependencyGraph, FileEdge
from mge_assets.graph.resolve import TsConfig, parse_tsconfig

SKIPPED_FOLDERS = {"node_modules", "__pycache__", ".git", ".venv", "venv", ".tox", ".mypy_cache", "site-packages"}
_LOC_BINS = ((1, 5), (6, 10), (11, 20), (21, 40), (41, None))


@dataclass(frozen=True)
class Analysis:
    root: str
    files: tuple[str, ...]
    atoms: tuple[Atom, ...]
    errors: tuple[ParseError, ...]
    graph: DependencyGraph
    file_edges: tuple[FileEdge, ...]
    reused: int | None = None  # files whose atoms came from the cache; None without one


def source_files(root: Path) -> list[str]:
    """Paths (relative, with `/`) of the files under `root` the atomizer understands, sorted."""
    found = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if d not in SKIPPED_FOLDERS and not d.startswith("."))
        for name in names:
            if language_of(name) is not None:
                found.append((Path(folder) / name).relative_to(root).as_posix())
    return sorted(found)


def read_tsconfig(root: Path) -> TsConfig | None:
    path = root / "tsconfig.json"
    if not path.exists():
        return None
    try:
        return parse_tsconfig(path.read_text())
    except ValueError as error:
        raise ValueError(f"{path} is not valid JSON ({error}); fix it or remove it to analyze without it") from error


def _import_root(folder: Path) -> Path:
    """The folder imports are written from: above every Python package that `folder` lies in, so that
    `mge atomize mypkg` names the modules `mypkg.x`, as their own imports do."""
    folder = folder.resolve()
    while (folder / "__init__.py").exists() and folder.parent != folder:
        folder = folder.parent
    return folder


def analyze_path(root: Path, line_budget: int = LINE_BUDGET, jobs: int = 1, cache: AtomCache | None = None) -> Analysis:
    """Atoms, parse errors, the atom graph and the file-level imports of the codebase under `root`,
    its files atomized by `jobs` processes (or read from `cache` where they have not changed)."""
    if not root.exists():
        raise ValueError(f"{root} does not exist: give a folder or a file of Python, JavaScript or TypeScript")
    base = _import_root(root if root.is_dir() else root.parent)
    inside = (root if root.is_dir() else root.parent).resolve().relative_to(base.resolve()).as_posix()
    found = source_files(root) if root.is_dir() else [root.name]
    files = [f if inside == "." else f"{inside}/{f}" for f in found]
    if not files:
        raise ValueError(f"{root} holds no .py, .js, .jsx, .mjs, .cjs, .ts, .mts, .cts or .tsx file")
    config = read_tsconfig(base)
    hits = cache.hits if cache is not None else 0
    with paused_gc():
        atoms: list[Atom] = []
        errors: list[ParseError] = []
        for found_atoms, problems in atomize_tree(base, files, line_budget, jobs, cache):
            atoms.extend(found_atoms)
            errors.extend(problems)
        return Analysis(
            root=str(root),
            files=tuple(files),
            atoms=tuple(atoms),
            errors=tuple(errors),
            graph=build_graph(atoms, config, files),
            file_edges=tuple(file_edges(atoms, config, files)),
            reused=None if cache is None else cache.hits - hits,
        )


def loc_distribution(locs: list[int]) -> dict[str, int]:
    """Atoms per LOC range: 1-5, 6-10, 11-20, 21-40, >40."""
    counts = {}
    for low, high in _LOC_BINS:
        label = f"{low}-{high}" if high else f">{low - 1}"
        counts[label] = sum(1 for n in locs if n >= low and (high is None or n <= high))
    return counts


def summary(analysis: Analysis) -> dict:
    """The figures `mge atomize` prints: files, atoms, LOC, edges by type, cycles broken, waves."""
    atoms = analysis.atoms
    locs = sorted(a.loc for a in atoms)
    graph = analysis.graph
    kinds: dict[str, int] = {}
    for atom in atoms:
        kinds[atom.kind] = kinds.get(atom.kind, 0) + 1
    return {
        "files": len(analysis.files),
        "lines": sum(a.end_line - a.start_line + 1 for a in atoms),
        "atoms": len(atoms),
        "atoms_by_kind": dict(sorted(kinds.items())),
        "loc": {
            "mean": round(sum(locs) / max(1, len(locs)), 2),
            "median": locs[len(locs) // 2] if locs else 0,
            "max": locs[-1] if locs else 0,
            "distribution": loc_distribution(locs),
        },
        "parse_errors": len(analysis.errors),
        "file_edges": len(analysis.file_edges),
        "edges_by_type": graph.edges_by_type(),
        "cycles_broken": len(graph.broken),
        "unresolved": len(graph.unresolved),
        **graph.wave_stats(),
    }


def to_dot(graph: DependencyGraph) -> str:
    """Graphviz DOT: atoms as nodes, edges labelled by type, broken edges dashed and red."""
    lines = ["digraph atoms {", "  rankdir=LR;", "  node [shape=box, fontsize=10];"]
    lines.extend(f"  {_quote(n)};" for n in graph.nodes)
    lines.extend(f"  {_quote(e.source)} -> {_quote(e.target)} [label={e.type}];" for e in graph.edges)
    lines.extend(
        f"  {_quote(b.source)} -> {_quote(b.target)} [label={b.type}, style=dashed, color=red];" for b in graph.broken
    )
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(graph: DependencyGraph) -> str:
    """Mermaid flowchart of the same graph (renders in GitHub, GitLab and most Markdown viewers)."""
    ids = {node: f"n{index}" for index, node in enumerate(graph.nodes)}
    lines = ["flowchart LR"]
    lines.extend(f'  {ids[n]}["{n.replace(chr(34), "#quot;")}"]' for n in graph.nodes)
    lines.extend(f"  {ids[e.source]} -->|{e.type}| {ids[e.target]}" for e in graph.edges)
    lines.extend(f"  {ids[b.source]} -.->|{b.type} broken| {ids[b.target]}" for b in graph.broken)
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
