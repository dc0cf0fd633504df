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

import tree_sitter_python
from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

from mge_assets.atomize.atomicity import LINE_BUDGET
from mge_assets.atomize.errors import syntax_errors
from mge_assets.atomize.model import Atom, ImportRef, ParseError
from mge_assets.atomize.split import count_loc, finish, split_atom, with_members

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
_SCOPES = {"function_definition", "lambda", "class_definition"}
_FACTS_PATTERNS = """
    (identifier) @id
    (attribute attribute: (identifier) @skip)
    (keyword_argument name: (identifier) @skip)
    (function_definition name: (identifier) @skip)
    (class_definition name: (identifier) @skip)
    (attribute object: (identifier)) @attribute
    (assignment left: [(attribute) @member (pattern_list (attribute) @member)])
    (class_definition body: (block (expression_statement (assignment left: (identifier) @member))))
    [(typed_parameter) (typed_default_parameter)] @typed
    (assignment left: [(identifier) (attribute)] type: (_)) @typed
    (assignment left: [(identifier) (attribute)] right: (call)) @typed
    (attribute object: (attribute object: (identifier) attribute: (identifier)) attribute: (identifier)) @chain
    (type (string (string_content) @forward))
    (call function: (identifier) @keyword_call arguments: (argument_list (keyword_argument)))
    (type) @type
    [(import_statement) (import_from_statement) (future_import_statement)] @import
    """
_STATEMENTS_PATTERNS = """
    (module (_) @statement)
    (block (_) @statement)
    (if_statement [(elif_clause) (else_clause)] @statement)
    (try_statement [(except_clause) (else_clause) (finally_clause)] @statement)
    """
_LOCALS_PATTERNS = """
    (assignment left: (_) @target)
    (augmented_assignment left: (_) @target)
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
_DOTTED_NAME = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


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
            atom = _function_atom(path, source, unit, "function", parent=None, owner=None)
            atoms.extend(_split_definition(atom, unit.definition, source, line_budget))
    facts = _facts(source)
    atoms = with_members(finish(_unique_ids(atoms), source, facts.decisions), facts.member_starts, facts.member_texts)
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
    return split_atom(atom, source, _facts(source).cuts_between(first, atom.end_byte), budget, names)


def _split_block(atom: Atom, nodes: list[Node], source: bytes, budget: int, owner: str | None) -> list[Atom]:
    if atom.loc <= budget:
        return [atom]

    def names(start: int, end: int) -> tuple:
        found = _Names(source, start, end)
        for node in nodes:
            found.visit_statement(node)
        result = found.piece()
        return (tuple(f"{owner}.{n}" if owner else n for n in found.bound_in_range), *result[1:])

    return split_atom(atom, source, _facts(source).cuts_between(atom.start_byte, atom.end_byte), budget, names)


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
        atom = _definition_atom(path, source, unit, "class", name, parent=None, end=unit.end)
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
            atom = _function_atom(path, source, member, "method", parent=header.id, owner=name)
            atoms.extend(_split_definition(atom, member.definition, source, budget))
    return atoms


def _function_atom(path: str, source: bytes, unit: _Unit, kind: str, parent: str | None, owner: str | None) -> Atom:
    name = _name(_definition(unit.definition), source)
    symbol = f"{owner}.{name}" if owner else name
    return _definition_atom(path, source, unit, kind, symbol, parent=parent, end=unit.end)


def _definition_atom(
    path: str,
    source: bytes,
    unit: _Unit,
    kind: str,
    symbol: str,
    parent: str | None,
    end: int,
    header_only: bool = False,
) -> Atom:
    node = unit.definition
    names = _Names(source)
    if header_only:
        names.visit_class_header(_definition(node))
    else:
        names.visit_definition(node)
    return _make_atom(
        path,
        source,
        unit.start,
        end,
        kind,
        symbol,
        parent,
        names,
        defines=(symbol,),
    )


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
        loc=count_loc(source, start, end),
        complexity=0,
        code=code,
        defines=defines,
        references=tuple(sorted(names.referenced - set(defines))),
        type_references=tuple(sorted(names.types - names.values)),  # only in annotations: type-only uses
        bases=tuple(names.bases),
        attribute_references=tuple(sorted(names.attributes)),
        imports=tuple(names.imports),
    )


def _unique_ids(atoms: list[Atom]) -> list[Atom]:
    """Redefinitions (e.g. a property and its setter) get `#2`, `#3` ... after their symbol."""
    seen: dict[str, int] = {}
    result = []
    for atom in atoms:
        count = seen.get(atom.id, 0) + 1
        seen[atom.id] = count
        if count > 1:
            atom = Atom(**{**atom.__dict__, "id": f"{atom.id}#{count}"})
        result.append(atom)
    return result


def _definition(node: Node) -> Node:
    """The function or class inside a decorated definition."""
    return node.child_by_field_name("definition") if node.type == "decorated_definition" else node


def _name(node: Node, source: bytes) -> str:
    return _text(node.child_by_field_name("name"), source)


def _text(node: Node | None, source: bytes) -> str:
    return source[node.start_byte : node.end_byte].decode() if node is not None else ""


def _has_import(nodes: list[Node]) -> bool:
    return any(n.type in _IMPORTS for n in nodes)


def _walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


@dataclass
class _Names:
    """Names an atom defines at its own level (imports are kept apart), and names it reads.

    With `lo`/`hi` only what lies in that byte range is recorded (a piece of a split unit).
    """

    source: bytes
    lo: int = 0
    hi: int = 1 << 62
    bound: list[str] = field(default_factory=list)
    bound_in_range: list[str] = field(default_factory=list)
    referenced: set[str] = field(default_factory=set)
    types: set[str] = field(default_factory=set)  # read in annotations
    values: set[str] = field(default_factory=set)  # read anywhere else
    bases: list[str] = field(default_factory=list)
    attributes: set[str] = field(default_factory=set)
    imports: list[ImportRef] = field(default_factory=list)
    imports_seen: set[int] = field(default_factory=set)
    known_locals: dict[int, set[str]] = field(default_factory=dict)  # by node start: shared across pieces

    def _locals(self, node: Node) -> set[str]:
        if node.start_byte not in self.known_locals:
            self.known_locals[node.start_byte] = _locals(node, self.source)
        return self.known_locals[node.start_byte]

    def piece(self) -> tuple:
        """What a piece of a split unit defines, reads, reads in annotations, reads as attributes, imports."""
        return (
            tuple(self.bound_in_range),
            tuple(sorted(self.referenced)),
            tuple(sorted(self.types - self.values)),
            tuple(sorted(self.attributes)),
            tuple(self.imports),
        )

    def _inside(self, node: Node) -> bool:
        return node.end_byte > self.lo and node.start_byte < self.hi

    def visit_statement(self, node: Node) -> None:
        """A module- or class-level statement: its bindings are definitions, the rest references."""
        if not self._inside(node):
            return
        if node.type in _IMPORTS:
            self._reads(node, local=set())
            return
        for target in _binding_targets(node):
            for name in _identifiers(target):
                text = _text(name, self.source)
                if text not in self.bound:
                    self.bound.append(text)
                    if self.lo <= name.start_byte < self.hi:
                        self.bound_in_range.append(text)
        self._reads(node, local=set())

    def visit_definition(self, node: Node) -> None:
        """A function or class: decorators, signature and body, with its own locals excluded."""
        definition = _definition(node)
        for decorator in (c for c in node.children if c.type == "decorator"):
            self._reads(decorator, local=set())
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
            self._reads(superclasses, local=set())
        body = definition.child_by_field_name("body")
        for statement in body.children if body else []:
            if statement.type in _DEFINITIONS:
                break
            self._reads(statement, local=set())

    def _import(self, node: Node, kind: str) -> None:
        if node.type == "import_statement":
            for name in node.named_children:
                module_node = name.child_by_field_name("name") if name.type == "aliased_import" else name
                alias_node = name.child_by_field_name("alias") if name.type == "aliased_import" else None
                module = _text(module_node, self.source)
                alias = _text(alias_node, self.source) if alias_node else module.split(".")[0]
                self.imports.append(ImportRef(module=module, name=None, alias=alias, kind=kind))
            return
        if node.type == "future_import_statement":
            return
        module_node = node.child_by_field_name("module_name")
        raw = _text(module_node, self.source)
        level = len(raw) - len(raw.lstrip("."))
        module = raw.lstrip(".")
        for name in node.children_by_field_name("name"):
            target = name.child_by_field_name("name") if name.type == "aliased_import" else name
            alias_node = name.child_by_field_name("alias") if name.type == "aliased_import" else None
            imported = _text(target, self.source)
            alias = _text(alias_node, self.source) if alias_node else imported
            self.imports.append(ImportRef(module=module, name=imported, alias=alias, level=level, kind=kind))
        if any(c.type == "wildcard_import" for c in node.children):
            self.imports.append(ImportRef(module=module, name="*", alias="*", level=level, kind=kind))

    def _reads(self, node: Node, local: set[str]) -> None:
        """Record what `node` reads (within this piece's range), from the facts gathered for the file."""
        facts = _facts(self.source)
        lo, hi = max(node.start_byte, self.lo), min(node.end_byte, self.hi)
        if lo >= hi:
            return
        starts, texts, in_type = facts.id_starts, facts.id_texts, facts.id_in_type
        for index in range(bisect_left(starts, lo), bisect_left(starts, hi)):
            text = texts[index]
            if text not in local:
                self.referenced.add(text)
                (self.types if in_type[index] else self.values).add(text)
        attribute_starts = facts.attribute_starts
        for index in range(bisect_left(attribute_starts, lo), bisect_left(attribute_starts, hi)):
            self.attributes.add(facts.attribute_texts[index])
        import_starts = facts.import_starts
        for index in range(bisect_left(import_starts, lo), bisect_left(import_starts, hi)):
            if import_starts[index] not in self.imports_seen:
                self.imports_seen.add(import_starts[index])
                self.imports.extend(facts.import_refs[index])


class _Source(bytes):
    """A file's bytes carrying the facts gathered from its tree once (so every helper can use them)."""

    facts: _Facts


@dataclass
class _Facts:
    """Per file, in byte order: the identifiers read (with whether in an annotation), `name.attribute`
    reads, and the imports with their kind. One tree-sitter query gathers them all."""

    id_starts: list[int]
    id_texts: list[str]
    id_in_type: list[bool]
    attribute_starts: list[int]
    attribute_texts: list[str]
    import_starts: list[int]
    import_refs: list[list[ImportRef]]
    binding_starts: list[int]  # names bound anywhere (parameters, targets, definitions): for locals
    binding_texts: list[str]
    global_starts: list[int]
    global_texts: list[str]
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
        names = set(self.binding_texts[bisect_left(self.binding_starts, lo) : bisect_left(self.binding_starts, hi)])
        names.difference_update(
            self.global_texts[bisect_left(self.global_starts, lo) : bisect_left(self.global_starts, hi)]
        )
        return names


def _facts(source: bytes) -> _Facts:
    return source.facts  # type: ignore[attr-defined]


def _gather(source: bytes, tree: Tree) -> _Source:
    captured = QueryCursor(_FILE_QUERY).captures(tree.root_node)
    imports = sorted(captured.get("import", []), key=lambda n: n.start_byte)
    import_spans = [(n.start_byte, n.end_byte) for n in imports]
    skipped = {n.start_byte for n in captured.get("skip", [])}
    types = _merged((n.start_byte, n.end_byte) for n in captured.get("type", []))
    type_starts = [start for start, _ in types]
    ids = sorted((n.start_byte, n.end_byte) for n in captured.get("id", []))
    reads = []
    for start, end in ids:
        if start in skipped or _within(import_spans, start):
            continue
        position = bisect_right(type_starts, start) - 1
        reads.append(
            (start, source[start:end].decode("utf-8", errors="replace"), position >= 0 and types[position][1] > start)
        )
    forward = _forward_references(captured.get("forward", []), source)
    reads.extend((start, name.split(".")[0], True) for start, name in forward)
    reads.sort()
    id_starts, id_texts, id_in_type = [r[0] for r in reads], [r[1] for r in reads], [r[2] for r in reads]
    # `C(x=1)` names the parameters of C.__init__ when C is a class (the graph decides that)
    attributes = [(n.start_byte, f"{_text(n, source)}.__init__") for n in captured.get("keyword_call", [])]
    for node in captured.get("attribute", []):
        obj, attr = node.child_by_field_name("object"), node.child_by_field_name("attribute")
        if obj is not None and attr is not None and obj.type == "identifier":
            attributes.append((obj.start_byte, f"{_text(obj, source)}.{_text(attr, source)}"))
    for node in captured.get("chain", []):  # `self.x.y`: y looked up on the type stated for self.x
        if _text(node, source).split(".", 1)[0] in ("self", "cls"):
            attributes.append((node.start_byte, _text(node, source)))
    attributes.sort()
    wrapped = _Source(source)
    names = _Names(wrapped)
    refs = []
    for node in imports:
        names.imports = []
        names._import(node, _import_kind(node, source))
        refs.append(names.imports)
    bindings = sorted(
        [(n.start_byte, _text(n, source)) for n in captured.get("name", [])]
        + [(i.start_byte, _text(i, source)) for t in captured.get("target", []) for i in _identifiers(t)]
    )
    globals_ = sorted((n.start_byte, _text(n, source)) for n in captured.get("global", []))
    members = sorted(m for m in (_member(n, source) for n in captured.get("member", [])) if m is not None)
    typed = sorted(t for t in (_typed_name(n, source) for n in captured.get("typed", [])) if t is not None)
    wrapped.facts = _Facts(
        binding_starts=[b[0] for b in bindings],
        binding_texts=[b[1] for b in bindings],
        global_starts=[g[0] for g in globals_],
        global_texts=[g[1] for g in globals_],
        cuts=_statement_cuts(source, captured.get("statement", [])),
        member_starts=[m[0] for m in members],
        member_texts=[m[1] for m in members],
        typed_starts=[t[0] for t in typed],
        typed_texts=[t[1] for t in typed],
        decisions=sorted(n.start_byte for n in captured.get("decision", [])),
        id_starts=id_starts,
        id_texts=id_texts,
        id_in_type=id_in_type,
        attribute_starts=[a[0] for a in attributes],
        attribute_texts=[a[1] for a in attributes],
        import_starts=[n.start_byte for n in imports],
        import_refs=refs,
    )
    return wrapped


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
    may be `self.x`."""
    if node.type == "assignment":
        name, kind = node.child_by_field_name("left"), node.child_by_field_name("type")
        right = node.child_by_field_name("right")
        if kind is None and right is not None and right.type == "call":
            kind = right.child_by_field_name("function")
    else:
        name = node.child_by_field_name("name") or (node.named_children[0] if node.named_children else None)
        kind = node.child_by_field_name("type")
    type_name = _type_name(kind, source) if kind is not None else None
    if name is None or not type_name or not (name.type == "identifier" or _on_self(name, source)):
        return None
    return node.start_byte, f"{_text(name, source)}:{type_name}"


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
    if node.type == "generic_type" and len(node.named_children) == 2:
        head, parameters = node.named_children
        inner = parameters.named_children
        if _text(head, source).rsplit(".", 1)[-1] == "Optional" and len(inner) == 1:
            return _type_name(inner[0], source)
    return None


def _statement_cuts(source: bytes, statements: list[Node]) -> list[int]:
    cuts = set()
    for node in statements:
        start = node.start_byte
        line_start = source.rfind(b"\n", 0, start) + 1
        if not source[line_start:start].strip():
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


def _within(spans: list[tuple[int, int]], offset: int) -> bool:
    position = bisect_right(spans, (offset, 1 << 62)) - 1
    return position >= 0 and spans[position][0] <= offset < spans[position][1]


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


def _binding_targets(node: Node) -> list[Node]:
    """Left-hand sides bound by a statement (assignments, for, with ... as)."""
    targets = []
    for current in _walk(node):
        if current.type in ("assignment", "augmented_assignment"):
            left = current.child_by_field_name("left")
            if left is not None:
                targets.append(left)
        if current.type in _SCOPES:
            break
    return targets


def _identifiers(node: Node) -> list[Node]:
    """Names bound by a target (`a`, `a, b`, `[a, *b]`), not attributes or subscripts."""
    if node.type == "identifier":
        return [node]
    if node.type in ("pattern_list", "tuple_pattern", "list_pattern", "list_splat_pattern", "parenthesized_expression"):
        return [i for child in node.named_children for i in _identifiers(child)]
    return []


def _locals(definition: Node, source: bytes) -> set[str]:
    """Names bound inside a function (or class body): parameters, assignment and loop targets,
    with/except aliases, nested definitions; less those declared global or nonlocal."""
    return _facts(source).bound_within(definition)
