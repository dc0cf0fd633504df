"""Intake stages with materialize(): the request, its discovery document and the masterplan, with gates."""

import json

import dagster as dg
import pytest

from mge_assets.defs.intake import discovery_document, masterplan, project_request
from mge_assets.defs.resources import ModelBackendResource
from mge_assets.plan import Masterplan, discover, plan_project
from mge_assets.readback.report import failure_message
from mge_assets.request import parse_request
from mge_assets_tests.conftest import example_path
from mge_assets_tests.helpers import CHECKS, RewritingModel, backend_serving, submit, test_resources

INTAKE = [project_request, discovery_document, masterplan]


def _intake_checks() -> list:
    keys = {a.key for a in INTAKE}
    return [c for c in CHECKS if {s.asset_key for s in c.check_specs} <= keys]


def test_intake_materializes_with_its_gates_passing(tmp_path) -> None:
    with dg.instance_for_test() as instance:
        name = submit(instance, tmp_path, example_path("task_api"))
        result = dg.materialize(
            [*INTAKE, *_intake_checks()], instance=instance, partition_key=name, resources=test_resources(tmp_path)
        )
        assert result.success
        evaluations = result.get_asset_check_evaluations()
        assert len(evaluations) == 8 and all(e.passed for e in evaluations)
        plan = result.output_for_node("masterplan")
        assert (
            isinstance(plan, Masterplan) and len(plan.tasks) == 21
        )  # rules tasks: Task (its bound), Project (its guard)
        metadata = result.asset_materializations_for_node("masterplan")[0].metadata
        assert metadata["masterplan"].value.startswith("# Masterplan: Task management API")
        discovery = result.asset_materializations_for_node("discovery_document")[0].metadata
        assert discovery["model_calls"].value == 1 and discovery["cost_usd"].value == 0


def test_the_offline_backend_refuses_a_free_form_request_with_a_clear_error(tmp_path) -> None:
    requests = tmp_path / "requests"
    requests.mkdir()
    (requests / "notes.md").write_text("---\nname: notes\n---\n# Notes\n\nKeep notes with tags.\n\n## Requirements\n")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("requests", ["notes"])
        result = dg.materialize(
            INTAKE, instance=instance, partition_key="notes", resources=test_resources(tmp_path), raise_on_error=False
        )
        assert not result.success
        assert failure_message(result.all_events).startswith("discovery_document: mge_assets.errors.RequestError")
        assert "'## Entities'" in failure_message(result.all_events)


def _intake_with(tmp_path, backend: ModelBackendResource) -> dg.ExecuteInProcessResult:
    with dg.instance_for_test() as instance:
        name = submit(instance, tmp_path, example_path("task_api"))
        return dg.materialize(
            INTAKE,
            instance=instance,
            partition_key=name,
            resources=test_resources(tmp_path, backend),
            raise_on_error=False,
        )


def test_anthropic_without_a_key_fails_before_any_stage_runs(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    result = _intake_with(tmp_path, ModelBackendResource(backend="anthropic", cache_dir=str(tmp_path / "cache")))
    assert not result.success
    assert not [e for e in result.all_events if e.event_type_value in ("STEP_START", "ASSET_MATERIALIZATION")]
    assert "resources: mge_assets.errors.SettingsError" in failure_message(result.all_events)
    assert "ANTHROPIC_API_KEY" in failure_message(result.all_events)


def test_an_unknown_backend_is_a_clear_error(tmp_path) -> None:
    result = _intake_with(tmp_path, ModelBackendResource(backend="gpt", cache_dir=str(tmp_path / "cache")))
    assert not result.success
    assert "unknown backend 'gpt'; choose one of offline, anthropic" in failure_message(result.all_events)


class NeverFitting(RewritingModel):
    """A model whose discovery answer always names a language of its own and a type it made up."""

    def rewrite(self, payload: dict, answer: str) -> str:
        if payload["kind"] != "discover":
            return answer
        document = json.loads(answer)
        document["language"] = "Python"
        document["entities"][0]["fields"][0]["type"] = "string"
        return json.dumps(document)


def test_a_discovery_that_never_fits_stops_the_run_at_its_gate_with_the_reasons(tmp_path) -> None:
    with dg.instance_for_test() as instance:
        name = submit(instance, tmp_path, example_path("order_desk"))
        result = dg.materialize(
            [*INTAKE, *_intake_checks()],
            instance=instance,
            partition_key=name,
            resources=test_resources(tmp_path, backend_serving(NeverFitting, tmp_path)),
            raise_on_error=False,
        )
        gate = next(e for e in result.get_asset_check_evaluations() if e.check_name == "discovery_document_consistent")
        assert not gate.passed
        problems = gate.metadata["problems"].value
        assert problems.count("attempt ") == 3 and "'language': Input should be 'python' or 'typescript'" in problems
        materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
        assert materialized == {"project_request", "discovery_document"}  # the masterplan waits for a fitting one
        stored = instance.fetch_materializations(dg.AssetKey("project_request"), limit=1).records
        assert stored  # what came before is kept


def test_order_desk_rules_are_planned_as_tasks_that_read_the_entities_they_need(tmp_path) -> None:
    plan = plan_project(discover(parse_request(example_path("order_desk").read_bytes())))
    by_kind = {(t.kind, t.entity): t for t in plan.tasks}
    order_rules = by_kind[("rules", "Order")]
    assert order_rules.target_files == ("order_desk/rules/order.py",)
    assert set(order_rules.requirement_ids) == {"MUST-04", "MUST-05", "MUST-07", "MUST-10", "SHOULD-02"}
    reads = {plan.task(d).title for d in order_rules.depends_on}
    assert {"Order repository", "Line repository", "Order models", "Domain errors"} <= reads
    assert "MUST-05: total = Σ quantity × unit_price over Line (read-only)" in order_rules.criteria
    line_service = by_kind[("service", "Line")]
    assert {order_rules.id, by_kind[("rules", "Line")].id} <= set(line_service.depends_on)  # a line refreshes totals
    assert set(plan.coverage["MUST-07"]) >= {order_rules.id, by_kind[("routes", "Order")].id}
