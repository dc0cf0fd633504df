"""The atom_results asset in real runs: an unchanged partition re-materialized makes no model call, and
a run process killed mid-wave resumes without redoing the atoms that had finished."""

import os
import signal
import subprocess
import sys
import time

import pytest

from mge_assets.ledger import Ledger
from mge_assets.simulator import SimulatorSettings, running_simulator
from mge_assets_tests.conftest import example_path

pytestmark = pytest.mark.slow


def test_rematerializing_an_unchanged_partition_makes_no_model_call(mge_env):
    import dagster as dg

    from mge_assets.cli import main
    from mge_assets.readback.calls import stage_calls

    assert main(["run", str(example_path("task_api"))]) == 0
    assert main(["run", str(example_path("task_api"))]) == 0
    calls = stage_calls(dg.DagsterInstance.get(), "task-api")
    assert {stage: numbers["model_calls"] for stage, numbers in calls.items()} == dict.fromkeys(calls, 0.0)


def _run(env: dict[str, str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "mge_assets.cli", "run", str(example_path("task_api"))]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def test_a_killed_run_resumes_without_redoing_finished_atoms(mge_env):
    settings = SimulatorSettings(requests_per_minute=900, burst_s=1, latency_mean_s=0.1)  # ~15 atoms a second
    with running_simulator(settings) as (url, simulator):
        env = {
            **os.environ,
            "MGE_BACKEND": "anthropic",
            "ANTHROPIC_BASE_URL": url,
            "ANTHROPIC_API_KEY": "simulated",
            "MGE_MODEL": "claude-haiku-4-5",
        }
        ledger = Ledger("task-api")
        first = _run(env)
        deadline = time.monotonic() + 240
        while ledger.checkpoint_count() < 20:
            assert first.poll() is None, first.stdout.read().decode()[-2000:]
            assert time.monotonic() < deadline, "no atom finished in time"
            time.sleep(0.05)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        finished = {row["atom_id"] for row in _checkpoints(ledger)}
        assert 20 <= len(finished) < 129, "the run must be killed mid-wave"
        calls_before = dict(simulator.stats.atoms_called)
        for cached in (mge_env / ".mge" / "cache").glob("*"):  # so that a redone atom would reach the API
            subprocess.run(["rm", "-rf", str(cached)], check=True)
        second = _run(env)
        output = second.communicate(timeout=600)[0].decode()
        assert second.returncode == 0, output[-3000:]
        calls_after = dict(simulator.stats.atoms_called)
    redone = sorted(a for a in finished if calls_after.get(a, 0) != calls_before.get(a, 0))
    assert redone == []
    assert set(calls_after) - set(calls_before) or any(calls_after[a] > calls_before.get(a, 0) for a in calls_after)
    import dagster as dg

    latest = (
        dg.DagsterInstance.get()
        .fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("atom_results"), asset_partitions=["task-api"]), limit=1
        )
        .records[0]
    )
    metadata = latest.asset_materialization.metadata
    assert metadata["resumed"].value >= len(finished) and metadata["valid"].value == metadata["atoms"].value


def _checkpoints(ledger: Ledger) -> list[dict]:
    import sqlalchemy as sa

    from mge_assets.ledger import atom_checkpoints

    with ledger.engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(sa.select(atom_checkpoints.c.atom_id))]


def test_a_budget_override_replaces_the_cap_and_is_recorded(tmp_path):
    import dagster as dg

    from mge_assets.defs.resources import ModelBackendResource
    from mge_assets_tests.helpers import ASSETS, CHECKS, ledger_url, submit, test_resources

    upstream = dg.AssetSelection.assets("atom_results").upstream()
    backend = ModelBackendResource(
        cache_dir=str(tmp_path / "cache"), database_url=ledger_url(tmp_path), budget_override_usd=7.5
    )
    with dg.instance_for_test() as instance:
        name = submit(instance, tmp_path, example_path("task_api"))
        result = dg.materialize(
            [*ASSETS, *CHECKS],
            selection=upstream,
            instance=instance,
            partition_key=name,
            resources=test_resources(tmp_path, backend),
        )
    assert result.success
    metadata = result.asset_materializations_for_node("atom_results")[0].metadata
    assert metadata["budget_override"].value is True and metadata["budget_usd"].value == 7.5
    gate = next(e for e in result.get_asset_check_evaluations() if e.check_name == "atom_results_budget_cap_held")
    assert gate.passed and gate.metadata["cap_usd"].value == 7.5
    overrides = [e for e in Ledger(name, url=ledger_url(tmp_path)).costs() if e["kind"] == "budget_override"]
    assert len(overrides) == 1 and "to $7.50" in overrides[0]["error"]
