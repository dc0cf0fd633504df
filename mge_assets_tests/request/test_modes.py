"""A request partition names its mode: `NAME` is v2, `NAME@mvp` the baseline, nothing else."""

from pathlib import Path

import pytest

from mge_assets.assemble.write import project_directory
from mge_assets.errors import UnsafePathError
from mge_assets.request.modes import mode_partition, split_partition


def test_a_partition_key_round_trips_through_its_mode() -> None:
    assert mode_partition("task-api") == "task-api"
    assert mode_partition("task-api", "mvp") == "task-api@mvp"
    assert split_partition("task-api") == ("task-api", "v2")
    assert split_partition("task-api@mvp") == ("task-api", "mvp")


def test_an_unknown_mode_is_refused_naming_the_modes() -> None:
    with pytest.raises(ValueError, match="unknown execution mode 'v3'; choose one of v2, mvp"):
        mode_partition("task-api", "v3")
    with pytest.raises(ValueError, match="names an unknown mode 'fast'"):
        split_partition("task-api@fast")


def test_each_mode_writes_its_own_project_and_no_other_name_gets_a_directory(tmp_path: Path) -> None:
    assert project_directory(tmp_path, "task-api@mvp") == tmp_path / "task-api@mvp"
    assert project_directory(tmp_path, "task-api") == tmp_path / "task-api"
    for bad in ("task-api@fast", "../task-api", "..@mvp", "@mvp"):
        with pytest.raises(UnsafePathError):
            project_directory(tmp_path, bad)
