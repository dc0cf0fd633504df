"""Where MGE keeps things, from the environment, with defaults relative to the working directory.

MGE_HOME (default `.mge`): submitted requests, the response cache, asset values, the SQLite store,
the atomize cache.
MGE_WORKSPACE (default `mge_workspace`): the generated projects, one directory per request.
MGE_INBOX (default `mge_inbox`): drop request files here for the inbox sensor.
"""

from __future__ import annotations

import os
from pathlib import Path


def mge_home() -> Path:
    return Path(os.environ.get("MGE_HOME", ".mge"))


def workspace_root() -> Path:
    return Path(os.environ.get("MGE_WORKSPACE", "mge_workspace"))


def inbox_dir() -> Path:
    return Path(os.environ.get("MGE_INBOX", "mge_inbox"))


def requests_dir() -> Path:
    return mge_home() / "requests"


def default_dagster_home() -> Path:
    return mge_home() / "dagster_home"


def mypy_cache_dir() -> Path:
    """mypy's cache, shared by every run on this machine: what it learns about third-party packages
    (pydantic, fastapi, ...) takes seconds the first time and is reused after (MGE_MYPY_CACHE)."""
    if os.environ.get("MGE_MYPY_CACHE"):
        return Path(os.environ["MGE_MYPY_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "mge" / "mypy"
