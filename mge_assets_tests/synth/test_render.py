"""The offline synthesizer's output: every drafted file parses and is lint-clean, for every example."""

import ast
import subprocess
import sys

import pytest

from mge_assets.plan import discover, plan_project
from mge_assets.request import parse_request
from mge_assets.synth.render import draft_task, infrastructure
from mge_assets_tests.conftest import EXAMPLES


def _project_files(path) -> dict[str, str]:
    discovery = discover(parse_request(path.read_bytes()))
    files = infrastructure(discovery)
    for task in plan_project(discovery).tasks:
        files.update(draft_task(discovery, task))
    return files


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_generated_file_parses_and_passes_ruff(path, tmp_path) -> None:
    files = _project_files(path)
    for name, code in files.items():
        if name.endswith(".py"):
            ast.parse(code, filename=name)
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(code)
    lint = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--isolated",
            "--select",
            "E,F,W,I,B,UP",
            "--line-length",
            "120",
            "--target-version",
            "py311",
            ".",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_project_has_packaging_container_docs_and_tests(task_api_discovery) -> None:
    files = infrastructure(task_api_discovery)
    assert {"pyproject.toml", "README.md", "Dockerfile", "task_api/__init__.py"} <= set(files)
    assert "uvicorn" in files["Dockerfile"] and "create_app" in files["Dockerfile"]
    assert "| Task | `/tasks` |" in files["README.md"]


def test_the_draft_of_a_task_writes_exactly_its_target_files(task_api_discovery, task_api_plan) -> None:
    for task in task_api_plan.tasks:
        assert set(draft_task(task_api_discovery, task)) == set(task.target_files)


@pytest.mark.parametrize(
    ("example", "present", "absent"), [("task_board_ts", "bool", "datetime"), ("event_tickets_ts", "datetime", "bool")]
)
def test_a_typescript_service_checks_only_the_field_types_it_has(example: str, present: str, absent: str) -> None:
    """A check of a type no field has is code no test can reach (and no mutant of it can be killed);
    `ACCEPTS[type]` of a type the fields do have stays."""
    files = _project_files(next(p for p in EXAMPLES if p.stem == example))
    fields, http = files["src/fields.ts"], files["src/http.ts"]
    assert f"  {present}: (value)" in fields and f"  {absent}: (value)" not in fields
    assert ("  bool: (raw)" in http) == (present == "bool")
    assert ("matching.sort(" in files["src/store.ts"]) is False  # neither lists in any order but by id
