"""Mutation operators for generated Python services: small, plausible faults (a route dropped, a
status code changed, a check removed, a comparison flipped ...). A mutant is one operator applied at
one site of one file; the acceptance tests should fail on it ("kill" it).

Only the service's package is mutated (not its tests), and only sites whose change still imports,
so no mutant is killed just by crashing at start-up.
"""

from __future__ import annotations

import ast
import copy
import random
from collections.abc import Iterator
from dataclasses import dataclass

STATUS_SWAPS = {200: 201, 201: 200, 204: 200, 404: 400, 409: 400, 422: 400}
COMPARE_SWAPS = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
ROUTE_METHODS = {"get", "post", "patch", "put", "delete"}


@dataclass(frozen=True)
class Mutant:
    file: str
    operator: str
    site: int  # the operator's n-th site in the file
    line: int
    description: str
    source: str  # the whole mutated file


def _sites(tree: ast.AST) -> Iterator[tuple[str, ast.AST, str]]:
    """(operator, node, description) for every place an operator applies, in a stable order."""
    equivalent = _equivalent_nodes(tree)
    for node in ast.walk(tree):
        if id(node) in equivalent:
            continue
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                if _is_route(decorator):
                    yield "drop_route", node, f"the route of {node.name}() removed"
        if isinstance(node, ast.Constant) and type(node.value) is int and node.value in STATUS_SWAPS:
            yield "status_code", node, f"status {node.value} → {STATUS_SWAPS[node.value]}"
        if isinstance(node, ast.Compare) and type(node.ops[0]) in COMPARE_SWAPS:
            yield "flip_compare", node, f"{type(node.ops[0]).__name__} flipped"
        if isinstance(node, ast.BoolOp):
            yield "swap_bool_op", node, f"{type(node.op).__name__.lower()} ↔ the other"
        if isinstance(node, ast.If):
            yield "negate_if", node, "an if condition negated"
        if isinstance(node, ast.Raise):
            yield "drop_raise", node, "a raise removed"
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and _is_method_call(node.value):
            yield "drop_call", node, f"call {ast.unparse(node.value.func)}() removed"
        if isinstance(node, ast.keyword) and node.arg in ("min_length", "ge", "le", "status_code", "exclude_unset"):
            yield "drop_keyword", node, f"keyword {node.arg}= removed"
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "ORDER BY id" in node.value:
            yield "reverse_order", node, "ORDER BY id reversed"
        if isinstance(node, ast.Constant) and type(node.value) is bool:
            yield "flip_bool", node, f"{node.value} → {not node.value}"


def _equivalent_nodes(tree: ast.AST) -> set[int]:
    """Sites whose change cannot alter behaviour: the status code in the route decorator of a function
    that returns its own `Response(status_code=...)`, which overrides it."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        returns_response = any(
            isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "Response" for n in ast.walk(node)
        )
        if returns_response:
            for decorator in (d for d in node.decorator_list if _is_route(d)):
                for keyword in (k for k in decorator.keywords if k.arg == "status_code"):
                    skipped |= {id(keyword), id(keyword.value)}
    return skipped


def _is_route(decorator: ast.expr) -> bool:
    call = decorator if isinstance(decorator, ast.Call) else None
    func = call.func if call else None
    return isinstance(func, ast.Attribute) and func.attr in ROUTE_METHODS


def _is_method_call(call: ast.Call) -> bool:
    return isinstance(call.func, ast.Attribute) and call.func.attr not in ("append", "extend", "update")


def _apply(tree: ast.Module, operator: str, target: ast.AST) -> ast.Module:
    """`tree` with `target` changed by `operator` (the tree is a deep copy owned by the caller)."""
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if isinstance(value, list) and target in value:
                index = value.index(target)
                if operator in ("drop_raise", "drop_call"):
                    value[index] = ast.Pass()
                elif operator == "drop_keyword":
                    del value[index]
                elif operator == "drop_route":
                    target.decorator_list = [d for d in target.decorator_list if not _is_route(d)]
                else:
                    value[index] = _replaced(operator, target)
                return tree
            if value is target:
                setattr(parent, name, _replaced(operator, target))
                return tree
    raise ValueError(f"no parent found for the {operator} site")


def _replaced(operator: str, node: ast.AST) -> ast.AST:
    if operator == "status_code":
        return ast.Constant(STATUS_SWAPS[node.value])
    if operator == "flip_compare":
        return ast.Compare(node.left, [COMPARE_SWAPS[type(node.ops[0])](), *node.ops[1:]], node.comparators)
    if operator == "swap_bool_op":
        return ast.BoolOp(ast.Or() if isinstance(node.op, ast.And) else ast.And(), node.values)
    if operator == "negate_if":
        return ast.If(ast.UnaryOp(ast.Not(), node.test), node.body, node.orelse)
    if operator == "reverse_order":
        return ast.Constant(node.value.replace("ORDER BY id", "ORDER BY id DESC"))
    if operator == "flip_bool":
        return ast.Constant(not node.value)
    raise ValueError(f"unknown operator {operator}")


def mutants_of(path: str, source: str) -> list[Mutant]:
    """Every mutant of one file (empty for a file that does not parse)."""
    try:
        original = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    counters: dict[str, int] = {}
    for operator, node, description in list(_sites(original)):
        site = counters[operator] = counters.get(operator, -1) + 1
        line = getattr(node, "lineno", 0)
        tree = copy.deepcopy(original)
        target = [n for op, n, _ in _sites(tree) if op == operator][site]
        mutated = ast.unparse(ast.fix_missing_locations(_apply(tree, operator, target)))
        if mutated != ast.unparse(original):
            found.append(Mutant(path, operator, site, line, f"{path}:{line} {description}", mutated + "\n"))
    return found


def select_mutants(
    files: dict[str, str], package: str, count: int, seed: int = 0, language: str = "python"
) -> list[Mutant]:
    """`count` mutants of the service's modules (the package's, or a TypeScript project's `src/` but
    its entry point), spread over the operators (round robin), seeded."""
    from mge_assets.acceptance.mutation_typescript import mutants_of_typescript  # it builds on Mutant

    pool: dict[str, list[Mutant]] = {}
    for path in sorted(files):
        if language == "typescript" and path.startswith("src/") and path.endswith(".ts") and path != "src/main.ts":
            mutants = mutants_of_typescript(path, files[path])
        elif language == "python" and path.startswith(f"{package}/") and path.endswith(".py"):
            mutants = mutants_of(path, files[path])
        else:
            continue
        for mutant in mutants:
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
