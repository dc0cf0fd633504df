"""The JavaScript/TypeScript grammars: parsers, the node kinds the atomizer tells apart, and readers of
single nodes (a node's text, the type an annotation names, a member chain, an object literal's keys)."""

from __future__ import annotations

from functools import cache

import tree_sitter_javascript
import tree_sitter_typescript
from tree_sitter import Language, Node, Parser

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


CLASSES = {"class_declaration", "abstract_class_declaration", "class"}


TYPES = {"interface_declaration", "type_alias_declaration", "enum_declaration"}


DEFINITIONS = _FUNCTIONS | CLASSES | TYPES


FUNCTION_VALUES = {"arrow_function", "function_expression", "function", "generator_function", "class"}


DECLARATIONS = {"lexical_declaration", "variable_declaration"}


MEMBERS = {"method_definition", "method_signature", "abstract_method_signature"}


DECISIONS = {
    "if_statement",
    "for_statement",
    "for_in_statement",
    "while_statement",
    "do_statement",
    "catch_clause",
    "ternary_expression",
    "switch_case",
}


BODIES = {"statement_block", "class_body", "interface_body", "object_type", "enum_body"}


STATEMENT_PARENTS = frozenset({"program", "switch_case", "switch_default", *BODIES})


# `this.x` is recorded like `obj.x`: the graph looks the member up on the class and its bases.
MEMBER_OWNERS = frozenset({"identifier", "type_identifier", "this"})


CHAINED = frozenset({"member_expression", "call_expression", "super"})  # owners of a chain's later links


BINDING_FIELDS = {
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


PATTERN_NAMES = {"identifier", "shorthand_property_identifier_pattern"}


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


# The operators a type alias combines its parts with (`type T = A | (B & C)`).
TYPE_OPERATORS = frozenset({"union_type", "intersection_type", "parenthesized_type"})


ARROWS = frozenset({"arrow_function", "function_expression"})


_ARRAYS = frozenset({"Array", "ReadonlyArray"})


FUNCTION_NODES = frozenset({"function_declaration", "method_definition", "arrow_function", "function_expression"})


MEMBER_HOLDERS = ("class_body", "interface_body", "object_type", "function_declaration", "function_expression")


def callee_of(call: Node, source: bytes, position: str = "") -> str | None:
    """`f()`, `this.m()`, `a.b.m()` for a call of a named function or method (its return type is looked
    up where the callee is defined); `f(0)` with a position, for the type of that parameter."""
    if call.type == "new_expression":
        constructor = call.child_by_field_name("constructor")
        named = constructor is not None and constructor.type == "identifier"
        return f"{node_text(constructor, source)}.constructor({position})" if named else None
    function = call.child_by_field_name("function")
    chain = member_chain(function, source) if function is not None else None
    return f"{chain}({position})" if chain is not None and chain != "this" else None


def literal_type(node: Node, source: bytes) -> str | None:
    """The type an object literal is checked against, as a type expression: the stated type of the
    variable it initialises, of the function returning it, of the parameter it is passed to (`f(0)`),
    or the type of `x satisfies T` / `x as T`."""
    parent = node.parent
    while parent is not None and parent.type == "parenthesized_expression":
        node, parent = parent, parent.parent
    if parent is None:
        return None
    if parent.type == "arguments" and parent.parent is not None:
        return callee_of(parent.parent, source, str(parent.named_children.index(node)))
    if parent.type == "pair" and parent.parent is not None and node == parent.child_by_field_name("value"):
        key = parent.child_by_field_name("key")  # `{ k: { ... } }`: checked against the outer type's k
        outer = literal_type(parent.parent, source) if key is not None and key.type == "property_identifier" else None
        return f"<{outer}>@{node_text(key, source)}" if outer is not None else None
    annotation = None
    if parent.type == "variable_declarator":
        annotation = parent.child_by_field_name("type")
    elif parent.type in ("satisfies_expression", "as_expression"):
        annotation = parent.named_children[-1]
    elif parent.type == "return_statement" or (parent.type == "arrow_function" and node != parent.named_children[0]):
        function = parent
        while function is not None and function.type not in FUNCTION_NODES:
            function = function.parent
        annotation = function.child_by_field_name("return_type") if function is not None else None
    if annotation is not None and annotation.type == "type_annotation":
        annotation = annotation.named_children[0] if annotation.named_children else None
    return type_name_of(annotation, source) if annotation is not None else None


def keys_of(node: Node) -> list[Node]:
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


def pattern_source(pattern: Node, source: bytes) -> str | None:
    """What an object pattern takes apart, as an attribute owner: a name or chain (`const {a} = x.y`),
    a call (`<f()>`), a parameter's stated type (`<T>` for `({ a }: T)`)."""
    parent = pattern.parent
    if parent is None:
        return None
    if parent.type in ("required_parameter", "optional_parameter"):
        annotation = parent.child_by_field_name("type")
        stated = annotated(annotation, source)
        return f"<{stated}>" if stated else None
    value = parent.child_by_field_name("value") if parent.type == "variable_declarator" else None
    while value is not None and value.type == "await_expression" and value.named_children:
        value = value.named_children[0]
    if value is None:
        return None
    if value.type == "call_expression":
        callee = callee_of(value, source)
        return f"<{callee}>" if callee else None
    return member_chain(value, source)


def annotated(annotation: Node | None, source: bytes) -> str | None:
    """The type a `: T` annotation names."""
    return type_name_of(annotation.named_children[0], source) if annotation and annotation.named_children else None


def type_name_of(node: Node, source: bytes) -> str | None:
    """The type a type annotation names: `Foo`, `ns.Foo`, `Foo<T>`, `Foo | undefined`; else None."""
    if node.type in ("type_identifier", "nested_type_identifier", "identifier", "member_expression"):
        return node_text(node, source)
    if node.type == "array_type" and node.named_children:  # `T[]`: an array of T
        element = type_name_of(node.named_children[0], source)
        return f"{element}[]" if element and not element.endswith("[]") else None
    if node.type == "generic_type":
        name = node.child_by_field_name("name")
        arguments = node.child_by_field_name("type_arguments")
        if (
            name is not None
            and node_text(name, source) in _ARRAYS
            and arguments is not None
            and arguments.named_children
        ):
            element = type_name_of(arguments.named_children[0], source)  # `Array<T>`: as `T[]`
            return f"{element}[]" if element and not element.endswith("[]") else None
        return type_name_of(name, source) if name is not None else None
    if node.type == "union_type":
        named = [c for c in node.named_children if c.type not in ("literal_type", "predefined_type")]
        return type_name_of(named[0], source) if len(named) == 1 else None
    return None


def is_default(node: Node) -> bool:
    return node.type == "export_statement" and any(c.type == "default" for c in node.children)


def definition_name(node: Node, source: bytes) -> str:
    if node.type in DECLARATIONS:
        declarator = next(c for c in node.named_children if c.type == "variable_declarator")
        node = declarator
    name = node.child_by_field_name("name")
    return node_text(name, source) if name is not None else "default"


def node_text(node: Node, source: bytes) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", errors="replace")


def line_start(source: bytes, offset: int) -> int:
    return source.rfind(b"\n", 0, offset) + 1


def string_value(node: Node | None, source: bytes) -> str | None:
    """The text of a string literal (or a template without substitutions), else None."""
    if node is None or node.type not in ("string", "template_string"):
        return None
    if any(c.type == "template_substitution" for c in node.children):
        return None
    return node_text(node, source)[1:-1]


def member_chain(node: Node, source: bytes, depth: int = 0) -> str | None:
    """`a.x.y` (optional links too) for a member chain of plain properties on a name, `this` or `super`,
    with calls inside (`<a.m()>.y`), else None."""
    if node.type in MEMBER_OWNERS or node.type == "super":
        return node_text(node, source)
    if node.type == "call_expression" and depth:  # `a.m().x`: x on m's stated result, `<a.m()>.x`
        function = node.child_by_field_name("function")
        callee = member_chain(function, source, depth + 1) if function is not None else None
        return f"<{callee}()>" if callee is not None and callee not in ("this", "super") else None
    if node.type != "member_expression" or depth > 3:
        return None
    obj, prop = node.child_by_field_name("object"), node.child_by_field_name("property")
    if obj is None or prop is None or prop.type not in ("property_identifier", "private_property_identifier"):
        return None
    owner = member_chain(obj, source, depth + 1)
    return f"{owner}.{node_text(prop, source)}" if owner is not None else None


def lookup_attribute(node: Node, source: bytes) -> str | None:
    """An indexed access type as an attribute read: `this["k"]` → `this.k`, `T["k"]` → `<T>.k`,
    `T["a"]["k"]` → `<<T>@a>.k` (k on the type of T's member a)."""
    if len(node.named_children) != 2 or node.named_children[1].type != "literal_type":
        return None
    base, key = node.named_children[0], string_value(node.named_children[1].named_children[0], source)
    if not key or not key.isidentifier():
        return None
    if base.type == "this_type":
        return f"this.{key}"
    if base.type == "lookup_type":
        inner = lookup_attribute(base, source)
        owner, _, member = inner.rpartition(".") if inner is not None else ("", "", "")
        return f"<{owner}@{member}>.{key}" if inner is not None else None
    name = type_name_of(base, source)
    return f"<{name}>.{key}" if name is not None else None


def pattern_names(node: Node) -> list[Node]:
    """Identifiers a binding pattern binds: `a`, `{a, b: c}`, `[a, ...rest]`, `a = 1`."""
    if node.type in PATTERN_NAMES:
        return [node]
    found = []
    for child in node.named_children:
        if node.type == "pair_pattern" and child == node.child_by_field_name("key"):
            continue
        if node.type in ("assignment_pattern", "object_assignment_pattern") and child != node.named_children[0]:
            continue
        if child.type in ("type_annotation", "default_value"):
            continue
        found.extend(pattern_names(child))
    return found
