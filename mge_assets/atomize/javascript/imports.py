"""Import records of import and export statements and of `require` / `import()` calls."""

from __future__ import annotations

from tree_sitter import Node

from mge_assets.atomize.javascript.syntax import node_text


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
