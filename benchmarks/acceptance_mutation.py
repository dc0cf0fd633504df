"""Mutation score of the generated acceptance tests.

For every shipped example: the offline pipeline's generated project and acceptance suite; then N
mutants of the service's package (mge_assets/acceptance/mutation/python.py: a route dropped, a status code
changed, a check or raise removed, a comparison, boolean operator, if condition or constant flipped,
a validation keyword removed, the list order reversed; typescript.py the same for a
TypeScript project's src/), spread over the operators, and M rule mutants (a bound or a quota's
limit moved by one, a forbidden move allowed, a rule's check, a default or a computed field's refresh
dropped, any change to a rules module). Each mutant's project runs the whole acceptance suite in the
sandbox (pytest -x, or node --test after tsc: a failing test kills it). Prints mutants, killed and
the score per example, the rule mutants' own, and the survivors.

    python benchmarks/acceptance_mutation.py                  # 40 + 20 rule mutants per example
    python benchmarks/acceptance_mutation.py --mutants 30 --examples task_api --json mutation.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mge_assets.acceptance.execution import PYTEST_ENV, TEST_TIMEOUT_S
from mge_assets.acceptance.mutation import Mutant, select_mutants
from mge_assets.acceptance.offline_build import (
    offline_discovery,
    offline_project_files,
    offline_suite,
    write_built_tree,
)
from mge_assets.node import compiled_path, node_test_command
from mge_assets.sandbox import run_in_sandbox

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "requests"
COMMAND = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "pytest_timeout"]
COMMAND += [f"--timeout={TEST_TIMEOUT_S:g}", "acceptance"]


def suite_passes(files: dict[str, str], scratch: Path, language: str) -> tuple[bool, str]:
    """Whether the whole acceptance suite passes; a mutant that does not type-check still runs (tsc
    emits it), as a Python mutant only has to import."""
    root = Path(tempfile.mkdtemp(dir=scratch))
    write_built_tree(root, files, language)
    command = COMMAND
    if language == "typescript":
        tests = sorted(compiled_path(p) for p in files if p.startswith("acceptance/test_") and p.endswith(".ts"))
        command = node_test_command(tests, TEST_TIMEOUT_S)
    run = run_in_sandbox(command, root, timeout_s=300, extra_env=PYTEST_ENV)
    return run.ok, (run.stdout + run.stderr)[-400:]


def score_example(path: Path, count: int, rule_count: int, jobs: int, seed: int, scratch: Path) -> dict[str, object]:
    discovery = offline_discovery(path)
    project = offline_project_files(discovery)
    suite = offline_suite(discovery)
    files = {**project, **suite.files}
    language = discovery.language
    passes, log = suite_passes(files, scratch, language)
    if not passes:
        raise SystemExit(f"{path.stem}: the unmutated project fails its acceptance tests:\n{log}")
    general = select_mutants(project, discovery.package, count, seed, language, rules=False)
    rules = select_mutants(project, discovery.package, rule_count, seed, language, rules=True)
    mutants = general + rules

    def killed(mutant: Mutant) -> bool:
        return not suite_passes({**files, mutant.file: mutant.source}, scratch, language)[0]

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        verdicts = list(pool.map(killed, mutants))
    survivors = [m.description for m, dead in zip(mutants, verdicts, strict=True) if not dead]
    rule_killed = sum(dead for m, dead in zip(mutants, verdicts, strict=True) if m.rule)
    operators: dict[str, list[int]] = {}
    for mutant, dead in zip(mutants, verdicts, strict=True):
        operators.setdefault(mutant.operator, [0, 0])[0] += 1
        operators[mutant.operator][1] += dead
    return {
        "example": path.stem,
        "language": language,
        "mutants": len(mutants),
        "killed": sum(verdicts),
        "score": round(sum(verdicts) / len(mutants), 4) if mutants else 0.0,
        "rule_mutants": len(rules),
        "rule_killed": rule_killed,
        "rule_score": round(rule_killed / len(rules), 4) if rules else None,
        "tests": len(suite.cases),
        "seconds": round(time.perf_counter() - started, 1),
        "by_operator": {op: {"mutants": n, "killed": k} for op, (n, k) in sorted(operators.items())},
        "survivors": survivors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mutants", type=int, default=40, help="mutants per example but rule ones (default 40)")
    parser.add_argument("--rule-mutants", type=int, default=20, help="rule mutants per example (default 20)")
    parser.add_argument("--examples", nargs="*", help="example names (default: every shipped example)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    paths = sorted(EXAMPLES.glob("*.md"))
    if args.examples:
        paths = [p for p in paths if p.stem in args.examples]
    rows = []
    print(
        f"{'example':<17} {'tests':>5} {'mutants':>7} {'killed':>6} {'score':>6} "
        f"{'rule mutants':>12} {'rule killed':>11} {'rule score':>10} {'seconds':>7}"
    )
    with tempfile.TemporaryDirectory(prefix="mge-mutation-") as scratch:
        for path in paths:
            row = score_example(path, args.mutants, args.rule_mutants, args.jobs, args.seed, Path(scratch))
            rows.append(row)
            print(
                f"{row['example']:<17} {row['tests']:>5} {row['mutants']:>7} {row['killed']:>6} "
                f"{row['score']:>6.3f} {row['rule_mutants']:>12} {row['rule_killed']:>11} "
                f"{row['rule_score'] if row['rule_score'] is not None else '—':>10} {row['seconds']:>7.1f}",
                flush=True,
            )
    for row in rows:
        for survivor in row["survivors"]:
            print(f"  survived in {row['example']}: {survivor}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
