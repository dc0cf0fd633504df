"""Throughput of the acceptance runner.

For every shipped example: the offline pipeline's generated project and acceptance suite, run
through the sandboxed runner (one sandbox per requirement's test file) with the default workers and
with one worker (a serial run of the same files), each `--repeats` times; prints tests, the best
wall time of each, tests per second, and the speedup of the parallel runner over the serial run.

    python benchmarks/acceptance_throughput.py
    python benchmarks/acceptance_throughput.py --workers 10 --repeats 3 --json throughput.json
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from mge_assets.acceptance.execution import WORKERS, RunSettings, run_suite
from mge_assets.acceptance.offline_build import (
    offline_discovery,
    offline_project_files,
    offline_suite,
    write_built_tree,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "requests"


def best_time(root: Path, suite: object, workers: int, repeats: int) -> tuple[float, int]:
    """The best wall time of `repeats` runs, and how many tests passed in the last one."""
    best, passed = float("inf"), 0
    for _ in range(repeats):
        started = time.perf_counter()
        run = run_suite(root, suite, RunSettings(workers=workers))
        best = min(best, time.perf_counter() - started)
        passed = sum(outcome == "passed" for outcome, _, _ in run.outcomes.values())
    return best, passed


def measure(path: Path, workers: int, repeats: int, scratch: Path) -> dict[str, object]:
    discovery = offline_discovery(path)
    suite = offline_suite(discovery)
    root = scratch / path.stem
    errors = write_built_tree(root, {**offline_project_files(discovery), **suite.files}, discovery.language)
    if errors:
        raise SystemExit(f"{path.stem}: the generated project does not compile: {errors}")
    parallel, passed = best_time(root, suite, workers, repeats)
    serial, _ = best_time(root, suite, 1, repeats)
    tests = len(suite.cases)
    return {
        "example": path.stem,
        "language": discovery.language,
        "tests": tests,
        "files": len({c.file for c in suite.cases}),
        "passed": passed,
        "workers": workers,
        "seconds_parallel": round(parallel, 3),
        "seconds_serial": round(serial, 3),
        "tests_per_s_parallel": round(tests / parallel, 2),
        "tests_per_s_serial": round(tests / serial, 2),
        "speedup": round(serial / parallel, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=WORKERS, help=f"parallel workers (default {WORKERS})")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each mode; the best counts (default 2)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} before the runs")
    print(
        f"{'example':<16} {'tests':>5} {'passed':>6} {'files':>5} {'parallel s':>10} {'serial s':>8} "
        f"{'tests/s':>7} {'speedup':>7}"
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="mge-throughput-") as scratch:
        for path in sorted(EXAMPLES.glob("*.md")):
            row = measure(path, args.workers, args.repeats, Path(scratch))
            rows.append(row)
            print(
                f"{row['example']:<16} {row['tests']:>5} {row['passed']:>6} {row['files']:>5} "
                f"{row['seconds_parallel']:>10.2f} "
                f"{row['seconds_serial']:>8.2f} {row['tests_per_s_parallel']:>7.1f} {row['speedup']:>6.2f}x",
                flush=True,
            )
    total_parallel = sum(r["seconds_parallel"] for r in rows)
    total_serial = sum(r["seconds_serial"] for r in rows)
    tests = sum(r["tests"] for r in rows)
    print(
        f"{'all':<16} {tests:>5} {sum(r['passed'] for r in rows):>6} {'':>5} "
        f"{total_parallel:>10.2f} {total_serial:>8.2f} "
        f"{tests / total_parallel:>7.1f} {total_serial / total_parallel:>6.2f}x"
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
