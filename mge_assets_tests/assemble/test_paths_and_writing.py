"""Generated files stay inside their project's directory, whatever path a model gives."""

import os
from pathlib import Path

import pytest

from mge_assets.assemble import add_files, check_relative_path, resolve_inside, write_project
from mge_assets.errors import UnsafePathError

HOSTILE = ["../escape.py", "a/../../escape.py", "/etc/passwd", "", ".", "a\\..\\b.py", "C:/x.py", "x\x00.py"]


@pytest.mark.parametrize("path", HOSTILE)
def test_paths_that_would_leave_the_project_are_refused(path: str) -> None:
    with pytest.raises(UnsafePathError, match="refused file path"):
        check_relative_path(path)


def test_a_symlink_inside_the_project_cannot_lead_outside(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    project = tmp_path / "project"
    project.mkdir()
    os.symlink(outside, project / "link")
    with pytest.raises(UnsafePathError, match="outside"):
        resolve_inside(project, "link/file.py")


def test_write_project_refuses_everything_when_one_path_is_hostile(tmp_path: Path) -> None:
    write_project(tmp_path, "demo", {"app.py": "old = True\n"})
    with pytest.raises(UnsafePathError):
        write_project(tmp_path, "demo", {"app.py": "new = True\n", "../../pwned.py": "x"})
    assert (tmp_path / "demo" / "app.py").read_text() == "old = True\n"  # the previous version is intact
    assert not (tmp_path.parent / "pwned.py").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]  # no staging leftovers


def test_write_project_replaces_the_whole_previous_version(tmp_path: Path) -> None:
    write_project(tmp_path, "demo", {"a.py": "a\n", "pkg/b.py": "b\n"})
    root = write_project(tmp_path, "demo", {"a.py": "a2\n"})
    assert root == tmp_path / "demo"
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) == ["a.py"]


def test_project_names_must_be_request_names(tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError, match="project name"):
        write_project(tmp_path, "../up", {"a.py": ""})


def test_add_files_checks_every_path_before_writing_any(tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError):
        add_files(tmp_path, {"acceptance/test_a.py": "x", "../evil.py": "y"})
    assert not (tmp_path / "acceptance").exists()
