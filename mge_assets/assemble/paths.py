"""Keep every generated file inside its project's directory, whatever path a model gives."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from mge_assets.errors import UnsafePathError


def check_relative_path(path: str) -> str:
    """A normalised project-relative path, or UnsafePathError if it is absolute or climbs out."""
    if not path or "\x00" in path or "\\" in path:
        raise UnsafePathError(f"refused file path {path!r}: it must be a non-empty POSIX path inside the project")
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or (pure.parts and pure.parts[0].endswith(":")):
        raise UnsafePathError(
            f"refused file path {path!r}: it would leave the project's directory; paths must be relative "
            "and must not contain '..'"
        )
    normalised = str(pure)
    if normalised in (".", ""):
        raise UnsafePathError(f"refused file path {path!r}: it names the project directory itself")
    return normalised


def resolve_inside(root: Path, path: str) -> Path:
    """`root / path`, checked again after resolving symlinks."""
    relative = check_relative_path(path)
    base = root.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base):
        raise UnsafePathError(f"refused file path {path!r}: it resolves to {target}, outside {base}")
    return target
