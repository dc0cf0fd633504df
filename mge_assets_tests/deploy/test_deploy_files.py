"""The files that deploy MGE the way Dagster scales out, checked here without Docker's engine or Kubernetes.

- deploy/docker-compose.yaml through the real `docker-compose config` (Debian's package), then its
  parsed result: five services, their health checks and start order, one image for the code location
  and the runs, and the run launcher's config (deploy/docker/) against what compose provides.
- deploy/helm/values.yaml against the chart's schema for the sections it sets
  (deploy/helm/chart-schema/, see its NOTICE.md), with jsonschema.
- the Dockerfile parsed, and its CMD started here with the venv's dagster: a code location that answers
  a gRPC health check and serves MGE's jobs.
- the queue limits of deploy/postgres/dagster.yaml, mirrored by the compose instance and the Helm values.
"""

from __future__ import annotations

import contextlib
import copy
import fnmatch
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from mge_assets.defs.tags import CANARY_TAG
from mge_assets_tests.conftest import ROOT, require_tool
from mge_assets_tests.processes import free_port

DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yaml"
DOCKER_INSTANCE = DEPLOY / "docker" / "dagster.yaml"
DOCKER_WORKSPACE = DEPLOY / "docker" / "workspace.yaml"
POSTGRES_INSTANCE = DEPLOY / "postgres" / "dagster.yaml"
HELM_VALUES = DEPLOY / "helm" / "values.yaml"
CHART_SCHEMA = DEPLOY / "helm" / "chart-schema" / "values.subset.schema.json"
BIN = Path(sys.executable).parent
SERVICES = {"postgres", "redis", "code-location", "webserver", "daemon"}
# A password only this test knows: it must reach the services through the environment, never the file.
SENTINEL_PASSWORD = "pw-known-only-to-this-test-7f3a"
SECRET_KEY = re.compile(r"(password|secret|api_key|apikey|token)$", re.IGNORECASE)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    tool = require_tool("docker-compose")
    # Only what the file interpolates: nothing of the caller's shell (a real key) reaches the output.
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [tool, "-f", str(COMPOSE_FILE), "config"],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    done = compose_config({"MGE_PG_PASSWORD": SENTINEL_PASSWORD})
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (dotted path, value) of a parsed YAML document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}[{index}]")
    else:
        yield path, node


# --- docker-compose -----------------------------------------------------------------------------------


def test_compose_has_the_five_services_each_with_a_health_check(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == SERVICES
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert services["code-location"]["healthcheck"]["test"][1:4] == ["dagster", "api", "grpc-health-check"]


def test_compose_starts_each_service_after_what_it_needs_is_healthy(compose: dict[str, Any]) -> None:
    services = compose["services"]
    needs = {
        "code-location": {"postgres", "redis"},
        "webserver": {"postgres", "code-location"},
        "daemon": {"postgres", "redis", "code-location"},
    }
    for name, required in needs.items():
        depends_on = services[name]["depends_on"]
        assert required <= set(depends_on), f"{name} does not wait for {required - set(depends_on)}"
        for dependency in required:
            assert depends_on[dependency]["condition"] == "service_healthy", (name, dependency)
    assert not services["postgres"].get("depends_on") and not services["redis"].get("depends_on")


def test_the_code_location_and_every_run_share_one_image(compose: dict[str, Any]) -> None:
    services = compose["services"]
    image = services["code-location"]["image"]
    assert services["code-location"]["build"]["context"] == str(ROOT)
    # The run launcher takes the image the code location reports; the webserver and daemon are the same image.
    assert services["code-location"]["environment"]["DAGSTER_CURRENT_IMAGE"] == image
    assert services["webserver"]["image"] == services["daemon"]["image"] == image
    assert "image" not in load_yaml(DOCKER_INSTANCE)["run_launcher"].get("config", {})


def test_the_image_is_the_one_named_by_mge_image() -> None:
    done = compose_config({"MGE_PG_PASSWORD": SENTINEL_PASSWORD, "MGE_IMAGE": "registry.test/mge:1.2.3"})
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    assert {services[name]["image"] for name in ("code-location", "webserver", "daemon")} == {"registry.test/mge:1.2.3"}
    assert services["code-location"]["environment"]["DAGSTER_CURRENT_IMAGE"] == "registry.test/mge:1.2.3"


def test_compose_refuses_to_start_without_the_postgres_password() -> None:
    done = compose_config({})
    assert done.returncode != 0
    assert "MGE_PG_PASSWORD" in done.stderr


def test_secrets_come_from_the_environment_not_the_compose_file(compose: dict[str, Any]) -> None:
    raw = load_yaml(COMPOSE_FILE)
    for path, value in walk(raw):
        if SECRET_KEY.search(path.rsplit(".", 1)[-1]) and isinstance(value, str):
            assert value.startswith("${"), f"{path} holds a value, not a reference to the environment: {value!r}"
    assert SENTINEL_PASSWORD not in COMPOSE_FILE.read_text()
    services = compose["services"]
    # The password given in the environment reached the processes that need it ...
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == SENTINEL_PASSWORD
    assert services["daemon"]["environment"]["MGE_PG_PASSWORD"] == SENTINEL_PASSWORD
    # ... and the model's key only the daemon, which hands it to the runs; empty when the shell has none.
    holders = {name for name, service in services.items() if "ANTHROPIC_API_KEY" in service.get("environment", {})}
    assert holders == {"daemon"}
    assert services["daemon"]["environment"]["ANTHROPIC_API_KEY"] == ""


def test_the_docker_run_launcher_gets_what_compose_provides(compose: dict[str, Any]) -> None:
    instance = load_yaml(DOCKER_INSTANCE)
    assert instance["run_coordinator"]["class"] == "QueuedRunCoordinator"
    launcher = instance["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_docker", "DockerRunLauncher")
    config = launcher["config"]
    # DockerRunLauncher raises for a listed variable the daemon does not have.
    daemon_env = compose["services"]["daemon"]["environment"]
    missing = [name for name in config["env_vars"] if "=" not in name and name not in daemon_env]
    assert not missing, f"the daemon's environment lacks {missing}"
    for storage_var in ("MGE_PG_HOST", "MGE_PG_USER", "MGE_PG_PASSWORD", "MGE_PG_DB", "MGE_BACKEND"):
        assert storage_var in config["env_vars"]
    # The network and volume the run containers join are the ones compose creates, by their fixed names.
    assert compose["networks"][config["network"]]["name"] == config["network"]
    volume_names = {volume.get("name") for volume in compose["volumes"].values() if volume}
    for mount in config["container_kwargs"]["volumes"]:
        assert mount.split(":")[0] in volume_names, mount
    code_location_mounts = compose["services"]["code-location"]["volumes"]
    assert any(str(mount).startswith("mge-data:/data") for mount in code_location_mounts)


def test_the_webserver_and_daemon_load_the_instance_and_workspace_of_deploy_docker(compose: dict[str, Any]) -> None:
    for name in ("webserver", "daemon"):
        service = compose["services"][name]
        mounts = dict(str(mount).split(":")[:2] for mount in service["volumes"])
        home = service["environment"]["DAGSTER_HOME"]
        assert mounts[str(DOCKER_INSTANCE)] == f"{home}/dagster.yaml"
        workspace_path = mounts[str(DOCKER_WORKSPACE)]
        assert workspace_path in service["command"]
    server = load_yaml(DOCKER_WORKSPACE)["load_from"][0]["grpc_server"]
    assert server["host"] in compose["services"] and server["port"] == dockerfile().port


# --- the queue limits ---------------------------------------------------------------------------------


def postgres_limits() -> dict[str, Any]:
    return load_yaml(POSTGRES_INSTANCE)["concurrency"]


def test_the_compose_instance_mirrors_the_postgres_instances_limits() -> None:
    reference, docker = postgres_limits(), load_yaml(DOCKER_INSTANCE)["concurrency"]
    assert docker["runs"]["max_concurrent_runs"] == reference["runs"]["max_concurrent_runs"]
    assert docker["pools"] == reference["pools"]
    for limit in reference["runs"].get("tag_concurrency_limits", []):
        assert limit in docker["runs"]["tag_concurrency_limits"]
    assert {"key": CANARY_TAG, "limit": 1} in docker["runs"]["tag_concurrency_limits"]


def test_the_helm_values_mirror_the_postgres_instances_limits() -> None:
    reference, helm = postgres_limits(), load_yaml(HELM_VALUES)["concurrency"]
    assert helm["enabled"] is True
    assert helm["runs"]["maxConcurrentRuns"] == reference["runs"]["max_concurrent_runs"]
    assert helm["pools"]["defaultLimit"] == reference["pools"]["default_limit"]
    for limit in reference["runs"].get("tag_concurrency_limits", []):
        assert limit in helm["runs"]["tagConcurrencyLimits"]
    assert {"key": CANARY_TAG, "limit": 1} in helm["runs"]["tagConcurrencyLimits"]


# --- Helm ---------------------------------------------------------------------------------------------


def chart_validator() -> jsonschema.Draft7Validator:
    schema = json.loads(CHART_SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def schema_errors(values: dict[str, Any]) -> list[str]:
    return [
        f"{'.'.join(map(str, error.absolute_path))}: {error.message}" for error in chart_validator().iter_errors(values)
    ]


def test_the_helm_values_satisfy_the_charts_schema() -> None:
    assert schema_errors(load_yaml(HELM_VALUES)) == []


@pytest.mark.parametrize(
    ("where", "change"),
    [
        ("a misspelt K8sRunLauncher field", lambda v: v["runLauncher"]["config"]["k8sRunLauncher"].update(envVar=[])),
        ("an unknown run launcher", lambda v: v["runLauncher"].update(type="DockerRunLauncher")),
        ("a K8sRunLauncher without its config", lambda v: v["runLauncher"]["config"].pop("k8sRunLauncher")),
        ("a port as text", lambda v: v["dagster-user-deployments"]["deployments"][0].update(port="4000")),
        ("a deployment without an image", lambda v: v["dagster-user-deployments"]["deployments"][0].pop("image")),
        ("a tag limit without a limit", lambda v: v["concurrency"]["runs"]["tagConcurrencyLimits"][0].pop("limit")),
        ("the old queue field name", lambda v: v["concurrency"]["runs"].update(max_concurrent_runs=4)),
    ],
)
def test_the_charts_schema_rejects_values_the_chart_would_refuse(where: str, change: Any) -> None:
    values = copy.deepcopy(load_yaml(HELM_VALUES))
    change(values)
    assert schema_errors(values), f"{where} passed the schema"


def test_the_helm_values_pin_the_chart_of_the_installed_dagster() -> None:
    pinned = re.search(r"dagster/dagster, version (\d+)\.(\d+)\.(\d+)", HELM_VALUES.read_text())
    assert pinned, "deploy/helm/values.yaml names no chart version"
    assert f"--version {'.'.join(pinned.groups())}" in HELM_VALUES.read_text()
    assert pinned.groups()[:2] == tuple(version("dagster").split(".")[:2])
    notice = (CHART_SCHEMA.parent / "NOTICE.md").read_text()
    assert f"{'.'.join(pinned.groups())}" in notice and "Apache" in notice


def test_the_helm_values_run_mge_with_the_k8s_run_launcher() -> None:
    values = load_yaml(HELM_VALUES)
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    coordinator = values["dagsterDaemon"]["runCoordinator"]
    assert coordinator["enabled"] is True and coordinator["type"] == "QueuedRunCoordinator"
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["image"]["repository"] and deployment["image"]["tag"]
    args = deployment["dagsterApiGrpcArgs"]
    assert args[args.index("-m") + 1] == "mge_assets.definitions"
    assert deployment["port"] == dockerfile().port
    # The runs get the deployment's env, the secret with the key and the shared volume.
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True
    assert {"name": "mge-secrets"} in deployment["envSecrets"]
    assert any(mount["mountPath"] == "/data" for mount in deployment["volumeMounts"])
    env = {item["name"]: item for item in deployment["env"]}
    assert env["MGE_REDIS_URL"]["value"].startswith("redis://")
    assert "ANTHROPIC_API_KEY" not in env and "MGE_DATABASE_URL" not in env, "secrets belong in mge-secrets"
    for path, value in walk(values):
        if SECRET_KEY.search(path.rsplit(".", 1)[-1]):
            assert not isinstance(value, str), f"{path} holds a value; use a Secret"
    assert values["generatePostgresqlPasswordSecret"] is False and values["global"]["postgresqlSecretName"]


# --- Dockerfile ---------------------------------------------------------------------------------------


@dataclass
class Dockerfile:
    instructions: list[tuple[str, str]]  # (INSTRUCTION, arguments), continuation lines joined

    def all(self, name: str) -> list[str]:
        return [args for instruction, args in self.instructions if instruction == name]

    def final_stage(self) -> list[tuple[str, str]]:
        starts = [i for i, (instruction, _) in enumerate(self.instructions) if instruction == "FROM"]
        return self.instructions[starts[-1] :]

    @property
    def cmd(self) -> list[str]:
        (cmd,) = [args for instruction, args in self.final_stage() if instruction == "CMD"]
        return json.loads(cmd)  # the exec form: no shell between the container and dagster

    @property
    def port(self) -> int:
        (exposed,) = [args for instruction, args in self.final_stage() if instruction == "EXPOSE"]
        return int(exposed.split("/")[0])


def dockerfile() -> Dockerfile:
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, args = line.partition(" ")
            instructions.append((instruction.upper(), args.strip()))
    return Dockerfile(instructions)


def test_the_dockerfile_builds_a_pinned_non_root_image_of_the_code_location() -> None:
    parsed = dockerfile()
    bases = [args.split()[0] for args in parsed.all("FROM")]
    assert all(re.fullmatch(r"[\w./-]+:[\w.-]+", base) and not base.endswith(":latest") for base in bases), bases
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", bases[-1]), bases[-1]
    users = [args for instruction, args in parsed.final_stage() if instruction == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), users
    env_names = [word.split("=")[0] for args in parsed.all("ENV") for word in shlex.split(args)]
    assert not [name for name in env_names if SECRET_KEY.search(name) or name.startswith("ANTHROPIC")], env_names
    assert "MGE_NODE_MODULES" in env_names
    assert not [args for args in parsed.all("ARG") if SECRET_KEY.search(args.split("=")[0])]
    cmd = parsed.cmd
    assert cmd[:3] == ["dagster", "code-server", "start"]
    assert cmd[cmd.index("-m") + 1] == "mge_assets.definitions"
    assert cmd[cmd.index("-h") + 1] == "0.0.0.0" and int(cmd[cmd.index("-p") + 1]) == parsed.port
    runs = " ".join(parsed.all("RUN"))
    assert "npm ci" in runs and re.search(r"pip install (?!-e)\S+", runs) and " -e " not in runs


def test_what_the_dockerfile_copies_exists_and_is_in_the_build_context() -> None:
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for needed in (".venv", ".git", "node_modules", ".mge", "mge_workspace"):
        assert needed in ignored, f".dockerignore lets {needed} into the build context"
    sources = []
    for args in dockerfile().all("COPY"):
        if args.startswith("--from="):
            continue  # from an earlier stage, not the build context
        sources += args.split()[:-1]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
        assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), f"COPY {source} is in .dockerignore"


def test_the_images_command_serves_mge_as_a_healthy_code_location(mge_env: Path) -> None:
    """The Dockerfile's CMD, run with the venv's dagster: on loopback and a free port, otherwise as is."""
    cmd = dockerfile().cmd
    port = free_port()
    argv = [str(BIN / cmd[0]), *cmd[1:]]
    argv[argv.index("-h") + 1] = "127.0.0.1"
    argv[argv.index("-p") + 1] = str(port)
    env = {**os.environ, "MGE_NODE_MODULES": str(ROOT / "node_modules")}
    log = mge_env / "code-server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            argv, cwd=mge_env, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        # The proxy opens its port once the definitions have loaded; a cheap probe until then, so the
        # import is not slowed by a dagster CLI started every half second.
        deadline = time.monotonic() + 90
        while not listening(port):
            assert server.poll() is None, f"the code server exited:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, (
                f"the code server is not listening after 90 s:\n{log.read_text()[-3000:]}"
            )
            time.sleep(0.25)
        health = [str(BIN / "dagster"), "api", "grpc-health-check", "-h", "127.0.0.1", "-p", str(port)]
        while (answer := subprocess.run(health, env=env, capture_output=True, text=True, timeout=60)).returncode:
            assert time.monotonic() < deadline, f"no healthy code server after 90 s: {answer.stdout}{answer.stderr}"
            time.sleep(0.5)
        assert "Started Dagster code server for module mge_assets.definitions" in log.read_text()
    finally:
        stop(server)


def listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def stop(server: subprocess.Popen[bytes]) -> None:
    """Stop the server this test started: its session's process group is it and the gRPC server it spawned
    (the code server takes its time over SIGTERM, so SIGKILL follows after a few seconds)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.wait(timeout=3)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)
    server.wait()
