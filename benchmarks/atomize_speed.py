"""Speed of atomization and of atomization plus the graph, on a large real codebase, on one core.

The corpus is the published sources of big packages installed in this environment (dagster and pandas
by default: well over 300,000 lines). Prints lines per second for parse only (tree-sitter), parse plus
the query that hands the atomizer its nodes (tree-sitter's share of the atomizer's time), atomize
(parse included) and atomize + graph, the ratio of atomize to parse-only time, the peak memory, and the
growth of the cost when the code doubles: the corpus against the corpus with a renamed copy of it
beside it, the same code twice, as the median over `--repeat` rounds of the two measured back to back.
Each stage's speed counts its best of the `--repeat` runs.
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
import statistics
import time
from pathlib import Path

from mge_assets.atomize import atomize_file, language_of
from mge_assets.atomize.javascript import facts_captures as javascript_facts
from mge_assets.atomize.javascript import parser as javascript_parser
from mge_assets.atomize.python import facts_captures as python_facts
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


def parse_and_query(files: dict[str, bytes]) -> float:
    """Parse plus the query that hands the atomizer each file's nodes: tree-sitter's share of the
    atomizer's time, which any atomizer on py-tree-sitter that reads the same nodes pays before its
    own code runs."""
    started = time.process_time()
    for path, source in files.items():
        language = language_of(path) or "javascript"
        if language == "python":
            python_facts(python_parser().parse(source))
        else:
            javascript_facts(javascript_parser(language).parse(source), language)
    return time.process_time() - started


def atomize_all(files: dict[str, bytes]) -> tuple[list, float]:
    started = time.process_time()
    atoms = [atom for path, source in files.items() for atom in atomize_file(path, source)]
    return atoms, time.process_time() - started


def graph_all(atoms: list, files: dict[str, bytes]) -> tuple[object, float]:
    started = time.process_time()
    graph = build_graph(atoms, files=files)
    return graph, time.process_time() - started


def measure(corpora: list[dict[str, bytes]], repeat: int = 1) -> tuple[list[dict], list[list[dict[str, float]]]]:
    """Each corpus's figures, each stage's best CPU time of `repeat` runs (other processes on a shared
    machine only ever add to a run's time, so the least is the closest to the code's own cost), and the
    times of every run. The corpora take turns, run after run, so that the runs of one round see the
    machine alike. Parse plus the facts query is measured on the first corpus only (growth leaves it
    out), and its peak memory is read after its first run."""
    runs: list[list[dict[str, float]]] = [[] for _ in corpora]
    counts: list[tuple[int, int, int]] = [(0, 0, 0)] * len(corpora)
    peak_rss_mb = 0.0
    for _ in range(repeat):
        for index, files in enumerate(corpora):
            gc.collect()
            times = {"parse": parse_only(files)}
            if index == 0:
                times["parse_and_query"] = parse_and_query(files)
            with paused_gc():
                atoms, times["atomize"] = atomize_all(files)
                graph, times["graph"] = graph_all(atoms, files)
            runs[index].append(times)
            counts[index] = (len(atoms), len(graph.edges), len(graph.broken))  # type: ignore[attr-defined]
            del atoms, graph  # the next run's replace these rather than sit beside them
            peak_rss_mb = peak_rss_mb or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    best = [{stage: min(run[stage] for run in times) for stage in times[0]} for times in runs]
    results = [_figures(files, fastest, count) for files, fastest, count in zip(corpora, best, counts, strict=True)]
    results[0]["peak_rss_mb"] = round(peak_rss_mb, 1)
    return results, runs


def growth(runs: list[list[dict[str, float]]], stages: tuple[str, ...]) -> float:
    """How many times the second corpus's runs take the first's, as the median over the rounds of the
    two runs made back to back: a shared machine's speed drifts by more than the best runs differ."""
    ratios = [sum(b[s] for s in stages) / sum(a[s] for s in stages) for a, b in zip(*runs, strict=True)]
    return round(statistics.median(ratios), 2)


def _figures(files: dict[str, bytes], times: dict[str, float], counts: tuple[int, int, int]) -> dict:
    lines = sum(s.count(b"\n") for s in files.values())
    parse_seconds, atomize_seconds, graph_seconds = times["parse"], times["atomize"], times["graph"]
    total = atomize_seconds + graph_seconds
    figures = {
        "files": len(files),
        "lines": lines,
        "atoms": counts[0],
        "edges": counts[1],
        "broken": counts[2],
        "parse_only_seconds": round(parse_seconds, 3),
        "atomize_seconds": round(atomize_seconds, 3),
        "graph_seconds": round(graph_seconds, 3),
        "seconds": round(total, 3),
        "parse_lines_per_second": round(lines / parse_seconds),
        "atomize_lines_per_second": round(lines / atomize_seconds),
        "lines_per_second": round(lines / total),
        "atomize_to_parse_ratio": round(atomize_seconds / parse_seconds, 2),
    }
    if "parse_and_query" in times:
        figures["parse_and_query_seconds"] = round(times["parse_and_query"], 3)
        figures["parse_and_query_lines_per_second"] = round(lines / times["parse_and_query"])
        figures["parse_and_query_share"] = round(times["parse_and_query"] / atomize_seconds, 2)
    return figures


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
    # Twice the code is the corpus with a renamed copy of it beside it. Each copied file does the same
    # work as its original: its relative imports resolve inside the copy and its absolute ones to the
    # original packages, so a linear cost doubles exactly. (Two halves of one codebase lose the edges
    # between them, and one half against the whole also counts how the halves' files differ.)
    copy = {f"copy_of_{path}": source for path, source in files.items()}
    (full, doubled), runs = measure([files, {**files, **copy}], args.repeat)
    full["growth_2x_atomize"] = growth(runs, ("atomize",))
    full["growth_2x"] = growth(runs, ("atomize", "graph"))
    full["growth_2x_parse_only"] = growth(runs, ("parse",))
    full["packages"] = args.packages if not args.root else []
    full["roots"] = [str(r) for r in args.root or []]
    full["repeat"] = args.repeat
    print(f"corpus: {name}: {full['files']} files, {full['lines']:,} lines, {full['atoms']:,} atoms")
    print(f"{'stage':<22} {'CPU s':>8} {'lines/s':>10}")
    print(f"{'parse only':<22} {full['parse_only_seconds']:>8.2f} {full['parse_lines_per_second']:>10,}")
    print(
        f"{'parse + facts query':<22} {full['parse_and_query_seconds']:>8.2f} "
        f"{full['parse_and_query_lines_per_second']:>10,}"
    )
    print(f"{'atomize (with parse)':<22} {full['atomize_seconds']:>8.2f} {full['atomize_lines_per_second']:>10,}")
    print(f"{'graph':<22} {full['graph_seconds']:>8.2f}")
    print(f"{'atomize + graph':<22} {full['seconds']:>8.2f} {full['lines_per_second']:>10,}")
    print(
        f"atomize / parse-only time: {full['atomize_to_parse_ratio']}x; parse + facts query (tree-sitter's "
        f"share) is {full['parse_and_query_share']:.0%} of atomize;  peak RSS {full['peak_rss_mb']} MB"
    )
    print(
        f"2x the code (the corpus and a renamed copy, {doubled['lines']:,} lines, {doubled['edges']:,} edges): "
        f"atomize {full['growth_2x_atomize']}x, atomize + graph {full['growth_2x']}x the time "
        f"(parse only, linear by construction: {full['growth_2x_parse_only']}x)"
    )
    if args.json:
        args.json.write_text(json.dumps({**full, "doubled": doubled, "runs": runs}, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
