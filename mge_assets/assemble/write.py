"""Write a generated project: files assembled elsewhere, written into place in one swap."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from mge_assets.assemble.paths import resolve_inside
from mge_assets.errors import UnsafePathError
from mge_assets.request import PARTITION_KEY_PATTERN
from mge_assets.request.modes import split_partition


def project_directory(workspace_root: Path, name: str) -> Path:
    """`<workspace root>/<name>`, for a name that is a request's partition key (`NAME` or `NAME@mvp`)."""
    try:
        request, _mode = split_partition(name)
    except ValueError:
        request = ""
    if not PARTITION_KEY_PATTERN.match(request):
        raise UnsafePathError(f"refused project name {name!r}: it is not a valid request name")
    return workspace_root / name


def write_project(workspace_root: Path, name: str, files: dict[str, str]) -> Path:
    """Write `files` as the whole project `name`, replacing the previous version only once all are written.

    Every path is checked before anything is written, so a hostile path leaves the workspace untouched.
    """
    workspace_root.mkdir(parents=True, exist_ok=True)
    target = project_directory(workspace_root, name)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=workspace_root))
    try:
        paths = {relative: resolve_inside(staging, relative) for relative in files}
        for relative, path in paths.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[relative])
        os.chmod(staging, 0o755)
        previous = None
        if target.exists():
            previous = Path(tempfile.mkdtemp(prefix=f".{name}.old.", dir=workspace_root))
            target.rename(previous / name)
        staging.rename(target)
        if previous is not None:
            shutil.rmtree(previous, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def add_files(project_root: Path, files: dict[str, str], replace_directories: tuple[str, ...] = ()) -> list[Path]:
    """Add files to an existing project (e.g. acceptance tests), after checking every path first."""
    paths = {relative: resolve_inside(project_root, relative) for relative in files}
    for directory in replace_directories:
        shutil.rmtree(resolve_inside(project_root, directory), ignore_errors=True)
    for relative, path in paths.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[relative])
    return list(paths.values())
