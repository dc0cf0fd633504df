"""Invariant 1: atoms reassemble their files byte for byte — on fixtures and on a real corpus."""

from pathlib import Path

import dagster
import pydantic
import pytest

from mge_assets.atomize import atomize_file, reassemble

FIXTURE = b'''"""Module docstring."""

import os
from typing import Any

LIMIT = 10


# A comment about the decorator below.
@staticmethod
def helper(x: int) -> int:
    return x + LIMIT


class Thing(Base):
    """A thing."""

    size: int = 1

    def grow(self, by: int) -> None:
        if by > 0 and by < LIMIT:
            self.size += by

    # The property and its setter share a name.
    @property
    def name(self) -> str:
        return os.sep

    @name.setter
    def name(self, value: str) -> None:
        pass

    CONSTANT = 3


tail = helper(1)
'''


def test_fixture_atoms_kinds_symbols_and_spans() -> None:
    atoms = atomize_file("pkg/mod.py", FIXTURE)
    assert [(a.kind, a.symbol) for a in atoms] == [
        ("module_header", "<module>"),
        ("function", "helper"),
        ("class_header", "Thing"),
        ("method", "Thing.grow"),
        ("method", "Thing.name"),
        ("method", "Thing.name"),
        ("class_statements", "Thing.CONSTANT"),
        ("statements", "tail"),
    ]
    assert atoms[5].id.endswith("#2")
    assert atoms[1].code.startswith("# A comment about the decorator below.\n@staticmethod")
    assert atoms[3].parent == atoms[2].id and atoms[3].complexity == 3
    assert atoms[2].bases == ("Base",)
    assert "LIMIT" in atoms[1].references and "x" not in atoms[1].references
    assert reassemble(atoms)["pkg/mod.py"].encode() == FIXTURE
    assert [a.start_byte for a in atoms[1:]] == [a.end_byte for a in atoms[:-1]]


@pytest.mark.parametrize("source", [b"", b"\n\n", b"# only a comment\n", b"x = 1", "s = 'caf\u00e9'\n".encode()])
def test_edge_cases_reassemble(source: bytes) -> None:
    atoms = atomize_file("m.py", source)
    assert "".join(a.code for a in atoms).encode() == source


def _corpus() -> list[Path]:
    roots = [Path(dagster.__file__).parent, Path(pydantic.__file__).parent]
    return sorted(p for root in roots for p in root.rglob("*.py"))


def test_every_file_of_a_real_corpus_reassembles_byte_for_byte() -> None:
    files = _corpus()
    assert len(files) > 800
    mismatched = []
    for path in files:
        source = path.read_bytes()
        atoms = atomize_file(str(path), source)
        joined = "".join(a.code for a in atoms).encode("utf-8", "surrogateescape")
        if joined != source or any(a.end_byte <= a.start_byte for a in atoms):
            mismatched.append(str(path))
    assert mismatched == []
