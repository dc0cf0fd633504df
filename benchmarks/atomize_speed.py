"""Speed of atomization and of atomization plus the graph, on a large real codebase, on one core.

The corpus is the published sources of big packages installed in this environment (dagster and pandas
by default: well over 300,000 lines). Prints lines per second for parse only (tree-sitter), atomize
(parse included) and atomize + graph, the ratio of atomize to parse-only time, the peak memory, and the
growth of the cost when the code doubles: the whole corpus against its two halves (every other file,
and the rest), so that the doubled code is exactly the same code. Each stage counts its best of
`--repeat` runs.
Times are the CPU time of this process, which runs on one core: on a shared machine the wall clock
also counts the turns of the other processes.

    python benchmarks/atomize_speed.py [--packages dagster pandas] [--repeat 3] [--json FILE]
    python benchmarks/atomize_speed.py --root DIR [DIR ...]   # any codebases: Python, JS, TS, TSX
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import resource
import time
from pathlib import Path

from mge_assets.atomize import atomize_file, language_of
from mge_assets.atomize.javascript import parser as javascript_parser
from mge_assets.atomize.python import parser as python_parser
from mge_assets.graph import build_graph
from mge_assets.graph.analyze import paused_gc, source_files


def corpus(packages: list[str]) -> dict[str, bytes]:
    """Relative path (under site-packages) → source, for every Python file of the packages."""
    files: dict[str, bytes] = {}
    for name in packages:
        root = Path(importlib.import_module(name).__file__ or "").parent
        for path in sorted(root.rglob("*.py")):
            files[path.relative_to(root.parent).as_posix()] = path.read_bytes()
    return files


def tree(roots: list[Path]) -> dict[str, bytes]:
    """Path (under each root's parent) → source, for every file under the roots the atomizer reads."""
    return {
        f"{root.name}/{path}": (root / path).read_bytes()
        for root in map(Path.resolve, roots)
        for path in source_files(root)
    }


def parse_only(files: dict[str, bytes]) -> float:
    started = time.process_time()
    for path, source in files.items():
        language = language_of(path)
        (python_parser() if language == "python" else javascript_parser(language or "javascript")).parse(source)
    return time.process_time() - started


def atomize_all(files: dict[str, bytes]) -> tuple[list, float]:
    started = time.process_time()
    atoms = [atom for path, source in files.items() for atom in atomize_file(path, source)]
    return atoms, time.process_time() - started


def graph_all(atoms: list, files: dict[str, bytes]) -> tuple[object, float]:
    started = time.process_time()
    graph = build_graph(atoms, files=files)
    return graph, time.process_time() - started


def measure(files: dict[str, bytes], repeat: int = 1) -> dict:
    """Each stage's best CPU time of `repeat` runs: other processes on a shared machine only ever add
    to a run's time (cache misses, a slower clock), so the least is the closest to the code's own cost."""
    lines = sum(s.count(b"\n") for s in files.values())
    parse_seconds = atomize_seconds = graph_seconds = float("inf")
    for _ in range(repeat):
        gc.collect()
        parse_seconds = min(parse_seconds, parse_only(files))
        with paused_gc():
            atoms, atomize_time = atomize_all(files)
            graph, graph_time = graph_all(atoms, files)
        atomize_seconds, graph_seconds = min(atomize_seconds, atomize_time), min(graph_seconds, graph_time)
        count, edges, broken = len(atoms), len(graph.edges), len(graph.broken)  # type: ignore[attr-defined]
        del atoms, graph  # the next run's replace these rather than sit beside them
    total = atomize_seconds + graph_seconds
    return {
        "files": len(files),
        "lines": lines,
        "atoms": count,
        "edges": edges,
        "broken": broken,
        "parse_only_seconds": round(parse_seconds, 3),
        "atomize_seconds": round(atomize_seconds, 3),
        "graph_seconds": round(graph_seconds, 3),
        "seconds": round(total, 3),
        "parse_lines_per_second": round(lines / parse_seconds),
        "atomize_lines_per_second": round(lines / atomize_seconds),
        "lines_per_second": round(lines / total),
        "atomize_to_parse_ratio": round(atomize_seconds / parse_seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", nargs="+", default=["dagster", "pandas"])
    parser.add_argument("--root", nargs="+", type=Path, help="measure the codebases under these folders instead")
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each stage; the best CPU time counts")
    args = parser.parse_args()
    files = tree(args.root) if args.root else corpus(args.packages)
    if not files:
        parser.error(f"no Python, JavaScript or TypeScript file under {', '.join(map(str, args.root))}")
    name = ", ".join(str(r) for r in args.root) if args.root else ", ".join(args.packages)
    items = list(files.items())
    # Twice the code is each half and then both: T(all) / mean(T(half)) is 2 for a linear cost whatever
    # the mix of the files (one half against the whole would also count how the halves differ).
    halves = [measure(dict(items[::2]), args.repeat), measure(dict(items[1::2]), args.repeat)]
    full = measure(files, args.repeat)
    full["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    full["growth_2x_atomize"] = round(2 * full["atomize_seconds"] / sum(h["atomize_seconds"] for h in halves), 2)
    full["growth_2x"] = round(2 * full["seconds"] / sum(h["seconds"] for h in halves), 2)
    full["packages"] = args.packages if not args.root else []
    full["roots"] = [str(r) for r in args.root or []]
    full["repeat"] = args.repeat
    print(f"corpus: {name}: {full['files']} files, {full['lines']:,} lines, {full['atoms']:,} atoms")
    print(f"{'stage':<22} {'CPU s':>8} {'lines/s':>10}")
    print(f"{'parse only':<22} {full['parse_only_seconds']:>8.2f} {full['parse_lines_per_second']:>10,}")
    print(f"{'atomize (with parse)':<22} {full['atomize_seconds']:>8.2f} {full['atomize_lines_per_second']:>10,}")
    print(f"{'graph':<22} {full['graph_seconds']:>8.2f}")
    print(f"{'atomize + graph':<22} {full['seconds']:>8.2f} {full['lines_per_second']:>10,}")
    print(f"atomize / parse-only time: {full['atomize_to_parse_ratio']}x;  peak RSS {full['peak_rss_mb']} MB")
    print(
        f"2x the code (each half, {halves[0]['lines']:,} and {halves[1]['lines']:,} lines, -> all): "
        f"atomize {full['growth_2x_atomize']}x, atomize + graph {full['growth_2x']}x the time"
    )
    if args.json:
        args.json.write_text(json.dumps({**full, "halves": halves}, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
