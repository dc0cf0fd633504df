"""Shared fixtures: example requests, an isolated MGE home and workspace, and the local services."""

import importlib.util
import os
import shutil
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from mge_assets.atomize import Atom, atomize_file
from mge_assets.graph import DependencyGraph, build_graph
from mge_assets.plan import DiscoveryDocument, Masterplan, discover, plan_project
from mge_assets.request import ProjectRequest, parse_request

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples" / "requests").glob("*.md"))
REQUIRE_SERVICES = os.environ.get("MGE_REQUIRE_SERVICES") == "1"


def example_path(name: str) -> Path:
    return ROOT / "examples" / "requests" / f"{name}.md"


def write_files(root: Path, files: dict[str, str]) -> Path:
    """Each `relative path → text` written under `root` (folders made as needed); `root` back."""
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


def benchmark_module(name: str) -> ModuleType:
    """A script of benchmarks/ (not a package) imported as a module, once."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


@pytest.fixture
def task_api_request() -> ProjectRequest:
    return parse_request(example_path("task_api").read_bytes())


@pytest.fixture
def task_api_discovery(task_api_request: ProjectRequest) -> DiscoveryDocument:
    return discover(task_api_request)


@pytest.fixture
def task_api_plan(task_api_discovery: DiscoveryDocument) -> Masterplan:
    return plan_project(task_api_discovery)


@dataclass(frozen=True)
class Drafted:
    discovery: DiscoveryDocument
    atoms: pd.DataFrame
    graph: DependencyGraph

    def atom_list(self) -> list[Atom]:
        return [Atom.from_row(r) for r in self.atoms.to_dict("records")]


@pytest.fixture
def task_api_atoms(task_api_discovery: DiscoveryDocument, task_api_plan: Masterplan) -> Drafted:
    """Atoms and graph of a real request (task_api), built by the pure stages."""
    from mge_assets.synth.render import draft_task

    rows = []
    for task in task_api_plan.tasks:
        for path, code in draft_task(task_api_discovery, task).items():
            rows += [{**a.as_row(), "task_id": task.id} for a in atomize_file(path, code.encode())]
    frame = pd.DataFrame(rows)
    return Drafted(task_api_discovery, frame, build_graph([Atom.from_row(r) for r in rows]))


@pytest.fixture
def mge_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory of its own: MGE home, workspace, inbox and DAGSTER_HOME under tmp_path."""
    monkeypatch.chdir(tmp_path)
    for name in ("MGE_BACKEND", "MGE_MODEL", "MGE_REDIS_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MGE_HOME", str(tmp_path / ".mge"))
    monkeypatch.setenv("MGE_WORKSPACE", str(tmp_path / "mge_workspace"))
    monkeypatch.setenv("MGE_INBOX", str(tmp_path / "mge_inbox"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    (tmp_path / "mge_inbox").mkdir()
    return tmp_path


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip (or, in CI with MGE_REQUIRE_SERVICES=1, fail) when a local service is not reachable."""
    if _reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message}, and MGE_REQUIRE_SERVICES=1 makes it required; start it (see README)")
    pytest.skip(f"{message}; start it to run this test (see README, 'Services')")


def require_tool(command: str) -> str:
    """The path of a real tool a test starts (chromium, promtool, prometheus, docker-compose: `make setup`
    installs them from Debian's packages); skip without it, or fail in CI (MGE_REQUIRE_SERVICES=1)."""
    path = shutil.which(command)
    if path:
        return path
    message = f"{command} is not installed"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message}, and MGE_REQUIRE_SERVICES=1 makes it required; run `make setup`")
    pytest.skip(f"{message}; `make setup` installs it from Debian's packages")


@pytest.fixture
def redis_url() -> str:
    require_service("Redis", "127.0.0.1", 6379)
    return "redis://127.0.0.1:6379/15"


@pytest.fixture
def postgres_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    values = {"MGE_PG_HOST": "127.0.0.1", "MGE_PG_USER": "postgres", "MGE_PG_PASSWORD": "", "MGE_PG_DB": "test"}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values
