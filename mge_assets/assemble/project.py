"""The generated project: atoms joined back into files, plus infrastructure from templates."""

from __future__ import annotations

import pandas as pd
from pydantic import BaseModel, ConfigDict

from mge_assets.graph.build import module_name
from mge_assets.plan.discovery import DiscoveryDocument
from mge_assets.synth.render import infrastructure
from mge_assets.synth.views import entity_views
from mge_assets.validation.project import ProjectChecks


class GeneratedProject(BaseModel):
    """Where a project was written, what it holds, and how its module, component and system checks went."""

    model_config = ConfigDict(frozen=True)

    name: str
    root: str
    package: str
    files: dict[str, int]
    modules: tuple[str, ...]
    entity_paths: tuple[str, ...]
    checks: ProjectChecks

    def file_ok(self, path: str) -> bool:
        """Level 2 for a file: its module imports; for a test file, its own unit tests pass."""
        if path.startswith("tests/"):
            own = {t: o for t, o in self.checks.unit_tests.items() if t.startswith(path + "::")}
            relevant = own or self.checks.unit_tests  # conftest.py: judged by every unit test
            return bool(relevant) and all(o == "passed" for o in relevant.values())
        return self.checks.modules.get(module_id(path)) == ""


def assemble_files(results: pd.DataFrame, discovery: DiscoveryDocument) -> dict[str, str]:
    """Every generated file from its atoms' final code (in byte order), plus the infrastructure files."""
    files = {
        path: "".join(group.sort_values("start_byte")["code"]) for path, group in results.groupby("file", sort=True)
    }
    return {**infrastructure(discovery), **files}


# A TypeScript project's entry point: it starts listening when loaded, so level 2 does not load it.
TYPESCRIPT_ENTRY = "src/main.ts"


def module_id(path: str) -> str:
    """How level 2 names a module: dotted for Python, the source path for TypeScript."""
    return path if path.endswith(".ts") else module_name(path)


def project_modules(files: dict[str, str], package: str, language: str = "python") -> list[str]:
    """The service's modules (not its tests) that level 2 loads."""
    if language == "typescript":
        return sorted(p for p in files if p.startswith("src/") and p.endswith(".ts") and p != TYPESCRIPT_ENTRY)
    return sorted(module_name(p) for p in files if p.endswith(".py") and p.startswith(f"{package}/"))


def entity_paths(discovery: DiscoveryDocument) -> list[str]:
    return [view.path for view in entity_views(discovery)]
