"""Accuracy of the dependency graph against independent oracles, on real projects from the registries.

File level, import edges. Python: `ruff analyze graph` (type-checking imports on, the default); an
edge on which we and ruff disagree is decided by Python's own resolution (python_imports.py:
importlib's finder, nothing executed), and ruff's raw figures are kept as `precision_oracle` and
`recall_oracle`. JavaScript/TypeScript: dependency-cruiser with the project's tsconfig and
`tsPreCompilationDeps` (type-only imports kept). Edges whose target lies outside the project
(standard library, node_modules) are left out on both sides.

Symbol level, atom edges, against a SCIP index: scip-python (pyright) and scip-typescript (the
TypeScript compiler). A → B when A refers to a project symbol defined in B; see scip_oracle.py for
exactly what is in scope on both sides. Indexes are cached under .data/scip (`--reindex` redoes them).

Prints precision and recall per project and level, then per edge type (our type for precision, the
oracle's dependency type or symbol kind for recall), and the cycle-breaking share and repeatability
of the atom graph.

    python benchmarks/fetch_corpora.py                  # once: the projects and the oracles
    python benchmarks/graph_accuracy.py [--json FILE] [--show-misses N] [--levels file symbol]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from python_imports import python_edges
from scip_oracle import our_symbol_edges, read_index, symbol_edges

from mge_assets.atomize import Atom, atomize_file, language_of
from mge_assets.graph import DependencyGraph, Resolver, TsConfig, build_graph, file_edges, parse_tsconfig

DATA = Path(__file__).resolve().parent / ".data"
RUFF = Path(sys.executable).parent / "ruff"
TOOLS = DATA / "tools" / "node_modules" / ".bin"
DEPCRUISE = TOOLS / "depcruise"
SCIP_PYTHON = TOOLS / "scip-python"
SCIP_TYPESCRIPT = TOOLS / "scip-typescript"
INDEXES = DATA / "scip"

# project -> (language, folders of its published sources, relative to the project)
PROJECTS = {
    "rich": ("python", ["rich"]),
    "httpx": ("python", ["httpx"]),
    "click": ("python", ["click"]),
    "flask": ("python", ["flask"]),
    "jinja2": ("python", ["jinja2"]),
    "attrs": ("python", ["attr", "attrs"]),
    "query-core": ("typescript", ["src"]),
    "react-query": ("typescript", ["src"]),
    "trpc-server": ("typescript", ["src"]),
    "axios": ("javascript", ["lib"]),
    "zod": ("typescript", ["src/v3"]),
}
TSCONFIG = {
    "compilerOptions": {
        "allowJs": True,
        "jsx": "react-jsx",
        "module": "esnext",
        "moduleResolution": "bundler",
        "target": "es2022",
        "baseUrl": ".",
    }
}


def sources(project: Path, folders: list[str]) -> dict[str, bytes]:
    files = {}
    for folder in folders:
        for path in sorted((project / folder).rglob("*")):
            relative = path.relative_to(project).as_posix()
            if path.is_file() and language_of(relative) and not _is_test(relative):
                files[relative] = path.read_bytes()
    return files


def _is_test(relative: str) -> bool:
    """Test files and folders (`__tests__/`, `tests/`, `x.test.ts`): not the library's sources."""
    return "/__tests__/" in f"/{relative}" or "/tests/" in f"/{relative}" or ".test." in relative


def tsconfig_of(project: Path) -> TsConfig | None:
    path = project / "tsconfig.json"
    return parse_tsconfig(path.read_text()) if path.exists() else None


def ours(
    project: Path, files: dict[str, bytes]
) -> tuple[list[Atom], DependencyGraph, dict[tuple[str, str], str], dict]:
    """Our atoms, atom graph and file edges, and the graph's figures (broken share, repeatability)."""
    config = tsconfig_of(project)
    started = time.perf_counter()
    atoms = [atom for path, source in files.items() for atom in atomize_file(path, source)]
    edges = {(e.source, e.target): e.kind for e in file_edges(atoms, config, files)}
    graph = build_graph(atoms, config, files)
    seconds = time.perf_counter() - started
    again = build_graph(atoms, config, files)
    total = len(graph.edges) + len(graph.broken)
    stats = {
        "atoms": len(atoms),
        "atom_edges": total,
        "broken": len(graph.broken),
        "broken_share": round(len(graph.broken) / max(1, total), 4),
        "repeatable": again == graph
        and edges == {(e.source, e.target): e.kind for e in file_edges(atoms, config, files)},
        "seconds": round(seconds, 2),
    }
    return atoms, graph, edges, stats


def ruff_edges(project: Path, files: dict[str, bytes]) -> dict[tuple[str, str], str]:
    folders = sorted({f.split("/")[0] for f in files})
    result = subprocess.run(
        [str(RUFF), "analyze", "graph", *folders], cwd=project, capture_output=True, text=True, check=True
    )
    graph = json.loads(result.stdout)
    return {(s, t): "import" for s, targets in graph.items() for t in targets if s in files and t in files and s != t}


def depcruise_edges(project: Path, files: dict[str, bytes]) -> dict[tuple[str, str], str]:
    folders = sorted({f.split("/")[0] for f in files})
    options = {
        "options": {
            "tsPreCompilationDeps": True,
            "tsConfig": {"fileName": "tsconfig.json"},
            "moduleSystems": ["es6", "cjs", "tsd"],
            "doNotFollow": {"path": "node_modules"},
            "enhancedResolveOptions": {"extensions": [".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs"]},
        }
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=project, delete=False) as handle:
        json.dump(options, handle)
        config = Path(handle.name)
    try:
        result = subprocess.run(
            [str(DEPCRUISE), "-c", config.name, "-T", "json", *folders],
            cwd=project,
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        config.unlink()
    edges = {}
    for module in json.loads(result.stdout)["modules"]:
        for dependency in module["dependencies"]:
            source, target = module["source"], dependency["resolved"]
            if source in files and target in files and source != target:
                edges[(source, target)] = "type" if "type-only" in dependency["dependencyTypes"] else "import"
    return edges


def score(found: set, truth: set) -> tuple[float, float]:
    hits = len(found & truth)
    return round(hits / max(1, len(found)), 4), round(hits / max(1, len(truth)), 4)


def module_imports(atoms: list[Atom], files: dict[str, bytes], config: TsConfig | None) -> set[tuple[str, str]]:
    """(atom, module's first atom) for each import of a module object or of `*` (the graph's own rules)."""
    resolver = Resolver(set(files), config)
    first = {}
    for atom in sorted(atoms, key=lambda a: (a.file, a.start_byte)):
        first.setdefault(atom.file, atom.id)
    pairs = set()
    for atom in atoms:
        for ref in atom.imports:
            target, name = resolver.resolve(atom.file, ref) if ref.kind != "export" else (None, None)
            if target in first and (name is None or name == "*"):
                pairs.add((atom.id, first[target]))
    return pairs


def anonymous_defaults(atoms: list[Atom], files: dict[str, bytes], config: TsConfig | None) -> set[tuple[str, str]]:
    """(atom, export) for each atom that imports an anonymous default export (`export default {...}`,
    `export default () => ...`, an atom defining `default`) or reads the name it is imported as, other
    than through a key the export spells (`name.key`, which the index names): the index has no symbol
    for such an export, the import names the module and the name is a local of the importing file."""
    resolver = Resolver(set(files), config)
    defaults = {a.file: a for a in atoms if "default" in a.defines and a.language != "python"}
    by_file: dict[str, list[Atom]] = {}
    for atom in atoms:
        by_file.setdefault(atom.file, []).append(atom)
    pairs = set()
    for atom in atoms:
        for ref in atom.imports:
            target = resolver.resolve(atom.file, ref)[0] if ref.name == "default" and ref.alias else None
            export = defaults.get(target) if target else None
            if export is None:
                continue
            keys = {m.partition(".")[2] for m in export.members if m.startswith("default.")}
            for reader in by_file[atom.file]:
                spelled = any(f"{ref.alias}.{key}" in reader.attribute_references for key in keys)
                if (reader is atom or ref.alias in reader.references) and not spelled:
                    pairs.add((reader.id, export.id))
    return pairs


def namespace_reads(atoms: list[Atom]) -> set[tuple[str, str]]:
    """(atom, namespace) for each atom that imports or names a TypeScript namespace other than through an
    export declared in the namespace's own atom (`N.x`): the index names the namespace as a module."""
    namespaces = {}
    for atom in (a for a in atoms if a.language == "typescript"):
        for name in atom.defines:
            if re.search(rf"\bnamespace\s+{re.escape(name)}\b", atom.code):
                namespaces.setdefault(name, []).append(atom)
    pairs = set()
    for atom in atoms:
        named = set(atom.references) | {ref.alias for ref in atom.imports if ref.kind != "export"}
        for name in named & set(namespaces):
            for namespace in namespaces[name]:
                spelled = {f"{name}.{m.partition('.')[2]}" for m in namespace.members if m.startswith(f"{name}.")}
                if not spelled & set(atom.attribute_references):
                    pairs.add((atom.id, namespace.id))
    return pairs


def settled(project: Path, files: dict[str, bytes], found: dict, truth: dict) -> dict[tuple[str, str], str]:
    """ruff's edges, with each edge we and ruff disagree on decided by Python's own import resolution."""
    python = python_edges(project, files)
    disputed = set(found) ^ set(truth)
    kept = {e: k for e, k in truth.items() if e not in disputed or e in python}
    return {**kept, **{e: "import" for e in disputed if e in python and e not in truth}}


def scip_index(name: str, language: str, project: Path, folders: list[str], reindex: bool) -> Path:
    """The SCIP index of a project's sources, made once (the oracle does not change with our code)."""
    INDEXES.mkdir(parents=True, exist_ok=True)
    output = INDEXES / f"{name}.scip"
    if output.exists() and not reindex:
        return output
    if language == "python":
        # Anchors pyright's root at the project (else it climbs to the nearest pyproject.toml); with no
        # platform assumed, code under `sys.platform == "win32"` is analyzed too, not left unreachable.
        (project / "pyrightconfig.json").write_text(json.dumps({"include": folders, "pythonPlatform": "All"}))
        environment = INDEXES / "environment.json"
        environment.write_text("[]")  # no installed packages to describe: only the project's own symbols count
        command = [str(SCIP_PYTHON), "index", "--project-name", name, "--project-version", "0"]
        command += ["--environment", str(environment), "--quiet", "--output", str(output)]
    else:
        # A tsconfig of the sources alone (the package's build output would index twice).
        scoped = project / ".scip"
        scoped.mkdir(exist_ok=True)
        include = [f"../{folder}" for folder in folders]
        (scoped / "tsconfig.json").write_text(json.dumps({"extends": "../tsconfig.json", "include": include}))
        command = [str(SCIP_TYPESCRIPT), "index", "--cwd", ".", "--no-progress-bar", "--output", str(output), ".scip"]
    subprocess.run(command, cwd=project, capture_output=True, text=True, check=True)
    return output


def by_type(rows: list[dict], name: str, level: str, found: dict, truth: dict) -> None:
    """Precision of our edges of each type, recall of the oracle's edges of each type."""
    for kind in sorted(set(found.values())):
        mine = {e for e, k in found.items() if k == kind}
        rows.append(
            {
                "project": name,
                "level": level,
                "edge_type": f"ours:{kind}",
                "edges": len(mine),
                "precision": score(mine, set(truth))[0],
            }
        )
    for kind in sorted(set(truth.values())):
        theirs = {e for e, k in truth.items() if k == kind}
        rows.append(
            {
                "project": name,
                "level": level,
                "edge_type": f"oracle:{kind}",
                "edges": len(theirs),
                "recall": score(set(found), theirs)[1],
            }
        )


def show(name: str, found: dict, truth: dict, count: int) -> None:
    for edge in sorted(set(truth) - set(found))[:count]:
        print(f"  missed  {name}: {edge[0]} -> {edge[1]} ({truth[edge]})")
    for edge in sorted(set(found) - set(truth))[:count]:
        print(f"  extra   {name}: {edge[0]} -> {edge[1]} ({found[edge]})")


def measure(name: str, levels: list[str], show_misses: int, reindex: bool) -> tuple[list[dict], dict]:
    language, folders = PROJECTS[name]
    project = DATA / "projects" / name
    if language != "python" and not (project / "tsconfig.json").exists():
        (project / "tsconfig.json").write_text(json.dumps(TSCONFIG, indent=2))
    files = sources(project, folders)
    atoms, graph, found, stats = ours(project, files)
    common = {
        "project": name,
        "language": language,
        "files": len(files),
        "lines": sum(s.count(b"\n") for s in files.values()),
    }
    rows: list[dict] = []
    if "file" in levels:
        truth = ruff_edges(project, files) if language == "python" else depcruise_edges(project, files)
        raw = row(common, "file", found, truth, stats)
        if language == "python":
            truth = settled(project, files, found, truth)
        rows.append(
            {
                **row(common, "file", found, truth, stats),
                "precision_oracle": raw["precision"],
                "recall_oracle": raw["recall"],
            }
        )
        by_type(rows, name, "file", found, truth)
        if show_misses:
            show(name, found, truth, show_misses)
    if "symbol" in levels:
        documents = read_index(scip_index(name, language, project, folders, reindex).read_bytes())
        edges = {(e.source, e.target): e.type for e in graph.edges}
        edges.update({(b.source, b.target): b.type for b in graph.broken})
        config = tsconfig_of(project)
        mine = our_symbol_edges(
            {e: k for e, k in edges.items() if k != "parent"},
            atoms,
            module_imports(atoms, files, config),
            anonymous_defaults(atoms, files, config) | namespace_reads(atoms),
        )
        truth = symbol_edges(documents, atoms, files)
        rows.append(row(common, "symbol", mine, truth, stats))
        by_type(rows, name, "symbol", mine, truth)
        if show_misses:
            show(name, mine, truth, show_misses)
    return rows, stats


def row(common: dict, level: str, found: dict, truth: dict, stats: dict) -> dict:
    precision, recall = score(set(found), set(truth))
    return {
        **common,
        "level": level,
        "edges": len(found),
        "oracle_edges": len(truth),
        "precision": precision,
        "recall": recall,
        **stats,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    parser.add_argument("--show-misses", type=int, default=0, help="print up to N missed and extra edges")
    parser.add_argument("--projects", nargs="*", default=list(PROJECTS))
    parser.add_argument("--levels", nargs="*", default=["file", "symbol"], choices=["file", "symbol"])
    parser.add_argument("--reindex", action="store_true", help="remake the SCIP indexes")
    args = parser.parse_args()
    missing = [n for n in args.projects if not (DATA / "projects" / n).exists()]
    tools = [t for t in (DEPCRUISE, SCIP_PYTHON, SCIP_TYPESCRIPT) if not t.exists()]
    if missing or tools:
        names = ", ".join(missing + [t.name for t in tools])
        sys.exit(f"missing {names}: run python benchmarks/fetch_corpora.py first")
    results: list[dict] = []
    header = ("project", "lang", "level", "files", "lines", "edges", "oracle", "P", "R", "broken", "repeat")
    print("{:<12} {:<10} {:<6} {:>5} {:>6} {:>6} {:>6} {:>6} {:>6} {:>7} {:>6}".format(*header))
    for name in args.projects:
        rows, stats = measure(name, args.levels, args.show_misses, args.reindex)
        results.extend(rows)
        for r in (r for r in rows if "edge_type" not in r):
            print(
                f"{name:<12} {r['language']:<10} {r['level']:<6} {r['files']:>5} {r['lines']:>6} {r['edges']:>6} "
                f"{r['oracle_edges']:>6} {r['precision']:>6.3f} {r['recall']:>6.3f} {stats['broken_share']:>7.2%} "
                f"{stats['repeatable']!s:>6}"
            )
            if (
                r.get("precision_oracle", r["precision"]) != r["precision"]
                or r.get("recall_oracle", r["recall"]) != r["recall"]
            ):
                print(
                    f"{'':<12} against ruff alone: P={r['precision_oracle']:.3f} R={r['recall_oracle']:.3f} (the "
                    "disagreements decided by Python's import resolution)"
                )
    print("\nper edge type (precision of our edges of a type; recall of the oracle's edges of a type):")
    for row_ in results:
        if "edge_type" in row_:
            value = row_.get("precision", row_.get("recall"))
            metric = "P" if "precision" in row_ else "R"
            print(
                f"  {row_['project']:<12} {row_['level']:<6} {row_['edge_type']:<18} {row_['edges']:>5}  "
                f"{metric}={value:.3f}"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
