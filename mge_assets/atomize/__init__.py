"""Atomization: source files split by tree-sitter into atoms that reassemble them byte for byte."""

from __future__ import annotations

from mge_assets.atomize.atomicity import LINE_BUDGET
from mge_assets.atomize.errors import syntax_errors
from mge_assets.atomize.javascript import DIALECTS, atomize_javascript, atomize_javascript_tree
from mge_assets.atomize.javascript import parser as javascript_parser
from mge_assets.atomize.model import Atom, ImportRef, ParseError, reassemble
from mge_assets.atomize.python import atomize_python, atomize_python_tree
from mge_assets.atomize.python import parser as python_parser

LANGUAGES = {".py": "python", **{suffix: dialect for suffix, dialect in DIALECTS.items()}}


def language_of(path: str) -> str | None:
    """`python`, `javascript`, `typescript` or `tsx` by the file's extension; None for other files."""
    dot = path.rfind(".")
    return LANGUAGES.get(path[dot:]) if dot >= 0 else None


def atomize_file(path: str, source: bytes, line_budget: int = LINE_BUDGET) -> list[Atom]:
    """The atoms of one file, by its extension."""
    return atomize_with_errors(path, source, line_budget)[0]


def atomize_with_errors(
    path: str, source: bytes, line_budget: int = LINE_BUDGET
) -> tuple[list[Atom], list[ParseError]]:
    """The atoms of one file and where it does not parse (its atoms still cover every byte)."""
    language = language_of(path)
    if language is None:
        raise ValueError(
            f"cannot atomize {path}: only {', '.join(sorted(LANGUAGES))} files are supported; "
            "leave other files out or rename them"
        )
    if language == "python":
        tree = python_parser().parse(source)
        atoms = atomize_python_tree(path, source, tree, line_budget)
    else:
        tree = javascript_parser(language).parse(source)
        atoms = atomize_javascript_tree(path, source, tree, line_budget)
    return atoms, syntax_errors(path, tree, source)


def atomize_files(files: dict[str, str], line_budget: int = LINE_BUDGET) -> list[Atom]:
    """The atoms of a set of files (path → text), file by file in path order."""
    return [atom for path in sorted(files) for atom in atomize_file(path, files[path].encode(), line_budget)]


__all__ = [
    "LANGUAGES",
    "Atom",
    "ImportRef",
    "ParseError",
    "atomize_file",
    "atomize_files",
    "atomize_javascript",
    "atomize_python",
    "atomize_with_errors",
    "language_of",
    "reassemble",
]
