"""Python's own answer to which project file an import names, to settle edges where we and ruff disagree.

The imports are read with `ast`, relative names resolved with `importlib.util.resolve_name` (the rules of
`__package__`), and modules located with `importlib.machinery.FileFinder`, the finder `import` uses for
folders, gathering namespace portions (folders without `__init__.py`) as `PathFinder` does, from the
project's root as the only path entry; nothing is executed. `from p import m` names module `p.m` when
there is one, else `p`.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterable
from importlib.machinery import SOURCE_SUFFIXES, FileFinder, SourceFileLoader
from pathlib import Path


def python_edges(root: Path, files: Iterable[str]) -> set[tuple[str, str]]:
    """(importer, imported) file pairs of the project's Python files, as the interpreter resolves them."""
    project = set(files)
    edges = set()
    for path in sorted(f for f in project if f.endswith(".py")):
        tree = ast.parse((root / path).read_bytes(), filename=path)
        package = ".".join(path.removesuffix(".py").split("/")[:-1])
        for node in ast.walk(tree):
            for target in _targets(root, node, package):
                if target != path and target in project:
                    edges.add((path, target))
    return edges


def _targets(root: Path, node: ast.AST, package: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [t for t in (locate(root, alias.name) for alias in node.names) if t]
    if not isinstance(node, ast.ImportFrom):
        return []
    try:
        base = (
            importlib.util.resolve_name("." * node.level + (node.module or ""), package) if node.level else node.module
        )
    except ImportError:  # more dots than packages: Python refuses it too
        return []
    found = []
    for alias in node.names:
        target = (locate(root, f"{base}.{alias.name}") if alias.name != "*" else None) or locate(root, base or "")
        if target:
            found.append(target)
    return found


def locate(root: Path, module: str) -> str | None:
    """The file (relative to `root`) that `import module` loads, or None (not in the project, or a
    namespace package, which has no file)."""
    if not module:
        return None
    locations: list[str] = [str(root)]
    origin = None
    for part in module.split("."):
        found = _find(part, locations)
        if found is None:
            return None
        origin, locations = found
    if not origin or not origin.endswith(".py"):
        return None
    return Path(origin).resolve().relative_to(root.resolve()).as_posix()


def _find(name: str, locations: list[str]) -> tuple[str | None, list[str]] | None:
    """(file, folders to look in next) for one part of a dotted name; a regular module or package wins,
    else the namespace portions found in every location (PathFinder's rule)."""
    portions: list[str] = []
    for location in locations:
        spec = FileFinder(location, (SourceFileLoader, SOURCE_SUFFIXES)).find_spec(name)
        if spec is None:
            continue
        if spec.loader is not None:
            return spec.origin, list(spec.submodule_search_locations or [])
        portions.extend(spec.submodule_search_locations or [])
    return (None, portions) if portions else None
