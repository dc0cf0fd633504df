"""The real services: the pipeline on a PostgreSQL-backed Dagster instance (deploy/postgres/dagster.yaml)."""

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import pytest

from mge_assets_tests.conftest import ROOT, example_path

pytestmark = pytest.mark.services
BIN = Path(sys.executable).parent


def test_the_main_job_runs_on_postgres_through_the_projects_dagster_yaml(mge_env, postgres_env, monkeypatch) -> None:
    home = mge_env / "pg_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "postgres" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    name = f"pg-{uuid.uuid4().hex[:8]}"
    request = mge_env / "request.md"
    request.write_text(example_path("task_api").read_text().replace("name: task-api", f"name: {name}"))

    run = subprocess.run(
        [str(BIN / "mge"), "run", str(request)], cwd=mge_env, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Precision: 1.0000" in run.stdout

    instance = dg.DagsterInstance.get()
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert name in instance.get_dynamic_partitions("requests")
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("precision_report"), asset_partitions=[name]), limit=1
    ).records
    assert records and records[0].asset_materialization.metadata["precision"].value == 1.0
    report = subprocess.run([str(BIN / "mge"), "report", name], cwd=mge_env, capture_output=True, text=True)
    assert report.returncode == 0 and "PASS  acceptance_results_gate_s" in report.stdout
