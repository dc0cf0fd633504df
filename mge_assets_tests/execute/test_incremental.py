"""Incremental regeneration: a request edited in one place is re-materialized, and only the answers
whose inputs changed are asked again, each with the input that changed recorded; a cosmetic edit (the
title, a comment) asks nothing."""

from pathlib import Path

import dagster as dg
import pytest

from mge_assets_tests.conftest import example_path
from mge_assets_tests.helpers import ASSETS, CHECKS, submit, test_resources

pytestmark = pytest.mark.slow
UPSTREAM = dg.AssetSelection.assets("atom_results").upstream()
TASK_API = example_path("task_api").read_text()
FIELD_ADDED = TASK_API.replace("description (text), owner", "description (text), budget (int), owner")
RETITLED = FIELD_ADDED.replace("# Task management API\n", "# Task manager\n<!-- reviewed by the team -->\n")


def _materialize(instance: dg.DagsterInstance, root: Path, text: str) -> dict[str, dict]:
    request = root / "task_api.md"
    request.write_text(text)
    name = submit(instance, root, request)
    result = dg.materialize(
        [*ASSETS, *CHECKS], selection=UPSTREAM, instance=instance, partition_key=name, resources=test_resources(root)
    )
    assert result.success
    return {
        stage: {k: v.value for k, v in result.asset_materializations_for_node(stage)[0].metadata.items()}
        for stage in ("discovery_document", "task_drafts", "atom_results")
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, dict[str, dict]]:
    root = tmp_path_factory.mktemp("incremental")
    with dg.instance_for_test() as instance:
        return {
            "cold": _materialize(instance, root, TASK_API),
            "field": _materialize(instance, root, FIELD_ADDED),
            "cosmetic": _materialize(instance, root, RETITLED),
        }


def test_a_field_added_to_one_entity_asks_again_only_what_depends_on_it(runs) -> None:
    cold, field = runs["cold"], runs["field"]
    assert cold["task_drafts"]["answers_regenerated"] == 21 and cold["task_drafts"]["answers_reused"] == 0
    drafts = field["task_drafts"]
    assert 0 < drafts["answers_regenerated"] <= 10 and drafts["answers_reused"] >= 11
    because = drafts["regenerated_because"]
    assert "| T05 | changed: domain, task |" in because  # Project's model: its entity gained a field
    assert "| T07 |" not in because  # Task's model is reused: Task only references Project
    atoms = field["atom_results"]
    asked = atoms["answers_regenerated"]
    assert 0 < asked <= 0.25 * cold["atom_results"]["answers_regenerated"]
    assert asked <= atoms["model_calls"] <= 4 * asked  # one call per atom asked, retries aside
    because = atoms["regenerated_because"]
    assert "| task_api/models/project.py::ProjectCreate | changed: draft |" in because


def test_a_cosmetic_edit_asks_nothing(runs) -> None:
    cosmetic = runs["cosmetic"]
    for stage in ("discovery_document", "task_drafts", "atom_results"):
        assert cosmetic[stage]["model_calls"] == 0, stage
    assert cosmetic["atom_results"]["regenerated_because"] == "nothing: every answer was reused"
