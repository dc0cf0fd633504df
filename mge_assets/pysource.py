"""Python source parsed to an AST behind one lock.

On CPython 3.11.7 two threads building ASTs at once can fail with "SystemError: AST constructor
recursion depth mismatch" (the recursion counter is shared). The simulator answers from a thread of
the process that validates its answers, so every `ast.parse` of MGE goes through here."""

from __future__ import annotations

import ast
import threading

_LOCK = threading.Lock()


def parse(source: str | bytes) -> ast.Module:
    """`ast.parse(source)`, one thread at a time; SyntaxError as ast.parse raises it."""
    with _LOCK:
        return ast.parse(source)
