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

Then what a user waits for, in wall time, on the corpus written out to a folder: `analyze_path` with
`--jobs` workers (2 by default) against the parse alone on one core, twice the code with those workers,
a second run after editing 10 files with the cache warm against a cold one, and the command itself,
`mge atomize DIR` and `mge atomize DIR --json > /dev/null`, each a whole process, with its peak RSS
(the largest of the command and its workers).

    python benchmarks/atomize_speed.py [--packages dagster pandas] [--repeat 3] [--jobs 2] [--json FILE]
    python benchmarks/atomize_speed.py --root DIR [DIR ...]   # any codebases: Python, JS, TS, TSX
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mge_assets.atomize import atomize_file, language_of
from mge_assets.atomize.batch import paused_gc
from mge_assets.atomize.cache import AtomCache
from mge_assets.atomize.javascript import facts_captures as javascript_facts
from mge_assets.atomize.javascript import parser as javascript_parser
from mge_assets.atomize.python import facts_captures as python_facts
from mge_assets.atomize.python import parser as python_parser
from mge_assets.graph import build_graph
from mge_assets.graph.analyze import Analysis, analyze_path, source_files

EDITED_FILES = 10


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


def write_out(files: dict[str, bytes], folder: Path) -> Path:
    """The corpus as files under `folder`, for what reads a codebase from disk."""
    for path, source in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(source)
    return folder


def edit(folder: Path, files: list[str], count: int = EDITED_FILES) -> list[str]:
    """`count` files spread over the corpus, each given one more function: what a day's work changes."""
    chosen = files[:: max(1, len(files) // count)][:count]
    for path in chosen:
        added = b"\n\ndef edited_for_the_benchmark():\n    return 1\n"
        if language_of(path) != "python":
            added = b"\nexport function editedForTheBenchmark() {\n  return 1;\n}\n"
        with open(folder / path, "ab") as file:
            file.write(added)
    return chosen


def timed(run: Callable[..., Analysis], *args: object, jobs: int, **kwargs: object) -> tuple[Analysis, float, float]:
    """The result, the wall seconds, and the seconds it takes on `jobs` idle cores: this process's CPU
    time plus its workers' shared among them. On a shared machine the other processes' turns only ever
    add to the wall time; the second figure leaves them out."""
    workers, started, cpu = _children_cpu(), time.perf_counter(), time.process_time()
    result = run(*args, jobs=jobs, **kwargs)
    seconds = time.perf_counter() - started
    return result, seconds, time.process_time() - cpu + (_children_cpu() - workers) / jobs


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# `mge atomize` as a user runs it (the CLI module run as the main program), then its own peak RSS and
# its workers', which only the process that waited for them can read. Its own is the high-water mark of
# its memory since it started: ru_maxrss would count the benchmark's memory, which it forked from.
_MEASURED_COMMAND = """
import re, resource, runpy, sys
try:
    runpy.run_module("mge_assets.cli", run_name="__main__", alter_sys=True)
finally:
    own = re.search(r"VmHWM:\\s*(\\d+)", open("/proc/self/status").read()).group(1)
    print("peak-rss-kb", own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
"""


def command(args: list[str]) -> tuple[float, float, float]:
    """Wall seconds of `mge atomize ARGS` (its output thrown away), its peak RSS and its largest
    worker's, in MB."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED_COMMAND, "atomize", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    last = done.stderr.strip().rsplit("\n", 1)[-1].split()
    if done.returncode or last[:1] != ["peak-rss-kb"]:
        raise SystemExit(f"mge atomize {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, int(last[1]) / 1024, int(last[2]) / 1024


def user_figures(files: dict[str, bytes], jobs: int, repeat: int) -> dict:
    """Wall times with `jobs` workers: cold (best of `repeat`), twice the code, a run of the command
    itself with and without --json, and a second run after editing files with the cache warm."""
    with tempfile.TemporaryDirectory(prefix="atomize-speed-") as scratch:
        folder = write_out(files, Path(scratch) / "corpus")
        doubled = write_out({f"copy_of_{path}": source for path, source in files.items()}, Path(scratch) / "doubled")
        write_out(files, doubled)
        gc.collect()
        colds = [timed(analyze_path, folder, jobs=jobs)[1:] for _ in range(repeat)]
        _, twice, twice_cpu = timed(analyze_path, doubled, jobs=jobs)
        summary_seconds, own_rss, workers_rss = command([str(folder), "--jobs", str(jobs), "--no-cache"])
        json_seconds, *_ = command([str(folder), "--jobs", str(jobs), "--no-cache", "--json"])
        cache = AtomCache(Path(scratch) / "cache")
        _, cold_cached, cold_cached_cpu = timed(analyze_path, folder, jobs=jobs, cache=cache)
        edited = edit(folder, sorted(files))
        analysis, warm, warm_cpu = timed(analyze_path, folder, jobs=jobs, cache=cache)
    cold, cold_cpu = min(wall for wall, _ in colds), min(cpu for _, cpu in colds)
    return {
        "jobs": jobs,
        "cold_seconds": round(cold, 3),
        "cold_cpu_seconds": round(cold_cpu, 3),
        "doubled_seconds": round(twice, 3),
        "doubled_cpu_seconds": round(twice_cpu, 3),
        "growth_2x": round(twice / cold, 2),
        "growth_2x_cpu": round(twice_cpu / cold_cpu, 2),
        "cold_with_cache_seconds": round(cold_cached, 3),
        "cold_with_cache_cpu_seconds": round(cold_cached_cpu, 3),
        "edited_files": len(edited),
        "reused_files": analysis.reused,
        "warm_seconds": round(warm, 3),
        "warm_cpu_seconds": round(warm_cpu, 3),
        "warm_share": round(warm / cold, 3),
        "warm_share_cpu": round(warm_cpu / cold_cpu, 3),
        "command_seconds": round(summary_seconds, 3),
        "command_json_seconds": round(json_seconds, 3),
        "command_peak_rss_mb": round(own_rss, 1),
        "workers_peak_rss_mb": round(workers_rss, 1),
        # at most: the command and every worker at its peak at once
        "total_peak_rss_mb": round(own_rss + min(jobs, len(files)) * workers_rss, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", nargs="+", default=["dagster", "pandas"])
    parser.add_argument("--root", nargs="+", type=Path, help="measure the codebases under these folders instead")
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each stage; the best CPU time counts")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes of the wall-time figures (default 2)")
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
    full["user"] = user = user_figures(files, args.jobs, args.repeat)
    parse = max(full["parse_only_seconds"], 0.001)  # a handful of lines parses in less than it is rounded to
    user["to_parse_ratio"] = round(user["cold_seconds"] / parse, 2)
    user["to_parse_ratio_cpu"] = round(user["cold_cpu_seconds"] / parse, 2)
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
    print_user_figures(user, full)
    if args.json:
        args.json.write_text(json.dumps({**full, "doubled": doubled, "runs": runs}, indent=2))
        print(f"wrote {args.json}")


def print_user_figures(user: dict, full: dict) -> None:
    jobs = user["jobs"]
    print(f"--jobs {jobs}, the corpus in a folder; idle-core s: this process's CPU + its workers' / {jobs}")
    print(f"{'run':<44} {'wall s':>7} {'idle-core s':>11}  {'measure (wall; idle cores)':<34} {'target':>7}")
    rows = [
        (
            "atomize + graph, cold",
            "cold",
            f"{user['to_parse_ratio']}x; {user['to_parse_ratio_cpu']}x parse, 1 core",
            "<=2.5x",
        ),
        ("twice the code", "doubled", f"{user['growth_2x']}x; {user['growth_2x_cpu']}x the time", "<=2.1x"),
        ("cold, writing the cache", "cold_with_cache", "", ""),
        (
            f"again after editing {user['edited_files']} files, cache warm",
            "warm",
            f"{user['warm_share']:.0%}; {user['warm_share_cpu']:.0%} of cold",
            "<10%",
        ),
    ]
    for name, key, measure, target in rows:
        print(
            f"{name:<44} {user[key + '_seconds']:>7.2f} {user[key + '_cpu_seconds']:>11.2f}  {measure:<34} {target:>7}"
        )
    print(f"{f'mge atomize DIR --jobs {jobs} --no-cache':<44} {user['command_seconds']:>7.2f}")
    print(f"{'  the same with --json > /dev/null':<44} {user['command_json_seconds']:>7.2f}")
    print(
        f"peak RSS of mge atomize: {user['command_peak_rss_mb']} MB, its largest worker "
        f"{user['workers_peak_rss_mb']} MB, together at most {user['total_peak_rss_mb']} MB (target < 1 GB); "
        f"the warm run reused {user['reused_files']} of {full['files']} files"
    )


if __name__ == "__main__":
    main()
