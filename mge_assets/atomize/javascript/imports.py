"""Import records of import and export statements and of `require` / `import()` calls."""

from __future__ import annotations

from tree_sitter import Node

from mge_assets.atomize.javascript.syntax import node_text, string_value
from mge_assets.atomize.model import ImportRef


def declared_name(call: Node, source: bytes) -> str:
    """`x` in `const x = require("y")` / `const x = await import("y")`, else empty."""
    parent = call.parent
    while parent is not None and parent.type in ("await_expression", "parenthesized_expression"):
        parent = parent.parent
    if parent is not None and parent.type == "variable_declarator":
        name = parent.child_by_field_name("name")
        if name is not None and name.type == "identifier":
            return node_text(name, source)
    return ""


def call_refs(node: Node, source: bytes) -> list[ImportRef]:
    """`require("y")` and `import("y")` with a literal module."""
    found: list[ImportRef] = []
    function = node.child_by_field_name("function")
    arguments = node.child_by_field_name("arguments")
    if function is None or arguments is None:
        return found
    first = arguments.named_children[0] if arguments.named_children else None
    module = string_value(first, source)
    if module is None:
        return found
    if function.type == "import":
        found.append(ImportRef(module=module, name=None, alias=declared_name(node, source), kind="dynamic"))
    elif function.type == "identifier" and node_text(function, source) == "require":
        found.append(ImportRef(module=module, name=None, alias=declared_name(node, source), kind="require"))
    return found


def import_refs(node: Node, source: bytes) -> list[ImportRef]:
    """The records of an import statement: each name it binds, or the module alone."""
    found: list[ImportRef] = []
    module = string_value(node.child_by_field_name("source"), source)
    type_only = any(c.type == "type" for c in node.children)
    kind = "type" if type_only else "static"
    require = next((c for c in node.named_children if c.type == "import_require_clause"), None)
    if require is not None:  # import x = require("y")
        alias = next((c for c in require.named_children if c.type == "identifier"), None)
        module = string_value(require.child_by_field_name("source"), source) or module
        if module is not None:
            found.append(
                ImportRef(module=module, name=None, alias=node_text(alias, source) if alias else "", kind="require")
            )
        return found
    if module is None:
        return found
    clause = next((c for c in node.named_children if c.type == "import_clause"), None)
    if clause is None:
        found.append(ImportRef(module=module, name=None, alias="", kind=kind))
        return found
    for part in clause.named_children:
        if part.type == "identifier":
            found.append(ImportRef(module=module, name="default", alias=node_text(part, source), kind=kind))
        elif part.type == "namespace_import":
            alias = next((c for c in part.named_children if c.type == "identifier"), None)
            found.append(
                ImportRef(module=module, name=None, alias=node_text(alias, source) if alias else "", kind=kind)
            )
        elif part.type == "named_imports":
            for spec in (c for c in part.named_children if c.type == "import_specifier"):
                name = spec.child_by_field_name("name")
                alias = spec.child_by_field_name("alias") or name
                spec_kind = "type" if type_only or any(c.type == "type" for c in spec.children) else "static"
                if name is not None and alias is not None:
                    found.append(
                        ImportRef(
                            module=module,
                            name=node_text(name, source),
                            alias=node_text(alias, source),
                            kind=spec_kind,
                        )
                    )
    return found


def reexport_refs(node: Node, source: bytes) -> list[ImportRef]:
    """The records of `export ... from "y"`."""
    found: list[ImportRef] = []
    module = string_value(node.child_by_field_name("source"), source)
    if module is None:
        return found
    kind = "type" if any(c.type == "type" for c in node.children) else "reexport"
    clause = next((c for c in node.named_children if c.type == "export_clause"), None)
    namespace = next((c for c in node.named_children if c.type == "namespace_export"), None)
    if clause is not None:
        for spec in (c for c in clause.named_children if c.type == "export_specifier"):
            name = spec.child_by_field_name("name")
            alias = spec.child_by_field_name("alias") or name
            if name is not None and alias is not None:
                found.append(
                    ImportRef(module=module, name=node_text(name, source), alias=node_text(alias, source), kind=kind)
                )
    elif namespace is not None:
        alias = next((c for c in namespace.named_children if c.type in ("identifier", "string")), None)
        found.append(ImportRef(module=module, name=None, alias=node_text(alias, source) if alias else "", kind=kind))
    else:
        found.append(ImportRef(module=module, name="*", alias="*", kind=kind))
    return found


def local_exports(clause: Node, source: bytes) -> tuple[list[ImportRef], list[str]]:
    """`export { a as b }`: `b` is exported, bound to the local `a`; and the locals it reads."""
    found, read = [], []
    for spec in (c for c in clause.named_children if c.type == "export_specifier"):
        name = spec.child_by_field_name("name")
        alias = spec.child_by_field_name("alias") or name
        if name is not None and alias is not None:
            local = node_text(name, source)
            read.append(local)
            found.append(ImportRef(module="", name=local, alias=node_text(alias, source), kind="export"))
    return found, read
