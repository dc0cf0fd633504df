"""The code location loads, and every asset and check carries what the UI shows."""

import itertools
import os
import subprocess
import sys

import dagster as dg

from mge_assets.definitions import defs
from mge_assets.defs.jobs import REPORT_GROUPS
from mge_assets_tests.conftest import ROOT

PIPELINE = [
    "project_request",
    "discovery_document",
    "masterplan",
    "task_drafts",
    "atoms",
    "dependency_graph",
    "atom_results",
    "generated_project",
    "acceptance_tests",
    "acceptance_results",
    "precision_report",
    "review_queue",
]


def test_definitions_are_loadable() -> None:
    dg.Definitions.validate_loadable(defs)


def test_dagster_cli_validates_the_workspace(tmp_path) -> None:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_stage_is_a_partitioned_asset_with_group_kinds_and_docstring() -> None:
    graph = defs.resolve_asset_graph()
    stages = [k for k in graph.get_all_asset_keys() if graph.get(k).group_name not in REPORT_GROUPS]
    assert {k.to_user_string() for k in stages} == set(PIPELINE)
    for key in stages:
        node = graph.get(key)
        assert node.partitions_def is not None and node.partitions_def.name == "requests"
        assert node.group_name != "default", key
        assert node.kinds, key
        assert node.description and len(node.description) > 40, key


def test_lineage_follows_the_pipeline() -> None:
    graph = defs.resolve_asset_graph()
    order = [k.to_user_string() for k in graph.toposorted_asset_keys if graph.get(k).group_name not in REPORT_GROUPS]
    assert order.index("project_request") == 0
    for earlier, later in itertools.pairwise(PIPELINE[:-1]):
        assert order.index(earlier) < order.index(later), (earlier, later)


def test_checks_are_named_after_their_asset_documented_and_gate_s_blocks() -> None:
    checks = dg.load_asset_checks_from_modules(
        [
            __import__(f"mge_assets.defs.{m}", fromlist=["x"])
            for m in ("intake", "drafting", "execution", "acceptance", "scoring")
        ]
    )
    specs = {spec.key.name: spec for check in checks for spec in check.check_specs}
    assert len(specs) >= 18
    for name, spec in specs.items():
        assert name.startswith(spec.asset_key.to_user_string() + "_"), name
        assert spec.description, name
    assert specs["acceptance_results_gate_s"].blocking
    assert not specs["acceptance_tests_every_must_has_test"].blocking


def test_the_job_runs_in_process() -> None:
    job = defs.resolve_job_def("request_pipeline")
    assert job.executor_def.name == "in_process"
