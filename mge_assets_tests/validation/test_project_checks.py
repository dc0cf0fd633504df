"""Levels 2-4 on a real generated project, and on one broken on purpose."""

import shutil

import pytest

from mge_assets.plan import discover, plan_project
from mge_assets.request import parse_request
from mge_assets.synth.render import draft_task, infrastructure
from mge_assets.validation import check_project
from mge_assets_tests.conftest import example_path

MODULES = ["task_api.app", "task_api.db", "task_api.services.task"]
PATHS = ["/users", "/projects", "/tasks"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("project")
    discovery = discover(parse_request(example_path("task_api").read_bytes()))
    files = infrastructure(discovery)
    for task in plan_project(discovery).tasks:
        files.update(draft_task(discovery, task))
    for path, code in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(code)
    return root


def test_a_sound_project_passes_every_level(project) -> None:
    checks = check_project(project, "task_api", MODULES, PATHS)
    assert checks.imports and checks.unit_tests_pass and checks.system_ok
    assert checks.system == {"/health": 200, "/users": 200, "/projects": 200, "/tasks": 200}
    assert checks.level_scores() == {"module": 1.0, "component": 1.0, "system": 1.0}


def test_a_module_that_does_not_import_fails_levels_two_to_four(project, tmp_path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(project, broken)
    service = broken / "task_api" / "services" / "task.py"
    service.write_text(service.read_text().replace("from task_api.errors import", "from task_api.nowhere import"))
    checks = check_project(broken, "task_api", MODULES, PATHS)
    assert "ModuleNotFoundError" in checks.modules["task_api.services.task"]
    assert checks.modules["task_api.db"] == ""
    assert not checks.imports and not checks.system_ok and not checks.unit_tests_pass
    assert checks.level_scores()["module"] == pytest.approx(1 / 3)
