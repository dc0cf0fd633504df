"""benchmarks/large_codebase.py's figures on a tree of its own: precision and recall against ruff, raw and
with the disagreements decided by Python's resolution, and the round trip of every file."""

from pathlib import Path

from mge_assets.atomize import atomize_file
from mge_assets_tests.conftest import benchmark_module, write_files

for script in ("python_imports", "scip_oracle", "graph_accuracy", "atomize_speed"):
    benchmark_module(script)
large = benchmark_module("large_codebase")

FILES = {
    "pkg/__init__.py": "",
    "pkg/a.py": "from . import b\n",
    "pkg/b.py": "X = 1\n",
    "pkg/d.py": "import pkg.b\n",
    "pkg/ns/c.py": "from ..b import X\n",  # a namespace folder inside the package: ruff leaves its imports out
}


def test_precision_and_recall_raw_and_decided(tmp_path: Path) -> None:
    write_files(tmp_path, FILES)
    files = {path: text.encode() for path, text in FILES.items()}
    # d -> b missed; c -> b found (Python's, not ruff's); b -> a extra (nobody's)
    found = {("pkg/a.py", "pkg/b.py"): "static", ("pkg/ns/c.py", "pkg/b.py"): "static", ("pkg/b.py", "pkg/a.py"): "x"}
    figures = large.compare(tmp_path, files, found)
    assert set(figures["raw"]) == {("pkg/a.py", "pkg/b.py"), ("pkg/d.py", "pkg/b.py")}
    assert set(figures["decided"]) == set(figures["raw"]) | {("pkg/ns/c.py", "pkg/b.py")}
    assert (figures["precision_raw"], figures["recall_raw"]) == (0.3333, 0.5)
    assert (figures["precision"], figures["recall"]) == (0.6667, 0.6667)
    assert (figures["edges"], figures["ruff_edges"], figures["decided_edges"], figures["disputed"]) == (3, 2, 3, 3)


def test_round_trip_failures_name_the_files_whose_atoms_are_not_their_bytes() -> None:
    files = {"m.py": b"def f():\n    return 'caf\xc3\xa9'\n\n\nx = f()\n", "empty.py": b""}
    atoms = [atom for path, source in files.items() for atom in atomize_file(path, source)]
    assert large.round_trip_failures(files, atoms) == []
    assert large.round_trip_failures({**files, "m.py": files["m.py"] + b"# more\n"}, atoms) == ["m.py"]
