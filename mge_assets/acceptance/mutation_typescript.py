"""Mutation operators for generated TypeScript services, the counterparts of mutation.py's: a route
dropped from its table, a status code changed, a comparison, `&&`/`||`, an `if` or a boolean flipped,
a `throw` or a call removed, the list order reversed. Sites are found with tree-sitter and each
mutant is the source with one span replaced, so everything else stays byte for byte.

Sites inside type annotations are skipped: a change there cannot alter behaviour.
"""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from mge_assets.acceptance.mutation import STATUS_SWAPS, Mutant
from mge_assets.atomize.javascript import parser

COMPARE_SWAPS = {"===": "!==", "!==": "===", "==": "!=", "!=": "==", "<": "<=", "<=": "<", ">": ">=", ">=": ">"}
BOOL_SWAPS = {"&&": "||", "||": "&&"}
_TYPE_CONTEXTS = {"type_annotation", "type_alias_declaration", "interface_declaration", "type_arguments"}

Site = tuple[str, int, int, str, str]  # operator, start byte, end byte, replacement, description


def _sites(root: Node, source: bytes) -> Iterator[Site]:
    for node in _walk(root):
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
            yield "drop_call", node.start_byte, node.end_byte, ";", f"call {text.split('(')[0]}() removed"
        elif node.type in ("true", "false"):
            flipped = "false" if node.type == "true" else "true"
            yield "flip_bool", node.start_byte, node.end_byte, flipped, f"{text} → {flipped}"
        elif node.type == "arrow_function" and text == "(a, b) => a.id - b.id":
            yield "reverse_order", node.start_byte, node.end_byte, "(a, b) => b.id - a.id", "order by id reversed"


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
    for operator, start, end, replacement, description in _sites(tree.root_node, data):
        site = counters[operator] = counters.get(operator, -1) + 1
        line = data.count(b"\n", 0, start) + 1
        mutated = (data[:start] + replacement.encode() + data[end:]).decode()
        found.append(Mutant(path, operator, site, line, f"{path}:{line} {description}", mutated))
    return found
