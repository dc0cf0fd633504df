"""Atomization: source files split by tree-sitter into atoms that reassemble them byte for byte."""

from mge_assets.atomize.model import Atom, ImportRef, reassemble
from mge_assets.atomize.python import atomize_python

LANGUAGES = {".py": "python"}


def atomize_file(path: str, source: bytes) -> list[Atom]:
    """The atoms of one file, by its extension."""
    if path.endswith(".py"):
        return atomize_python(path, source)
    raise ValueError(f"cannot atomize {path}: only {', '.join(LANGUAGES)} files are supported")


def atomize_files(files: dict[str, str]) -> list[Atom]:
    """The atoms of a set of files (path → text), file by file in path order."""
    return [atom for path in sorted(files) for atom in atomize_file(path, files[path].encode())]


__all__ = ["Atom", "ImportRef", "atomize_file", "atomize_files", "atomize_python", "reassemble"]
