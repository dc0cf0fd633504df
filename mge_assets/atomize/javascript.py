"""Split JavaScript, TypeScript and TSX source into atoms with tree-sitter.

Top level: the module header (imports and what sits between them), each function, class, interface,
type alias, enum and `const f = () => ...`, exported or not, and any other run of statements. A class is
split into its header (heritage and fields) and one atom per method. Comments and decorators directly
above a definition stay with it. As in Python, each atom runs from the start of its first line to the
start of the next, so the atoms cover every byte of the file exactly once; units that share a line are
kept together.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from itertools import takewhile
from operator import attrgetter
from typing import NamedTuple

import tree_sitter_javascript
import tree_sitter_typescript
from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

from mge_assets.atomize.atomicity import LINE_BUDGET
from mge_assets.atomize.model import Atom, ImportRef
from mge_assets.atomize.split import (
    count_loc,
    finish,
    pieces,
    split_atom,
    unique_ids,
    with_members,
)

DIALECTS = {
    ".js": "javascript",
    ".jsx": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
}
_FUNCTIONS = {"function_declaration", "generator_function_declaration", "function_signature"}
_CLASSES = {"class_declaration", "abstract_class_declaration", "class"}
_TYPES = {"interface_declaration", "type_alias_declaration", "enum_declaration"}
_DEFINITIONS = _FUNCTIONS | _CLASSES | _TYPES
_FUNCTION_VALUES = {"arrow_function", "function_expression", "function", "generator_function", "class"}
_DECLARATIONS = {"lexical_declaration", "variable_declaration"}
_MEMBERS = {"method_definition", "method_signature", "abstract_method_signature"}
_DECISIONS = {
    "if_statement",
    "for_statement",
    "for_in_statement",
    "while_statement",
    "do_statement",
    "catch_clause",
    "ternary_expression",
    "switch_case",
}
_BODIES = {"statement_block", "class_body", "interface_body", "object_type", "enum_body"}
_STATEMENT_PARENTS = frozenset({"program", "switch_case", "switch_default", *_BODIES})
# `this.x` is recorded like `obj.x`: the graph looks the member up on the class and its bases.
_MEMBER_OWNERS = frozenset({"identifier", "type_identifier", "this"})
_CHAINED = frozenset({"member_expression", "call_expression", "super"})  # owners of a chain's later links
_BINDING_FIELDS = {
    "variable_declarator": "name",
    "required_parameter": "pattern",
    "optional_parameter": "pattern",
    "arrow_function": "parameter",
    "catch_clause": "parameter",
    "for_in_statement": "left",
    "function_declaration": "name",
    "function_expression": "name",
    "generator_function_declaration": "name",
    "class_declaration": "name",
    "class": "name",
}
_PATTERN_NAMES = {"identifier", "shorthand_property_identifier_pattern"}
# The kinds `_Names.visit` reads, binds or stops at: any other node is only walked through.
_VISITED = frozenset(
    {
        *("import_statement", "export_statement", "export_clause", "identifier", "type_identifier"),
        *("member_expression", "nested_type_identifier", "call_expression", "new_expression", "lookup_type"),
        *("object", "object_pattern", "shorthand_property_identifier", "extends_clause", "class_heritage"),
        *("extends_type_clause", "formal_parameters", *_BINDING_FIELDS),
    }
)


@cache
def parser(dialect: str) -> Parser:
    if dialect == "javascript":
        return Parser(Language(tree_sitter_javascript.language()))
    if dialect == "typescript":
        return Parser(Language(tree_sitter_typescript.language_typescript()))
    return Parser(Language(tree_sitter_typescript.language_tsx()))


def dialect_of(path: str) -> str:
    suffix = path[path.rfind(".") :]
    if suffix not in DIALECTS:
        raise ValueError(f"{path} is not JavaScript or TypeScript (expected one of {', '.join(DIALECTS)})")
    return DIALECTS[suffix]


@dataclass
class _Unit:
    nodes: list[Node]
    definition: Node | None = None  # the declaration itself, inside any `export`
    exported: bool = False
    start: int = 0
    end: int = 0


def atomize_javascript(path: str, source: bytes, line_budget: int = LINE_BUDGET) -> list[Atom]:
    """The atoms of one JavaScript/TypeScript/TSX file, in byte order."""
    dialect = dialect_of(path)
    return atomize_javascript_tree(path, source, parser(dialect).parse(source), line_budget)


def atomize_javascript_tree(path: str, source: bytes, tree: Tree, line_budget: int = LINE_BUDGET) -> list[Atom]:
    """As `atomize_javascript`, from a parse tree already made."""
    language = "typescript" if dialect_of(path) != "javascript" else "javascript"
    captured = facts_captures(tree, dialect_of(path))
    build = _Builder(path, source, language, line_budget, captured.get("block", []))
    units = _spans(_units(tree.root_node.children), 0, len(source), source)
    if not units and source:
        units = [_Unit([tree.root_node], start=0, end=len(source))]
    atoms: list[Atom] = []
    for index, unit in enumerate(units):
        if unit.definition is None:
            header = index == 0 and any(n.type == "import_statement" for n in unit.nodes)
            atoms.extend(build.block(unit, "module_header" if header else "statements", None, None))
        elif unit.definition.type in _CLASSES:
            atoms.extend(build.klass(unit))
        else:
            atoms.extend(build.definition(unit, _kind(unit.definition), None, None))
    members, typed = _members(captured, source)
    decisions = sorted(node.start_byte for node in captured.get("decision", []))
    atoms = with_members(finish(unique_ids(atoms), source, decisions), *members)
    return with_members(atoms, *typed, field="typed_names")


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
# The operators a type alias combines its parts with (`type T = A | (B & C)`).
_TYPE_OPERATORS = frozenset({"union_type", "intersection_type", "parenthesized_type"})
_ARROWS = frozenset({"arrow_function", "function_expression"})
_ARRAYS = frozenset({"Array", "ReadonlyArray"})
# Array methods whose callback's first parameter is an element: `xs.map((x) => ...)`.
_ELEMENT_CALLBACKS = frozenset({"forEach", "map", "filter", "find", "findIndex", "some", "every", "flatMap"})
_FUNCTION_NODES = frozenset({"function_declaration", "method_definition", "arrow_function", "function_expression"})
_MEMBER_HOLDERS = ("class_body", "interface_body", "object_type", "function_declaration", "function_expression")


def facts_captures(tree: Tree, dialect: str) -> dict[str, list[Node]]:
    """The nodes of the members, stated types and decision points of a file, by capture name (the
    names read are gathered by walking the tree: `_Names`)."""
    return QueryCursor(_facts_query(dialect)).captures(tree.root_node)


@cache
def _facts_query(dialect: str) -> Query:
    """One query, one walk of the tree: members, stated types, decision points and the blocks whose
    statements a split may cut before."""
    language = parser(dialect).language
    assert language is not None
    blocks = " ".join(f"({kind})" for kind in sorted(_STATEMENT_PARENTS) if language.id_for_node_kind(kind, True))
    field = "field_definition property:" if dialect == "javascript" else "public_field_definition name:"
    this = "(assignment_expression left: (member_expression object: (this) property: (_) @member))"
    typed = _TS_MEMBERS if dialect != "javascript" else "(variable_declarator) @typed"
    kinds = " ".join(f"({kind})" for kind in sorted(_DECISIONS))
    decisions = f'[{kinds} (binary_expression operator: ["&&" "||" "??"])] @decision'
    members = f"(class_body ({field} (_) @member)) {this} {typed} {_LITERALS}"
    return Query(language, f"{members} {decisions} [{blocks}] @block")


# Module-level object literals: `const x = {a}` / `export default {a}` bind the members `x.a` / `default.a`.
_LITERALS = """
    (program (lexical_declaration (variable_declarator value: (object) @literal)))
    (program (variable_declaration (variable_declarator value: (object) @literal)))
    (program (export_statement declaration: (lexical_declaration (variable_declarator value: (object) @literal))))
    (program (export_statement value: (object) @literal))
    (return_statement (object) @returned)
"""


def _members(captured: dict[str, list[Node]], source: bytes) -> tuple[tuple[list[int], list[str]], ...]:
    """Class attributes bound in the file, as `Class.x` with their offsets: fields declared in a class
    body, `this.x = ...` in one of its methods, members of an interface or object type, keys of a
    module-level object literal (`x.k`) or of the literal a function returns (`f().k`), a namespace's
    exports (`N.x`); and the names whose type the code states, as `name:Type` (`x: Foo`, `x?: Foo<T>`,
    `x = new Foo()`, and the other forms `_typed_names` lists), from the captures of `_facts_query`."""
    found = []
    for node in captured.get("member", []):
        holder = node.parent
        while holder is not None and holder.type not in _MEMBER_HOLDERS:
            holder = holder.parent
        owner = _type_owner(holder) if holder is not None and holder.type in _MEMBER_HOLDERS[:3] else None
        if owner is not None and (owner.type in _CLASSES or owner.type in _TYPES):
            found.append((node.start_byte, f"{_name(owner, source)}.{_text(node, source)}"))
    for literal in captured.get("literal", []):
        name = literal.parent.child_by_field_name("name") if literal.parent.type == "variable_declarator" else None
        if name is None or name.type == "identifier":
            owner_name = _text(name, source) if name is not None else "default"
            found.extend((key.start_byte, f"{owner_name}.{_text(key, source)}") for key in _keys(literal))
    for namespace in captured.get("namespace", []):  # `namespace N { export const x }` binds `N.x`
        found.extend(_namespace_members(namespace, source))
    for literal in captured.get("returned", []):  # `function f() { return { a } }`: f's result has `a`
        function = _returning(literal, source)
        if function is not None:
            found.extend((key.start_byte, f"{function}().{_text(key, source)}") for key in _keys(literal))
    typed = [t for n in captured.get("typed", []) for t in _typed_names(n, source)]
    return tuple(([f[0] for f in sorted(pairs)], [f[1] for f in sorted(pairs)]) for pairs in (found, typed))


def _namespace_members(namespace: Node, source: bytes) -> list[tuple[int, str]]:
    """`N.x` for each declaration a namespace exports."""
    name, body = namespace.child_by_field_name("name"), namespace.child_by_field_name("body")
    if name is None or body is None:
        return []
    found = []
    for export in (c for c in body.named_children if c.type == "export_statement"):
        declaration = export.child_by_field_name("declaration")
        if declaration is None:
            continue
        if declaration.type in _DECLARATIONS:
            targets = [
                d.child_by_field_name("name") for d in declaration.named_children if d.type == "variable_declarator"
            ]
        else:
            targets = [declaration.child_by_field_name("name")]
        found.extend(
            (declaration.start_byte, f"{_text(name, source)}.{_text(t, source)}")
            for t in targets
            if t is not None and t.type in ("identifier", "type_identifier")
        )
    return found


def _returning(node: Node, source: bytes) -> str | None:
    """The name of the function a returned object literal is the result of, when no type is stated
    for that result (a stated type has its own members): `function f()`, `const f = () => ...`."""
    function = node.parent
    while function is not None and function.type not in _FUNCTION_NODES:
        function = function.parent
    if function is None or function.child_by_field_name("return_type") is not None:
        return None
    name = function.child_by_field_name("name")
    if name is None and function.parent is not None and function.parent.type == "variable_declarator":
        name = function.parent.child_by_field_name("name")
    return _text(name, source) if name is not None and name.type == "identifier" else None


def _typed_names(node: Node, source: bytes) -> list[tuple[int, str]]:
    """`name:Type` for a declaration whose type the code states. Also: a type alias of a union,
    intersection or other named type gives `Alias:Part` for each part; a function, method or function
    type its signature (`f():R`, `f(0):A`); `x = f()` / `x = this.m()` gives `x:f()` (the callee's
    result); a generic class its parameters and the arguments it gives its base (`_generics`); a
    for-of loop or an array callback the element (`_elements`); an object literal the parameters of
    its methods (`_method_parameters`); a destructuring pattern its members (`_destructured`)."""
    if node.type == "type_alias_declaration":
        name, value = node.child_by_field_name("name"), node.child_by_field_name("value")
        if value is not None and value.type == "function_type":  # `type F = (a: A) => R`
            return _signature(node.start_byte, name, value, source)
        parts = _type_parts(value, source) if name is not None and value is not None else []
        return [(node.start_byte, f"{_text(name, source)}:{part}") for part in parts]
    if node.type in ("class_declaration", "abstract_class_declaration", "interface_declaration"):
        return _generics(node, source)
    if node.type in ("for_in_statement", "call_expression"):
        return _elements(node, source)
    if node.type == "object":
        return _method_parameters(node, source)
    if node.type == "type_parameter":  # `<T extends Base>`: a T has Base's members
        name, constraint = node.child_by_field_name("name"), node.child_by_field_name("constraint")
        bound = _type_name(constraint.named_children[0], source) if constraint and constraint.named_children else None
        return [(node.start_byte, f"{_text(name, source)}:{bound}")] if name is not None and bound else []
    if node.type in ("function_declaration", "method_definition", "method_signature"):
        return _signature(node.start_byte, node.child_by_field_name("name"), node, source)
    if node.type == "property_signature" and not _declares_member(node):
        return []
    pattern = node.child_by_field_name("name" if node.type == "variable_declarator" else "pattern")
    if pattern is not None and pattern.type == "object_pattern":
        return _destructured(pattern, source)
    name = node.child_by_field_name("name")
    value = node.child_by_field_name("value") if node.type == "variable_declarator" else None
    if node.type == "property_signature":  # `m: (a: A) => R`
        annotation = node.child_by_field_name("type")
        value = annotation.named_children[0] if annotation is not None and annotation.named_children else None
    found = _typed_name(node, source)
    stated = [found] if found is not None else []
    if value is not None and value.type in (*_ARROWS, "function_type") and name is not None:
        # `const f = (a: A): R => ...`; `const f: F = (a) => ...` states a's type as F's first parameter's
        signature = _signature(node.start_byte, name, value, source)
        declared = found[1].split(":", 1)[1] if found is not None else None
        contextual = [(node.start_byte, f"{p}:{declared}({i})") for i, p in _parameters(value, source) if declared]
        return signature + contextual + ([] if signature else stated)
    return stated


def _method_parameters(literal: Node, source: bytes) -> list[tuple[int, str]]:
    """`p:<T>.m(0)` for a method `m(p) {}` (or `m: (p) => ...`) of an object literal checked against T:
    its parameters have the types of T's member m."""
    context = _literal_type(literal, source)
    found = []
    for child in literal.named_children if context is not None else []:
        function = child if child.type == "method_definition" else child.child_by_field_name("value")
        key = child.child_by_field_name("name" if child.type == "method_definition" else "key")
        if function is None or key is None or key.type != "property_identifier":
            continue
        if function.type in (*_ARROWS, "method_definition"):
            label = f"<{context}>.{_text(key, source)}"
            found.extend((function.start_byte, f"{p}:{label}({i})") for i, p in _parameters(function, source))
    return found


def _elements(node: Node, source: bytes) -> list[tuple[int, str]]:
    """`x:xs@[]` (an element of xs) for `for (const x of xs)` and `xs.map((x) => ...)`."""
    if node.type == "for_in_statement":
        operator, left = node.child_by_field_name("operator"), node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        if operator is None or _text(operator, source) != "of" or left is None or left.type != "identifier":
            return []
        chain = _chain(right, source) if right is not None else None
        return [(left.start_byte, f"{_text(left, source)}:{chain}@[]")] if chain else []
    function, arguments = node.child_by_field_name("function"), node.child_by_field_name("arguments")
    method = function.child_by_field_name("property") if function is not None else None
    owner = function.child_by_field_name("object") if function is not None else None
    if method is None or _text(method, source) not in _ELEMENT_CALLBACKS or owner is None or arguments is None:
        return []
    chain, callback = _chain(owner, source), arguments.named_children[0] if arguments.named_children else None
    parameters = _parameters(callback, source) if callback is not None and callback.type in _ARROWS else []
    return (
        [(callback.start_byte, f"{parameters[0][1]}:{chain}@[]")]
        if chain and parameters and not parameters[0][0]
        else []
    )


def _generics(node: Node, source: bytes) -> list[tuple[int, str]]:
    """`C<>:T,U` for the type parameters of a generic class or interface, and `extends B:X,*` for the
    type arguments it gives a base (`extends B<X, string>`), so a member typed T in B is an X here."""
    name, parameters = node.child_by_field_name("name"), node.child_by_field_name("type_parameters")
    found = []
    if name is not None and parameters is not None:
        names = [p.child_by_field_name("name") for p in parameters.named_children if p.type == "type_parameter"]
        found.append((node.start_byte, f"{_text(name, source)}<>:{','.join(_text(n, source) for n in names if n)}"))
    for clause in (c for c in _walk_types(node, ("extends_clause", "extends_type_clause")) if _heritage_of(c, node)):
        bases = clause.named_children
        for index, base in enumerate(bases):
            arguments = base.child_by_field_name("type_arguments") if base.type == "generic_type" else None
            if base.type == "type_arguments":
                arguments, base = base, bases[index - 1] if index else base
            if arguments is None or base.type == "type_arguments":
                continue
            base_name = _type_name(base, source) if base.type != "identifier" else _text(base, source)
            given = [_type_name(a, source) or "*" for a in arguments.named_children]
            if base_name:
                found.append((node.start_byte, f"extends {base_name}:{','.join(given)}"))
    return found


def _heritage_of(clause: Node, declaration: Node) -> bool:
    """The clause is the declaration's own heritage (not one of a class nested in its body)."""
    parent = clause.parent
    while parent is not None and parent.type in ("class_heritage", "extends_type_clause"):
        parent = parent.parent
    return parent == declaration


def _destructured(pattern: Node, source: bytes) -> list[tuple[int, str]]:
    """`{ a, b: c } = x` states a's type as x's member a's (`a:x@a`, `c:x@b`); `({ a }: T)` as T's."""
    owner = _pattern_source(pattern, source)
    found = []
    for child in pattern.named_children if owner is not None else []:
        if child.type == "shorthand_property_identifier_pattern":
            key = bound = child
        elif child.type == "object_assignment_pattern" and child.named_children:
            key = bound = child.named_children[0]
        elif child.type == "pair_pattern":
            key, bound = child.child_by_field_name("key"), child.child_by_field_name("value")
        else:
            continue
        if key is not None and bound is not None and bound.type in ("identifier", *_PATTERN_NAMES):
            found.append((child.start_byte, f"{_text(bound, source)}:{owner}@{_text(key, source)}"))
    return found


def _parameters(function: Node, source: bytes) -> list[tuple[int, str]]:
    """(position, name) of a function's parameters that are plain names without a stated type."""
    parameters = function.child_by_field_name("parameters")
    if parameters is None:
        single = function.child_by_field_name("parameter")  # `x => ...`
        return [(0, _text(single, source))] if single is not None and single.type == "identifier" else []
    found = []
    for position, parameter in enumerate(parameters.named_children):
        pattern = parameter.child_by_field_name("pattern")
        if pattern is not None and pattern.type == "identifier" and parameter.child_by_field_name("type") is None:
            found.append((position, _text(pattern, source)))
    return found


def _signature(start: int, name: Node | None, function: Node, source: bytes) -> list[tuple[int, str]]:
    """`f():R` for the stated return type of a function or method, `f(0):A` for its first parameter's."""
    if name is None:
        return []
    label = _text(name, source)
    returned = function.child_by_field_name("return_type")
    if function.type == "function_type":
        returned = function.child_by_field_name("return_type") or function.named_children[-1]
    if returned is not None and returned.type == "type_annotation":
        returned = returned.named_children[0] if returned.named_children else None
    found = []
    type_name = _type_name(returned, source) if returned is not None else None
    if type_name:
        found.append((start, f"{label}():{type_name}"))
    elif returned is not None and returned.type == "object_type":  # `f(): { a: A }`: `f()@a:A`
        for member in (c for c in returned.named_children if c.type == "property_signature"):
            key, annotation = member.child_by_field_name("name"), member.child_by_field_name("type")
            stated = _annotated(annotation, source)
            if key is not None and stated:
                found.append((start, f"{label}()@{_text(key, source)}:{stated}"))
    parameters = function.child_by_field_name("parameters")
    for position, parameter in enumerate(parameters.named_children if parameters is not None else []):
        annotation = parameter.child_by_field_name("type")
        stated = _annotated(annotation, source)
        if stated:
            found.append((start, f"{label}({position}):{stated}"))
        elif (
            annotation is not None and annotation.named_children and annotation.named_children[0].type == "object_type"
        ):
            # `f(opts: { a: A; b: string })`: `f(0)@a:A`, `f(0)@b:*` (the key exists, its type is not named)
            for member in (c for c in annotation.named_children[0].named_children if c.type == "property_signature"):
                key = member.child_by_field_name("name")
                typed = _annotated(member.child_by_field_name("type"), source) or "*"
                if key is not None:
                    found.append((start, f"{label}({position})@{_text(key, source)}:{typed}"))
    return found


def _declares_member(node: Node) -> bool:
    """A property signature of an interface or of the object type a type alias names (or of an object
    type annotating one of their members), not of an inline type elsewhere (the compiler's index names
    the members of an object type inside a union or intersection as locals, as it does those of an
    inline annotation)."""
    owner = _type_owner(node.parent) if node.parent is not None else None
    return owner is not None and owner.type in ("interface_declaration", "type_alias_declaration")


def _type_owner(body: Node) -> Node | None:
    """The declaration a class body, interface body or object type belongs to: its parent, or, for the
    object type annotating a member (`_def: { type: T }`), the declaration of that member's owner (the
    nested members are looked up there: TypeScript code reads them only where they exist)."""
    owner = body.parent
    while (
        owner is not None
        and owner.type == "type_annotation"
        and owner.parent is not None
        and owner.parent.type in ("property_signature", "public_field_definition")
        and owner.parent.parent is not None
        and owner.parent.parent.type in _MEMBER_HOLDERS[:3]
    ):
        owner = owner.parent.parent.parent
    return owner


def _type_parts(node: Node, source: bytes) -> list[str]:
    """The named types a type alias is made of: `A | B`, `A & { x }`, `(A)`, `G<T>` → A, B, G."""
    if node.type in _TYPE_OPERATORS:
        return [part for child in node.named_children for part in _type_parts(child, source)]
    name = _type_name(node, source)
    if node.type == "generic_type":  # `Partial<T>`, `Omit<T, K>`: T's members are the alias's
        arguments = node.child_by_field_name("type_arguments")
        nested = [p for c in (arguments.named_children if arguments else []) for p in _type_parts(c, source)]
        return [name, *nested] if name is not None else nested
    return [name] if name is not None else []


def _typed_name(node: Node, source: bytes) -> tuple[int, str] | None:
    name = node.child_by_field_name("pattern") or node.child_by_field_name("name")
    annotation = node.child_by_field_name("type")
    value = node.child_by_field_name("value")
    if annotation is not None and annotation.named_children:
        type_name = _type_name(annotation.named_children[0], source)
    elif value is not None and value.type == "new_expression":
        constructor = value.child_by_field_name("constructor")
        type_name = _text(constructor, source) if constructor is not None else None
    elif value is not None and value.type == "call_expression":
        type_name = _callee(value, source)
    elif value is not None and value.type in ("as_expression", "satisfies_expression") and value.named_children:
        type_name = _type_name(value.named_children[-1], source)  # `x = y as T`
    else:
        type_name = None
    if name is None or name.type not in ("identifier", "property_identifier", "private_property_identifier"):
        return None
    return (node.start_byte, f"{_text(name, source)}:{type_name}") if type_name else None


def _callee(call: Node, source: bytes, position: str = "") -> str | None:
    """`f()`, `this.m()`, `a.b.m()` for a call of a named function or method (its return type is looked
    up where the callee is defined); `f(0)` with a position, for the type of that parameter."""
    if call.type == "new_expression":
        constructor = call.child_by_field_name("constructor")
        named = constructor is not None and constructor.type == "identifier"
        return f"{_text(constructor, source)}.constructor({position})" if named else None
    function = call.child_by_field_name("function")
    chain = _chain(function, source) if function is not None else None
    return f"{chain}({position})" if chain is not None and chain != "this" else None


def _literal_type(node: Node, source: bytes) -> str | None:
    """The type an object literal is checked against, as a type expression: the stated type of the
    variable it initialises, of the function returning it, of the parameter it is passed to (`f(0)`),
    or the type of `x satisfies T` / `x as T`."""
    parent = node.parent
    while parent is not None and parent.type == "parenthesized_expression":
        node, parent = parent, parent.parent
    if parent is None:
        return None
    if parent.type == "arguments" and parent.parent is not None:
        return _callee(parent.parent, source, str(parent.named_children.index(node)))
    if parent.type == "pair" and parent.parent is not None and node == parent.child_by_field_name("value"):
        key = parent.child_by_field_name("key")  # `{ k: { ... } }`: checked against the outer type's k
        outer = _literal_type(parent.parent, source) if key is not None and key.type == "property_identifier" else None
        return f"<{outer}>@{_text(key, source)}" if outer is not None else None
    annotation = None
    if parent.type == "variable_declarator":
        annotation = parent.child_by_field_name("type")
    elif parent.type in ("satisfies_expression", "as_expression"):
        annotation = parent.named_children[-1]
    elif parent.type == "return_statement" or (parent.type == "arrow_function" and node != parent.named_children[0]):
        function = parent
        while function is not None and function.type not in _FUNCTION_NODES:
            function = function.parent
        annotation = function.child_by_field_name("return_type") if function is not None else None
    if annotation is not None and annotation.type == "type_annotation":
        annotation = annotation.named_children[0] if annotation.named_children else None
    return _type_name(annotation, source) if annotation is not None else None


def _keys(node: Node) -> list[Node]:
    """The property names an object literal or an object pattern spells out."""
    found = []
    for child in node.named_children:
        if child.type in ("shorthand_property_identifier", "shorthand_property_identifier_pattern"):
            found.append(child)
        elif child.type == "object_assignment_pattern" and child.named_children:
            found.append(child.named_children[0])
        elif child.type in ("pair", "pair_pattern", "method_definition"):
            key = child.child_by_field_name("key") or child.child_by_field_name("name")
            if key is not None and key.type == "property_identifier":
                found.append(key)
    return found


def _pattern_source(pattern: Node, source: bytes) -> str | None:
    """What an object pattern takes apart, as an attribute owner: a name or chain (`const {a} = x.y`),
    a call (`<f()>`), a parameter's stated type (`<T>` for `({ a }: T)`)."""
    parent = pattern.parent
    if parent is None:
        return None
    if parent.type in ("required_parameter", "optional_parameter"):
        annotation = parent.child_by_field_name("type")
        stated = _annotated(annotation, source)
        return f"<{stated}>" if stated else None
    value = parent.child_by_field_name("value") if parent.type == "variable_declarator" else None
    while value is not None and value.type == "await_expression" and value.named_children:
        value = value.named_children[0]
    if value is None:
        return None
    if value.type == "call_expression":
        callee = _callee(value, source)
        return f"<{callee}>" if callee else None
    return _chain(value, source)


def _annotated(annotation: Node | None, source: bytes) -> str | None:
    """The type a `: T` annotation names."""
    return _type_name(annotation.named_children[0], source) if annotation and annotation.named_children else None


def _type_name(node: Node, source: bytes) -> str | None:
    """The type a type annotation names: `Foo`, `ns.Foo`, `Foo<T>`, `Foo | undefined`; else None."""
    if node.type in ("type_identifier", "nested_type_identifier", "identifier", "member_expression"):
        return _text(node, source)
    if node.type == "array_type" and node.named_children:  # `T[]`: an array of T
        element = _type_name(node.named_children[0], source)
        return f"{element}[]" if element and not element.endswith("[]") else None
    if node.type == "generic_type":
        name = node.child_by_field_name("name")
        arguments = node.child_by_field_name("type_arguments")
        if name is not None and _text(name, source) in _ARRAYS and arguments is not None and arguments.named_children:
            element = _type_name(arguments.named_children[0], source)  # `Array<T>`: as `T[]`
            return f"{element}[]" if element and not element.endswith("[]") else None
        return _type_name(name, source) if name is not None else None
    if node.type == "union_type":
        named = [c for c in node.named_children if c.type not in ("literal_type", "predefined_type")]
        return _type_name(named[0], source) if len(named) == 1 else None
    return None


def _kind(node: Node) -> str:
    if node.type in _TYPES:
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
    if node.type in _DEFINITIONS:
        return node, exported
    if node.type in _DECLARATIONS:
        declarators = [c for c in node.named_children if c.type == "variable_declarator"]
        if len(declarators) == 1:
            value = declarators[0].child_by_field_name("value")
            name = declarators[0].child_by_field_name("name")
            if value is not None and value.type in _FUNCTION_VALUES and name is not None and name.type == "identifier":
                return node, exported
    if exported and node.type in _FUNCTION_VALUES:
        return node, exported  # export default function () {} / export default class {}
    return None, exported


def _units(
    children: list[Node], definition_of: Callable[[Node], tuple[Node | None, bool]] | None = None
) -> list[_Unit]:
    """Each definition is a unit with the comments and decorators right above it; runs of the rest too."""
    units: list[_Unit] = []
    block: list[Node] = []
    for child in children:
        definition, exported = (definition_of or _definition_of)(child)
        if definition is None:
            block.append(child)
            continue
        leading = _leading(block, child)
        block = block[: len(block) - len(leading)]
        if block:
            units.append(_Unit(block))
        units.append(_Unit([*leading, child], definition=definition, exported=exported))
        block = []
    if block:
        units.append(_Unit(block))
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


def _spans(units: list[_Unit], start: int, end: int, source: bytes) -> list[_Unit]:
    """Units start at their first line and end where the next begins. Comments on the last line of a
    unit stay with it; a unit that begins on a line the one before it is still on merges with it."""
    merged: list[_Unit] = []
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
            merged[-1] = _Unit(previous.nodes + unit.nodes, start=previous.start)
            continue
        merged.append(unit)
    for index, unit in enumerate(merged):
        unit.end = merged[index + 1].start if index + 1 < len(merged) else end
    return merged


def _trailing_comments(nodes: list[Node], last: Node) -> list[Node]:
    """The comments that open `nodes` on the line where `last` ends (`x = 1; // why`)."""
    row = last.end_point.row
    return list(takewhile(lambda node: node.type == "comment" and node.start_point.row == row, nodes))


_START = attrgetter("start_byte")


class _Split(NamedTuple):
    """Where a unit over budget may be cut, and the names of each piece, by its byte span."""

    cuts: list[int]
    pieces: dict[tuple[int, int], _Names]


class _Builder:
    """Makes the atoms of one file."""

    def __init__(self, path: str, source: bytes, language: str, budget: int, blocks: list[Node]) -> None:
        self.path, self.source, self.language, self.budget = path, source, language, budget
        self.blocks = sorted(blocks, key=_START)  # nested ones do not come from the query in this order
        self.block_starts = [block.start_byte for block in self.blocks]

    def definition(self, unit: _Unit, kind: str, parent: str | None, owner: str | None) -> list[Atom]:
        name = _name(unit.definition, self.source) if unit.definition is not None else "default"
        symbol = f"{owner}.{name}" if owner else name
        names, split = self._read(unit.nodes, unit.start, unit.end, kind, defines_in_pieces=False)
        atom = self._atom(unit.start, unit.end, kind, symbol, parent, names, (symbol,), unit.exported)
        if kind == "function" and unit.exported and _is_default(unit.nodes[-1]):
            atom = _with_default_export(atom)
        return self._split(atom, names.bindings, split, defines_in_pieces=False)

    def block(self, unit: _Unit, kind: str, parent: str | None, owner: str | None) -> list[Atom]:
        names, split = self._read(unit.nodes, unit.start, unit.end, kind, defines_in_pieces=True)
        defined = tuple(f"{owner}.{n}" if owner else n for n in names.top_level)
        label = "<module>" if kind == "module_header" else (defined[0] if defined else None)
        symbol = label or f"{owner + '.' if owner else ''}<statements:{unit.nodes[0].start_point.row + 1}>"
        atom = self._atom(unit.start, unit.end, kind, symbol, parent, names, defined, False)
        return self._split(atom, names.bindings - set(names.top_level), split, defines_in_pieces=True)

    def klass(self, unit: _Unit) -> list[Atom]:
        node = unit.definition
        assert node is not None
        name = _name(node, self.source)
        body = node.child_by_field_name("body")
        members = _units_of_class(body.named_children if body else [])
        first = next((i for i, m in enumerate(members) if m.definition is not None), None)
        rows = {unit.nodes[-1].start_point.row} | {m.nodes[0].start_point.row for m in members}
        if first is None or len(rows) < len(members) + 1:
            return self.definition(unit, "class", None, None)
        members = _spans(
            members[first:], _line_start(self.source, members[first].nodes[0].start_byte), unit.end, self.source
        )
        header_names, split = self._read(
            unit.nodes, unit.start, members[0].start, "class_header", defines_in_pieces=False
        )
        header = self._atom(
            unit.start, members[0].start, "class_header", name, None, header_names, (name,), unit.exported
        )
        if unit.exported and _is_default(unit.nodes[-1]):
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
        names: _Names,
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
    ) -> tuple[_Names, _Split | None]:
        """The names of a unit, and where it splits, the names of each of its pieces. The pieces cover
        the unit: it is walked piece by piece only, and its names are theirs put together."""
        budget = self._budget(kind)
        if count_loc(self.source, start, end) > budget:
            roots = _bodies(nodes) if not defines_in_pieces else nodes
            cuts = _statement_cuts(roots, self.source, self.blocks, self.block_starts)
            spans = pieces(self.source, start, end, cuts, budget)
            if len(spans) > 1:
                walked = {(lo, hi): _Names.of(self.source, nodes, lo, hi) for lo, hi, _ in spans}
                return _Names.union(list(walked.values())), _Split(cuts, walked)
        return _Names.of(self.source, nodes, hi=end), None

    def _budget(self, kind: str) -> int:
        return 2 * self.budget if kind == "module_header" else self.budget

    def _split(self, atom: Atom, local: set[str], split: _Split | None, defines_in_pieces: bool) -> list[Atom]:
        """Over budget: a head and child pieces, walked already by `_read`; a piece's reads exclude the
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

        return split_atom(atom, self.source, split.cuts, self._budget(atom.kind), names)


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


def _own(defines: tuple[str, ...], kind: str, names: _Names) -> set[str]:
    """The names an atom's reads of itself use: a type's own name read as a value (`type X = typeof X`)
    is the value of that name, declared elsewhere."""
    return set(defines) - names.values if kind in ("type", "interface") else set(defines)


def _bodies(nodes: list[Node]) -> list[Node]:
    """The statement blocks inside definitions, where a split may cut."""
    found = []
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if node.type in _BODIES:
            found.append(node)
            continue
        stack.extend(node.children)
    return found


def _units_of_class(members: list[Node]) -> list[_Unit]:
    return _units(members, lambda member: (member if member.type in _MEMBERS else None, False))


def _is_default(node: Node) -> bool:
    return node.type == "export_statement" and any(c.type == "default" for c in node.children)


def _with_default_export(atom: Atom) -> Atom:
    record = ImportRef(module="", name=atom.symbol, alias="default", kind="export")
    return Atom(**{**atom.__dict__, "imports": (*atom.imports, record)})


def _name(node: Node, source: bytes) -> str:
    if node.type in _DECLARATIONS:
        declarator = next(c for c in node.named_children if c.type == "variable_declarator")
        node = declarator
    name = node.child_by_field_name("name")
    return _text(name, source) if name is not None else "default"


def _text(node: Node, source: bytes) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", errors="replace")


def _line_start(source: bytes, offset: int) -> int:
    return source.rfind(b"\n", 0, offset) + 1


def _string_value(node: Node | None, source: bytes) -> str | None:
    """The text of a string literal (or a template without substitutions), else None."""
    if node is None or node.type not in ("string", "template_string"):
        return None
    if any(c.type == "template_substitution" for c in node.children):
        return None
    return _text(node, source)[1:-1]


@dataclass
class _Names:
    """One walk over a unit: bindings, reads (value and type), attribute reads, imports, decisions."""

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

    @classmethod
    def of(cls, source: bytes, nodes: list[Node], lo: int = 0, hi: int = 1 << 62) -> _Names:
        """The names of the nodes' parts that lie in [lo, hi)."""
        names = cls(source, lo, hi)
        for node in nodes:
            names.visit(node)
        return names

    @classmethod
    def union(cls, parts: list[_Names]) -> _Names:
        """The names of consecutive spans put together: what one walk over all of them finds. A node
        across spans is seen by each, so what the walk keeps once (the first bases) is kept once."""
        whole = cls(parts[0].source, parts[0].lo, parts[-1].hi)
        for part in parts:
            whole.top_level += part.top_level
            whole.imports += part.imports
            whole.bases = whole.bases or part.bases
            for name in ("bindings", "referenced", "types", "values", "attributes"):
                getattr(whole, name).update(getattr(part, name))
        return whole

    def visit(self, root: Node) -> None:
        self._top_level(root)
        source, lo, hi = self.source, self.lo, self.hi
        binding_starts: set[int] = set()
        constructed: set[int] = set()
        stack = [root]
        while stack:
            node = stack.pop()
            if node.end_byte <= lo or node.start_byte >= hi:
                continue
            kind = node.type
            if kind not in _VISITED:  # most nodes: only what lies below them counts
                stack.extend(reversed(node.named_children))
                continue
            if kind == "import_statement":
                self._import(node)
                continue
            if kind == "export_statement" and node.child_by_field_name("source") is not None:
                self._reexport(node)
                continue
            if kind == "export_clause":
                self._local_exports(node)
                continue
            if kind == "identifier":
                if node.start_byte in binding_starts:
                    self.bindings.add(_text(node, source))
                elif node.start_byte in constructed:
                    self.values.add(_text(node, source))  # read through `C.constructor`, recorded below
                else:
                    text = _text(node, source)
                    self.referenced.add(text)
                    self.values.add(text)
                continue
            if kind == "type_identifier":
                text = _text(node, source)
                self.referenced.add(text)
                self.types.add(text)
                continue
            if kind in ("member_expression", "nested_type_identifier"):
                self._attribute(node)
            elif kind == "call_expression":
                self._call(node)
            elif kind == "new_expression":
                constructor = node.child_by_field_name("constructor")
                if constructor is not None and constructor.type == "identifier":  # `new C()` runs C's constructor
                    self.attributes.add(f"{_text(constructor, source)}.constructor")
                    constructed.add(constructor.start_byte)
            elif kind == "lookup_type":  # `T["k"]`: T's member k
                lookup = _lookup(node, source)
                if lookup is not None:
                    self.attributes.add(lookup)
            elif kind == "object":  # its keys are the members of the type it is checked against
                context = _literal_type(node, source)
                self.attributes.update(f"<{context}>.{key}" for key in self._keys(node) if context)
            elif kind == "object_pattern":  # `{ a } = x`: a is x's member
                owner = _pattern_source(node, source)
                self.attributes.update(f"{owner}.{key}" for key in self._keys(node) if owner)
            elif kind == "shorthand_property_identifier":
                text = _text(node, source)
                self.referenced.add(text)
                self.values.add(text)
            elif kind in ("extends_clause", "class_heritage") and not self.bases:
                self.bases.extend(
                    _text(c, source)
                    for c in _walk_types(node, ("identifier", "type_identifier", "member_expression"))
                    if c.parent is not None and c.parent.type in ("extends_clause", "class_heritage")
                )
            elif kind == "extends_type_clause" and not self.bases:  # an interface's bases
                self.bases.extend(t for t in (_type_name(c, source) for c in node.named_children) if t)
            field_name = _BINDING_FIELDS.get(kind)
            if field_name is not None:
                target = node.child_by_field_name(field_name)
                if target is not None:
                    binding_starts.update(n.start_byte for n in _pattern_names(target))
            elif kind == "formal_parameters":
                for child in node.named_children:
                    binding_starts.update(n.start_byte for n in _pattern_names(child))
            stack.extend(reversed(node.named_children))  # tokens are leaves: nothing to read below them

    def _keys(self, node: Node) -> list[str]:
        """The keys spelled inside this span (a literal can run over several blocks of a split unit)."""
        return [_text(key, self.source) for key in _keys(node) if self.lo <= key.start_byte < self.hi]

    def _top_level(self, node: Node) -> None:
        """Names a module-level declaration binds (`const a = 1`, `export function f`)."""
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
                self.top_level.append(_text(name, self.source))
            return
        if node.type in _DECLARATIONS:
            for declarator in (c for c in node.named_children if c.type == "variable_declarator"):
                target = declarator.child_by_field_name("name")
                if target is not None and self.lo <= declarator.start_byte < self.hi:
                    self.top_level.extend(_text(n, self.source) for n in _pattern_names(target))
        elif node.type in _DEFINITIONS and self.lo <= node.start_byte < self.hi:
            name = node.child_by_field_name("name")
            if name is not None:
                self.top_level.append(_text(name, self.source))

    def _default_export(self, node: Node) -> None:
        """`export default x` exports the local `x`; `export default <expression>` defines `default`."""
        value = node.child_by_field_name("value")
        if value is None or not _is_default(node) or not self.lo <= node.start_byte < self.hi:
            return
        if value.type == "identifier":
            self.imports.append(ImportRef(module="", name=_text(value, self.source), alias="default", kind="export"))
        else:
            self.top_level.append("default")

    def _attribute(self, node: Node) -> None:
        obj = node.child_by_field_name("object") or (node.named_children[0] if node.named_children else None)
        prop = node.child_by_field_name("property") or (node.named_children[-1] if node.named_children else None)
        if obj is not None and prop is not None and obj.type in _MEMBER_OWNERS and obj is not prop:
            self.attributes.add(f"{_text(obj, self.source)}.{_text(prop, self.source)}")
        elif obj is not None and prop is not None and obj.type in _CHAINED and obj is not prop:
            chain = _chain(node, self.source)  # `a.x.y`: y looked up on the type stated for x
            if chain is not None:
                self.attributes.add(chain)

    def _call(self, node: Node) -> None:
        function = node.child_by_field_name("function")
        arguments = node.child_by_field_name("arguments")
        if function is None or arguments is None:
            return
        first = arguments.named_children[0] if arguments.named_children else None
        module = _string_value(first, self.source)
        if module is None:
            return
        if function.type == "import":
            self.imports.append(
                ImportRef(module=module, name=None, alias=_declared_name(node, self.source), kind="dynamic")
            )
        elif function.type == "identifier" and _text(function, self.source) == "require":
            self.imports.append(
                ImportRef(module=module, name=None, alias=_declared_name(node, self.source), kind="require")
            )

    def _import(self, node: Node) -> None:
        source = self.source
        module = _string_value(node.child_by_field_name("source"), source)
        type_only = any(c.type == "type" for c in node.children)
        kind = "type" if type_only else "static"
        require = next((c for c in node.named_children if c.type == "import_require_clause"), None)
        if require is not None:  # import x = require("y")
            alias = next((c for c in require.named_children if c.type == "identifier"), None)
            module = _string_value(require.child_by_field_name("source"), source) or module
            if module is not None:
                self.imports.append(
                    ImportRef(module=module, name=None, alias=_text(alias, source) if alias else "", kind="require")
                )
            return
        if module is None:
            return
        clause = next((c for c in node.named_children if c.type == "import_clause"), None)
        if clause is None:
            self.imports.append(ImportRef(module=module, name=None, alias="", kind=kind))
            return
        for part in clause.named_children:
            if part.type == "identifier":
                self.imports.append(ImportRef(module=module, name="default", alias=_text(part, source), kind=kind))
            elif part.type == "namespace_import":
                alias = next((c for c in part.named_children if c.type == "identifier"), None)
                self.imports.append(
                    ImportRef(module=module, name=None, alias=_text(alias, source) if alias else "", kind=kind)
                )
            elif part.type == "named_imports":
                for spec in (c for c in part.named_children if c.type == "import_specifier"):
                    name = spec.child_by_field_name("name")
                    alias = spec.child_by_field_name("alias") or name
                    spec_kind = "type" if type_only or any(c.type == "type" for c in spec.children) else "static"
                    if name is not None and alias is not None:
                        self.imports.append(
                            ImportRef(
                                module=module, name=_text(name, source), alias=_text(alias, source), kind=spec_kind
                            )
                        )

    def _reexport(self, node: Node) -> None:
        source = self.source
        module = _string_value(node.child_by_field_name("source"), source)
        if module is None:
            return
        kind = "type" if any(c.type == "type" for c in node.children) else "reexport"
        clause = next((c for c in node.named_children if c.type == "export_clause"), None)
        namespace = next((c for c in node.named_children if c.type == "namespace_export"), None)
        if clause is not None:
            for spec in (c for c in clause.named_children if c.type == "export_specifier"):
                name = spec.child_by_field_name("name")
                alias = spec.child_by_field_name("alias") or name
                if name is not None and alias is not None:
                    self.imports.append(
                        ImportRef(module=module, name=_text(name, source), alias=_text(alias, source), kind=kind)
                    )
        elif namespace is not None:
            alias = next((c for c in namespace.named_children if c.type in ("identifier", "string")), None)
            self.imports.append(
                ImportRef(module=module, name=None, alias=_text(alias, source) if alias else "", kind=kind)
            )
        else:
            self.imports.append(ImportRef(module=module, name="*", alias="*", kind=kind))

    def _local_exports(self, clause: Node) -> None:
        """`export { a as b }`: `b` is exported, bound to the local `a`."""
        for spec in (c for c in clause.named_children if c.type == "export_specifier"):
            name = spec.child_by_field_name("name")
            alias = spec.child_by_field_name("alias") or name
            if name is not None and alias is not None:
                local = _text(name, self.source)
                self.referenced.add(local)
                self.values.add(local)
                self.imports.append(ImportRef(module="", name=local, alias=_text(alias, self.source), kind="export"))


def _chain(node: Node, source: bytes, depth: int = 0) -> str | None:
    """`a.x.y` (optional links too) for a member chain of plain properties on a name, `this` or `super`,
    with calls inside (`<a.m()>.y`), else None."""
    if node.type in _MEMBER_OWNERS or node.type == "super":
        return _text(node, source)
    if node.type == "call_expression" and depth:  # `a.m().x`: x on m's stated result, `<a.m()>.x`
        function = node.child_by_field_name("function")
        callee = _chain(function, source, depth + 1) if function is not None else None
        return f"<{callee}()>" if callee is not None and callee not in ("this", "super") else None
    if node.type != "member_expression" or depth > 3:
        return None
    obj, prop = node.child_by_field_name("object"), node.child_by_field_name("property")
    if obj is None or prop is None or prop.type not in ("property_identifier", "private_property_identifier"):
        return None
    owner = _chain(obj, source, depth + 1)
    return f"{owner}.{_text(prop, source)}" if owner is not None else None


def _lookup(node: Node, source: bytes) -> str | None:
    """An indexed access type as an attribute read: `this["k"]` → `this.k`, `T["k"]` → `<T>.k`,
    `T["a"]["k"]` → `<<T>@a>.k` (k on the type of T's member a)."""
    if len(node.named_children) != 2 or node.named_children[1].type != "literal_type":
        return None
    base, key = node.named_children[0], _string_value(node.named_children[1].named_children[0], source)
    if not key or not key.isidentifier():
        return None
    if base.type == "this_type":
        return f"this.{key}"
    if base.type == "lookup_type":
        inner = _lookup(base, source)
        owner, _, member = inner.rpartition(".") if inner is not None else ("", "", "")
        return f"<{owner}@{member}>.{key}" if inner is not None else None
    name = _type_name(base, source)
    return f"<{name}>.{key}" if name is not None else None


def _declared_name(call: Node, source: bytes) -> str:
    """`x` in `const x = require("y")` / `const x = await import("y")`, else empty."""
    parent = call.parent
    while parent is not None and parent.type in ("await_expression", "parenthesized_expression"):
        parent = parent.parent
    if parent is not None and parent.type == "variable_declarator":
        name = parent.child_by_field_name("name")
        if name is not None and name.type == "identifier":
            return _text(name, source)
    return ""


def _pattern_names(node: Node) -> list[Node]:
    """Identifiers a binding pattern binds: `a`, `{a, b: c}`, `[a, ...rest]`, `a = 1`."""
    if node.type in _PATTERN_NAMES:
        return [node]
    found = []
    for child in node.named_children:
        if node.type == "pair_pattern" and child == node.child_by_field_name("key"):
            continue
        if node.type in ("assignment_pattern", "object_assignment_pattern") and child != node.named_children[0]:
            continue
        if child.type in ("type_annotation", "default_value"):
            continue
        found.extend(_pattern_names(child))
    return found


def _walk_types(node: Node, types: tuple[str, ...]) -> list[Node]:
    found = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type in types:
            found.append(current)
            continue
        stack.extend(reversed(current.children))
    return found
