"""`mge atomize --jobs N` gives what one process gives; unchanged files come from the cache."""

import json
import sqlite3
from pathlib import Path

import pytest

from mge_assets.atomize.cache import AtomCache, atomizer_sources
from mge_assets.cli import main
from mge_assets.graph.analyze import Analysis, analyze_path
from mge_assets_tests.conftest import write_files
from mge_assets_tests.graph.test_atomize_command import FILES as COMMAND_FILES

PACKAGE = Path(__file__).resolve().parents[2] / "mge_assets"
# the command tests' tree, without the dependency folder it leaves out, and with a TSX file
FILES = {path: code for path, code in COMMAND_FILES.items() if not path.startswith("node_modules/")} | {
    "web/view.tsx": "import { four } from './app';\n\nexport const View = () => <b>{four}</b>;\n",
}


@pytest.fixture
def codebase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MGE_HOME", str(tmp_path / ".mge"))
    return write_files(tmp_path / "code", FILES)


def _outcome(analysis: Analysis) -> tuple:
    graph = analysis.graph
    return analysis.files, analysis.atoms, analysis.errors, graph.edges, graph.broken, graph.waves, analysis.file_edges


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["atomize", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_workers_give_what_one_process_gives_on_this_package() -> None:
    one = analyze_path(PACKAGE, jobs=1)
    assert len(one.files) > 100 and len(one.atoms) > 1000 and one.graph.edges
    assert _outcome(analyze_path(PACKAGE, jobs=2)) == _outcome(one)


def test_the_json_of_two_jobs_is_the_json_of_one(codebase: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = _json(capsys, str(codebase), "--jobs", "1", "--no-cache")
    assert one["parse_errors"] and one["edges"] and one["file_edges"] and one["cache"] is None
    assert _json(capsys, str(codebase), "--jobs", "2", "--no-cache") == one
    assert _json(capsys, str(codebase), "--jobs", "3", "--no-cache") == one


def test_a_second_run_reuses_every_file_and_an_edited_one_is_atomized_again(
    codebase: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh = _json(capsys, str(codebase), "--no-cache")
    first = _json(capsys, str(codebase), "--jobs", "2")
    assert first.pop("cache") == {"reused": 0, "files": 7}
    second = _json(capsys, str(codebase), "--jobs", "2")
    assert second.pop("cache") == {"reused": 7, "files": 7}
    fresh.pop("cache")
    assert first == second == fresh
    (codebase / "pkg/util.py").write_text("def helper() -> int:\n    return 2\n\n\ndef other() -> int:\n    return 3\n")
    edited = _json(capsys, str(codebase), "--jobs", "1")
    assert edited.pop("cache") == {"reused": 6, "files": 7}
    again = _json(capsys, str(codebase), "--no-cache")
    again.pop("cache")
    assert edited == again and "pkg/util.py::other" in {a["id"] for a in edited["atoms"]}


def test_the_summary_says_what_the_cache_reused(codebase: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["atomize", str(codebase)]) == 0
    assert "cache:          0 of 7 files reused" in capsys.readouterr().out
    assert main(["atomize", str(codebase)]) == 0
    assert "cache:          7 of 7 files reused" in capsys.readouterr().out
    assert main(["atomize", str(codebase), "--no-cache"]) == 0
    assert "cache:" not in capsys.readouterr().out


def test_the_line_budget_is_part_of_the_key(codebase: Path, tmp_path: Path) -> None:
    cache = AtomCache(tmp_path / "cache")
    analyze_path(codebase, 10, cache=cache)
    assert analyze_path(codebase, 4, cache=cache).reused == 0
    assert analyze_path(codebase, 10, cache=cache).reused == 7


def test_a_damaged_entry_or_database_is_a_miss(codebase: Path, tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    fresh = _outcome(analyze_path(codebase))
    analyze_path(codebase, cache=AtomCache(folder))
    with sqlite3.connect(AtomCache(folder).path) as db:
        db.execute("UPDATE entries SET blob = ? WHERE rowid = 1", (b"not a pickle",))
        db.execute("UPDATE entries SET blob = ? WHERE rowid = 2", (b"x\x9c not zlib either",))
    damaged = analyze_path(codebase, cache=AtomCache(folder))
    assert (damaged.reused, _outcome(damaged)) == (5, fresh)
    AtomCache(folder).path.write_bytes(b"garbage " * 100)
    replaced = analyze_path(codebase, cache=AtomCache(folder))
    assert (replaced.reused, _outcome(replaced)) == (0, fresh)
    assert analyze_path(codebase, cache=AtomCache(folder)).reused == 7


@pytest.mark.parametrize("jobs", ["0", "-2"])
def test_jobs_below_one_is_a_clear_error(codebase: Path, jobs: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["atomize", str(codebase), "--jobs", jobs]) == 2
    error = capsys.readouterr().err
    assert "--jobs must be at least 1" in error and f"not {jobs}" in error and "leave it out" in error


def test_the_atomizers_version_covers_its_subpackages() -> None:
    # a change to the JS/TS atomizer (a package of its own) must make every cached entry a miss
    sources = atomizer_sources()
    assert {"python.py", "javascript/facts.py", "javascript/names.py"} <= set(sources)
