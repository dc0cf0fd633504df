"""benchmarks/atomize_speed.py on a codebase of its own: the figures the issue asks for, and twice the
code being exactly the same code twice."""

import json
import sys
from pathlib import Path

import pytest

from mge_assets_tests.conftest import benchmark_module, write_files

speed = benchmark_module("atomize_speed")

FILES = {
    "app/__init__.py": "",
    "app/models.py": "class Item:\n    def __init__(self, name: str) -> None:\n        self.name = name\n",
    "app/views.py": "from .models import Item\n\n\ndef show(name):\n    return Item(name).name\n",
    "web/index.ts": "import { f } from './util';\nexport const g = () => f(1);\n",
    "web/util.ts": "export function f(x: number): number {\n  return x + 1;\n}\n",
    "notes.txt": "not code\n",
}


def test_root_reads_the_files_the_atomizer_understands_under_the_folder_name(tmp_path: Path) -> None:
    files = speed.tree([write_files(tmp_path / "project", FILES)])
    assert sorted(files) == [f"project/{p}" for p in sorted(FILES) if not p.endswith(".txt")]


def test_the_figures_and_twice_the_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, out = write_files(tmp_path / "project", FILES), tmp_path / "speed.json"
    monkeypatch.setattr(sys, "argv", ["atomize_speed.py", "--root", str(root), "--repeat", "1", "--json", str(out)])
    speed.main()
    figures = json.loads(out.read_text())
    lines = sum(text.count("\n") for path, text in FILES.items() if not path.endswith(".txt"))
    assert (figures["files"], figures["lines"]) == (5, lines)
    # a handful of lines takes well under the milliseconds the seconds are rounded to
    assert all(figures[key] >= 0 for key in ("seconds", "parse_only_seconds", "atomize_seconds"))
    assert figures["lines_per_second"] > 0 and figures["peak_rss_mb"] > 0
    # tree-sitter's share, a part of what the atomizer does: measured on the first corpus only
    assert figures["parse_and_query_lines_per_second"] > 0 and figures["parse_and_query_share"] > 0
    assert "parse_and_query_seconds" not in figures["doubled"]
    assert all(("parse_and_query" in run) == (i == 0) for i, runs in enumerate(figures["runs"]) for run in runs)
    doubled = figures["doubled"]
    # the copy's relative imports resolve inside it, its atoms are the originals' atoms: everything doubles
    assert (doubled["files"], doubled["lines"], doubled["atoms"], doubled["edges"]) == (
        10,
        2 * lines,
        2 * figures["atoms"],
        2 * figures["edges"],
    )
    assert figures["growth_2x_atomize"] > 0 and figures["growth_2x"] > 0
    # what a user waits for: workers, the cache after an edit, the command itself
    user = figures["user"]
    assert user["jobs"] == 2 and user["edited_files"] == 5 and user["reused_files"] == 0
    assert all(user[key] > 0 for key in ("cold_seconds", "warm_seconds", "command_seconds", "command_json_seconds"))
    assert 0 < user["workers_peak_rss_mb"] < user["total_peak_rss_mb"] and user["command_peak_rss_mb"] > 0


def test_editing_appends_a_function_to_files_spread_over_the_corpus(tmp_path: Path) -> None:
    root = write_files(tmp_path / "project", FILES)
    code = sorted(p for p in FILES if not p.endswith(".txt"))
    assert speed.edit(root, code, count=2) == ["app/__init__.py", "app/views.py"]
    assert (root / "app/views.py").read_text().endswith("def edited_for_the_benchmark():\n    return 1\n")
    assert speed.edit(root, ["web/util.ts"], count=2) == ["web/util.ts"]
    assert "export function editedForTheBenchmark()" in (root / "web/util.ts").read_text()


def test_growth_is_the_median_of_the_rounds_run_back_to_back() -> None:
    base = [{"atomize": 1.0, "graph": 1.0}, {"atomize": 2.0, "graph": 2.0}, {"atomize": 1.0, "graph": 1.0}]
    doubled = [{"atomize": 2.0, "graph": 2.0}, {"atomize": 4.2, "graph": 4.2}, {"atomize": 9.0, "graph": 1.0}]
    # rounds of 2.0x, 2.1x and 5.0x (the doubled run of the last one slowed down): the median is the middle one
    assert speed.growth([base, doubled], ("atomize", "graph")) == 2.1
    assert speed.growth([base, doubled], ("atomize",)) == 2.1
