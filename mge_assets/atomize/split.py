"""Over-budget units split at statement boundaries into a head and child atoms.

A cut is the start of a line where a statement (at any depth inside the unit's body) begins. Pieces are
taken greedily: each as long as the line budget allows; a single statement longer than the budget that
has no inner statement to cut at stays whole. The head keeps the unit's kind and symbol (so it still
introduces the unit); every later piece is a `block` atom whose parent is the head.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from itertools import accumulate

from mge_assets.atomize.model import Atom, evolve

# For a piece (start, end): names it defines, references, type references, attribute references, imports,
# and the unit's own locals it binds and reads (kept out of its references, they tie pieces together).
PieceNames = Callable[[int, int], tuple[tuple[str, ...], ...]]


def count_loc(source: bytes, start: int, end: int) -> int:
    """Non-blank lines in source[start:end]."""
    lines = _squeezed_lines(source, start, end)
    return len(lines) - lines.count(b"")


def _squeezed_lines(source: bytes, start: int, end: int) -> list[bytes]:
    """The lines of source[start:end] with their whitespace deleted, so a blank line is empty: every
    line is judged in C rather than stripped one by one in Python."""
    return source[start:end].translate(None, b" \t\r\x0b\x0c").split(b"\n")


def pieces(source: bytes, start: int, end: int, cuts: Iterable[int], budget: int) -> list[tuple[int, int, int]]:
    """Greedy spans of at most `budget` non-blank lines, cut only at `cuts` (line starts), each with its
    non-blank line count; one pass over the unit's lines."""
    options = sorted(c for c in cuts if start < c < end)
    # before_line[i]: non-blank lines above line i of the unit; before[k]: above the k-th cut
    before_line = list(accumulate(map(bool, _squeezed_lines(source, start, end)), initial=0))
    before: list[int] = []
    line, previous = 0, start
    for cut in options:
        line += source.count(b"\n", previous, cut)
        before.append(before_line[line])
        previous = cut
    total = before_line[-1]
    spans: list[tuple[int, int, int]] = []
    base, base_loc, index = start, 0, 0
    while total - base_loc > budget and index < len(options):
        best = index
        while best + 1 < len(options) and before[best + 1] - base_loc <= budget:
            best += 1
        if before[best] - base_loc <= 0 and best + 1 < len(options):
            best += 1  # never a piece of blank lines only
        spans.append((base, options[best], before[best] - base_loc))
        base, base_loc, index = options[best], before[best], best + 1
    spans.append((base, end, total - base_loc))
    return spans


def split_atom(
    atom: Atom,
    source: bytes,
    cuts: list[int],
    budget: int,
    names: PieceNames,
    spans: list[tuple[int, int, int]] | None = None,
) -> list[Atom]:
    """The atom itself when within budget, else its head and `block` children (parent: the head).
    `spans` are the atom's `pieces`, when the caller has cut it already (to read each piece's names)."""
    if atom.loc <= budget:
        return [atom]
    spans = spans or pieces(source, atom.start_byte, atom.end_byte, cuts, budget)
    if len(spans) == 1:
        return [atom]
    found = [names(start, end) for start, end, _ in spans]
    # The head reads and imports only what lies in its own span: an edge to what a later piece uses
    # would be an edge too many, and a name bound in a later piece must resolve to that piece, which
    # is written after the head. A definition's pieces define nothing: its head keeps the unit's name.
    # What no piece reports (a default export added to the unit as a whole) stays with the head.
    defines = found[0][0] if any(piece[0] for piece in found) else atom.defines
    unplaced: tuple = ()
    if atom.imports:  # (an ImportRef hashes in Python: only build the set when there is something to look up)
        placed = {ref for piece in found for ref in piece[4]}
        unplaced = tuple(ref for ref in atom.imports if ref not in placed)
    _, head_end, head_loc = spans[0]
    code = _code(source, atom.start_byte, head_end)
    head = evolve(atom, end_byte=head_end, code=code, loc=head_loc, defines=defines, **_reads(found[0], unplaced))
    result = [head]
    line, previous = head.start_line, atom.start_byte
    for index, ((start, end, loc), piece) in enumerate(zip(spans[1:], found[1:], strict=True), start=1):
        defines, references, types, attributes, imports, _, _ = piece
        line += source.count(b"\n", previous, start)  # from the previous piece: one pass over the unit
        previous = start
        result.append(
            evolve(
                atom,
                id=f"{atom.id}.<block:{line}>",
                start_byte=start,
                end_byte=end,
                kind="block",
                symbol=f"{atom.symbol}.<block:{line}>",
                parent=head.id,
                loc=loc,
                code=_code(source, start, end),
                defines=defines,
                references=tuple(r for r in references if r not in defines),  # as for a whole unit
                type_references=types,
                bases=(),
                attribute_references=attributes,
                imports=imports,
                local_sources=_local_sources(result, found, index),
                exported=False,
            )
        )
    return result


def _local_sources(earlier: list[Atom], found: list[tuple], index: int) -> tuple[str, ...]:
    """The earlier blocks of the unit that bind a local piece `index` reads: the piece cannot be written
    before them. The head is left out: every block already depends on it as its parent."""
    reads = set(found[index][6])
    if not reads:
        return ()
    return tuple(
        block.id for block, piece in zip(earlier[1:], found[1:index], strict=True) if not reads.isdisjoint(piece[5])
    )


def _reads(piece: tuple, unplaced: tuple) -> dict:
    _, references, types, attributes, imports, _, _ = piece
    return {
        "references": references,
        "type_references": types,
        "attribute_references": attributes,
        "imports": (*imports, *unplaced),
    }


def _code(source: bytes, start: int, end: int) -> str:
    return source[start:end].decode("utf-8", errors="surrogateescape")


def unique_ids(atoms: list[Atom]) -> list[Atom]:
    """Redefinitions (e.g. a property and its setter) get `#2`, `#3` ... after their id. A unit's pieces
    follow its head in byte order, so each `parent` and `local_sources` id names the latest atom that
    had it: the blocks of a second `f` belong to `f#2`, not to the first `f`."""
    seen: dict[str, int] = {}
    latest: dict[str, str] = {}
    result = []
    for atom in atoms:
        original = atom.id
        count = seen.get(original, 0) + 1
        seen[original] = count
        latest[original] = f"{original}#{count}" if count > 1 else original
        parent = latest.get(atom.parent, atom.parent) if atom.parent else None
        sources = tuple(latest.get(s, s) for s in atom.local_sources) if atom.local_sources else ()
        if latest[original] != original or parent != atom.parent or sources != atom.local_sources:
            atom = evolve(atom, id=latest[original], parent=parent, local_sources=sources)
        result.append(atom)
    return result


def finish(atoms: list[Atom], source: bytes, decisions: list[int]) -> list[Atom]:
    """Line spans and cyclomatic complexity (1 + decision points that start inside the atom), in one pass
    over the file: atoms are in byte order, so each newline and each decision is counted once."""
    result = []
    line, position, index = 1, 0, 0
    for atom in atoms:
        line += source.count(b"\n", position, atom.start_byte)
        position = atom.start_byte
        last = max(atom.start_byte, atom.end_byte - 1)
        end_line = line + source.count(b"\n", atom.start_byte, last)
        first = bisect_left(decisions, atom.start_byte, index)
        index = bisect_left(decisions, atom.end_byte, first)
        # The atoms were made by this pass's caller and are not shared yet: set the three fields in place
        # rather than copy every atom (a copy per atom costs as much as the rest of this function).
        object.__setattr__(atom, "start_line", line)
        object.__setattr__(atom, "end_line", end_line)
        object.__setattr__(atom, "complexity", 1 + index - first)
        result.append(atom)
    return result


def with_members(atoms: list[Atom], starts: list[int], members: list[str], field: str = "members") -> list[Atom]:
    """Each class attribute binding (`Class.x` at a byte offset, in order) goes to the atom holding it;
    with `field="typed_names"`, each `name:Type` does."""
    atom_starts = [a.start_byte for a in atoms]
    found: dict[int, list[str]] = {}
    for start, member in zip(starts, members, strict=True):
        index = bisect_right(atom_starts, start) - 1
        if index >= 0 and member not in found.setdefault(index, []):
            found[index].append(member)
    for index, names in found.items():  # in place, as `finish` does: the atoms are not shared yet
        object.__setattr__(atoms[index], field, tuple(names))
    return atoms
