"""The facts query of a file and the names each unit defines, reads and imports."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from tree_sitter import Node, Query, QueryCursor, Tree

from mge_assets.atomize.javascript.imports import declared_name
from mge_assets.atomize.javascript.members import walk_types
from mge_assets.atomize.javascript.syntax import (
    BINDING_FIELDS,
    CHAINED,
    DECISIONS,
    DECLARATIONS,
    DEFINITIONS,
    MEMBER_OWNERS,
    STATEMENT_PARENTS,
    is_default,
    keys_of,
    literal_type,
    lookup_attribute,
    member_chain,
    node_text,
    parser,
    pattern_names,
    pattern_source,
    string_value,
    type_name_of,
)
from mge_assets.atomize.model import ImportRef

# The kinds `Names.visit` reads, binds or stops at: any other node is only walked through.
_VISITED = frozenset(
    {
        *("import_statement", "export_statement", "export_clause", "identifier", "type_identifier"),
        *("member_expression", "nested_type_identifier", "call_expression", "new_expression", "lookup_type"),
        *("object", "object_pattern", "shorthand_property_identifier", "extends_clause", "class_heritage"),
        *("extends_type_clause", "formal_parameters", *BINDING_FIELDS),
    }
)


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


def facts_captures(tree: Tree, dialect: str) -> dict[str, list[Node]]:
    """The nodes of the members, stated types and decision points of a file, by capture name (the
    names read are gathered by walking the tree: `Names`)."""
    return QueryCursor(_facts_query(dialect)).captures(tree.root_node)


@cache
def _facts_query(dialect: str) -> Query:
    """One query, one walk of the tree: members, stated types, decision points and the blocks whose
    statements a split may cut before."""
    language = parser(dialect).language
    assert language is not None
    blocks = " ".join(f"({kind})" for kind in sorted(STATEMENT_PARENTS) if language.id_for_node_kind(kind, True))
    field = "field_definition property:" if dialect == "javascript" else "public_field_definition name:"
    this = "(assignment_expression left: (member_expression object: (this) property: (_) @member))"
    typed = _TS_MEMBERS if dialect != "javascript" else "(variable_declarator) @typed"
    kinds = " ".join(f"({kind})" for kind in sorted(DECISIONS))
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


@dataclass
class Names:
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
    def of(cls, source: bytes, nodes: list[Node], lo: int = 0, hi: int = 1 << 62) -> Names:
        """The names of the nodes' parts that lie in [lo, hi)."""
        names = cls(source, lo, hi)
        for node in nodes:
            names.visit(node)
        return names

    @classmethod
    def union(cls, parts: list[Names]) -> Names:
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
                    self.bindings.add(node_text(node, source))
                elif node.start_byte in constructed:
                    self.values.add(node_text(node, source))  # read through `C.constructor`, recorded below
                else:
                    text = node_text(node, source)
                    self.referenced.add(text)
                    self.values.add(text)
                continue
            if kind == "type_identifier":
                text = node_text(node, source)
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
                    self.attributes.add(f"{node_text(constructor, source)}.constructor")
                    constructed.add(constructor.start_byte)
            elif kind == "lookup_type":  # `T["k"]`: T's member k
                lookup = lookup_attribute(node, source)
                if lookup is not None:
                    self.attributes.add(lookup)
            elif kind == "object":  # its keys are the members of the type it is checked against
                context = literal_type(node, source)
                self.attributes.update(f"<{context}>.{key}" for key in self._keys(node) if context)
            elif kind == "object_pattern":  # `{ a } = x`: a is x's member
                owner = pattern_source(node, source)
                self.attributes.update(f"{owner}.{key}" for key in self._keys(node) if owner)
            elif kind == "shorthand_property_identifier":
                text = node_text(node, source)
                self.referenced.add(text)
                self.values.add(text)
            elif kind in ("extends_clause", "class_heritage") and not self.bases:
                self.bases.extend(
                    node_text(c, source)
                    for c in walk_types(node, ("identifier", "type_identifier", "member_expression"))
                    if c.parent is not None and c.parent.type in ("extends_clause", "class_heritage")
                )
            elif kind == "extends_type_clause" and not self.bases:  # an interface's bases
                self.bases.extend(t for t in (type_name_of(c, source) for c in node.named_children) if t)
            field_name = BINDING_FIELDS.get(kind)
            if field_name is not None:
                target = node.child_by_field_name(field_name)
                if target is not None:
                    binding_starts.update(n.start_byte for n in pattern_names(target))
            elif kind == "formal_parameters":
                for child in node.named_children:
                    binding_starts.update(n.start_byte for n in pattern_names(child))
            stack.extend(reversed(node.named_children))  # tokens are leaves: nothing to read below them

    def _keys(self, node: Node) -> list[str]:
        """The keys spelled inside this span (a literal can run over several blocks of a split unit)."""
        return [node_text(key, self.source) for key in keys_of(node) if self.lo <= key.start_byte < self.hi]

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
            self.imports.append(
                ImportRef(module="", name=node_text(value, self.source), alias="default", kind="export")
            )
        else:
            self.top_level.append("default")

    def _attribute(self, node: Node) -> None:
        obj = node.child_by_field_name("object") or (node.named_children[0] if node.named_children else None)
        prop = node.child_by_field_name("property") or (node.named_children[-1] if node.named_children else None)
        if obj is not None and prop is not None and obj.type in MEMBER_OWNERS and obj is not prop:
            self.attributes.add(f"{node_text(obj, self.source)}.{node_text(prop, self.source)}")
        elif obj is not None and prop is not None and obj.type in CHAINED and obj is not prop:
            chain = member_chain(node, self.source)  # `a.x.y`: y looked up on the type stated for x
            if chain is not None:
                self.attributes.add(chain)

    def _call(self, node: Node) -> None:
        function = node.child_by_field_name("function")
        arguments = node.child_by_field_name("arguments")
        if function is None or arguments is None:
            return
        first = arguments.named_children[0] if arguments.named_children else None
        module = string_value(first, self.source)
        if module is None:
            return
        if function.type == "import":
            self.imports.append(
                ImportRef(module=module, name=None, alias=declared_name(node, self.source), kind="dynamic")
            )
        elif function.type == "identifier" and node_text(function, self.source) == "require":
            self.imports.append(
                ImportRef(module=module, name=None, alias=declared_name(node, self.source), kind="require")
            )

    def _import(self, node: Node) -> None:
        source = self.source
        module = string_value(node.child_by_field_name("source"), source)
        type_only = any(c.type == "type" for c in node.children)
        kind = "type" if type_only else "static"
        require = next((c for c in node.named_children if c.type == "import_require_clause"), None)
        if require is not None:  # import x = require("y")
            alias = next((c for c in require.named_children if c.type == "identifier"), None)
            module = string_value(require.child_by_field_name("source"), source) or module
            if module is not None:
                self.imports.append(
                    ImportRef(module=module, name=None, alias=node_text(alias, source) if alias else "", kind="require")
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
                self.imports.append(ImportRef(module=module, name="default", alias=node_text(part, source), kind=kind))
            elif part.type == "namespace_import":
                alias = next((c for c in part.named_children if c.type == "identifier"), None)
                self.imports.append(
                    ImportRef(module=module, name=None, alias=node_text(alias, source) if alias else "", kind=kind)
                )
            elif part.type == "named_imports":
                for spec in (c for c in part.named_children if c.type == "import_specifier"):
                    name = spec.child_by_field_name("name")
                    alias = spec.child_by_field_name("alias") or name
                    spec_kind = "type" if type_only or any(c.type == "type" for c in spec.children) else "static"
                    if name is not None and alias is not None:
                        self.imports.append(
                            ImportRef(
                                module=module,
                                name=node_text(name, source),
                                alias=node_text(alias, source),
                                kind=spec_kind,
                            )
                        )

    def _reexport(self, node: Node) -> None:
        source = self.source
        module = string_value(node.child_by_field_name("source"), source)
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
                        ImportRef(
                            module=module, name=node_text(name, source), alias=node_text(alias, source), kind=kind
                        )
                    )
        elif namespace is not None:
            alias = next((c for c in namespace.named_children if c.type in ("identifier", "string")), None)
            self.imports.append(
                ImportRef(module=module, name=None, alias=node_text(alias, source) if alias else "", kind=kind)
            )
        else:
            self.imports.append(ImportRef(module=module, name="*", alias="*", kind=kind))

    def _local_exports(self, clause: Node) -> None:
        """`export { a as b }`: `b` is exported, bound to the local `a`."""
        for spec in (c for c in clause.named_children if c.type == "export_specifier"):
            name = spec.child_by_field_name("name")
            alias = spec.child_by_field_name("alias") or name
            if name is not None and alias is not None:
                local = node_text(name, self.source)
                self.referenced.add(local)
                self.values.add(local)
                self.imports.append(
                    ImportRef(module="", name=local, alias=node_text(alias, self.source), kind="export")
                )
