"""The atoms of a file's units: classes split into header and methods, units over budget into pieces."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from operator import attrgetter
from typing import NamedTuple

from tree_sitter import Node

from mge_assets.atomize.javascript.facts import Facts
from mge_assets.atomize.javascript.names import Names, names_of
from mge_assets.atomize.javascript.syntax import BODIES, definition_name, is_default, line_start
from mge_assets.atomize.javascript.units import Unit, units_of_class, with_spans
from mge_assets.atomize.model import Atom, ImportRef
from mge_assets.atomize.split import (
    count_loc,
    pieces,
    split_atom,
)

_START = attrgetter("start_byte")


class _Split(NamedTuple):
    """Where a unit over budget may be cut, the pieces it is cut into and the names of each, by span."""

    cuts: list[int]
    pieces: dict[tuple[int, int], Names]
    spans: list[tuple[int, int, int]]  # as `split.pieces` gives them: start, end, lines


class Builder:
    """Makes the atoms of one file."""

    def __init__(self, path: str, source: bytes, language: str, budget: int, facts: Facts) -> None:
        self.path, self.source, self.language, self.budget, self.facts = path, source, language, budget, facts
        self.blocks = facts.blocks
        self.block_starts = [block.start_byte for block in self.blocks]

    def definition(self, unit: Unit, kind: str, parent: str | None, owner: str | None) -> list[Atom]:
        name = definition_name(unit.definition, self.source) if unit.definition is not None else "default"
        symbol = f"{owner}.{name}" if owner else name
        names, split = self._read(unit.nodes, unit.start, unit.end, kind, defines_in_pieces=False)
        atom = self._atom(unit.start, unit.end, kind, symbol, parent, names, (symbol,), unit.exported)
        if kind == "function" and unit.exported and is_default(unit.nodes[-1]):
            atom = _with_default_export(atom)
        return self._split(atom, names.bindings, split, defines_in_pieces=False)

    def block(self, unit: Unit, kind: str, parent: str | None, owner: str | None) -> list[Atom]:
        names, split = self._read(unit.nodes, unit.start, unit.end, kind, defines_in_pieces=True)
        defined = tuple(f"{owner}.{n}" if owner else n for n in names.top_level)
        label = "<module>" if kind == "module_header" else (defined[0] if defined else None)
        symbol = label or f"{owner + '.' if owner else ''}<statements:{unit.nodes[0].start_point.row + 1}>"
        atom = self._atom(unit.start, unit.end, kind, symbol, parent, names, defined, False)
        return self._split(atom, names.bindings - set(names.top_level), split, defines_in_pieces=True)

    def klass(self, unit: Unit) -> list[Atom]:
        node = unit.definition
        assert node is not None
        name = definition_name(node, self.source)
        body = node.child_by_field_name("body")
        members = units_of_class(body.named_children if body else [])
        first = next((i for i, m in enumerate(members) if m.definition is not None), None)
        rows = {unit.nodes[-1].start_point.row} | {m.nodes[0].start_point.row for m in members}
        if first is None or len(rows) < len(members) + 1:
            return self.definition(unit, "class", None, None)
        members = with_spans(
            members[first:], line_start(self.source, members[first].nodes[0].start_byte), unit.end, self.source
        )
        header_names, split = self._read(
            unit.nodes, unit.start, members[0].start, "class_header", defines_in_pieces=False
        )
        header = self._atom(
            unit.start, members[0].start, "class_header", name, None, header_names, (name,), unit.exported
        )
        if unit.exported and is_default(unit.nodes[-1]):
            header = _with_default_export(header)
        atoms = self._split(header, header_names.bindings, split, defines_in_pieces=False)
        for member in members:
            if member.definition is None:
                atoms.extend(self.block(member, "class_statements", header.id, name))
            else:
                atoms.extend(self.definition(member, "method", header.id, name))
        return atoms

    def _atom(
        self,
        start: int,
        end: int,
        kind: str,
        symbol: str,
        parent: str | None,
        names: Names,
        defines: tuple[str, ...],
        exported: bool,
    ) -> Atom:
        source = self.source
        code = source[start:end].decode("utf-8", errors="surrogateescape")
        return Atom(
            id=f"{self.path}::{symbol}",
            language=self.language,
            file=self.path,
            start_byte=start,
            end_byte=end,
            start_line=0,  # line spans and complexity are set for the whole file at once (`finish`)
            end_line=0,
            kind=kind,
            symbol=symbol,
            parent=parent,
            loc=count_loc(source, start, end),
            complexity=0,
            code=code,
            defines=defines,
            references=tuple(sorted(names.referenced - names.bindings - _own(defines, kind, names))),
            type_references=tuple(sorted(names.types - names.values - names.bindings - set(defines))),
            bases=tuple(names.bases),
            attribute_references=tuple(sorted(names.attributes)),
            imports=tuple(names.imports),
            exported=exported,
        )

    def _read(
        self, nodes: list[Node], start: int, end: int, kind: str, defines_in_pieces: bool
    ) -> tuple[Names, _Split | None]:
        """The names of a unit, and where it splits, the names of each of its pieces. The pieces cover
        the unit: it is read piece by piece only, and its names are theirs put together."""
        budget = self._budget(kind)
        if count_loc(self.source, start, end) > budget:
            roots = _bodies(nodes) if not defines_in_pieces else nodes
            cuts = _statement_cuts(roots, self.source, self.blocks, self.block_starts)
            spans = pieces(self.source, start, end, cuts, budget)
            if len(spans) > 1:
                ranges = [(lo, hi) for lo, hi, _ in spans]
                found = names_of(self.source, self.facts, nodes, ranges)
                return Names.union(found), _Split(cuts, dict(zip(ranges, found, strict=True)), spans)
        return names_of(self.source, self.facts, nodes, [(0, end)])[0], None

    def _budget(self, kind: str) -> int:
        return 2 * self.budget if kind == "module_header" else self.budget

    def _split(self, atom: Atom, local: set[str], split: _Split | None, defines_in_pieces: bool) -> list[Atom]:
        """Over budget: a head and child pieces, read already by `_read`; a piece's reads exclude the
        unit's own locals."""
        if split is None:
            return [atom]

        def names(start: int, end: int) -> tuple:
            found = split.pieces[start, end]
            defines = tuple(found.top_level) if defines_in_pieces else ()
            return (
                defines,
                tuple(sorted(found.referenced - found.bindings - local - set(atom.defines))),
                tuple(sorted(found.types - found.values - found.bindings - local)),
                tuple(sorted(found.attributes)),
                tuple(found.imports),
                tuple(sorted(found.bindings & local)),
                tuple(sorted(found.referenced & local)),
            )

        return split_atom(atom, self.source, split.cuts, self._budget(atom.kind), names, split.spans)


def _statement_cuts(
    roots: Iterable[Node | None], source: bytes, blocks: list[Node], block_starts: list[int]
) -> list[int]:
    """Line starts where a statement begins its line: each root, and each child of the blocks (bodies,
    statement lists: the file's, in order of their starts) that lie inside the roots."""
    cuts: set[int] = set()
    for root in roots:
        if root is None:
            continue
        line_start = source.rfind(b"\n", 0, root.start_byte) + 1
        # A root that begins its line is a statement to cut before, but a body's `{` belongs to the line
        # above, its signature's (`function f()` / `{`); inline (`function f() {`) it is no cut at all.
        opens_a_body = root.child_count > 0 and root.child(0).type == "{"
        if not source[line_start : root.start_byte].strip() and not opens_a_body:
            cuts.add(line_start)
        lo, hi = root.start_byte, root.end_byte
        for block in blocks[bisect_left(block_starts, lo) : bisect_left(block_starts, hi)]:
            if block.end_byte > hi:  # an ancestor of the root that starts where it does
                continue
            for child in block.children:
                if child.type == "{":  # `if (x)` / `{` on a line of its own: the brace belongs to the line above
                    continue
                start = child.start_byte
                line_start = source.rfind(b"\n", 0, start) + 1
                if not source[line_start:start].strip():
                    cuts.add(line_start)
    return sorted(cuts)


def _own(defines: tuple[str, ...], kind: str, names: Names) -> set[str]:
    """The names an atom's reads of itself use: a type's own name read as a value (`type X = typeof X`)
    is the value of that name, declared elsewhere."""
    return set(defines) - names.values if kind in ("type", "interface") else set(defines)


def _bodies(nodes: list[Node]) -> list[Node]:
    """The statement blocks inside definitions, where a split may cut."""
    found = []
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if node.type in BODIES:
            found.append(node)
            continue
        stack.extend(node.children)
    return found


def _with_default_export(atom: Atom) -> Atom:
    record = ImportRef(module="", name=atom.symbol, alias="default", kind="export")
    return Atom(**{**atom.__dict__, "imports": (*atom.imports, record)})
