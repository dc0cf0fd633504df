"""A request's generated project and acceptance suite from the offline synthesizer, without Dagster:
what the benchmarks and the evidence tests mutate and run (the offline pipeline writes the same files)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mge_assets.acceptance.suite import AcceptanceSuite
from mge_assets.acceptance.writing import write_suite
from mge_assets.llm.client import ModelClient
from mge_assets.llm.offline import OfflineBackend
from mge_assets.node import compile_project
from mge_assets.plan import DiscoveryDocument, discover, plan_project
from mge_assets.request import parse_request
from mge_assets.synth.render import draft_task, infrastructure


def offline_discovery(request_file: Path) -> DiscoveryDocument:
    return discover(parse_request(request_file.read_bytes(), source=str(request_file)))


def offline_project_files(discovery: DiscoveryDocument) -> dict[str, str]:
    """Every file of the generated service (code, unit tests, infrastructure), path → text."""
    files = infrastructure(discovery)
    for task in plan_project(discovery).tasks:
        files.update(draft_task(discovery, task))
    return files


def offline_suite(discovery: DiscoveryDocument) -> AcceptanceSuite:
    """The acceptance suite the offline backend writes for the request's requirements."""
    return asyncio.run(write_suite(discovery, ModelClient(OfflineBackend())))


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def write_built_tree(root: Path, files: dict[str, str], language: str) -> dict[str, list[str]]:
    """`write_tree`, then for a TypeScript project its compiled JavaScript (tsc in the sandbox) beside
    it, emitted even where it does not type-check; returns tsc's errors per file."""
    write_tree(root, files)
    if language != "typescript":
        return {}
    build = compile_project(root, sorted(p for p in files if p.endswith(".ts")))
    write_tree(root, build.emitted)
    return build.errors
