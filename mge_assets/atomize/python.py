"""Split Python source into atoms with tree-sitter.

Top level: the module header (docstring, imports, constants), each function, each class, and any
other run of statements. A class is split into its header (docstring and fields) and one atom per
method. Comments directly above a definition, and its decorators, stay with it. Each atom runs from
the start of its first line to the start of the next atom, so the atoms of a file cover every byte
exactly once.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import compress, filterfalse, takewhile
from operator import attrgetter

import tree_sitter_python
from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

from mge_assets.atomize.atomicity import LINE_BUDGET
from mge_assets.atomize.errors import syntax_errors
from mge_assets.atomize.model import Atom, ImportRef, ParseError, evolve
from mge_assets.atomize.positioned import Positioned
from mge_assets.atomize.split import count_loc, finish, split_atom, unique_ids, with_members

LANGUAGE = Language(tree_sitter_python.language())
_DEFINITIONS = {"function_definition", "class_definition", "decorated_definition"}
_DECISIONS = {
    "if_statement",
    "elif_clause",
    "for_statement",
    "while_statement",
    "except_clause",
    "boolean_operator",
    "conditional_expression",
    "if_clause",
    "for_in_clause",
    "case_clause",
}
_DECISION_PATTERNS = "[" + " ".join(f"({kind})" for kind in sorted(_DECISIONS)) + "] @decision"
_FACTS_PATTERNS = """
    (identifier) @id
    (attribute attribute: (identifier) @skip)
    (keyword_argument name: (identifier) @skip)
    (function_definition name: (identifier) @skip)
    (class_definition name: (identifier) @skip)
    (attribute object: (identifier)) @attribute
    (attribute object: (call function: [(identifier) (attribute)]) attribute: (identifier)) @on_call
    (assignment left: [(attribute) @member (pattern_list (attribute) @member)])
    (class_definition body: (block (expression_statement (assignment left: (identifier) @member))))
    [(typed_parameter) (typed_default_parameter)] @typed
    (assignment left: [(identifier) (attribute)] type: (_)) @typed
    (assignment
        left: [(identifier) (attribute)]
        right: [(call) (conditional_expression) (identifier) (attribute) (subscript) (await)]) @typed
    (with_item value: (as_pattern alias: (as_pattern_target (identifier)))) @typed
    [(for_statement left: (identifier)) (for_in_clause left: (identifier))] @typed
    (function_definition return_type: (_)) @typed
    (attribute object: (attribute object: (identifier) attribute: (identifier)) attribute: (identifier)) @chain
    (attribute object: (attribute object: (attribute object: (identifier)))) @chain
    (type (string (string_content) @forward))
    (subscript subscript: (string (string_content) @quoted))
    (call function: (identifier) @keyword_call arguments: (argument_list (keyword_argument)))
    (type) @type
    [(import_statement) (import_from_statement) (future_import_statement)] @import
    [(function_definition) (lambda) (class_definition)] @scope
    """
# The statements of blocks are their named children (see `_statements`): a `(block (_))` pattern
# would cost the query more than reading them off the blocks.
_STATEMENTS_PATTERNS = """
    (block) @block
    (if_statement [(elif_clause) (else_clause)] @statement)
    (try_statement [(except_clause) (else_clause) (finally_clause)] @statement)
    """
_LOCALS_PATTERNS = """
    (assignment left: (_) @assigned)
    (augmented_assignment left: (_) @assigned)
    (for_statement left: (_) @target)
    (for_in_clause left: (_) @target)
    (as_pattern_target (identifier) @name)
    (named_expression name: (identifier) @name)
    (function_definition name: (identifier) @name)
    (class_definition name: (identifier) @name)
    (parameters (identifier) @name)
    (typed_parameter . (identifier) @name)
    (default_parameter name: (identifier) @name)
    (typed_default_parameter name: (identifier) @name)
    (list_splat_pattern (identifier) @name)
    (dictionary_splat_pattern (identifier) @name)
    (lambda_parameters (identifier) @name)
    (global_statement (identifier) @global)
    (nonlocal_statement (identifier) @global)
    """
# One query, one pass over the tree, gathers every fact the atomizer needs about a file.
_FILE_QUERY = Query(LANGUAGE, "\n".join((_DECISION_PATTERNS, _FACTS_PATTERNS, _STATEMENTS_PATTERNS, _LOCALS_PATTERNS)))
_IMPORTS = ("import_statement", "import_from_statement", "future_import_statement")
_TYPE_CHECKING = {b"TYPE_CHECKING", b"typing.TYPE_CHECKING", b"t.TYPE_CHECKING"}
_GENERATORS = {"Generator", "AsyncGenerator"}  # their first parameter is what they yield
_SEQUENCES = {
    *_GENERATORS,
    *("List", "list", "Sequence", "MutableSequence", "Iterable", "Iterator", "Collection", "Reversible"),
    *("Set", "set", "FrozenSet", "frozenset", "AbstractSet", "MutableSet", "Deque", "deque"),
    *("Tuple", "tuple", "AsyncIterable", "AsyncIterator"),
}
_DOTTED_NAME = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
# ASCII words joined by one dot, nothing between: the object starts the node and its name ends it
_PLAIN_ATTRIBUTE = re.compile(r"\w+\.\w+", re.ASCII)


def parser() -> Parser:
    return Parser(LANGUAGE)


@dataclass
class _Unit:
    nodes: list[Node]
    definition: Node | None = None
    start: int = 0
    end: int = 0


def atomize_python(path: str, source: bytes, line_budget: int = LINE_BUDGET) -> list[Atom]:
    """The atoms of one Python file, in byte order; units over `line_budget` split into child atoms."""
    return atomize_python_tree(path, source, parser().parse(source), line_budget)


def atomize_python_tree(path: str, source: bytes, tree: Tree, line_budget: int = LINE_BUDGET) -> list[Atom]:
    """As `atomize_python`, from a parse tree already made."""
    source = _gather(source, tree)
    units = _units(tree.root_node.children, source)
    if not units and source:
        units = [_Unit([tree.root_node])]  # only blank lines: one atom keeps them
    _assign_spans(units, 0, len(source), source)
    atoms: list[Atom] = []
    for index, unit in enumerate(units):
        if unit.definition is None:
            kind = "module_header" if index == 0 and _has_import(unit.nodes) else "statements"
            atom = _block_atom(path, source, unit, kind, parent=None, owner=None)
            budget = 2 * line_budget if kind == "module_header" else line_budget
            atoms.extend(_split_block(atom, unit.nodes, source, budget, owner=None))
        elif _definition(unit.definition).type == "class_definition":
            atoms.extend(_class_atoms(path, source, unit, line_budget))
        else:
            atom = _function_atom(path, source, unit, "function", parent=None, owner=None, budget=line_budget)
            atoms.extend(_split_definition(atom, unit.definition, source, line_budget))
    facts = source.facts
    atoms = with_members(finish(unique_ids(atoms), source, facts.decisions), facts.member_starts, facts.member_texts)
    return with_members(atoms, facts.typed_starts, facts.typed_texts, field="typed_names")


def _split_definition(atom: Atom, node: Node, source: bytes, budget: int) -> list[Atom]:
    if atom.loc <= budget:
        return [atom]
    body = _definition(node).child_by_field_name("body")

    known: dict[int, set[str]] = {}

    def names(start: int, end: int) -> tuple:
        found = _Names(source, start, end, known_locals=known)
        found.visit_definition(node)
        return found.piece()

    first = _line_start(source, body.start_byte) if body is not None else atom.end_byte
    atoms = split_atom(atom, source, source.facts.cuts_between(first, atom.end_byte), budget, names)
    if len(atoms) == 1 and atom.kind != "class_header":  # nowhere to cut: it stays whole, so read it whole
        whole = _Names(source)
        whole.visit_definition(node)
        return [evolve(atom, **_reads_of_names(whole, atom.defines))]
    return atoms


def _split_block(atom: Atom, nodes: list[Node], source: bytes, budget: int, owner: str | None) -> list[Atom]:
    if atom.loc <= budget:
        return [atom]

    ends = [node.end_byte for node in nodes]  # in byte order: only the statements a piece overlaps are visited

    def names(start: int, end: int) -> tuple:
        found = _Names(source, start, end)
        for node in nodes[bisect_right(ends, start) :]:
            if node.start_byte >= end:
                break
            found.visit_statement(node)
        result = found.piece()
        return (tuple(f"{owner}.{n}" if owner else n for n in found.bound_in_range), *result[1:])

    return split_atom(atom, source, source.facts.cuts_between(atom.start_byte, atom.end_byte), budget, names)


def parse_errors(path: str, tree: Tree, source: bytes) -> list[ParseError]:
    """Where the tree has ERROR or MISSING nodes: line, column and the text in question."""
    return syntax_errors(path, tree, source)


def _units(children: list[Node], source: bytes) -> list[_Unit]:
    """Group statements: each definition is a unit; runs of other statements are one unit each."""
    units: list[_Unit] = []
    block: list[Node] = []
    for child in children:
        if child.type not in _DEFINITIONS:
            block.append(child)
            continue
        leading = _comments_above(block, child)
        block = block[: len(block) - len(leading)]
        if block:
            units.append(_Unit(block))
        units.append(_Unit([*leading, child], definition=child))
        block = []
    if block:
        units.append(_Unit(block))
    return units


def _comments_above(block: list[Node], definition: Node) -> list[Node]:
    """The comments that sit on the lines right above a definition (no blank line between)."""
    taken: list[Node] = []
    row = definition.start_point.row
    for node in reversed(block):
        if node.type != "comment" or node.end_point.row != row - 1:
            break
        taken.insert(0, node)
        row = node.start_point.row
    return taken


def _assign_spans(units: list[_Unit], start: int, end: int, source: bytes) -> None:
    """Each unit starts at its first line (the first unit at `start`) and ends where the next begins."""
    for index, unit in enumerate(units):
        unit.start = start if index == 0 else _line_start(source, unit.nodes[0].start_byte)
    for index, unit in enumerate(units):
        unit.end = units[index + 1].start if index + 1 < len(units) else end


def _line_start(source: bytes, offset: int) -> int:
    return source.rfind(b"\n", 0, offset) + 1


def _class_atoms(path: str, source: bytes, unit: _Unit, budget: int) -> list[Atom]:
    class_node = _definition(unit.definition)
    name = _name(class_node, source)
    body = class_node.child_by_field_name("body")
    members = _units(body.children if body else [], source)
    first_method = next((i for i, m in enumerate(members) if m.definition is not None), None)
    if first_method is None:
        atom = _definition_atom(path, source, unit, "class", name, parent=None, end=unit.end, budget=budget)
        return _split_definition(atom, unit.definition, source, budget)
    members = members[first_method:]
    _assign_spans(members, _line_start(source, members[0].nodes[0].start_byte), unit.end, source)
    header = _definition_atom(
        path, source, unit, "class_header", name, parent=None, end=members[0].start, header_only=True
    )
    atoms = _split_definition(header, unit.definition, source, budget)
    for member in members:
        if member.definition is None:
            atom = _block_atom(path, source, member, "class_statements", parent=header.id, owner=name)
            atoms.extend(_split_block(atom, member.nodes, source, budget, owner=name))
        else:
            atom = _function_atom(path, source, member, "method", parent=header.id, owner=name, budget=budget)
            atoms.extend(_split_definition(atom, member.definition, source, budget))
    return atoms


def _function_atom(
    path: str, source: bytes, unit: _Unit, kind: str, parent: str | None, owner: str | None, budget: int | None = None
) -> Atom:
    name = _name(_definition(unit.definition), source)
    symbol = f"{owner}.{name}" if owner else name
    return _definition_atom(path, source, unit, kind, symbol, parent=parent, end=unit.end, budget=budget)


def _definition_atom(
    path: str,
    source: bytes,
    unit: _Unit,
    kind: str,
    symbol: str,
    parent: str | None,
    end: int,
    header_only: bool = False,
    budget: int | None = None,
) -> Atom:
    """With `budget`, a definition over it is not read whole: `_split_definition` cuts it into pieces that
    each read their own span, and reads it whole only if it finds nowhere to cut. Its bases are kept."""
    node = unit.definition
    names = _Names(source)
    loc = count_loc(source, unit.start, end)
    if header_only or (budget is not None and loc > budget and _definition(node).type == "class_definition"):
        # a class with methods, or one cut into pieces: its decorators and header (the rest are atoms)
        names._read(node.start_byte, _definition(node).start_byte, _NO_LOCALS)
        names.visit_class_header(_definition(node))
    elif budget is None or loc <= budget:
        names.visit_definition(node)
    return _make_atom(path, source, unit.start, end, kind, symbol, parent, names, defines=(symbol,), loc=loc)


def _block_atom(path: str, source: bytes, unit: _Unit, kind: str, parent: str | None, owner: str | None) -> Atom:
    names = _Names(source)
    for node in unit.nodes:
        names.visit_statement(node)
    defined = tuple(f"{owner}.{n}" if owner else n for n in names.bound)
    symbol = (f"{owner}." if owner else "") + (
        "<module>"
        if kind == "module_header"
        else (names.bound[0] if names.bound else f"<statements:{unit.nodes[0].start_point.row + 1}>")
    )
    return _make_atom(path, source, unit.start, unit.end, kind, symbol, parent, names, defines=defined)


def _make_atom(
    path: str,
    source: bytes,
    start: int,
    end: int,
    kind: str,
    symbol: str,
    parent: str | None,
    names: _Names,
    defines: tuple[str, ...],
    loc: int | None = None,
) -> Atom:
    code = source[start:end].decode("utf-8", errors="surrogateescape")
    return Atom(
        id=f"{path}::{symbol}",
        language="python",
        file=path,
        start_byte=start,
        end_byte=end,
        start_line=0,  # line spans and complexity are set for the whole file at once (`finish`)
        end_line=0,
        kind=kind,
        symbol=symbol,
        parent=parent,
        loc=count_loc(source, start, end) if loc is None else loc,
        complexity=0,
        code=code,
        defines=defines,
        **_reads_of_names(names, defines),
    )


def _reads_of_names(names: _Names, defines: tuple[str, ...]) -> dict:
    """The fields of an atom that say what it reads."""
    return {
        "references": tuple(sorted(names.referenced.difference(defines))),
        "type_references": tuple(sorted(names.types - names.values)),  # only in annotations: type-only uses
        "bases": tuple(names.bases),
        "attribute_references": tuple(sorted(names.attributes)),
        "imports": tuple(names.imports),
    }


def _definition(node: Node) -> Node:
    """The function or class inside a decorated definition."""
    return node.child_by_field_name("definition") if node.type == "decorated_definition" else node


def _name(node: Node, source: bytes) -> str:
    return _text(node.child_by_field_name("name"), source)


def _text(node: Node | None, source: _Source) -> str:
    """A node's text: a slice of the file's `chars` when it is ASCII, as names nearly always are."""
    if node is None:
        return ""
    start, end = node.start_byte, node.end_byte
    word = source.chars[start:end]
    return word if word.isascii() else source[start:end].decode()


def _has_import(nodes: list[Node]) -> bool:
    return any(n.type in _IMPORTS for n in nodes)


@dataclass(slots=True)
class _Names:
    """Names an atom defines at its own level (imports are kept apart), and names it reads.

    With `lo`/`hi` only what lies in that byte range is recorded (a piece of a split unit). Every read is
    looked up in the facts gathered for the file (`_Facts`): no node is walked here.
    """

    source: _Source
    lo: int = 0
    hi: int = 1 << 62
    bound: list[str] = field(default_factory=list)
    bound_in_range: list[str] = field(default_factory=list)
    types: set[str] = field(default_factory=set)  # read in annotations
    values: set[str] = field(default_factory=set)  # read anywhere else
    bases: list[str] = field(default_factory=list)
    attributes: set[str] = field(default_factory=set)
    imports: list[ImportRef] = field(default_factory=list)
    imports_seen: set[int] = field(default_factory=set)
    known_locals: dict[int, set[str]] = field(default_factory=dict)  # by node start: shared across pieces
    scope_locals: set[str] = field(default_factory=set)  # the locals of the scopes read (kept out of reads)
    local_reads: set[str] = field(default_factory=set)  # of those, the ones this range reads

    @property
    def referenced(self) -> set[str]:
        return self.values | self.types

    def _locals(self, node: Node) -> set[str]:
        if node.start_byte not in self.known_locals:
            self.known_locals[node.start_byte] = _locals(node, self.source)
        return self.known_locals[node.start_byte]

    def piece(self) -> tuple:
        """What a piece of a split unit defines, reads, reads in annotations, reads as attributes, imports,
        and which of the unit's locals it binds and reads."""
        bound = self.source.facts.bindings.within(self.lo, self.hi)
        return (
            tuple(self.bound_in_range),
            tuple(sorted(self.referenced)),
            tuple(sorted(self.types - self.values)),
            tuple(sorted(self.attributes)),
            tuple(self.imports),
            tuple(sorted(self.scope_locals.intersection(bound))),
            tuple(sorted(self.local_reads)),
        )

    def _inside(self, node: Node) -> bool:
        return node.end_byte > self.lo and node.start_byte < self.hi

    def visit_statement(self, node: Node) -> None:
        """A module- or class-level statement: its bindings are definitions, the rest references."""
        if not self._inside(node):
            return
        if node.type not in _IMPORTS:
            for start, text in self.source.facts.assigned_in(node):
                if text not in self.bound:
                    self.bound.append(text)
                    if self.lo <= start < self.hi:
                        self.bound_in_range.append(text)
        self._reads(node, local=_NO_LOCALS)

    def visit_definition(self, node: Node) -> None:
        """A function or class: decorators, signature and body, with its own locals excluded."""
        definition = _definition(node)
        self._read(node.start_byte, definition.start_byte, _NO_LOCALS)  # the decorators, if any
        if definition.type == "class_definition":
            self.visit_class_header(definition)
            body = definition.child_by_field_name("body")
            if body is not None:
                self._reads(body, local=self._locals(body))
            return
        local = self._locals(definition)
        self._reads(definition, local=local)

    def visit_class_header(self, definition: Node) -> None:
        superclasses = definition.child_by_field_name("superclasses")
        if superclasses is not None and self._inside(superclasses):
            for argument in superclasses.named_children:
                if argument.type in ("identifier", "attribute"):
                    self.bases.append(_text(argument, self.source))
            self._reads(superclasses, local=_NO_LOCALS)
        body = definition.child_by_field_name("body")
        fields = list(takewhile(lambda statement: statement.type not in _DEFINITIONS, body.children if body else []))
        if fields:  # the statements before the first method, read as one span (only comments lie between)
            self._read(fields[0].start_byte, fields[-1].end_byte, _NO_LOCALS)

    def _reads(self, node: Node, local: set[str] | frozenset[str]) -> None:
        self._read(node.start_byte, node.end_byte, local)

    def _read(self, start: int, end: int, local: set[str] | frozenset[str]) -> None:
        """Record what [start, end) reads (within this piece's range), from the facts gathered for the file."""
        lo, hi = max(start, self.lo), min(end, self.hi)
        if lo >= hi:
            return
        facts = self.source.facts
        if local:
            self.scope_locals.update(local)
        for found, known in ((self.values, facts.values), (self.types, facts.types)):
            names = known.within(lo, hi)
            if local:
                self.local_reads.update(local.intersection(names))
            found.update(set(names).difference(local) if local else names)
        self.attributes.update(facts.attributes.within(lo, hi))
        for index in facts.imports.indices(lo, hi):
            if index not in self.imports_seen:
                self.imports_seen.add(index)
                self.imports.extend(facts.imports.items[index])


_NO_LOCALS: frozenset[str] = frozenset()


class _Source(bytes):
    """A file's bytes carrying the facts gathered from its tree once (so every helper can use them)."""

    facts: _Facts
    chars: str  # the bytes as Latin-1, one character each: offsets into it are byte offsets


@dataclass(slots=True)
class _Facts:
    """Per file, in byte order: the identifiers read (in annotations and elsewhere), `name.attribute`
    reads, the imports with their kind, the names bound, the statements' line starts and the decision
    points. One tree-sitter query gathers them all."""

    values: Positioned  # identifiers read outside annotations
    types: Positioned  # identifiers read inside annotations
    attributes: Positioned
    imports: Positioned  # the ImportRefs of each import statement
    bindings: Positioned  # names bound anywhere (parameters, targets, definitions): for locals
    globals: Positioned  # names declared global or nonlocal
    assigned: Positioned  # per assignment, by its start: the (start, name) pairs its left side binds
    scope_starts: list[int]  # functions, lambdas and classes
    cuts: list[int]  # line starts where a statement begins its line: where a split may cut
    member_starts: list[int]  # class attributes bound: fields in a class body, `self.x = ...` in a method
    member_texts: list[str]  # as `Class.x`
    typed_starts: list[int]  # names whose type the code states: annotated, or assigned a call's result
    typed_texts: list[str]  # as `name:Type`
    decisions: list[int]  # starts of decision points, for cyclomatic complexity

    def cuts_between(self, start: int, end: int) -> list[int]:
        return self.cuts[bisect_left(self.cuts, start) : bisect_left(self.cuts, end)]

    def bound_within(self, node: Node) -> set[str]:
        lo, hi = node.start_byte, node.end_byte
        return set(self.bindings.within(lo, hi)).difference(self.globals.within(lo, hi))

    def assigned_in(self, statement: Node) -> list[tuple[int, str]]:
        """The names a statement's assignments bind, in order, up to its first function, lambda or class
        (assignments from there on belong to that scope, or follow it)."""
        lo, hi = statement.start_byte, statement.end_byte
        scope = bisect_left(self.scope_starts, lo)
        if scope < len(self.scope_starts) and self.scope_starts[scope] < hi:
            hi = self.scope_starts[scope]
        return [name for names in self.assigned.within(lo, hi) for name in names]


_START = attrgetter("start_byte")
_IS_ERROR = attrgetter("is_error")


def facts_captures(tree: Tree) -> dict[str, list[Node]]:
    """The nodes of every fact the atomizer gathers about a file, by capture name: one query, one
    walk of the tree."""
    return QueryCursor(_FILE_QUERY).captures(tree.root_node)


def _gather(raw: bytes, tree: Tree) -> _Source:
    source = _Source(raw)
    source.chars = raw.decode("latin-1")
    captured = facts_captures(tree)
    imports = sorted(captured.get("import", []), key=_START)
    import_refs = [(node.start_byte, _import_refs(node, source)) for node in imports]
    values, types = _reads_of(source, captured, [(n.start_byte, n.end_byte) for n in imports])
    quoted = _inside(captured.get("quoted", []), captured.get("type", []))  # `t.Optional["X"]`
    forward = _forward_references(captured.get("forward", []) + quoted, source)
    if forward:  # names inside string annotations are type reads too
        stated = ((start, name.split(".")[0]) for start, name in forward)
        types = Positioned.of([*zip(types.starts, types.items, strict=True), *stated])
    # `C(x=1)` names the parameters of C.__init__ when C is a class (the graph decides that)
    attributes = [(n.start_byte, f"{_text(n, source)}.__init__") for n in captured.get("keyword_call", [])]
    chars = source.chars
    for node in captured.get("attribute", []):
        start, end = node.start_byte, node.end_byte
        if _PLAIN_ATTRIBUTE.fullmatch(chars, start, end):  # `name.attr` as written: its text is the read
            attributes.append((start, chars[start:end]))
            continue
        obj, attr = node.child_by_field_name("object"), node.child_by_field_name("attribute")
        if obj is not None and attr is not None and obj.type == "identifier":
            attributes.append((obj.start_byte, f"{_text(obj, source)}.{_text(attr, source)}"))
    for node in captured.get("on_call", []):  # `f().x`, `super().m`: x looked up on what f returns
        callee = node.child_by_field_name("object").child_by_field_name("function")
        attributes.append(
            (node.start_byte, f"{_text(callee, source)}().{_text(node.child_by_field_name('attribute'), source)}")
        )
    for node in captured.get("chain", []):  # `x.y.z`: z looked up on the type of x.y, link by link
        attributes.append((node.start_byte, _text(node, source)))
    assigned = [(target.start_byte, _bound_by(target, source)) for target in captured.get("assigned", [])]
    bindings = [(n.start_byte, _text(n, source)) for n in captured.get("name", [])]
    bindings += [pair for target in captured.get("target", []) for pair in _bound_by(target, source)]
    bindings += [pair for _, names in assigned for pair in names]
    found = [(node, _member(node, source)) for node in captured.get("member", [])]
    members = [m for _, m in found if m is not None]
    # a field of the class body, or an annotated `self.x: T = ...`, declares the attribute, slot or not
    declared = {m[1] for node, m in found if m is not None and _declares(node)}
    slots = [s for node, _ in found for s in _slots(node, source) if s[1] not in declared]
    members = sorted(members + slots)
    typed = sorted(t for t in (_typed_name(n, source) for n in captured.get("typed", [])) if t is not None)
    source.facts = _Facts(
        values=values,
        types=types,
        attributes=Positioned.of(attributes),
        imports=Positioned.of(import_refs),
        bindings=Positioned.of(bindings),
        globals=Positioned.of([(n.start_byte, _text(n, source)) for n in captured.get("global", [])]),
        assigned=Positioned.of(assigned),
        scope_starts=sorted(n.start_byte for n in captured.get("scope", [])),
        cuts=_statement_cuts(source, _statements(tree, captured)),
        member_starts=[m[0] for m in members],
        member_texts=[m[1] for m in members],
        typed_starts=[t[0] for t in typed],
        typed_texts=[t[1] for t in typed],
        decisions=sorted(n.start_byte for n in captured.get("decision", [])),
    )
    return source


def _reads_of(
    source: _Source, captured: dict[str, list[Node]], import_spans: list[tuple[int, int]]
) -> tuple[Positioned, Positioned]:
    """The identifiers read, outside annotations and inside them: every identifier but attribute and
    keyword-argument names, the names of definitions, the fields a class body assigns, and those inside
    import statements. Identifiers outnumber every other node: each is touched once, and the sorting
    out is done in C (a role byte per identifier, `bytes.translate`, `itertools.compress`)."""
    ids = captured.get("id", [])
    starts = [node.start_byte for node in ids]
    if starts != sorted(starts):  # identifiers do not nest: the query gives them in document order
        ids = sorted(ids, key=_START)
        starts = [node.start_byte for node in ids]
    chars = source.chars
    words = [chars[node.start_byte : node.end_byte] for node in ids]
    if not chars.isascii():  # the text is Latin-1 per byte: decode the words that are not ASCII
        words = [w if w.isascii() else w.encode("latin-1").decode("utf-8", errors="replace") for w in words]
    role = bytearray(len(ids))  # 0: read outside annotations, 1: read in one, 2: not a read
    for lo, hi in _merged((n.start_byte, n.end_byte) for n in captured.get("type", [])):
        first, last = bisect_left(starts, lo), bisect_left(starts, hi)
        role[first:last] = b"\1" * (last - first)
    for lo, hi in import_spans:
        first, last = bisect_left(starts, lo), bisect_left(starts, hi)
        role[first:last] = b"\2" * (last - first)
    for node in captured.get("skip", []):  # each is also an identifier captured as `id`
        role[bisect_left(starts, node.start_byte)] = 2
    for node in captured.get("member", []):  # a class body's `x = ...` binds C.x: no read of a global x
        if node.type == "identifier":
            role[bisect_left(starts, node.start_byte)] = 2
    values, types = role.translate(_ROLE_IS_VALUE), role.translate(_ROLE_IS_TYPE)
    return (
        Positioned(list(compress(starts, values)), list(compress(words, values))),
        Positioned(list(compress(starts, types)), list(compress(words, types))),
    )


_ROLE_IS_VALUE = bytes([1, 0, 0]) + bytes(253)  # `bytes.translate` tables: 1 where the role is kept
_ROLE_IS_TYPE = bytes([0, 1, 0]) + bytes(253)


def _member(node: Node, source: bytes) -> tuple[int, str] | None:
    """`(start, "Class.x")` for a field `x = ...` of a class body or `self.x = ...` in one of its methods."""
    if node.type == "identifier":  # the pattern matched it directly in a class body
        klass = node.parent.parent.parent.parent
        return node.start_byte, f"{_name(klass, source)}.{_text(node, source)}"
    owner, attribute = node.child_by_field_name("object"), node.child_by_field_name("attribute")
    if owner is None or attribute is None or _text(owner, source) not in ("self", "cls"):
        return None
    function = node.parent
    while function is not None and function.type != "function_definition":
        function = function.parent
    holder = function.parent if function is not None else None
    if holder is not None and holder.type == "decorated_definition":
        holder = holder.parent
    klass = holder.parent if holder is not None else None
    if klass is None or klass.type != "class_definition":
        return None
    return node.start_byte, f"{_name(klass, source)}.{_text(attribute, source)}"


def _declares(member: Node) -> bool:
    return member.type == "identifier" or member.parent.child_by_field_name("type") is not None


def _slots(node: Node, source: bytes) -> list[tuple[int, str]]:
    """`(class start, "Class.x")` for each name a class body's `__slots__ = ("x", ...)` lists: the class
    statement makes a descriptor for each, so the class itself, not the method first assigning it (nor
    a piece of a long class header), defines it."""
    if node.type != "identifier" or _text(node, source) != "__slots__":
        return []
    klass, value = node.parent.parent.parent.parent, node.parent.child_by_field_name("right")
    if value is None:
        return []
    names = [value] if value.type == "string" else value.named_children if value.type in ("tuple", "list") else []
    return [
        (klass.start_byte, f"{_name(klass, source)}.{_text(item, source).strip(chr(39) + chr(34))}")
        for item in names
        if item.type == "string" and len(item.named_children) == 3  # a plain literal, no interpolation
    ]


def _inside(nodes: list[Node], spans: list[Node]) -> list[Node]:
    """The nodes lying inside one of `spans` (a subscript's string is an annotation only in a type)."""
    merged = _merged((n.start_byte, n.end_byte) for n in spans)
    starts = [lo for lo, _ in merged]
    found = []
    for node in nodes:
        index = bisect_right(starts, node.start_byte) - 1
        if index >= 0 and node.end_byte <= merged[index][1]:
            found.append(node)
    return found


def _forward_references(contents: list[Node], source: bytes) -> list[tuple[int, str]]:
    """The (dotted) names inside string annotations (`x: "Console"`, `List["m.Node"]`), with offsets:
    type checkers read them as code, so their first names are type references like any other's."""
    found = []
    for node in contents:
        text = source[node.start_byte : node.end_byte].decode("utf-8", errors="replace")
        found.extend((node.start_byte + m.start(), m.group()) for m in _DOTTED_NAME.finditer(text))
    return found


def _typed_name(node: Node, source: bytes) -> tuple[int, str] | None:
    """`(start, "name:Type")` for `name: Type` (parameter or variable) or `name = Type(...)`; the name
    may be `self.x`; `(start, "f():Type")` for a function `f` declared to return `Type`."""
    if node.type == "function_definition":
        returns = _type_name(node.child_by_field_name("return_type"), source)
        return (node.start_byte, f"{_name(node, source)}():{returns}") if returns else None
    if node.type == "with_item":  # `with C(...) as x`: what the context manager gives
        pattern = node.child_by_field_name("value")
        name = pattern.child_by_field_name("alias").named_children[0]
        type_name = _value_type(pattern.named_children[0], source)
    elif node.type in ("for_statement", "for_in_clause"):  # `for x in xs`: x is an element of xs
        name, over = node.child_by_field_name("left"), _iterated(node.child_by_field_name("right"), source)
        type_name = f"{over}[]" if over else None
    elif node.type == "assignment":
        name, kind = node.child_by_field_name("left"), node.child_by_field_name("type")
        right = node.child_by_field_name("right")
        type_name = _type_name(kind, source) if kind is not None else _value_type(right, source)
    else:
        name = node.child_by_field_name("name") or (node.named_children[0] if node.named_children else None)
        kind = node.child_by_field_name("type")
        type_name = _type_name(kind, source) if kind is not None else None
    if name is None or not type_name or not (name.type == "identifier" or _on_self(name, source)):
        return None
    return node.start_byte, f"{_text(name, source)}:{type_name}"


def _value_type(value: Node | None, source: bytes) -> str | None:
    """What a value's type is stated by: the callee whose result it is (`C(...)`: `C`; `C(a) if x else
    C(b)`, a branch may be None), the name or attribute it copies (`S = Style`), or, for an element of a
    name, attribute or call's result (`xs[0]`, and what a for loop takes from it), that with `[]`."""
    if value is not None and value.type == "await" and value.named_children:  # what the awaited call returns
        value = value.named_children[0]
    if value is None:
        return None
    if value.type == "call":
        function = value.child_by_field_name("function")
        return _type_name(function, source) if function is not None else None
    if value.type in ("identifier", "attribute"):
        return _text(value, source)
    if value.type == "subscript":
        inner = value.child_by_field_name("value")
        return f"{_iterated(inner, source)}[]" if _iterated(inner, source) else None
    if value.type != "conditional_expression" or len(value.named_children) != 3:
        return None
    made = {_value_type(branch, source) for branch in value.named_children[::2] if branch.type != "none"}
    return made.pop() if len(made) == 1 and None not in made else None


def _iterated(node: Node | None, source: bytes) -> str | None:
    """A name, attribute or call (`xs`, `self.xs`, `self.items()`) as text; None for anything else."""
    if node is not None and node.type in ("identifier", "attribute"):
        return _text(node, source)
    function = node.child_by_field_name("function") if node is not None and node.type == "call" else None
    return (
        f"{_text(function, source)}()"
        if function is not None and function.type in ("identifier", "attribute")
        else None
    )


def _on_self(node: Node, source: bytes) -> bool:
    owner = node.child_by_field_name("object") if node.type == "attribute" else None
    return owner is not None and owner.type == "identifier" and _text(owner, source) in ("self", "cls")


def _type_name(node: Node, source: bytes) -> str | None:
    """The class a type names: `X`, `m.X`, `"X"`, `Optional[X]`, `X | None`; None for anything else."""
    if node.type == "type" and node.named_children:
        node = node.named_children[0]
    if node.type in ("identifier", "attribute"):
        return _text(node, source)
    if node.type == "string":
        text = _text(node, source).strip("'\"")
        return text if text.replace(".", "").replace("_", "").isalnum() else None
    if node.type == "binary_operator":
        parts = [c for c in (node.child_by_field_name("left"), node.child_by_field_name("right")) if c is not None]
        named = [c for c in parts if c.type != "none"]
        return _type_name(named[0], source) if len(named) == 1 else None
    if node.type == "subscript":  # `t.Optional[X]`: a dotted head parses as a subscript
        head = node.child_by_field_name("value")
        return _generic(_text(head, source), node.children_by_field_name("subscript"), source) if head else None
    if node.type == "generic_type" and len(node.named_children) == 2:
        head, parameters = node.named_children
        return _generic(_text(head, source), parameters.named_children, source)
    return None


def _generic(head: str, parameters: list[Node], source: bytes) -> str | None:
    """`Optional[X]` is X; a sequence or iterable of X (`List[X]`, `Iterator[X]`, `Tuple[X, ...]`) is
    `[X]`, so that its elements (`xs[0]`, `for x in xs`) are typed."""
    name = head.rsplit(".", 1)[-1]
    if name == "Optional" and len(parameters) == 1:
        return _type_name(parameters[0], source)
    variadic = name in ("Tuple", "tuple") and len(parameters) == 2 and _text(parameters[1], source) == "..."
    if name in _SEQUENCES and (len(parameters) == 1 or variadic or name in _GENERATORS):
        element = _type_name(parameters[0], source) if parameters else None
        return f"[{element}]" if element else None
    return None


def _statements(tree: Tree, captured: dict[str, list[Node]]) -> list[Node]:
    """The statements of the module and of every block (and the clauses of `if` and `try`), comments
    included, as `(block (_))` would capture them: not ERROR nodes, nor anything under an ERROR root."""
    root = tree.root_node
    blocks = [root, *captured.get("block", [])] if root.type == "module" else captured.get("block", [])
    found = captured.get("statement", [])
    for block in blocks:
        found.extend(filterfalse(_IS_ERROR, block.named_children))
    return found


def _statement_cuts(source: bytes, statements: list[Node]) -> list[int]:
    cuts = set()
    for start in set(map(_START, statements)):
        line_start = source.rfind(b"\n", 0, start) + 1
        if start == line_start or source[line_start:start].isspace():
            cuts.add(line_start)
    return sorted(cuts)


def _merged(spans: Iterator[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _import_refs(node: Node, source: _Source) -> list[ImportRef]:
    """What one import statement imports: module, name, alias, relative level, and when it takes effect."""
    kind = _import_kind(node, source)
    if node.type == "import_statement":
        refs = []
        for name in node.named_children:
            module_node = name.child_by_field_name("name") if name.type == "aliased_import" else name
            alias_node = name.child_by_field_name("alias") if name.type == "aliased_import" else None
            module = _text(module_node, source)
            alias = _text(alias_node, source) if alias_node else module.split(".")[0]
            refs.append(ImportRef(module=module, name=None, alias=alias, kind=kind))
        return refs
    if node.type == "future_import_statement":
        return []
    raw = _text(node.child_by_field_name("module_name"), source)
    level = len(raw) - len(raw.lstrip("."))
    module = raw.lstrip(".")
    refs = []
    for name in node.children_by_field_name("name"):
        target = name.child_by_field_name("name") if name.type == "aliased_import" else name
        alias_node = name.child_by_field_name("alias") if name.type == "aliased_import" else None
        imported = _text(target, source)
        alias = _text(alias_node, source) if alias_node else imported
        refs.append(ImportRef(module=module, name=imported, alias=alias, level=level, kind=kind))
    if any(c.type == "wildcard_import" for c in node.children):
        refs.append(ImportRef(module=module, name="*", alias="*", level=level, kind=kind))
    return refs


def _import_kind(node: Node, source: bytes) -> str:
    """`late` inside a function, `type` under `if TYPE_CHECKING:`, else `static`."""
    kind = "static"
    parent = node.parent
    while parent is not None:
        if parent.type == "function_definition":
            return "late"
        if parent.type == "if_statement" and _is_type_checking(parent, source):
            kind = "type"
        parent = parent.parent
    return kind


def _is_type_checking(node: Node, source: bytes) -> bool:
    condition = node.child_by_field_name("condition")
    return condition is not None and source[condition.start_byte : condition.end_byte] in _TYPE_CHECKING


def _bound_by(target: Node, source: _Source) -> list[tuple[int, str]]:
    return [(name.start_byte, _text(name, source)) for name in _identifiers(target)]


def _identifiers(node: Node) -> list[Node]:
    """Names bound by a target (`a`, `a, b`, `[a, *b]`), not attributes or subscripts."""
    if node.type == "identifier":
        return [node]
    if node.type in ("pattern_list", "tuple_pattern", "list_pattern", "list_splat_pattern", "parenthesized_expression"):
        return [i for child in node.named_children for i in _identifiers(child)]
    return []


def _locals(definition: Node, source: _Source) -> set[str]:
    """Names bound inside a function (or class body): parameters, assignment and loop targets,
    with/except aliases, nested definitions; less those declared global or nonlocal."""
    return source.facts.bound_within(definition)
