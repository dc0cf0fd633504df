"""Submitted requests, kept as files: `<directory>/<name>.md`, one per partition."""

from __future__ import annotations

import os
from pathlib import Path

from mge_assets.errors import RequestError
from mge_assets.request.model import ProjectRequest
from mge_assets.request.parser import PARTITION_KEY_PATTERN, parse_request


def request_path(directory: Path, name: str) -> Path:
    if not PARTITION_KEY_PATTERN.match(name):
        raise RequestError(f"'{name}' is not a request name (lowercase letters, digits and dashes, at most 64)")
    return directory / f"{name}.md"


def save_request(directory: Path, request: ProjectRequest) -> str:
    """Store a validated request; returns 'added', 'updated' or 'unchanged'."""
    path = request_path(directory, request.name)
    if path.exists():
        if path.read_text() == request.text:
            return "unchanged"
        status = "updated"
    else:
        status = "added"
    directory.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(request.text)
    temporary.replace(path)
    return status


def load_request(directory: Path, name: str) -> ProjectRequest:
    path = request_path(directory, name)
    if not path.exists():
        raise RequestError(
            f"no request named '{name}' was submitted (looked for {path}); submit it with `mge submit FILE` "
            "or drop it into the inbox folder"
        )
    return parse_request(path.read_bytes(), source=str(path))
