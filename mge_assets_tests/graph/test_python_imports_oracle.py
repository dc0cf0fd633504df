"""The arbiter of benchmarks/graph_accuracy.py's file level: Python's own import resolution."""

from pathlib import Path

from mge_assets_tests.conftest import benchmark_module, write_files

imports = benchmark_module("python_imports")

FILES = {
    "pkg/__init__.py": "from .sub import mod\n",
    "pkg/config.py": "X = 1\n",
    "pkg/sub/__init__.py": "",
    "pkg/sub/mod.py": "import pkg.config\nfrom ... import nowhere\n",
    "pkg/ns/app.py": "from ..config import X\nfrom .tools import *\nfrom . import tools\nimport os\n",
    "pkg/ns/tools.py": "def f():\n    from pkg.sub import mod\n",
}


def test_python_resolves_namespace_portions_relative_and_local_imports(tmp_path: Path) -> None:
    write_files(tmp_path, FILES)
    assert imports.python_edges(tmp_path, FILES) == {
        ("pkg/__init__.py", "pkg/sub/mod.py"),  # `from p import m` names the module p.m
        ("pkg/sub/mod.py", "pkg/config.py"),  # and the import beyond the top package is refused
        ("pkg/ns/app.py", "pkg/config.py"),
        ("pkg/ns/app.py", "pkg/ns/tools.py"),
        ("pkg/ns/tools.py", "pkg/sub/mod.py"),
    }
    assert imports.locate(tmp_path, "pkg.ns") is None and imports.locate(tmp_path, "pkg.ns.app") == "pkg/ns/app.py"
