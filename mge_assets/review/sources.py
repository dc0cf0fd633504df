"""The project's files as the atoms' current code makes them, with each atom placed in them.

Atoms carry the byte spans of their drafts; once final code (or a reviewer's edit) replaces a draft,
the spans move. Validating an edit, or re-validating the atoms around a changed one, needs the file as
it is now and where in it each atom's code sits.
"""

from __future__ import annotations

from mge_assets.atomize.model import Atom, evolve


def current_sources(codes: dict[str, str], atoms: dict[str, Atom]) -> tuple[dict[str, bytes], dict[str, Atom]]:
    """Files joined from `codes` (atom id -> current code; the draft where absent) in byte order, and
    every atom with its span and lines moved to where its code is; the atom keeps its draft as `code`."""
    by_file: dict[str, list[Atom]] = {}
    for atom in atoms.values():
        by_file.setdefault(atom.file, []).append(atom)
    files: dict[str, bytes] = {}
    placed: dict[str, Atom] = {}
    for path, members in by_file.items():
        offset, line, parts = 0, 1, []
        for atom in sorted(members, key=lambda a: a.start_byte):
            data = codes.get(atom.id, atom.code).encode()
            lines = data.count(b"\n")
            placed[atom.id] = evolve(
                atom,
                start_byte=offset,
                end_byte=offset + len(data),
                start_line=line,
                end_line=line + max(0, lines - 1),
            )
            parts.append(data)
            offset += len(data)
            line += lines
        files[path] = b"".join(parts)
    return files, placed
