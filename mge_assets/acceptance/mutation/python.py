"""Mutation operators for generated Python services: small, plausible faults (a route dropped, a
status code changed, a check removed, a comparison flipped ...). A mutant is one operator applied at
one site of one file; the acceptance tests should fail on it ("kill" it).

Only the service's package is mutated (not its tests), and only sites whose change still imports,
so no mutant is killed just by crashing at start-up.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator

from mge_assets import pysource
from mge_assets.acceptance.mutation.model import STATUS_SWAPS, Mutant

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


def _sites(tree: ast.AST, rules_module: bool = False) -> Iterator[tuple[str, ast.AST, str]]:
    """(operator, node, description) for every place an operator applies, in a stable order (the rule
    operators in a rules module only)."""
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
            called = ast.unparse(node.value.func)
            yield _call_operator(called), node, f"call {called}() removed"
        if isinstance(node, ast.keyword) and node.arg in ("min_length", "ge", "le", "status_code", "exclude_unset"):
            yield "drop_keyword", node, f"keyword {node.arg}= removed"
        # Only a listing's order shows (a sum over `where()` rows does not depend on it).
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "ORDER BY id LIMIT" in node.value:
            yield "reverse_order", node, "ORDER BY id reversed"
        if isinstance(node, ast.Constant) and type(node.value) is bool:
            yield "flip_bool", node, f"{node.value} → {not node.value}"
        if rules_module:
            yield from _rule_sites(node)


def _rule_sites(node: ast.AST) -> Iterator[tuple[str, ast.AST, str]]:
    """Where a business rule can be broken by one: a limit compared with (a bound, a quota), and the
    moves of a lifecycle (`STATUS_MOVES = {"open": ("returned",), ...}`)."""
    if isinstance(node, ast.Compare) and len(node.comparators) == 1:
        limit = node.comparators[0]
        if isinstance(limit, ast.Constant) and type(limit.value) in (int, float):
            yield "bound_up", node, f"limit {limit.value!r} raised by one"
            yield "bound_down", node, f"limit {limit.value!r} lowered by one"
    if isinstance(node, ast.AnnAssign | ast.Assign) and isinstance(node.value, ast.Dict):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if any(isinstance(t, ast.Name) and t.id.endswith("_MOVES") for t in targets):
            for key, moves in zip(node.value.keys, node.value.values, strict=True):
                if (
                    isinstance(key, ast.Constant)
                    and isinstance(moves, ast.Tuple)
                    and _forbidden(node.value, key, moves)
                ):
                    yield (
                        "allow_transition",
                        moves,
                        f"{key.value} may also move to {_forbidden(node.value, key, moves)}",
                    )


def _forbidden(moves: ast.Dict, key: ast.Constant, allowed: ast.Tuple) -> str | None:
    """A value of the lifecycle that `key` may not move to (the first, in the order the moves name them)."""
    named = [k.value for k in moves.keys if isinstance(k, ast.Constant)]
    named += [e.value for v in moves.values if isinstance(v, ast.Tuple) for e in v.elts if isinstance(e, ast.Constant)]
    targets = {e.value for e in allowed.elts if isinstance(e, ast.Constant)}
    return next((state for state in named if state != key.value and state not in targets), None)


def _call_operator(called: str) -> str:
    """A dropped call that skips a business rule is a rule mutant: the rules' checks and defaults, a
    computed field's refresh."""
    if "refresh" in called:
        return "drop_refresh"
    if called.startswith(("self.rules.", "self._must_", "self._should_", "self._req_")):
        return "drop_rule_check"
    return "drop_call"


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
                if operator in ("drop_raise", "drop_call", "drop_rule_check", "drop_refresh"):
                    value[index] = ast.Pass()
                elif operator == "drop_keyword":
                    del value[index]
                elif operator == "drop_route":
                    target.decorator_list = [d for d in target.decorator_list if not _is_route(d)]
                elif operator == "allow_transition" and isinstance(parent, ast.Dict):
                    state = _forbidden(parent, parent.keys[index], target)
                    value[index] = ast.Tuple([*target.elts, ast.Constant(state)], ast.Load())
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
    if operator in ("bound_up", "bound_down"):
        limit = node.comparators[0].value
        shifted = limit + 1 if operator == "bound_up" else limit - 1
        return ast.Compare(node.left, node.ops, [ast.Constant(shifted)])
    raise ValueError(f"unknown operator {operator}")


def mutants_of(path: str, source: str) -> list[Mutant]:
    """Every mutant of one file (empty for a file that does not parse)."""
    try:
        original = pysource.parse(source)
    except SyntaxError:
        return []
    found = []
    counters: dict[str, int] = {}
    rules_module = "/rules/" in f"/{path}"
    for operator, node, description in list(_sites(original, rules_module)):
        site = counters[operator] = counters.get(operator, -1) + 1
        line = getattr(node, "lineno", 0)
        tree = copy.deepcopy(original)
        target = [n for op, n, _ in _sites(tree, rules_module) if op == operator][site]
        mutated = ast.unparse(ast.fix_missing_locations(_apply(tree, operator, target)))
        if mutated != ast.unparse(original):
            found.append(Mutant(path, operator, site, line, f"{path}:{line} {description}", mutated + "\n"))
    return found
