"""The names a unit (or each piece of a split unit) defines, binds, reads and imports, looked up by byte
span in the facts gathered for its file (`facts.py`)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from tree_sitter import Node

from mge_assets.atomize.javascript.facts import Facts, Spanned
from mge_assets.atomize.javascript.syntax import DECLARATIONS, DEFINITIONS, is_default, node_text, pattern_names
from mge_assets.atomize.model import ImportRef

_FIRST = itemgetter(0)  # by start only, and stably
# The statements that may bind a module-level name (a namespace sits in an expression statement)
_DECLARING = frozenset({"export_statement", "expression_statement", "internal_module", *DECLARATIONS, *DEFINITIONS})


@dataclass(slots=True)
class Names:
    """What a span of a unit defines at the top level, binds, reads (value and type), reads as an
    attribute, names as its bases and imports."""

    source: bytes
    lo: int = 0
    hi: int = 1 << 62
    top_level: list[str] = field(default_factory=list)
    bindings: set[str] = field(default_factory=set)
    referenced: set[str] = field(default_factory=set)
    types: set[str] = field(default_factory=set)
    values: set[str] = field(default_factory=set)
    bases: list[str] = field(default_factory=list)
    attributes: set[str] = field(default_factory=set)
    imports: list[ImportRef] = field(default_factory=list)
    exports: list[tuple[int, ImportRef]] = field(default_factory=list)  # `export default x`, by its start
    import_starts: list[int] = field(default_factory=list)  # of the imports, while there are `exports`

    @classmethod
    def union(cls, parts: list[Names]) -> Names:
        """The names of consecutive spans put together: what reading all of them at once finds. A node
        across spans counts in each, so what is kept once (the first bases) is kept once."""
        whole = cls(parts[0].source, parts[0].lo, parts[-1].hi)
        for part in parts:
            whole.top_level += part.top_level
            whole.imports += part.imports
            whole.bases = whole.bases or part.bases
            for name in ("bindings", "referenced", "types", "values", "attributes"):
                getattr(whole, name).update(getattr(part, name))
        return whole

    def top_level_of(self, node: Node) -> None:
        """Names a module-level declaration binds (`const a = 1`, `export function f`)."""
        if node.type not in _DECLARING:
            return
        if node.type == "export_statement":
            inner = node.child_by_field_name("declaration")
            if inner is None:
                self._default_export(node)
                return
            node = inner
        if not (self.lo <= node.start_byte < self.hi or node.start_byte < self.lo < node.end_byte):
            return
        if node.type == "expression_statement" and node.named_children:
            node = node.named_children[0]
        if node.type == "internal_module":  # `namespace N { ... }` binds N
            name = node.child_by_field_name("name")
            if name is not None and name.type == "identifier" and self.lo <= node.start_byte < self.hi:
                self.top_level.append(node_text(name, self.source))
            return
        if node.type in DECLARATIONS:
            for declarator in (c for c in node.named_children if c.type == "variable_declarator"):
                target = declarator.child_by_field_name("name")
                if target is not None and self.lo <= declarator.start_byte < self.hi:
                    self.top_level.extend(node_text(n, self.source) for n in pattern_names(target))
        elif node.type in DEFINITIONS and self.lo <= node.start_byte < self.hi:
            name = node.child_by_field_name("name")
            if name is not None:
                self.top_level.append(node_text(name, self.source))

    def _default_export(self, node: Node) -> None:
        """`export default x` exports the local `x`; `export default <expression>` defines `default`."""
        value = node.child_by_field_name("value")
        if value is None or not is_default(node) or not self.lo <= node.start_byte < self.hi:
            return
        if value.type == "identifier":
            ref = ImportRef(module="", name=node_text(value, self.source), alias="default", kind="export")
            self.exports.append((node.start_byte, ref))
        else:
            self.top_level.append("default")

    def read_leaves(self, facts: Facts, lo: int, hi: int) -> None:
        """The identifiers and keys that start in [lo, hi)."""
        lo, hi = max(lo, self.lo), min(hi, self.hi)
        if lo >= hi:
            return
        reads, types = facts.reads.within(lo, hi), facts.type_reads.within(lo, hi)
        self.referenced.update(reads, types)
        self.values.update(reads, facts.constructed.within(lo, hi))
        self.types.update(types)
        self.bindings.update(facts.bound.within(lo, hi))
        self.attributes.update(facts.keys.within(lo, hi), facts.attributes.within(lo, hi))


def names_of(source: bytes, facts: Facts, nodes: list[Node], spans: list[tuple[int, int]]) -> list[Names]:
    """The names of each span (consecutive, in order) of the unit made of `nodes` (siblings, in order):
    of the parts of the nodes that lie in it, as a walk of each node in turn would find them."""
    found = [Names(source, lo, hi) for lo, hi in spans]
    los = [lo for lo, _ in spans]
    for node in nodes:  # a statement binds names in the spans it reaches into only
        for names in found[max(bisect_right(los, node.start_byte) - 1, 0) :]:
            if names.lo >= node.end_byte:
                break
            names.top_level_of(node)
    start, end = nodes[0].start_byte, nodes[-1].end_byte
    for names in found:
        names.read_leaves(facts, start, end)
    _read_spanned(facts.long_attributes, start, end, found, los, _add_attribute)
    _read_spanned(facts.imports, start, end, found, los, _add_imports)
    _read_spanned(facts.bases, start, end, found, los, _add_bases)
    for names in found:
        if names.exports:  # a node's `export default x` comes before what it imports: none, here
            ordered = sorted(names.exports + list(zip(names.import_starts, names.imports, strict=True)), key=_FIRST)
            names.imports = [ref for _, ref in ordered]
    return found


def _read_spanned(
    items: Spanned, start: int, end: int, found: list[Names], los: list[int], add: Callable[[Names, int, Any], None]
) -> None:
    """Each item of a node inside [start, end] to every span its node reaches into, in order."""
    for index in items.indices(start, min(end, found[-1].hi)):
        lo, hi = items.starts[index], items.ends[index]
        if hi > end:
            continue
        if len(found) == 1:
            if hi > found[0].lo:
                add(found[0], lo, items.items[index])
            continue
        for names in found[max(bisect_right(los, lo) - 1, 0) :]:
            if names.lo >= hi:
                break
            if hi > names.lo and lo < names.hi:
                add(names, lo, items.items[index])


def _add_attribute(names: Names, start: int, attribute: str) -> None:
    names.attributes.add(attribute)


def _add_imports(names: Names, start: int, refs: list[ImportRef]) -> None:
    names.imports.extend(refs)
    if names.exports:
        names.import_starts.extend(start for _ in refs)


def _add_bases(names: Names, start: int, bases: list[str]) -> None:
    if not names.bases:  # a class's own heritage comes before any inside it
        names.bases = list(bases)
