"""Symbol-level ground truth from a SCIP index (scip-python, scip-typescript), mapped onto our atoms.

An edge A → B means: code inside atom A refers to a project symbol whose definition lies in atom B.
Both sides speak of the same atom pairs because the index's positions are mapped onto our atoms' byte
spans: a reference belongs to the atom whose span holds its first character, a symbol to the atom that
holds its first definition (by file and position; a module's definition is at its first byte).

In scope: every reference (an occurrence without the definition role) to a symbol defined in one of
the project's files: classes and other types, functions, methods, variables and attributes. A
parameter or type parameter counts as its function or type (a keyword argument names its function),
except where the atom reading it (or its ancestor) declares it: a function reading its own parameter
reads a local. That matters for redefinitions (`@overload` stubs, then the implementation), whose
parameters share one symbol with the first definition; mapped to the function, the implementation's
own parameters would read as edges to the first stub.
Out of scope, on both sides: modules as a whole (`from x import y` and `import './x'` name module x;
a module is a file, not an atom, and file-level edges are measured against ruff and dependency-cruiser;
on our side, the edge a module-object or star import such as `import a.b`, `from . import m` or
`import * as ns` gives to the module's first atom), locals (`local N`, never visible outside their
function), references inside one atom, and pairs where B is A's structural ancestor (a method and its
class header, a piece of a split function and its head), which our graph links by construction
(`parent` edges), and, the same way, pairs where B is an earlier block of A's split unit binding a
local A reads (`local_sources`).
An anonymous default export (`export default {...}`, `export default () => ...`) has no symbol in the
TypeScript index: importing it names only the module, and the name it is imported as is a local of
the importing file. Our edges to it from the importing atoms, and from atoms that read that name other
than through a key the export spells out (`name.key`, a symbol the index has), are out of scope.
A TypeScript namespace is a module to the index (`N/`): our edges to the atom declaring it from the
atoms that import it or name it, other than through an export declared in that atom, are out too.

The index is a protobuf message; the few fields needed are read straight from the wire format, so the
benchmark needs no generated bindings.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass

from mge_assets.atomize import Atom

DEFINITION = 1  # SymbolRole.Definition
_TRAILING_PARAMETER = re.compile(r"(\([^()`]*\)|\[[^\[\]`]*\])$")


@dataclass(frozen=True)
class Occurrence:
    line: int
    column: int  # in UTF-16 code units, as both indexers write them
    symbol: str
    roles: int


def _varint(data: bytes, index: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[index]
        index += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, index


def _fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of one message: varints as ints, length-delimited fields as bytes."""
    index, end = 0, len(data)
    while index < end:
        key, index = _varint(data, index)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, index = _varint(data, index)
            yield number, value
        elif wire == 2:
            length, index = _varint(data, index)
            yield number, data[index : index + length]
            index += length
        elif wire in (1, 5):
            index += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unexpected protobuf wire type {wire}: not a SCIP index")


def _packed(data: bytes) -> list[int]:
    values, index = [], 0
    while index < len(data):
        value, index = _varint(data, index)
        values.append(value)
    return values


def read_index(data: bytes) -> dict[str, list[Occurrence]]:
    """Occurrences per document path, from the bytes of an `index.scip` (Index.documents = 2;
    Document.relative_path = 1, occurrences = 2; Occurrence.range = 1, symbol = 2, symbol_roles = 3)."""
    documents: dict[str, list[Occurrence]] = {}
    for number, document in _fields(data):
        if number != 2:
            continue
        path, occurrences = "", []
        for field, value in _fields(document):
            if field == 1:
                path = bytes(value).decode()
            elif field == 2:
                occurrences.append(_occurrence(value))
        documents[path] = occurrences
    return documents


def _occurrence(data: bytes) -> Occurrence:
    span, symbol, roles = [0, 0], "", 0
    for field, value in _fields(data):
        if field == 1:
            span = _packed(value)
        elif field == 2:
            symbol = bytes(value).decode()
        elif field == 3:
            roles = value
    return Occurrence(line=span[0], column=span[1], symbol=symbol, roles=roles)


def owner_symbol(symbol: str) -> str:
    """A parameter (`f().(x)`) or type parameter (`C#[T]`) stands for its function or type."""
    return _TRAILING_PARAMETER.sub("", symbol)


def category(symbol: str) -> str:
    """What a SCIP symbol names, from its last descriptor: module, type, function, method, variable,
    attribute (a term inside a type)."""
    if symbol.endswith(("/", "/__init__:")):  # scip-typescript's and scip-python's module descriptors
        return "module"
    if symbol.endswith("#"):
        return "type"
    inside_type = "#" in symbol.rsplit("/", 1)[-1].rstrip("#")
    if symbol.endswith(")."):
        return "method" if inside_type else "function"
    return "attribute" if inside_type else "variable"


class _Locator:
    """Maps (line, UTF-16 column) of one file onto byte offsets and then onto the atom holding them."""

    def __init__(self, source: bytes, atoms: list[Atom]) -> None:
        self.source = source
        self.line_starts = [0, *(i + 1 for i, b in enumerate(source) if b == 0x0A)]
        ordered = sorted(atoms, key=lambda a: a.start_byte)
        self.starts = [a.start_byte for a in ordered]
        self.ids = [a.id for a in ordered]

    def offset(self, line: int, column: int) -> int:
        start = self.line_starts[min(line, len(self.line_starts) - 1)]
        text = self.source[start : start + 4 * column + 4]
        if text[:column].isascii():
            return start + column
        prefix = text.decode("utf-8", errors="replace").encode("utf-16-le")[: 2 * column]
        return start + len(prefix.decode("utf-16-le", errors="replace").encode())

    def atom(self, line: int, column: int) -> str | None:
        position = bisect_right(self.starts, self.offset(line, column)) - 1
        return self.ids[position] if position >= 0 else None


def symbol_edges(
    documents: dict[str, list[Occurrence]], atoms: list[Atom], sources: dict[str, bytes]
) -> dict[tuple[str, str], str]:
    """The oracle's atom edges, each with the category of the symbol it refers to."""
    by_file: dict[str, list[Atom]] = {}
    for atom in atoms:
        by_file.setdefault(atom.file, []).append(atom)
    locators = {path: _Locator(sources[path], group) for path, group in by_file.items() if path in sources}
    definitions: dict[str, tuple[str, int, int]] = {}
    parameters: dict[str, set[str]] = {}  # a parameter's symbol -> every atom declaring it (overloads too)
    for path in sorted(set(documents) & set(locators)):
        for occurrence in documents[path]:
            if occurrence.roles & DEFINITION and not occurrence.symbol.startswith("local "):
                place = (path, occurrence.line, occurrence.column)
                symbol = owner_symbol(occurrence.symbol)
                definitions[symbol] = min(definitions.get(symbol, place), place)
                if symbol != occurrence.symbol:
                    declarer = locators[path].atom(occurrence.line, occurrence.column)
                    parameters.setdefault(occurrence.symbol, set()).add(declarer)
    targets = {s: locators[p].atom(line, column) for s, (p, line, column) in definitions.items()}
    ancestors = _ancestors(atoms)
    shared_locals = _shared_locals(atoms)
    edges: dict[tuple[str, str], str] = {}
    for path in sorted(set(documents) & set(locators)):
        for occurrence in documents[path]:
            if occurrence.roles & DEFINITION:
                continue
            symbol = owner_symbol(occurrence.symbol)
            target = targets.get(symbol) if category(symbol) != "module" else None
            source = locators[path].atom(occurrence.line, occurrence.column) if target else None
            if source and _own_parameter(parameters.get(occurrence.symbol, set()), source, ancestors):
                continue  # a function reading its own parameter: a local, whichever overload came first
            if (
                source
                and target
                and source != target
                and target not in ancestors[source]
                and (source, target) not in shared_locals
            ):
                edges.setdefault((source, target), category(symbol))
    return edges


def _own_parameter(declarers: set[str], source: str, ancestors: dict[str, set[str]]) -> bool:
    return source in declarers or not declarers.isdisjoint(ancestors[source])


def our_symbol_edges(
    edges: dict[tuple[str, str], str],
    atoms: list[Atom],
    module_imports: set[tuple[str, str]] = frozenset(),
    unnamed: set[tuple[str, str]] = frozenset(),
) -> dict[tuple[str, str], str]:
    """Our atom edges (kept and broken) in the oracle's scope: no pair with a structural ancestor, none
    that only a module-object or star import gives (`module_imports`, atom → module's first atom), none
    from a block to an earlier block of its unit binding a local it reads (the index's locals are out),
    none that only names an anonymous default export or a namespace as a whole (`unnamed`)."""
    ancestors = _ancestors(atoms)
    shared_locals = _shared_locals(atoms)
    return {
        (s, t): kind
        for (s, t), kind in edges.items()
        if t not in ancestors.get(s, ())
        and not (kind in ("import", "type") and (s, t) in module_imports)
        and (s, t) not in shared_locals
        and (s, t) not in unnamed
    }


def _shared_locals(atoms: list[Atom]) -> set[tuple[str, str]]:
    """Pairs of blocks of one split unit where the first reads a local the second binds: out of scope on
    both sides, as the index names locals `local N` (a nested function it names would count on its side
    only, and the pair is ours by construction, as a `parent` edge is)."""
    return {(atom.id, source) for atom in atoms for source in atom.local_sources}


def _ancestors(atoms: list[Atom]) -> dict[str, set[str]]:
    parent = {a.id: a.parent for a in atoms}
    result: dict[str, set[str]] = {}
    for atom in atoms:
        chain, current = set(), parent.get(atom.id)
        while current and current not in chain:
            chain.add(current)
            current = parent.get(current)
        result[atom.id] = chain
    return result
