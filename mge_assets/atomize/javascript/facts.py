"""The facts query of a file, and the facts gathered from its captures in byte order: the names each
identifier binds or reads, attribute reads, imports and class bases. A unit's names are then looked up
by its byte span (`names.py`): no unit's nodes are walked in Python."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from itertools import compress

from tree_sitter import Language, Node, Query, QueryCursor, QueryError, Tree

from mge_assets.atomize.javascript.imports import call_refs, import_refs, local_exports, reexport_refs
from mge_assets.atomize.javascript.syntax import (
    BINDING_FIELDS,
    CHAINED,
    DECISIONS,
    MEMBER_OWNERS,
    STATEMENT_PARENTS,
    keys_of,
    literal_type,
    lookup_attribute,
    member_chain,
    node_text,
    parser,
    pattern_names,
    pattern_source,
    type_name_of,
)
from mge_assets.atomize.positioned import Positioned

_TS_MEMBERS = """
    (interface_body [(property_signature name: (_) @member) (method_signature name: (_) @member)])
    (object_type [(property_signature name: (_) @member) (method_signature name: (_) @member)])
    [(required_parameter) (optional_parameter) (variable_declarator) (public_field_definition)] @typed
    [(property_signature) (method_signature) (type_alias_declaration)] @typed
    [(function_declaration) (method_definition)] @typed
    (type_parameter constraint: (constraint)) @typed
    (return_statement (as_expression (object) @returned))
    (internal_module) @namespace
    [(class_declaration) (abstract_class_declaration) (interface_declaration)] @typed
    (for_in_statement) @typed
    (object) @typed
    (call_expression
        function: (member_expression) arguments: (arguments [(arrow_function) (function_expression)])) @typed
"""
# Module-level object literals: `const x = {a}` / `export default {a}` bind the members `x.a` / `default.a`.
_LITERALS = """
    (program (lexical_declaration (variable_declarator value: (object) @literal)))
    (program (variable_declaration (variable_declarator value: (object) @literal)))
    (program (export_statement declaration: (lexical_declaration (variable_declarator value: (object) @literal))))
    (program (export_statement value: (object) @literal))
    (return_statement (object) @returned)
"""
# What a unit's names are read from. The statements that name modules (`import`, `export ... from`,
# `export { a }`) are read as a whole: no identifier inside them is a read of its own.
_NAMES = """
    [(identifier) (shorthand_property_identifier)] @id
    (member_expression) @attribute
    (new_expression constructor: (identifier) @constructed)
    (object) @object
    (object_pattern) @pattern
    (class_heritage) @heritage
    (import_statement) @import
    (export_statement source: (_)) @reexport
    (export_clause) @exports
    (call_expression arguments: (arguments . [(string) (template_string)])) @call
    (formal_parameters (_) @bound)
"""
# The same in TypeScript's own syntax: type names, `A.B` in types, `T["k"]`, bases of interfaces.
_TS_NAMES = """
    (type_identifier) @type_id
    (nested_type_identifier) @attribute
    (lookup_type) @attribute
    (extends_clause) @heritage
    (extends_type_clause) @interface_bases
"""
_BASES = ("identifier", "type_identifier", "member_expression")  # a class's bases as its heritage names them
_HERITAGE = ("class_heritage", "extends_clause")
# ASCII words joined by one dot, nothing between: the object starts the node and its property ends it.
# (Only one dot: tree-sitter finds a chain's fields in type arguments in ways its text does not say.)
_PLAIN_ATTRIBUTE = re.compile(r"[A-Za-z_$][\w$]*\.#?[A-Za-z_$][\w$]*", re.ASCII)


def facts_captures(tree: Tree, dialect: str) -> dict[str, list[Node]]:
    """The nodes of every fact the atomizer gathers about a file, by capture name: one query, one
    walk of the tree."""
    return QueryCursor(_facts_query(dialect)).captures(tree.root_node)


@cache
def _facts_query(dialect: str) -> Query:
    """One query, one walk of the tree: the names read and bound, members, stated types, decision points
    and the blocks whose statements a split may cut before."""
    language = parser(dialect).language
    assert language is not None
    blocks = " ".join(f"({kind})" for kind in sorted(STATEMENT_PARENTS) if language.id_for_node_kind(kind, True))
    field = "field_definition property:" if dialect == "javascript" else "public_field_definition name:"
    this = "(assignment_expression left: (member_expression object: (this) property: (_) @member))"
    typed = _TS_MEMBERS if dialect != "javascript" else "(variable_declarator) @typed"
    kinds = " ".join(f"({kind})" for kind in sorted(DECISIONS))
    decisions = f'[{kinds} (binary_expression operator: ["&&" "||" "??"])] @decision'
    members = f"(class_body ({field} (_) @member)) {this} {typed} {_LITERALS}"
    names = f"{_NAMES} {_TS_NAMES if dialect != 'javascript' else ''} {_binding_patterns(language)}"
    return Query(language, f"{members} {decisions} [{blocks}] @block {names} {_base_patterns(language)}")


def _binding_patterns(language: Language) -> str:
    """The patterns of what each binding construct binds (its field that holds the names)."""
    kinds = [kind for kind in sorted(BINDING_FIELDS) if language.id_for_node_kind(kind, True)]
    return " ".join(f"({kind} {BINDING_FIELDS[kind]}: (_) @bound)" for kind in kinds)


def _base_patterns(language: Language) -> str:
    """The names a heritage clause holds directly, in those of its forms the grammar has (TypeScript's
    `class_heritage` holds an `extends_clause`, JavaScript's the expression itself)."""
    kinds = [(clause, kind) for clause in _HERITAGE for kind in _BASES]
    return " ".join(f"({clause} ({kind}) @base)" for clause, kind in kinds if _possible(language, clause, kind))


def _possible(language: Language, parent: str, child: str) -> bool:
    if not (language.id_for_node_kind(parent, True) and language.id_for_node_kind(child, True)):
        return False
    try:
        Query(language, f"({parent} ({child}))")
    except QueryError:  # the grammar never puts the one in the other
        return False
    return True


@dataclass(slots=True)
class Spanned:
    """Items of nodes that count wherever the node reaches into a range (a node across a cut counts in
    each piece it reaches), outer nodes before the nodes inside them."""

    starts: list[int]
    ends: list[int]
    items: list

    @classmethod
    def of(cls, found: Iterable[tuple[Node, object]]) -> Spanned:
        found = list(found)
        ordered = sorted((n.start_byte, -n.end_byte, index) for index, (n, _) in enumerate(found))
        return cls([s for s, _, _ in ordered], [-e for _, e, _ in ordered], [found[i][1] for _, _, i in ordered])

    def indices(self, lo: int, hi: int) -> range:
        """The indices of the items whose nodes start in [lo, hi)."""
        first = bisect_left(self.starts, lo)
        return range(first, bisect_left(self.starts, hi, first))


@dataclass(slots=True)
class Facts:
    """Per file, in byte order, what a unit's names are read from. Identifiers and keys are leaves:
    a span has those that start in it. The rest (`Spanned`) count in each span their nodes reach into."""

    reads: Positioned  # names read as values: identifiers, `{ a }` shorthands, the locals `export {}` names
    type_reads: Positioned  # type names
    bound: Positioned  # identifiers a declaration, parameter or loop binds
    constructed: Positioned  # `C` in `new C()`: a value read, through `C.constructor`
    keys: Positioned  # `<T>.k` / `x.k` for the keys of object literals and patterns
    attributes: Positioned  # `a.b`, `a.b.c`, `T["k"]`, `C.constructor` read by a node on one line
    long_attributes: Spanned  # those read by a node over several lines, the only ones a cut can cross
    imports: Spanned  # the ImportRefs of import and export statements, `require()` and `import()`
    bases: Spanned  # the bases each heritage clause names
    blocks: list[Node]  # the statement blocks, by start


def gather(captured: dict[str, list[Node]], source: bytes) -> Facts:
    # the statements that name modules are read as a whole: nothing inside them is read on its own
    modules = _merged(captured.get("import", []) + captured.get("reexport", []))
    stops = _merged(captured.get("import", []) + captured.get("reexport", []) + captured.get("exports", []))
    chars = source.decode("latin-1")  # one character per byte: offsets into it are byte offsets
    reads, bound, constructed = _identifiers(captured, source, chars, stops)
    attributes = [
        (n, a, _multiline(n, chars))
        for n in _outside(captured.get("attribute", []), stops)
        if (a := _attribute(n, source, chars))
    ]
    for name in _outside(captured.get("constructed", []), stops):  # `new C()` runs C's constructor
        attributes.append((name.parent, f"{node_text(name, source)}.constructor", _multiline(name.parent, chars)))
    imports = [(n, import_refs(n, source)) for n in captured.get("import", [])]
    imports += [(n, reexport_refs(n, source)) for n in captured.get("reexport", [])]
    for clause in _outside(captured.get("exports", []), modules):  # `export { a }` reads the local a
        refs, names = local_exports(clause, source)
        imports.append((clause, refs))
        reads += [(clause.start_byte, name) for name in names]
    imports += [(n, refs) for n in _outside(captured.get("call", []), stops) if (refs := call_refs(n, source))]
    return Facts(
        reads=Positioned.of(reads),
        type_reads=Positioned.of(_texts(_outside(captured.get("type_id", []), stops), source, chars)),
        bound=Positioned.of(bound),
        constructed=Positioned.of(constructed),
        keys=Positioned.of(_keys(captured, source, stops)),
        attributes=Positioned.of([(n.start_byte, a) for n, a, long in attributes if not long]),
        long_attributes=Spanned.of((n, a) for n, a, long in attributes if long),
        imports=Spanned.of(imports),
        bases=Spanned.of(_bases(captured, source, stops)),
        blocks=sorted(captured.get("block", []), key=_start),  # nested ones do not come in this order
    )


def _multiline(node: Node, chars: str) -> bool:
    return chars.find("\n", node.start_byte, node.end_byte) >= 0


def _identifiers(
    captured: dict[str, list[Node]], source: bytes, chars: str, stops: list[tuple[int, int]]
) -> tuple[list[tuple[int, str]], list[tuple[int, str]], list[tuple[int, str]]]:
    """The identifiers read, bound and constructed (`new C`). Identifiers outnumber every other node:
    each is touched once, and the sorting out is done in C (a role byte each, `itertools.compress`)."""
    ids = sorted(captured.get("id", []), key=_start)
    starts = [node.start_byte for node in ids]
    pairs = _texts(ids, source, chars)
    role = bytearray(len(ids))  # 0: read, 1: bound, 2: constructed, 3: inside an import or export statement
    for node in captured.get("constructed", []):
        _mark(role, starts, node.start_byte, 2)
    for target in captured.get("bound", []):
        for node in pattern_names(target):
            _mark(role, starts, node.start_byte, 1)
    for lo, hi in stops:
        first, last = bisect_left(starts, lo), bisect_left(starts, hi)
        role[first:last] = b"\3" * (last - first)
    return tuple(list(compress(pairs, role.translate(table))) for table in _ROLE_TABLES)  # type: ignore[return-value]


_ROLE_TABLES = tuple(bytes(1 if role == kept else 0 for role in range(256)) for kept in range(3))


def _mark(role: bytearray, starts: list[int], start: int, value: int) -> None:
    """The role of the identifier that starts at `start`, if one does (a pattern also binds shorthands)."""
    index = bisect_left(starts, start)
    if index < len(starts) and starts[index] == start:
        role[index] = value


def _texts(nodes: list[Node], source: bytes, chars: str) -> list[tuple[int, str]]:
    """(start, text) of each node, sliced from the Latin-1 text; decoded as UTF-8 where it is not ASCII."""
    found = [(n.start_byte, chars[n.start_byte : n.end_byte]) for n in nodes]
    if chars.isascii():
        return found
    return [(s, t if t.isascii() else t.encode("latin-1").decode("utf-8", errors="replace")) for s, t in found]


def _merged(nodes: list[Node]) -> list[tuple[int, int]]:
    """The byte spans the nodes cover, sorted and disjoint."""
    spans: list[tuple[int, int]] = []
    for lo, hi in sorted((n.start_byte, n.end_byte) for n in nodes):
        if spans and lo < spans[-1][1]:
            spans[-1] = (spans[-1][0], max(hi, spans[-1][1]))
        else:
            spans.append((lo, hi))
    return spans


def _outside(nodes: list[Node], stops: list[tuple[int, int]]) -> list[Node]:
    """The nodes that do not lie in one of the (disjoint, sorted) spans. Captures come in the order of
    their starts: each span is then two bisections, and most files have no node to drop."""
    if not stops or not nodes:
        return nodes
    starts = [node.start_byte for node in nodes]
    if starts != sorted(starts):  # nested nodes of one kind need not come in the order of their starts
        order = sorted(range(len(nodes)), key=starts.__getitem__)
        nodes, starts = [nodes[i] for i in order], [starts[i] for i in order]
    dropped = [(bisect_left(starts, lo), bisect_left(starts, hi)) for lo, hi in stops]
    if all(first == last for first, last in dropped):
        return nodes
    kept, previous = [], 0
    for first, last in dropped:
        kept += nodes[previous:first]
        previous = last
    return kept + nodes[previous:]


def _attribute(node: Node, source: bytes, chars: str) -> str | None:
    """`a.b` for a member read on a name or `this` (`A.B` in a type), `a.x.y` along a chain, `<T>.k` for
    `T["k"]`."""
    if node.type == "lookup_type":
        return lookup_attribute(node, source)
    start, end = node.start_byte, node.end_byte
    if _PLAIN_ATTRIBUTE.fullmatch(chars, start, end) and node.child(0).type in MEMBER_OWNERS:
        return chars[start:end]  # `name.attr` as written, most of them: its text is the read
    obj = node.child_by_field_name("object") or (node.named_children[0] if node.named_children else None)
    prop = node.child_by_field_name("property") or (node.named_children[-1] if node.named_children else None)
    if obj is None or prop is None or obj == prop:
        return None
    if obj.type in MEMBER_OWNERS:
        return f"{node_text(obj, source)}.{node_text(prop, source)}"
    if obj.type in CHAINED:
        return member_chain(node, source)  # `a.x.y`: y looked up on the type stated for x
    return None


def _keys(captured: dict[str, list[Node]], source: bytes, stops: list[tuple[int, int]]) -> list[tuple[int, str]]:
    """The keys of object literals as members of the type each is checked against (`<T>.k`), and those
    of object patterns as members of what each takes apart (`x.k` for `{ k } = x`)."""
    found = []
    for node in _outside(captured.get("object", []), stops):
        context = literal_type(node, source)
        if context:
            found.extend((key.start_byte, f"<{context}>.{node_text(key, source)}") for key in keys_of(node))
    for node in _outside(captured.get("pattern", []), stops):
        owner = pattern_source(node, source)
        if owner:
            found.extend((key.start_byte, f"{owner}.{node_text(key, source)}") for key in keys_of(node))
    return found


def _bases(
    captured: dict[str, list[Node]], source: bytes, stops: list[tuple[int, int]]
) -> list[tuple[Node, list[str]]]:
    """The bases each heritage clause names: the names and `a.b` chains directly in a class's `extends`
    (also in a class expression inside it, as in `extends mixin(class extends B {})`, but not inside a
    chain), the types in an interface's `extends`."""
    bases = sorted(captured.get("base", []), key=_start)
    starts = [node.start_byte for node in bases]
    found = []
    for clause in _outside(captured.get("heritage", []), stops):
        inside = bases[bisect_left(starts, clause.start_byte) : bisect_left(starts, clause.end_byte)]
        found.append((clause, [node_text(b, source) for b in inside if _named_by(b, clause)]))
    for clause in _outside(captured.get("interface_bases", []), stops):
        found.append((clause, [t for t in (type_name_of(c, source) for c in clause.named_children) if t]))
    return found


def _named_by(base: Node, clause: Node) -> bool:
    """The base lies in the clause outside any member chain (whose own parts are not bases)."""
    parent = base.parent
    while parent is not None and parent != clause:
        if parent.type == "member_expression":
            return False
        parent = parent.parent
    return True


def _start(node: Node) -> int:
    return node.start_byte
