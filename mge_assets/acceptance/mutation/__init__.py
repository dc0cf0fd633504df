"""Mutation testing of the generated acceptance tests: small, plausible faults put into a generated
service, one at a time (`python.py` for a Python service, `typescript.py` for a TypeScript one, both
building on `model.py`); the tests should fail on each ("kill" it). Rule mutants break a business
rule: a bound shifted by one, a forbidden move allowed, a rule's check or a computed field's refresh
dropped, an action that no longer has to move its lifecycle field."""

from __future__ import annotations

import random

from mge_assets.acceptance.mutation.model import RULE_OPERATORS, STATUS_SWAPS, Mutant
from mge_assets.acceptance.mutation.python import mutants_of
from mge_assets.acceptance.mutation.typescript import mutants_of_typescript

__all__ = ["RULE_OPERATORS", "STATUS_SWAPS", "Mutant", "mutants_of", "mutants_of_typescript", "select_mutants"]


def select_mutants(
    files: dict[str, str],
    package: str,
    count: int,
    seed: int = 0,
    language: str = "python",
    rules: bool | None = None,
) -> list[Mutant]:
    """`count` mutants of the service's modules (the package's, or a TypeScript project's `src/` but
    its entry point), spread over the operators (round robin), seeded; `rules` keeps only the rule
    mutants (True) or only the others (False)."""
    pool: dict[str, list[Mutant]] = {}
    for path in sorted(files):
        if language == "typescript" and path.startswith("src/") and path.endswith(".ts") and path != "src/main.ts":
            mutants = mutants_of_typescript(path, files[path])
        elif language == "python" and path.startswith(f"{package}/") and path.endswith(".py"):
            mutants = mutants_of(path, files[path])
        else:
            continue
        for mutant in mutants:
            if rules is None or mutant.rule == rules:
                pool.setdefault(mutant.operator, []).append(mutant)
    rng = random.Random(seed)
    for mutants in pool.values():
        rng.shuffle(mutants)
    chosen: list[Mutant] = []
    while len(chosen) < count and any(pool.values()):
        for operator in sorted(pool):
            if pool[operator] and len(chosen) < count:
                chosen.append(pool[operator].pop())
    return chosen
