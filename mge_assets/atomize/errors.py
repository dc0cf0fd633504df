"""Parse errors as positions a person can find: tree-sitter keeps going, and so do we."""

from __future__ import annotations

from tree_sitter import Tree

from mge_assets.atomize.model import ParseError

_MAX_REPORTED = 20


def syntax_errors(path: str, tree: Tree, source: bytes) -> list[ParseError]:
    """ERROR and MISSING nodes of a tree (at most 20 per file), in source order."""
    if not tree.root_node.has_error:
        return []
    found: list[ParseError] = []
    stack = [tree.root_node]
    while stack and len(found) < _MAX_REPORTED:
        node = stack.pop()
        if not node.has_error:
            continue
        if node.is_missing or node.type == "ERROR":
            row, column = node.start_point
            text = source[node.start_byte : node.end_byte][:40].decode("utf-8", "replace")
            kind = "missing" if node.is_missing else "error"
            found.append(ParseError(file=path, line=row + 1, column=column + 1, kind=kind, text=text or node.type))
            if node.type == "ERROR":
                continue
        stack.extend(reversed(node.children))
    return sorted(found, key=lambda e: (e.line, e.column))
