"""Per-file atomization results kept on disk, so atomizing a codebase again costs only its changed files.

One SQLite file rather than a file per entry: a big codebase has thousands of files, and one database
is a single compact file, read with one query per file and written in one transaction. Only the
process that owns the cache writes to it (workers hand their results back), and SQLite's locking
keeps two `mge atomize` runs sharing a cache from corrupting it. An entry is the pickle of a file's
atoms and parse errors, keyed by what they depend on: the file's path (atoms carry it in their ids),
its bytes, the line budget and the atomizer's version, compressed. An entry that cannot be read is a
miss.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import pickle
import sqlite3
import sys
import zlib
from functools import cache
from pathlib import Path

from mge_assets.atomize.model import Atom, ParseError

FileResult = tuple[list[Atom], list[ParseError]]
_GRAMMARS = ("tree-sitter", "tree-sitter-python", "tree-sitter-javascript", "tree-sitter-typescript")


@cache
def atomizer_version() -> str:
    """A hash of the atomizer's own sources, the tree-sitter grammars' versions and Python's: any change
    to what could change an atom makes every older entry a miss."""
    digest = hashlib.sha256(f"{sys.version_info[:2]}".encode())
    package = Path(__file__).parent
    for name in atomizer_sources():
        digest.update(name.encode() + b"\0" + (package / name).read_bytes())
    for name in _GRAMMARS:
        digest.update(f"{name}={importlib.metadata.version(name)}".encode())
    return digest.hexdigest()[:16]


def atomizer_sources() -> list[str]:
    """The atomize package's modules, its subpackages' included, relative to it."""
    package = Path(__file__).parent
    return sorted(path.relative_to(package).as_posix() for path in package.rglob("*.py"))


def file_key(path: str, source: bytes, line_budget: int) -> str:
    digest = hashlib.sha256(f"{atomizer_version()}\0{line_budget}\0{path}\0".encode())
    digest.update(source)
    return digest.hexdigest()


def encode(result: FileResult, compress: bool = False) -> bytes:
    """The pickle of a file's result; compressed for the cache, where it takes a quarter of the room
    for a few percent of the time to atomize (zlib's fastest level)."""
    blob = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    return zlib.compress(blob, 1) if compress else blob


def decode(blob: bytes) -> FileResult | None:
    """The result an entry holds, or None when it cannot be read back (a miss, atomized again)."""
    try:
        # a zlib stream starts with 0x78, a pickle of protocol 2 or later with 0x80
        atoms, errors = pickle.loads(zlib.decompress(blob) if blob[:1] == b"\x78" else blob)
    except Exception:  # any damage to an entry only costs its file's atomization
        return None
    return atoms, errors


_SCHEMA = 1  # in the file's name: a cache of another layout is another file, never misread


class AtomCache:
    """`MGE_HOME/atomize-cache/atoms-1.sqlite`, opened on first use; counts the files it reused."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / f"atoms-{_SCHEMA}.sqlite"
        self.hits = 0
        self.misses = 0
        self._db: sqlite3.Connection | None = None

    def get(self, key: str) -> FileResult | None:
        row = self._query("SELECT blob FROM entries WHERE key = ?", (key,))
        result = decode(row[0]) if row else None
        if result is None:
            self.misses += 1
        else:
            self.hits += 1
        return result

    def put(self, key: str, blob: bytes) -> None:
        sql = "INSERT OR REPLACE INTO entries (key, version, blob) VALUES (?, ?, ?)"
        self._query(sql, (key, atomizer_version(), blob))

    def close(self) -> None:
        """Commit what was put, drop the entries of other atomizer versions (never read again)."""
        if self._db is None:
            return
        try:
            with self._db:
                self._db.execute("DELETE FROM entries WHERE version != ?", (atomizer_version(),))
        except sqlite3.Error:
            pass  # the entries stay out of the cache; the next run atomizes those files again
        self._db.close()
        self._db = None

    def _query(self, sql: str, values: tuple) -> tuple | None:
        db = self._connect()
        if db is None:
            return None
        try:
            return db.execute(sql, values).fetchone()
        except sqlite3.Error:
            return None

    def _connect(self) -> sqlite3.Connection | None:
        if self._db is None:
            self._db = _open(self.path) or _open(self.path, fresh=True)
        return self._db


def _open(path: Path, fresh: bool = False) -> sqlite3.Connection | None:
    """The database, made if missing; with `fresh`, an unreadable one is replaced. None when it cannot
    be opened at all (a read-only home): the run goes on without a cache."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if fresh:
            path.unlink(missing_ok=True)
        db = sqlite3.connect(path, timeout=30)
        db.execute("CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, version TEXT, blob BLOB)")
        db.execute("SELECT key FROM entries LIMIT 1").fetchone()  # a damaged file fails here
        return db
    except (OSError, sqlite3.Error):
        return None
