"""`dagster dev` on workspace.yaml, the way a user starts the UI: a run launched as the UI launches it
(GraphQL, through the run queue and launcher); and Dagster's own commands in the repository root."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest
from dagster_graphql import DagsterGraphQLClient

from mge_assets.definitions import defs
from mge_assets.readback.report import read_report
from mge_assets_tests.conftest import ROOT, example_path
from mge_assets_tests.processes import free_port

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def _wait(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def _serving(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def dagster_dev(mge_env):
    port = free_port()
    with open(mge_env / "dagster-dev.log", "wb") as log:
        process = subprocess.Popen(
            [str(BIN / "dagster"), "dev", "-w", str(ROOT / "workspace.yaml"), "-p", str(port)],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait(lambda: _serving(port), 180, "the Dagster UI to serve")
            yield DagsterGraphQLClient("127.0.0.1", port_number=port)
        finally:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_a_run_launched_like_the_ui_succeeds(mge_env, dagster_dev) -> None:
    """The inbox sensor under a daemon is test_daemon's; the UI itself, clicked in a browser, is
    deploy/test_dagster_ui's. Here: `dagster dev` as a user starts it, on the embedded default."""
    subprocess.run([str(BIN / "mge"), "submit", str(example_path("blog"))], cwd=mge_env, check=True)
    run_id = dagster_dev.submit_job_execution("request_pipeline", tags={"dagster/partition": "blog"})

    done = ("SUCCESS", "FAILURE", "CANCELED")
    _wait(lambda: dagster_dev.get_run_status(run_id).value in done, 600, "the launched run to finish")
    assert dagster_dev.get_run_status(run_id).value == "SUCCESS", (mge_env / "dagster-dev.log").read_text()[-4000:]
    instance = dg.DagsterInstance.get()
    report = read_report(instance, defs, "blog")
    assert report.gate_s_passed and report.metadata("precision_report", "precision") == 1.0
    assert (mge_env / "mge_workspace" / "blog" / "Dockerfile").is_file()


def test_dagsters_own_commands_work_in_the_repository_root_with_nothing_set() -> None:
    """A new user's habit: `dagster definitions validate -w workspace.yaml` where they cloned it, with no
    DAGSTER_HOME and no Postgres settings (the Postgres instance lives in deploy/postgres/)."""
    assert not (ROOT / "dagster.yaml").exists()
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME" and not k.startswith("MGE_PG_")}
    done = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Validation successful" in done.stdout + done.stderr
