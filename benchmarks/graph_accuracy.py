"""Accuracy of file-level import edges against independent oracles, on real projects from the registries.

Python: `ruff analyze graph` (type-checking imports on, the default). JavaScript/TypeScript:
dependency-cruiser with the project's tsconfig and `tsPreCompilationDeps` (type-only imports kept).
Edges whose target lies outside the project (standard library, node_modules) are left out on both sides.
Prints precision and recall per project, then per edge type (our type for precision, the oracle's
dependency type for recall), and the cycle-breaking share and repeatability of the atom graph.

    python benchmarks/fetch_corpora.py                  # once: the projects and dependency-cruiser
    python benchmarks/graph_accuracy.py [--json FILE] [--show-misses N]

Symbol-level accuracy (against pyright or a SCIP index) is not measured here.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mge_assets.atomize import atomize_file, language_of
from mge_assets.graph import build_graph, file_edges, parse_tsconfig

DATA = Path(__file__).resolve().parent / ".data"
RUFF = Path(sys.executable).parent / "ruff"
DEPCRUISE = DATA / "tools" / "node_modules" / ".bin" / "depcruise"

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
    "zod": ("javascript", ["lib"]),
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
            if path.is_file() and language_of(relative) and "__tests__" not in relative and ".test." not in relative:
                files[relative] = path.read_bytes()
    return files


def ours(project: Path, files: dict[str, bytes]) -> tuple[dict[tuple[str, str], str], dict]:
    tsconfig_path = project / "tsconfig.json"
    config = parse_tsconfig(tsconfig_path.read_text()) if tsconfig_path.exists() else None
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
    return edges, stats


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


def measure(name: str, show_misses: int) -> tuple[list[dict], dict]:
    language, folders = PROJECTS[name]
    project = DATA / "projects" / name
    if language != "python" and not (project / "tsconfig.json").exists():
        (project / "tsconfig.json").write_text(json.dumps(TSCONFIG, indent=2))
    files = sources(project, folders)
    found, stats = ours(project, files)
    truth = ruff_edges(project, files) if language == "python" else depcruise_edges(project, files)
    precision, recall = score(set(found), set(truth))
    lines = sum(s.count(b"\n") for s in files.values())
    rows = [
        {
            "project": name,
            "level": "file",
            "language": language,
            "files": len(files),
            "lines": lines,
            "edges": len(found),
            "oracle_edges": len(truth),
            "precision": precision,
            "recall": recall,
            **stats,
        }
    ]
    for kind in sorted(set(found.values())):
        mine = {e for e, k in found.items() if k == kind}
        rows.append(
            {
                "project": name,
                "level": "file",
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
                "level": "file",
                "edge_type": f"oracle:{kind}",
                "edges": len(theirs),
                "recall": score(set(found), theirs)[1],
            }
        )
    if show_misses:
        for edge in sorted(set(truth) - set(found))[:show_misses]:
            print(f"  missed  {name}: {edge[0]} -> {edge[1]}")
        for edge in sorted(set(found) - set(truth))[:show_misses]:
            print(f"  extra   {name}: {edge[0]} -> {edge[1]} ({found[edge]})")
    return rows, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    parser.add_argument("--show-misses", type=int, default=0, help="print up to N missed and extra edges")
    parser.add_argument("--projects", nargs="*", default=list(PROJECTS))
    args = parser.parse_args()
    missing = [n for n in args.projects if not (DATA / "projects" / n).exists()]
    if missing or not DEPCRUISE.exists():
        sys.exit(f"missing {', '.join(missing) or 'dependency-cruiser'}: run python benchmarks/fetch_corpora.py first")
    results: list[dict] = []
    header = ("project", "lang", "files", "lines", "edges", "oracle", "P", "R", "broken", "repeat")
    print("{:<12} {:<10} {:>5} {:>6} {:>5} {:>6} {:>6} {:>6} {:>7} {:>6}".format(*header))
    for name in args.projects:
        rows, stats = measure(name, args.show_misses)
        results.extend(rows)
        r = rows[0]
        print(
            f"{name:<12} {r['language']:<10} {r['files']:>5} {r['lines']:>6} {r['edges']:>5} {r['oracle_edges']:>6} "
            f"{r['precision']:>6.3f} {r['recall']:>6.3f} {stats['broken_share']:>7.2%} {stats['repeatable']!s:>6}"
        )
    print("\nper edge type (precision of our edges of a type; recall of the oracle's edges of a type):")
    for row in results:
        if "edge_type" in row:
            value = row.get("precision", row.get("recall"))
            metric = "P" if "precision" in row else "R"
            print(f"  {row['project']:<12} {row['edge_type']:<18} {row['edges']:>5}  {metric}={value:.3f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
