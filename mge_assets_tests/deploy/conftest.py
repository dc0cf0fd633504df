"""Dagster's multi-process deployment of MGE on PostgreSQL, started once for the tests of this folder.

A code location server over gRPC, a workspace.yaml pointing at it, the webserver and the daemon, all
on the instance of deploy/postgres/dagster.yaml (copied into a temporary DAGSTER_HOME) in a database
of the session's own, which is dropped at the end; the ledger (MGE_DATABASE_URL) lives there too.
Every process is started here in a session of its own and stopped here by its process group.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
import pytest
import yaml
from dagster_graphql import DagsterGraphQLClient

from mge_assets.ledger import Ledger
from mge_assets_tests.conftest import ROOT, require_service
from mge_assets_tests.processes import free_port, stop

BIN = Path(sys.executable).parent
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
# The requests the tests of this folder run (partition → text): one entity each, about 20 s a run
# here on the offline backend; what they test is the topology, not the pipeline's breadth.
ONE_ENTITY = """---
name: {name}
title: {title}
budget_usd: 5
---
# {title}

People keep short notes.

## Entities
- Note: title (str, required), body (text)

## Requirements
### MUST
- Every entity can be created, read, updated, deleted and listed over HTTP.
- Creating a Note without a title is rejected with 422.
"""
REQUESTS = {name: ONE_ENTITY.format(name=name, title=name.title()) for name in ("notes", "jottings", "memos")}
STARTUP_S = 240  # only to fail instead of hanging; the topology is up in well under a minute
# What the test process inherits that would leak into the topology (a key, another backend, a cache).
SCRUBBED = ("DAGSTER_HOME", "MGE_BACKEND", "MGE_MODEL", "MGE_REDIS_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")

T = TypeVar("T")


@dataclass
class Topology:
    """The running deployment: its folder, environment, instance (read from the test process), the
    webserver's port, each process and its log."""

    root: Path
    env: dict[str, str]
    instance: dg.DagsterInstance
    config: dict[str, Any]  # the instance's dagster.yaml, parsed
    port: int
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> DagsterGraphQLClient:
        return DagsterGraphQLClient("127.0.0.1", port_number=self.port)

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The webserver's GraphQL answer's `data` (what the UI itself asks)."""
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.load(response)
        assert "errors" not in answer, answer
        return answer["data"]

    def log(self, name: str) -> Path:
        return self.root / f"{name}.log"

    def tail(self, chars: int = 3000) -> str:
        return "".join(
            f"\n--- {name} log (tail) ---\n{self.log(name).read_text(errors='replace')[-chars:]}"
            for name in self.processes
        )

    def wait_for(self, find: Callable[[], T | None], what: str, timeout_s: float) -> T:
        """Poll `find` until it returns something; fail with the logs if a process exits or time runs out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = find()
            if found is not None:
                return found
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise AssertionError(f"{name} exited ({process.returncode}) before {what}{self.tail()}")
            time.sleep(1)
        raise AssertionError(f"no {what} after {timeout_s:.0f} s{self.tail()}")

    def start(self, name: str, argv: list[str]) -> None:
        with self.log(name).open("wb") as out:
            self.processes[name] = subprocess.Popen(
                argv,
                cwd=self.root,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its children (the runs of the code server) share its group
            )

    def run(self, argv: list[str]) -> None:
        done = subprocess.run(argv, cwd=self.root, env=self.env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{' '.join(argv)}: {done.stdout[-2000:]}{done.stderr[-2000:]}"


@contextlib.contextmanager
def _database() -> Iterator[str]:
    """A database of its own on the local PostgreSQL, dropped afterwards."""
    import psycopg2

    name = f"mge_test_{uuid.uuid4().hex[:12]}"

    def execute(statement: str) -> None:
        connection = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres")
        connection.autocommit = True  # CREATE/DROP DATABASE cannot run in a transaction
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement)
        finally:
            connection.close()

    execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _grpc_healthy(port: int, env: dict[str, str]) -> bool | None:
    """The code server's own health check, once its port accepts connections (a check costs a process)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return None
    done = subprocess.run(
        [str(BIN / "dagster"), "api", "grpc-health-check", "-p", str(port), "-h", "127.0.0.1"],
        env=env,
        capture_output=True,
        timeout=60,
    )
    return True if done.returncode == 0 else None


def _serving(port: int) -> bool | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2):
            return True
    except OSError:
        return None


def _queue_daemon_healthy(topology: Topology) -> bool | None:
    data = topology.graphql(
        '{ instance { daemonHealth { daemonStatus(daemonType: "QUEUED_RUN_COORDINATOR") { healthy } } } }'
    )
    return True if data["instance"]["daemonHealth"]["daemonStatus"]["healthy"] else None


@contextlib.contextmanager
def start_topology(root: Path) -> Iterator[Topology]:
    """The code server, webserver and daemon on a fresh PostgreSQL database, with REQUESTS submitted."""
    for tool in ("dagster", "dagster-webserver", "dagster-daemon", "mge"):
        if not (BIN / tool).exists():
            pytest.skip(f"{tool} is not installed at {BIN}; install the project's dependencies")
    with _database() as db:
        home = root / "dagster_home"
        home.mkdir(parents=True)
        shutil.copy(ROOT / "deploy" / "postgres" / "dagster.yaml", home / "dagster.yaml")
        env = {key: value for key, value in os.environ.items() if key not in SCRUBBED}
        env.update(
            DAGSTER_HOME=str(home),
            MGE_PG_HOST=PG_HOST,
            MGE_PG_USER=PG_USER,
            MGE_PG_PASSWORD="",
            MGE_PG_DB=db,
            MGE_HOME=str(root / ".mge"),
            MGE_WORKSPACE=str(root / "mge_workspace"),
            MGE_INBOX=str(root / "mge_inbox"),
            MGE_DATABASE_URL=f"postgresql+psycopg2://{PG_USER}@{PG_HOST}/{db}",
        )
        (root / "mge_inbox").mkdir()
        # Create both schemas once, before three processes (and then two concurrent runs) would race
        # to create the same tables on the empty database.
        with pytest.MonkeyPatch.context() as patch:
            for key in ("MGE_PG_HOST", "MGE_PG_USER", "MGE_PG_PASSWORD", "MGE_PG_DB"):
                patch.setenv(key, env[key])
            instance = dg.DagsterInstance.from_config(str(home))
        ledger = Ledger("setup", url=env["MGE_DATABASE_URL"])
        assert ledger.engine is not None, ledger.warnings
        ledger.engine.dispose()

        grpc_port, port = free_port(), free_port()
        # The workspace a user starts by hand (deploy/postgres/workspace.yaml), on a free port.
        workspace_config = yaml.safe_load((ROOT / "deploy" / "postgres" / "workspace.yaml").read_text())
        [location] = workspace_config["load_from"]
        location["grpc_server"]["port"] = grpc_port
        workspace = root / "workspace.yaml"
        workspace.write_text(yaml.safe_dump(workspace_config))
        config = yaml.safe_load((home / "dagster.yaml").read_text())
        topology = Topology(root, env, instance, config, port)
        try:
            topology.start(
                "code-server",
                [str(BIN / "dagster"), "api", "grpc", "-m", "mge_assets.definitions", "-h", "127.0.0.1",
                 "-p", str(grpc_port), "--location-name", "mge"],
            )  # fmt: skip
            # The partitions, while the code server imports the definitions.
            files = [root / f"{name}.md" for name in REQUESTS]
            for path in files:
                path.write_text(REQUESTS[path.stem])
            topology.run([str(BIN / "mge"), "submit", *map(str, files)])
            topology.wait_for(lambda: _grpc_healthy(grpc_port, env), "healthy gRPC code server", STARTUP_S)
            topology.start(
                "webserver",
                [str(BIN / "dagster-webserver"), "-w", str(workspace), "-h", "127.0.0.1", "-p", str(port)],
            )
            topology.start("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)])
            # The tests count exactly the runs they launch: no mvp baseline after each request run
            # (the sensor acts only once a request run has finished, long after this).
            topology.run([str(BIN / "dagster"), "sensor", "stop", "dual_run", "-w", str(workspace)])
            topology.wait_for(lambda: _serving(port), "webserver answering /server_info", STARTUP_S)
            topology.wait_for(lambda: _queue_daemon_healthy(topology), "run queue daemon heartbeat", STARTUP_S)
            yield topology
        finally:
            for name in ("daemon", "webserver", "code-server"):
                if name in topology.processes:
                    stop(topology.processes[name])
            instance.dispose()


@pytest.fixture(scope="package")  # stopped once the deploy tests are done, not at the end of the session
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    require_service("PostgreSQL", PG_HOST, PG_PORT)
    with start_topology(tmp_path_factory.mktemp("topology")) as running:
        yield running
