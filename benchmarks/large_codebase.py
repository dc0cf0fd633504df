"""`mge atomize` on a large codebase that is not one of the speed benchmark's corpora: the round trip of
every file and the file-level import edges against `ruff analyze graph`.

The codebase is installed packages (SQLAlchemy by default, about 254,000 lines) or any folders, written
out to a scratch folder first, so that no settings above them (a site-packages' neighbours, a
pyproject.toml) reach either tool. On it: `analyze_path` with `--jobs` workers, in wall seconds; the
round trip of every file (its atoms' code, joined in byte order, is the file's bytes exactly); our
file edges against ruff's, raw and with each edge we and ruff disagree on decided by Python's own
import resolution (graph_accuracy.settled, python_imports.py), as graph_accuracy.py does; then the
command itself, `mge atomize DIR --jobs N --no-cache`, a whole process, with its wall time and peak RSS.
Every file is counted, tests included.

    python benchmarks/large_codebase.py [--packages sqlalchemy] [--jobs 2] [--show-misses N] [--json FILE]
    python benchmarks/large_codebase.py --root DIR [DIR ...]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import tempfile
from pathlib import Path

from atomize_speed import command, timed, tree, write_out
from graph_accuracy import ruff_edges, score, settled, show

from mge_assets.atomize import Atom, reassemble
from mge_assets.graph.analyze import analyze_path


def package_roots(names: list[str]) -> list[Path]:
    """The folders of installed packages, found without importing them."""
    specs = [importlib.util.find_spec(name) for name in names]
    missing = [name for name, spec in zip(names, specs, strict=True) if spec is None or not spec.origin]
    if missing:
        raise SystemExit(f"not installed: {', '.join(missing)}")
    return [Path(spec.origin).parent for spec in specs if spec and spec.origin]


def round_trip_failures(files: dict[str, bytes], atoms: list[Atom] | tuple[Atom, ...]) -> list[str]:
    """The files whose atoms, joined in byte order, are not the file's bytes (a file of no atoms is empty)."""
    joined = reassemble(list(atoms))
    return [path for path, source in files.items() if joined.get(path, "").encode("utf-8", "surrogateescape") != source]


def compare(root: Path, files: dict[str, bytes], found: dict[tuple[str, str], str]) -> dict:
    """Precision and recall of our file edges against ruff's (raw) and against ruff's with the
    disagreements decided by Python's resolution, and both edge sets for the misses."""
    raw = ruff_edges(root, files)
    decided = settled(root, files, found, raw)
    precision_raw, recall_raw = score(set(found), set(raw))
    precision, recall = score(set(found), set(decided))
    return {
        "edges": len(found),
        "ruff_edges": len(raw),
        "decided_edges": len(decided),
        "disputed": len(set(found) ^ set(raw)),
        "precision_raw": precision_raw,
        "recall_raw": recall_raw,
        "precision": precision,
        "recall": recall,
        "raw": raw,
        "decided": decided,
    }


def measure(files: dict[str, bytes], jobs: int, show_misses: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="large-codebase-") as scratch:
        folder = write_out(files, Path(scratch))
        tops = sorted({path.split("/")[0] for path in files})
        analysis, seconds, idle_core = timed(analyze_path, folder / tops[0] if len(tops) == 1 else folder, jobs=jobs)
        failures = round_trip_failures(files, analysis.atoms)
        found = {(e.source, e.target): e.kind for e in analysis.file_edges}
        figures = compare(folder, files, found)
        raw, decided = figures.pop("raw"), figures.pop("decided")
        if show_misses:
            print("against ruff alone:")
            show("ruff", found, raw, show_misses)
            print("decided by Python's resolution:")
            show("decided", found, decided, show_misses)
        target = str(folder / tops[0]) if len(tops) == 1 else str(folder)
        command_seconds, own_rss, workers_rss = command([target, "--jobs", str(jobs), "--no-cache"])
    return {
        "files": len(files),
        "lines": sum(source.count(b"\n") for source in files.values()),
        "atoms": len(analysis.atoms),
        "parse_errors": len(analysis.errors),
        "round_trip_failures": len(failures),
        "round_trip_failed_files": failures[:20],
        **figures,
        "jobs": jobs,
        "analyze_seconds": round(seconds, 2),
        "analyze_idle_core_seconds": round(idle_core, 2),
        "command_seconds": round(command_seconds, 2),
        "command_peak_rss_mb": round(own_rss, 1),
        "workers_peak_rss_mb": round(workers_rss, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", nargs="+", default=["sqlalchemy"], help="installed packages to measure")
    parser.add_argument("--root", nargs="+", type=Path, help="measure the codebases under these folders instead")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes of analyze_path and the command")
    parser.add_argument("--show-misses", type=int, default=0, help="print up to N missed and extra edges")
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    args = parser.parse_args()
    files = tree(args.root or package_roots(args.packages))
    if not files:
        parser.error("no Python, JavaScript or TypeScript file to measure")
    name = ", ".join(str(r) for r in args.root) if args.root else ", ".join(args.packages)
    r = {"corpus": name, **measure(files, args.jobs, args.show_misses)}
    round_trip = "every file" if not r["round_trip_failures"] else f"{r['round_trip_failures']} files FAIL"
    print(
        f"corpus: {name}: {r['files']:,} files, {r['lines']:,} lines, {r['atoms']:,} atoms, "
        f"{r['parse_errors']} parse errors; round trip: {round_trip}"
    )
    print(f"{'file edges':<36} {'ours':>7} {'oracle':>7} {'P':>6} {'R':>6}")
    print(
        f"{'against ruff analyze graph':<36} {r['edges']:>7,} {r['ruff_edges']:>7,} "
        f"{r['precision_raw']:>6.3f} {r['recall_raw']:>6.3f}"
    )
    print(
        f"{'  disagreements decided by Python':<36} {r['edges']:>7,} {r['decided_edges']:>7,} "
        f"{r['precision']:>6.3f} {r['recall']:>6.3f}   ({r['disputed']} disputed)"
    )
    print(
        f"analyze_path --jobs {r['jobs']}: {r['analyze_seconds']:.1f} s wall ({r['analyze_idle_core_seconds']:.1f} s "
        f"on idle cores); mge atomize DIR --jobs {r['jobs']} --no-cache: {r['command_seconds']:.1f} s wall, "
        f"peak RSS {r['command_peak_rss_mb']} MB + workers {r['workers_peak_rss_mb']} MB each"
    )
    for path in r["round_trip_failed_files"]:
        print(f"  round trip fails: {path}")
    if args.json:
        args.json.write_text(json.dumps(r, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
