"""Class attributes bound in a file (`Class.x`) and the names whose type the code states (`name:Type`)."""

from __future__ import annotations

from tree_sitter import Node

from mge_assets.atomize.javascript.syntax import (
    ARROWS,
    CLASSES,
    DECLARATIONS,
    FUNCTION_NODES,
    MEMBER_HOLDERS,
    PATTERN_NAMES,
    TYPE_OPERATORS,
    TYPES,
    annotated,
    callee_of,
    definition_name,
    keys_of,
    literal_type,
    member_chain,
    node_text,
    pattern_source,
    type_name_of,
)

# Array methods whose callback's first parameter is an element: `xs.map((x) => ...)`.
_ELEMENT_CALLBACKS = frozenset({"forEach", "map", "filter", "find", "findIndex", "some", "every", "flatMap"})


def file_members(captured: dict[str, list[Node]], source: bytes) -> tuple[tuple[list[int], list[str]], ...]:
    """Class attributes bound in the file, as `Class.x` with their offsets: fields declared in a class
    body, `this.x = ...` in one of its methods, members of an interface or object type, keys of a
    module-level object literal (`x.k`) or of the literal a function returns (`f().k`), a namespace's
    exports (`N.x`); and the names whose type the code states, as `name:Type` (`x: Foo`, `x?: Foo<T>`,
    `x = new Foo()`, and the other forms `_typed_names` lists), from the captures of `_facts_query`."""
    found = []
    for node in captured.get("member", []):
        holder = node.parent
        while holder is not None and holder.type not in MEMBER_HOLDERS:
            holder = holder.parent
        owner = _type_owner(holder) if holder is not None and holder.type in MEMBER_HOLDERS[:3] else None
        if owner is not None and (owner.type in CLASSES or owner.type in TYPES):
            found.append((node.start_byte, f"{definition_name(owner, source)}.{node_text(node, source)}"))
    for literal in captured.get("literal", []):
        name = literal.parent.child_by_field_name("name") if literal.parent.type == "variable_declarator" else None
        if name is None or name.type == "identifier":
            owner_name = node_text(name, source) if name is not None else "default"
            found.extend((key.start_byte, f"{owner_name}.{node_text(key, source)}") for key in keys_of(literal))
    for namespace in captured.get("namespace", []):  # `namespace N { export const x }` binds `N.x`
        found.extend(_namespace_members(namespace, source))
    for literal in captured.get("returned", []):  # `function f() { return { a } }`: f's result has `a`
        function = _returning(literal, source)
        if function is not None:
            found.extend((key.start_byte, f"{function}().{node_text(key, source)}") for key in keys_of(literal))
    clauses = _heritage_clauses(captured)
    typed = [t for n in captured.get("typed", []) for t in _typed_names(n, source, clauses)]
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
        if declaration.type in DECLARATIONS:
            targets = [
                d.child_by_field_name("name") for d in declaration.named_children if d.type == "variable_declarator"
            ]
        else:
            targets = [declaration.child_by_field_name("name")]
        found.extend(
            (declaration.start_byte, f"{node_text(name, source)}.{node_text(t, source)}")
            for t in targets
            if t is not None and t.type in ("identifier", "type_identifier")
        )
    return found


def _returning(node: Node, source: bytes) -> str | None:
    """The name of the function a returned object literal is the result of, when no type is stated
    for that result (a stated type has its own members): `function f()`, `const f = () => ...`."""
    function = node.parent
    while function is not None and function.type not in FUNCTION_NODES:
        function = function.parent
    if function is None or function.child_by_field_name("return_type") is not None:
        return None
    name = function.child_by_field_name("name")
    if name is None and function.parent is not None and function.parent.type == "variable_declarator":
        name = function.parent.child_by_field_name("name")
    return node_text(name, source) if name is not None and name.type == "identifier" else None


def _typed_names(node: Node, source: bytes, clauses: dict[Node, list[Node]]) -> list[tuple[int, str]]:
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
        return [(node.start_byte, f"{node_text(name, source)}:{part}") for part in parts]
    if node.type in ("class_declaration", "abstract_class_declaration", "interface_declaration"):
        return _generics(node, source, clauses.get(node, []))
    if node.type in ("for_in_statement", "call_expression"):
        return _elements(node, source)
    if node.type == "object":
        return _method_parameters(node, source)
    if node.type == "type_parameter":  # `<T extends Base>`: a T has Base's members
        name, constraint = node.child_by_field_name("name"), node.child_by_field_name("constraint")
        bound = type_name_of(constraint.named_children[0], source) if constraint and constraint.named_children else None
        return [(node.start_byte, f"{node_text(name, source)}:{bound}")] if name is not None and bound else []
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
    if value is not None and value.type in (*ARROWS, "function_type") and name is not None:
        # `const f = (a: A): R => ...`; `const f: F = (a) => ...` states a's type as F's first parameter's
        signature = _signature(node.start_byte, name, value, source)
        declared = found[1].split(":", 1)[1] if found is not None else None
        contextual = [(node.start_byte, f"{p}:{declared}({i})") for i, p in _parameters(value, source) if declared]
        return signature + contextual + ([] if signature else stated)
    return stated


def _method_parameters(literal: Node, source: bytes) -> list[tuple[int, str]]:
    """`p:<T>.m(0)` for a method `m(p) {}` (or `m: (p) => ...`) of an object literal checked against T:
    its parameters have the types of T's member m."""
    context = literal_type(literal, source)
    found = []
    for child in literal.named_children if context is not None else []:
        function = child if child.type == "method_definition" else child.child_by_field_name("value")
        key = child.child_by_field_name("name" if child.type == "method_definition" else "key")
        if function is None or key is None or key.type != "property_identifier":
            continue
        if function.type in (*ARROWS, "method_definition"):
            label = f"<{context}>.{node_text(key, source)}"
            found.extend((function.start_byte, f"{p}:{label}({i})") for i, p in _parameters(function, source))
    return found


def _elements(node: Node, source: bytes) -> list[tuple[int, str]]:
    """`x:xs@[]` (an element of xs) for `for (const x of xs)` and `xs.map((x) => ...)`."""
    if node.type == "for_in_statement":
        operator, left = node.child_by_field_name("operator"), node.child_by_field_name("left")
        right = node.child_by_field_name("right")
        if operator is None or node_text(operator, source) != "of" or left is None or left.type != "identifier":
            return []
        chain = member_chain(right, source) if right is not None else None
        return [(left.start_byte, f"{node_text(left, source)}:{chain}@[]")] if chain else []
    function, arguments = node.child_by_field_name("function"), node.child_by_field_name("arguments")
    method = function.child_by_field_name("property") if function is not None else None
    owner = function.child_by_field_name("object") if function is not None else None
    if method is None or node_text(method, source) not in _ELEMENT_CALLBACKS or owner is None or arguments is None:
        return []
    chain, callback = member_chain(owner, source), arguments.named_children[0] if arguments.named_children else None
    parameters = _parameters(callback, source) if callback is not None and callback.type in ARROWS else []
    return (
        [(callback.start_byte, f"{parameters[0][1]}:{chain}@[]")]
        if chain and parameters and not parameters[0][0]
        else []
    )


def _generics(node: Node, source: bytes, clauses: list[Node]) -> list[tuple[int, str]]:
    """`C<>:T,U` for the type parameters of a generic class or interface, and `extends B:X,*` for the
    type arguments it gives a base (`extends B<X, string>`), so a member typed T in B is an X here."""
    name, parameters = node.child_by_field_name("name"), node.child_by_field_name("type_parameters")
    found = []
    if name is not None and parameters is not None:
        names = [p.child_by_field_name("name") for p in parameters.named_children if p.type == "type_parameter"]
        found.append(
            (node.start_byte, f"{node_text(name, source)}<>:{','.join(node_text(n, source) for n in names if n)}")
        )
    for clause in clauses:
        bases = clause.named_children
        for index, base in enumerate(bases):
            arguments = base.child_by_field_name("type_arguments") if base.type == "generic_type" else None
            if base.type == "type_arguments":
                arguments, base = base, bases[index - 1] if index else base
            if arguments is None or base.type == "type_arguments":
                continue
            base_name = type_name_of(base, source) if base.type != "identifier" else node_text(base, source)
            given = [type_name_of(a, source) or "*" for a in arguments.named_children]
            if base_name:
                found.append((node.start_byte, f"extends {base_name}:{','.join(given)}"))
    return found


def _heritage_clauses(captured: dict[str, list[Node]]) -> dict[Node, list[Node]]:
    """The `extends` clauses of each class and interface declaration: its own, not those of a class
    nested in its body."""
    found: dict[Node, list[Node]] = {}
    for clause in captured.get("heritage", []) + captured.get("interface_bases", []):
        if clause.type not in ("extends_clause", "extends_type_clause"):
            continue
        owner = clause.parent
        while owner is not None and owner.type in ("class_heritage", "extends_type_clause"):
            owner = owner.parent
        if owner is not None:
            found.setdefault(owner, []).append(clause)
    return found


def _destructured(pattern: Node, source: bytes) -> list[tuple[int, str]]:
    """`{ a, b: c } = x` states a's type as x's member a's (`a:x@a`, `c:x@b`); `({ a }: T)` as T's."""
    owner = pattern_source(pattern, source)
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
        if key is not None and bound is not None and bound.type in ("identifier", *PATTERN_NAMES):
            found.append((child.start_byte, f"{node_text(bound, source)}:{owner}@{node_text(key, source)}"))
    return found


def _parameters(function: Node, source: bytes) -> list[tuple[int, str]]:
    """(position, name) of a function's parameters that are plain names without a stated type."""
    parameters = function.child_by_field_name("parameters")
    if parameters is None:
        single = function.child_by_field_name("parameter")  # `x => ...`
        return [(0, node_text(single, source))] if single is not None and single.type == "identifier" else []
    found = []
    for position, parameter in enumerate(parameters.named_children):
        pattern = parameter.child_by_field_name("pattern")
        if pattern is not None and pattern.type == "identifier" and parameter.child_by_field_name("type") is None:
            found.append((position, node_text(pattern, source)))
    return found


def _signature(start: int, name: Node | None, function: Node, source: bytes) -> list[tuple[int, str]]:
    """`f():R` for the stated return type of a function or method, `f(0):A` for its first parameter's."""
    if name is None:
        return []
    label = node_text(name, source)
    returned = function.child_by_field_name("return_type")
    if function.type == "function_type":
        returned = function.child_by_field_name("return_type") or function.named_children[-1]
    if returned is not None and returned.type == "type_annotation":
        returned = returned.named_children[0] if returned.named_children else None
    found = []
    type_name = type_name_of(returned, source) if returned is not None else None
    if type_name:
        found.append((start, f"{label}():{type_name}"))
    elif returned is not None and returned.type == "object_type":  # `f(): { a: A }`: `f()@a:A`
        for member in (c for c in returned.named_children if c.type == "property_signature"):
            key, annotation = member.child_by_field_name("name"), member.child_by_field_name("type")
            stated = annotated(annotation, source)
            if key is not None and stated:
                found.append((start, f"{label}()@{node_text(key, source)}:{stated}"))
    parameters = function.child_by_field_name("parameters")
    for position, parameter in enumerate(parameters.named_children if parameters is not None else []):
        annotation = parameter.child_by_field_name("type")
        stated = annotated(annotation, source)
        if stated:
            found.append((start, f"{label}({position}):{stated}"))
        elif (
            annotation is not None and annotation.named_children and annotation.named_children[0].type == "object_type"
        ):
            # `f(opts: { a: A; b: string })`: `f(0)@a:A`, `f(0)@b:*` (the key exists, its type is not named)
            for member in (c for c in annotation.named_children[0].named_children if c.type == "property_signature"):
                key = member.child_by_field_name("name")
                typed = annotated(member.child_by_field_name("type"), source) or "*"
                if key is not None:
                    found.append((start, f"{label}({position})@{node_text(key, source)}:{typed}"))
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
        and owner.parent.parent.type in MEMBER_HOLDERS[:3]
    ):
        owner = owner.parent.parent.parent
    return owner


def _type_parts(node: Node, source: bytes) -> list[str]:
    """The named types a type alias is made of: `A | B`, `A & { x }`, `(A)`, `G<T>` → A, B, G."""
    if node.type in TYPE_OPERATORS:
        return [part for child in node.named_children for part in _type_parts(child, source)]
    name = type_name_of(node, source)
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
        type_name = type_name_of(annotation.named_children[0], source)
    elif value is not None and value.type == "new_expression":
        constructor = value.child_by_field_name("constructor")
        type_name = node_text(constructor, source) if constructor is not None else None
    elif value is not None and value.type == "call_expression":
        type_name = callee_of(value, source)
    elif value is not None and value.type in ("as_expression", "satisfies_expression") and value.named_children:
        type_name = type_name_of(value.named_children[-1], source)  # `x = y as T`
    else:
        type_name = None
    if name is None or name.type not in ("identifier", "property_identifier", "private_property_identifier"):
        return None
    return (node.start_byte, f"{node_text(name, source)}:{type_name}") if type_name else None
