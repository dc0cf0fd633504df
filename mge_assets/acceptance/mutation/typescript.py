"""Mutation operators for generated TypeScript services, the counterparts of mutation.py's: a route
dropped from its table, a status code changed, a comparison, `&&`/`||`, an `if` or a boolean flipped,
a `throw` or a call removed, the list order reversed. Sites are found with tree-sitter and each
mutant is the source with one span replaced, so everything else stays byte for byte.

Sites inside type annotations are skipped: a change there cannot alter behaviour.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from tree_sitter import Node

from mge_assets.acceptance.mutation.model import STATUS_SWAPS, Mutant
from mge_assets.atomize.javascript import parser

COMPARE_SWAPS = {"===": "!==", "!==": "===", "==": "!=", "!=": "==", "<": "<=", "<=": "<", ">": ">=", ">=": ">"}
BOOL_SWAPS = {"&&": "||", "||": "&&"}
_TYPE_CONTEXTS = {"type_annotation", "type_alias_declaration", "interface_declaration", "type_arguments"}

Site = tuple[str, int, int, str, str]  # operator, start byte, end byte, replacement, description


def _sites(root: Node, source: bytes, rules_module: bool = False) -> Iterator[Site]:
    """Every place an operator applies, in source order (the rule operators in a rules module only)."""
    for node in _walk(root):
        if rules_module:
            yield from _rule_sites(node, source)
        text = source[node.start_byte : node.end_byte].decode()
        if node.type == "object" and _is_route(node, source):
            end = node.next_sibling.end_byte if node.next_sibling and node.next_sibling.type == "," else node.end_byte
            yield "drop_route", node.start_byte, end, "", f"route {text} removed"
        elif node.type == "number" and text.isdigit() and int(text) in STATUS_SWAPS:
            yield (
                "status_code",
                node.start_byte,
                node.end_byte,
                str(STATUS_SWAPS[int(text)]),
                f"{text} → {STATUS_SWAPS[int(text)]}",
            )
        elif node.type == "binary_expression":
            yield from _operator_site(node, source)
        elif node.type == "if_statement":
            condition = node.child_by_field_name("condition")
            if condition is not None:
                inner = source[condition.start_byte + 1 : condition.end_byte - 1].decode()
                yield "negate_if", condition.start_byte, condition.end_byte, f"(!({inner}))", "an if condition negated"
        elif node.type == "throw_statement":
            yield "drop_raise", node.start_byte, node.end_byte, ";", "a throw removed"
        elif node.type == "expression_statement" and _is_method_call(
            node.named_children[0] if node.named_children else None
        ):
            called = text.split("(")[0]
            yield _call_operator(called), node.start_byte, node.end_byte, ";", f"call {called}() removed"
        elif node.type in ("true", "false"):
            flipped = "false" if node.type == "true" else "true"
            yield "flip_bool", node.start_byte, node.end_byte, flipped, f"{text} → {flipped}"
        elif node.type == "arrow_function" and text.startswith("(a, b) =>") and text.endswith("a.id - b.id"):
            reversed_ = "(a, b) => " + " || ".join(
                {"a.id - b.id": "b.id - a.id"}.get(
                    part, part.replace("a[", "§[").replace("b[", "a[").replace("§[", "b[")
                )
                for part in text.removeprefix("(a, b) => ").split(" || ")
            )
            yield "reverse_order", node.start_byte, node.end_byte, reversed_, "the list order reversed"


def _rule_sites(node: Node, source: bytes) -> Iterator[Site]:
    """Where a business rule can be broken by one: a limit compared with (a bound, a quota), and the
    moves of a lifecycle (`const STATUS_MOVES = { "open": ["returned"], ... }`)."""
    if node.type == "binary_expression":
        operator, limit = node.child_by_field_name("operator"), node.child_by_field_name("right")
        symbol = source[operator.start_byte : operator.end_byte].decode() if operator else ""
        if symbol in COMPARE_SWAPS and limit is not None and limit.type == "number":
            value = float(source[limit.start_byte : limit.end_byte].decode())
            for name, shifted in (("bound_up", value + 1), ("bound_down", value - 1)):
                text = str(int(shifted)) if shifted.is_integer() else repr(shifted)
                yield name, limit.start_byte, limit.end_byte, text, f"limit {value:g} moved to {text}"
    if node.type == "variable_declarator":
        name, value = node.child_by_field_name("name"), node.child_by_field_name("value")
        lifecycle = name is not None and source[name.start_byte : name.end_byte].decode().endswith("_MOVES")
        if lifecycle and value is not None and value.type == "object":
            yield from _allowed_moves(value, source)


def _allowed_moves(moves: Node, source: bytes) -> Iterator[Site]:
    pairs = [p for p in moves.named_children if p.type == "pair"]

    def text(node: Node) -> str:
        return source[node.start_byte : node.end_byte].decode().strip("\"'")

    states = [text(p.child_by_field_name("key")) for p in pairs]
    states += [text(e) for p in pairs for e in p.child_by_field_name("value").named_children]
    for pair in pairs:
        key, targets = text(pair.child_by_field_name("key")), pair.child_by_field_name("value")
        allowed = {text(e) for e in targets.named_children}
        state = next((s for s in states if s != key and s not in allowed), None)
        if state is not None and targets.type == "array":
            end = targets.end_byte - 1  # before the closing bracket
            insert = f", {json.dumps(state)}" if targets.named_children else json.dumps(state)
            yield "allow_transition", end, end, insert, f"{key} may also move to {state}"


def _call_operator(called: str) -> str:
    """A dropped call that skips a business rule is a rule mutant: the rules' checks and defaults, a
    computed field's refresh."""
    if "refresh" in called.lower():
        return "drop_refresh"
    if called.startswith(("this.rules.", "this.must", "this.should", "this.req")):
        return "drop_rule_check"
    return "drop_call"


def _operator_site(node: Node, source: bytes) -> Iterator[Site]:
    operator = node.child_by_field_name("operator")
    if operator is None:
        return
    symbol = source[operator.start_byte : operator.end_byte].decode()
    if symbol in COMPARE_SWAPS:
        yield "flip_compare", operator.start_byte, operator.end_byte, COMPARE_SWAPS[symbol], f"{symbol} flipped"
    elif symbol in BOOL_SWAPS:
        yield "swap_bool_op", operator.start_byte, operator.end_byte, BOOL_SWAPS[symbol], f"{symbol} ↔ the other"


def _walk(node: Node) -> Iterator[Node]:
    """Every node outside type annotations, in source order."""
    if node.type in _TYPE_CONTEXTS:
        return
    yield node
    for child in node.children:
        yield from _walk(child)


def _is_route(node: Node, source: bytes) -> bool:
    keys = {
        source[p.child_by_field_name("key").start_byte : p.child_by_field_name("key").end_byte]
        for p in node.named_children
        if p.type == "pair"
    }
    return {b"method", b"path", b"handle"} <= keys and node.parent is not None and node.parent.type == "array"


def _is_method_call(node: Node | None) -> bool:
    if node is None or node.type != "call_expression":
        return False
    callee = node.child_by_field_name("function")
    return callee is not None and callee.type == "member_expression"


def mutants_of_typescript(path: str, source: str) -> list[Mutant]:
    """Every mutant of one TypeScript file, numbered per operator in source order."""
    data = source.encode()
    tree = parser("typescript").parse(data)
    found, counters = [], {}
    for operator, start, end, replacement, description in _sites(tree.root_node, data, "/rules/" in f"/{path}"):
        site = counters[operator] = counters.get(operator, -1) + 1
        line = data.count(b"\n", 0, start) + 1
        mutated = (data[:start] + replacement.encode() + data[end:]).decode()
        found.append(Mutant(path, operator, site, line, f"{path}:{line} {description}", mutated))
    return found
