"""`mge atomize PATH`: summary, --json with every atom and edge, the graph file, bad files and bad input."""

import json
from pathlib import Path

import pytest

from mge_assets.cli import main
from mge_assets_tests.conftest import write_files

FILES = {
    "pkg/__init__.py": "from .core import run\n",
    "pkg/core.py": "from .util import helper\n\n\ndef run() -> int:\n    return helper()\n",
    "pkg/util.py": "def helper() -> int:\n    return 1\n",
    "pkg/broken.py": "def oops(:\n    pass\n",
    "web/app.ts": "import { twice } from './lib';\n\nexport const four = (): number => twice(2);\n",
    "web/lib.ts": "export function twice(x: number): number {\n  return 2 * x;\n}\n",
    "node_modules/dep/index.js": "module.exports = 1;\n",
}


@pytest.fixture(autouse=True)
def own_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The atomize cache goes under MGE_HOME: a home of the test's own, not the working directory's."""
    monkeypatch.setenv("MGE_HOME", str(tmp_path / ".mge"))


@pytest.fixture
def codebase(tmp_path: Path) -> Path:
    return write_files(tmp_path, FILES)


def test_json_lists_every_atom_and_edge(codebase: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["atomize", str(codebase), "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert {a["file"] for a in result["atoms"]} == {p for p in FILES if not p.startswith("node_modules")}
    assert {"file", "start_byte", "end_byte", "kind", "symbol", "loc"} <= set(result["atoms"][0])
    edges = {(e["source"], e["target"], e["type"]) for e in result["edges"]}
    assert ("pkg/core.py::run", "pkg/util.py::helper", "call") in edges
    assert ("web/app.ts::four", "web/lib.ts::twice", "call") in edges
    assert "pkg/broken.py:1:" in captured.err and "does not parse" in captured.err


def test_summary_and_graph_file(codebase: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    graph_file = tmp_path / "atoms.dot"
    assert main(["atomize", str(codebase), "--graph", str(graph_file)]) == 0
    out = capsys.readouterr().out
    assert "6 files" in out and "edges by type:" in out and "waves:" in out and "cycles broken:" in out
    assert graph_file.read_text().startswith("digraph atoms {") and "pkg/util.py::helper" in graph_file.read_text()


def test_bad_input_gets_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["atomize", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["atomize", str(tmp_path)]) == 2
    assert "holds no .py" in capsys.readouterr().err


def test_a_package_folder_is_analyzed_under_its_own_name(codebase: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (codebase / "pkg/broken.py").unlink()
    assert main(["atomize", str(codebase / "pkg"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {a["file"] for a in result["atoms"]} == {"pkg/__init__.py", "pkg/core.py", "pkg/util.py"}
    edges = {(e["source"], e["target"], e["type"]) for e in result["edges"]}
    assert ("pkg/core.py::run", "pkg/util.py::helper", "call") in edges
