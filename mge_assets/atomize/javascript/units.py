"""A file's top-level units (definitions with their comments, runs of other statements) and their spans."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import takewhile

from tree_sitter import Node

from mge_assets.atomize.javascript.syntax import DECLARATIONS, DEFINITIONS, FUNCTION_VALUES, MEMBERS, TYPES


@dataclass
class Unit:
    nodes: list[Node]
    definition: Node | None = None  # the declaration itself, inside any `export`
    exported: bool = False
    start: int = 0
    end: int = 0


def kind_of(node: Node) -> str:
    if node.type in TYPES:
        return node.type.removesuffix("_declaration").replace("_alias", "")
    return "function"


def _definition_of(node: Node) -> tuple[Node | None, bool]:
    """The declaration a top-level statement introduces (None for plain statements), and if exported."""
    exported = node.type == "export_statement"
    if exported:
        if node.child_by_field_name("source") is not None:
            return None, True
        inner = node.child_by_field_name("declaration") or node.child_by_field_name("value")
        if inner is None:
            return None, True
        node = inner
    if node.type in DEFINITIONS:
        return node, exported
    if node.type in DECLARATIONS:
        declarators = [c for c in node.named_children if c.type == "variable_declarator"]
        if len(declarators) == 1:
            value = declarators[0].child_by_field_name("value")
            name = declarators[0].child_by_field_name("name")
            if value is not None and value.type in FUNCTION_VALUES and name is not None and name.type == "identifier":
                return node, exported
    if exported and node.type in FUNCTION_VALUES:
        return node, exported  # export default function () {} / export default class {}
    return None, exported


def units_of(
    children: list[Node], definition_of: Callable[[Node], tuple[Node | None, bool]] | None = None
) -> list[Unit]:
    """Each definition is a unit with the comments and decorators right above it; runs of the rest too."""
    units: list[Unit] = []
    block: list[Node] = []
    for child in children:
        definition, exported = (definition_of or _definition_of)(child)
        if definition is None:
            block.append(child)
            continue
        leading = _leading(block, child)
        block = block[: len(block) - len(leading)]
        if block:
            units.append(Unit(block))
        units.append(Unit([*leading, child], definition=definition, exported=exported))
        block = []
    if block:
        units.append(Unit(block))
    return units


def _leading(block: list[Node], definition: Node) -> list[Node]:
    taken: list[Node] = []
    row = definition.start_point.row
    for node in reversed(block):
        if node.type not in ("comment", "decorator") or node.end_point.row not in (row, row - 1):
            break
        taken.insert(0, node)
        row = node.start_point.row
    return taken


def with_spans(units: list[Unit], start: int, end: int, source: bytes) -> list[Unit]:
    """Units start at their first line and end where the next begins. Comments on the last line of a
    unit stay with it; a unit that begins on a line the one before it is still on merges with it."""
    merged: list[Unit] = []
    for unit in units:
        if merged:
            trailing = _trailing_comments(unit.nodes, merged[-1].nodes[-1])
            merged[-1].nodes += trailing
            unit.nodes = unit.nodes[len(trailing) :]
            if not unit.nodes:
                continue
        unit.start = start if not merged else source.rfind(b"\n", 0, unit.nodes[0].start_byte) + 1
        if merged and (unit.start <= merged[-1].start or unit.start < merged[-1].nodes[-1].end_byte):
            previous = merged[-1]
            merged[-1] = Unit(previous.nodes + unit.nodes, start=previous.start)
            continue
        merged.append(unit)
    for index, unit in enumerate(merged):
        unit.end = merged[index + 1].start if index + 1 < len(merged) else end
    return merged


def _trailing_comments(nodes: list[Node], last: Node) -> list[Node]:
    """The comments that open `nodes` on the line where `last` ends (`x = 1; // why`)."""
    row = last.end_point.row
    return list(takewhile(lambda node: node.type == "comment" and node.start_point.row == row, nodes))


def units_of_class(members: list[Node]) -> list[Unit]:
    return units_of(members, lambda member: (member if member.type in MEMBERS else None, False))
