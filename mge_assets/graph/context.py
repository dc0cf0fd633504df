"""Each atom's context: the signatures of what it references, and how much of it could be found.

A name an atom reads is *found* when it resolves to an atom of the project (its signature goes in the
context), is imported from outside the project, or is a builtin; anything else is missing. The
completeness score is the share found (1.0 when the atom reads nothing).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable

from mge_assets.atomize.model import Atom
from mge_assets.graph.build import _Index
from mge_assets.graph.resolve import Resolver, TsConfig

_PYTHON_BUILTINS = frozenset(dir(builtins)) | {"__name__", "__file__", "__all__", "__doc__", "self", "cls"}
_JS_GLOBALS = frozenset(
    [
        "undefined",
        "NaN",
        "Infinity",
        "globalThis",
        "window",
        "document",
        "console",
        "process",
        "require",
        "module",
        "exports",
        "this",
        "super",
        "Object",
        "Array",
        "String",
        "Number",
        "Boolean",
        "Symbol",
        "BigInt",
        "Function",
        "Promise",
        "Map",
        "Set",
        "WeakMap",
        "WeakSet",
        "JSON",
        "Math",
        "Date",
        "RegExp",
        "Error",
        "TypeError",
        "RangeError",
        "SyntaxError",
        "Reflect",
        "Proxy",
        "Intl",
        "URL",
        "URLSearchParams",
        "AbortController",
        "setTimeout",
        "clearTimeout",
        "setInterval",
        "clearInterval",
        "queueMicrotask",
        "fetch",
        "Buffer",
        "structuredClone",
        "Partial",
        "Required",
        "Readonly",
        "Record",
        "Pick",
        "Omit",
        "Exclude",
        "Extract",
        "NonNullable",
        "ReturnType",
        "Parameters",
        "Awaited",
        "InstanceType",
        "Array",
        "ReadonlyArray",
        "PromiseLike",
        "Iterable",
        "Iterator",
        "AsyncIterable",
        "unknown",
        "never",
        "any",
        "string",
        "number",
        "boolean",
        "object",
        "void",
        "null",
        "bigint",
        "symbol",
        "JSX",
        "React",
        "Element",
        "HTMLElement",
        "Event",
    ]
)


def signature(atom: Atom) -> str:
    """The line that introduces an atom: its `def`/`class`/`function` line, else its first code line."""
    for line in atom.code.splitlines():
        text = line.strip()
        if text and not text.startswith(("#", "@", "//", "/*", "*")):
            return text
    return atom.symbol


def atom_contexts(
    atoms: list[Atom], tsconfig: TsConfig | None = None, files: Iterable[str] = ()
) -> dict[str, tuple[tuple[str, ...], float]]:
    """For each atom id: the context lines (`file: signature` of each project atom it reads) and the
    completeness score."""
    index = _Index(atoms, Resolver({a.file for a in atoms} | set(files), tsconfig))
    result = {}
    for atom in atoms:
        known = _PYTHON_BUILTINS if atom.language == "python" else _JS_GLOBALS
        imported = index.imports.get(atom.file, {})
        lines: dict[str, None] = {}
        names = set(atom.references) | set(atom.type_references)
        found = 0
        for name in sorted(names):
            target = index.resolve(atom.file, name)
            if target is not None:
                found += 1
                if target != atom.id:
                    dependency = index.atoms[target]
                    lines[f"{dependency.file}: {signature(dependency)}"] = None
            elif name in imported or name in known or index.stars.get(atom.file):
                found += 1
        result[atom.id] = (tuple(lines), round(found / len(names), 4) if names else 1.0)
    return result
