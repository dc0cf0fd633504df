"""Validation of a written project, run through the sandbox.

Level 2, module: every module imports. Level 3, component: the project's own unit tests pass.
Level 4, system: the service starts and answers /health and a list request per resource.
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from mge_assets.acceptance.results import parse_junit
from mge_assets.assemble.write import add_files
from mge_assets.node import compile_project, compiled_path, node_test_command, parse_node_junit
from mge_assets.node.testing import NODE
from mge_assets.sandbox import Limits, SandboxResult, run_in_sandbox

PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml=junit.xml"]


class ProjectChecks(BaseModel):
    """Levels 2-4 of one generated project."""

    model_config = ConfigDict(frozen=True)

    modules: dict[str, str]  # module → "" when it imports, else the error
    system: dict[str, int]  # path → HTTP status
    system_error: str
    unit_tests: dict[str, str]  # test id → outcome
    unit_log: str

    @property
    def modules_ok(self) -> int:
        return sum(not error for error in self.modules.values())

    @property
    def imports(self) -> bool:
        return bool(self.modules) and self.modules_ok == len(self.modules)

    @property
    def unit_passed(self) -> int:
        return sum(outcome == "passed" for outcome in self.unit_tests.values())

    @property
    def unit_tests_pass(self) -> bool:
        return bool(self.unit_tests) and self.unit_passed == len(self.unit_tests)

    @property
    def system_ok(self) -> bool:
        return not self.system_error and bool(self.system) and all(s == 200 for s in self.system.values())

    def level_inputs(self) -> dict[str, str]:
        """What each level's score was computed from, for the precision report."""
        answered = sum(s == 200 for s in self.system.values())
        return {
            "module": f"{self.modules_ok}/{len(self.modules)} modules import",
            "component": f"{self.unit_passed}/{len(self.unit_tests)} unit tests pass",
            "system": f"{answered}/{len(self.system)} requests answered 200"
            + (f" ({self.system_error})" if self.system_error else ""),
        }

    def level_scores(self) -> dict[str, float]:
        return {
            "module": self.modules_ok / len(self.modules) if self.modules else 0.0,
            "component": self.unit_passed / len(self.unit_tests) if self.unit_tests else 0.0,
            "system": 1.0 if self.system_ok else 0.0,
        }


def check_project(
    project: Path,
    package: str,
    modules: list[str],
    paths: list[str],
    timeout_s: float = 120.0,
    language: str = "python",
) -> ProjectChecks:
    """Run the probe and the unit tests of a project in the sandbox (a TypeScript one already compiled)."""
    if language == "typescript":
        return check_typescript_project(project, modules, paths, timeout_s)
    script = resources.files("mge_assets.validation").joinpath("probe_script.py").read_text()
    spec = json.dumps({"package": package, "modules": modules, "paths": paths})
    probe = run_in_sandbox(
        [sys.executable, "-c", script, spec], project, timeout_s=timeout_s, limits=Limits(), collect=("probe.json",)
    )
    report = _probe_report(probe, modules)
    units = run_in_sandbox([*PYTEST, "tests"], project, timeout_s=timeout_s, collect=("junit.xml",))
    outcomes = parse_junit(units.files["junit.xml"]) if "junit.xml" in units.files else {}
    return ProjectChecks(
        modules=report["modules"],
        system=report["system"],
        system_error=report["system_error"],
        unit_tests={test: outcome for test, (outcome, _, _) in outcomes.items()},
        unit_log=(units.stdout + units.stderr)[-3000:],
    )


def check_typescript_project(project: Path, modules: list[str], paths: list[str], timeout_s: float) -> ProjectChecks:
    """Levels 2-4 of a TypeScript project, compiled first (the JavaScript is written into `dist/`): a
    module passes level 2 when it type-checks and loads under node; its unit tests pass under `node
    --test`; its service answers. node's report names no file, so unit test ids are `tests::<name>`
    and every test file is judged by all of them."""
    build = compile_project(project, sorted(str(p.relative_to(project)) for p in project.rglob("*.ts")))
    add_files(project, build.emitted, replace_directories=("dist",))
    script = resources.files("mge_assets.node").joinpath("probe_script.mjs").read_text()
    spec = json.dumps({"compiled": {m: compiled_path(m) for m in modules}, "app": "dist/src/app.js", "paths": paths})
    probe = run_in_sandbox(
        [NODE, "--input-type=module", "-e", script, spec], project, timeout_s=timeout_s, collect=("probe.json",)
    )
    report = _probe_report(probe, modules)
    for module, errors in build.errors.items():
        if module in report["modules"]:
            report["modules"][module] = "type errors: " + "; ".join(errors[:5])
    units = run_in_sandbox(node_test_command(["dist/tests/"], 30), project, timeout_s=timeout_s, collect=("junit.xml",))
    outcomes = parse_node_junit(units.files["junit.xml"]) if "junit.xml" in units.files else {}
    return ProjectChecks(
        modules=report["modules"],
        system=report["system"],
        system_error=report["system_error"],
        unit_tests={f"tests::{name}": outcome for name, (outcome, _, _) in outcomes.items()},
        unit_log=(units.stdout + units.stderr)[-3000:],
    )


def _probe_report(probe: SandboxResult, modules: list[str]) -> dict:
    if "probe.json" in probe.files:
        return json.loads(probe.files["probe.json"])
    return {
        "modules": {m: "the probe did not finish" for m in modules},
        "system": {},
        "system_error": f"probe failed (exit {probe.returncode}{', timed out' if probe.timed_out else ''}): "
        f"{probe.stderr[-500:]}",
    }
