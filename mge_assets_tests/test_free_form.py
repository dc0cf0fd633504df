"""Free-form requests (no `## Entities`) end to end with the `anthropic` backend, through the real SDK,
against the simulator answering from a recorded conversation (mge_assets_tests/fixtures/conversations).

Each recording holds answers a model could give: a discovery document that is malformed the first time
(a wrong language and field type; or no JSON at all) and right after the validator's feedback, a draft
that tries to write outside the project, an atom with a syntax slip, and tests that cannot be trusted
(one passes against the broken build, one passes on the service without its rule)."""

from collections import Counter
from pathlib import Path

import dagster as dg
import pytest

from mge_assets.acceptance.results import AcceptanceResults
from mge_assets.acceptance.suite import AcceptanceSuite
from mge_assets.defs.metadata import MODEL_STAGES
from mge_assets.defs.resources import ModelBackendResource
from mge_assets.ledger import Ledger
from mge_assets.plan import DiscoveryDocument
from mge_assets.request.submit import submit_request
from mge_assets.simulator import SimulatorSettings, running_simulator
from mge_assets_tests.helpers import ASSETS, CHECKS, ledger_url, test_resources

pytestmark = pytest.mark.slow
CONVERSATIONS = Path(__file__).parent / "fixtures" / "conversations"


class FreeFormRun:
    """One free-form request run end to end: its result, the simulator's counts and the instance."""

    def __init__(self, name: str, root: Path) -> None:
        folder = CONVERSATIONS / name
        self.instance = dg.DagsterInstance.ephemeral()
        submission = submit_request((folder / "request.md").read_bytes(), "request.md", root / "requests", "anthropic")
        self.name = submission.request.name
        self.instance.add_dynamic_partitions("requests", [self.name])
        with running_simulator(SimulatorSettings(script=str(folder / "script.json"))) as (url, simulator):
            backend = ModelBackendResource(
                backend="anthropic",
                model="claude-haiku-4-5",
                api_key="simulated",
                base_url=url,
                cache_dir=str(root / "cache"),
                database_url=ledger_url(root),
            )
            self.result = dg.materialize(
                [*ASSETS, *CHECKS],
                instance=self.instance,
                partition_key=self.name,
                resources=test_resources(root, backend),
                raise_on_error=False,
            )
            self.stats = simulator.stats
        self.root = root

    def check(self, name: str) -> dg.AssetCheckEvaluation:
        return next(e for e in self.result.get_asset_check_evaluations() if e.check_name == name)

    def metadata(self, asset: str) -> dict[str, object]:
        event = next(e for e in self.result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset)
        return {k: v.value for k, v in event.materialization.metadata.items()}


@pytest.fixture(scope="module")
def study_groups(tmp_path_factory) -> FreeFormRun:
    return FreeFormRun("study_groups", tmp_path_factory.mktemp("study-groups"))


@pytest.fixture(scope="module")
def repair_shop(tmp_path_factory) -> FreeFormRun:
    return FreeFormRun("repair_shop", tmp_path_factory.mktemp("repair-shop"))


def test_a_malformed_discovery_is_refused_with_its_reasons_and_the_corrected_one_is_used(study_groups) -> None:
    meta = study_groups.metadata("discovery_document")
    assert meta["attempts"] == 2
    refused = meta["refused_answers"]
    assert "'language': Input should be 'python' or 'typescript'" in refused
    assert study_groups.stats.scripted["discover"] == 2
    document = study_groups.result.output_for_node("discovery_document")
    assert isinstance(document, DiscoveryDocument)
    assert {e.name for e in document.entities} == {"Student", "Group", "Membership", "Session"}
    assert {r.kind for r in document.rules} >= {"bound", "date_order", "lifecycle", "quota", "computed", "action"}
    lines = (CONVERSATIONS / "study_groups" / "request.md").read_text().splitlines()
    assert all(rule.text in lines[rule.line - 1] for rule in document.rules)  # the request's own lines
    assert study_groups.check("discovery_document_consistent").passed


def test_a_draft_that_leaves_the_project_is_refused_and_retried(study_groups) -> None:
    drafts = study_groups.result.output_for_node("task_drafts")
    rules = drafts[drafts["file"] == "study_groups/rules/session.py"].iloc[0]
    assert rules["parses"] and rules["attempts"] == 2
    assert not list(study_groups.root.parent.glob("**/escaped.py"))


def test_an_atom_with_a_syntax_slip_is_repaired_with_the_validators_feedback(study_groups) -> None:
    results = study_groups.result.output_for_node("atom_results")
    atom = results[results["atom_id"].str.endswith("_ends_at_after_starts_at")].iloc[0]
    assert atom["attempts"] == 2 and atom["status"] == "valid"
    assert study_groups.stats.scripted["write_atom"] == 2


def test_untrusted_tests_are_dropped_and_the_requirements_keep_their_trusted_ones(study_groups) -> None:
    suite = study_groups.result.output_for_node("acceptance_tests")
    assert isinstance(suite, AcceptanceSuite)
    names = {c.name for c in suite.cases}
    assert "test_should_03__sessions_listing_answers" not in names  # passes against the broken build
    assert "test_must_02__group_capacity_inside_is_accepted" not in names  # passes without the rule
    assert any(n.startswith("test_must_02__") for n in names) and any(n.startswith("test_should_03__") for n in names)
    assert study_groups.metadata("acceptance_tests")["tests_untrusted"] == 2  # the two above, no other


def test_the_free_form_service_passes_every_gate(study_groups) -> None:
    assert study_groups.result.success
    results = study_groups.result.output_for_node("acceptance_results")
    assert isinstance(results, AcceptanceResults)
    assert all(r.passed for r in results.requirements)
    assert study_groups.metadata("precision_report")["precision"] == 1.0
    assert study_groups.stats.status[200] == study_groups.stats.answered > 100


def test_every_model_call_of_every_stage_is_a_cost_event_with_its_stage_and_trace(study_groups) -> None:
    rows = [r for r in Ledger(study_groups.name, url=ledger_url(study_groups.root)).costs() if not r["cached"]]
    assert len(rows) == study_groups.stats.answered  # each answer the API gave, whichever stage asked
    by_stage = Counter(r["stage"] for r in rows)
    assert set(by_stage) == set(MODEL_STAGES)
    for stage in MODEL_STAGES:
        meta = study_groups.metadata(stage)
        assert by_stage[stage] == meta["model_calls"], stage
        spent = sum(r["cost_usd"] for r in rows if r["stage"] == stage)
        assert spent == pytest.approx(meta["cost_usd"], abs=1e-6) and spent > 0, stage
    prefix = {"atom_results": "mge-"}  # an atom's trace id is a digest of partition and atom id
    assert all(r["trace_id"].startswith(prefix.get(r["stage"], f"{study_groups.name}:")) for r in rows)
    assert {r["run_id"] for r in rows} == {study_groups.result.run_id}


def test_garbage_instead_of_json_is_retried_and_a_typescript_service_is_written(repair_shop) -> None:
    meta = repair_shop.metadata("discovery_document")
    assert meta["attempts"] == 2 and "not valid JSON" in meta["refused_answers"]
    project = Path(repair_shop.result.output_for_node("generated_project").root)
    assert (project / "src" / "rules" / "job.ts").is_file()
    assert repair_shop.check("generated_project_unit_tests_pass").passed


def test_a_requirement_left_without_a_trusted_test_is_untestable_and_fails_gate_s(repair_shop) -> None:
    results = repair_shop.result.output_for_node("acceptance_results")
    should = next(r for r in results.requirements if r.requirement_id == "SHOULD-03")
    assert not should.passed and should.reason.startswith("untestable: no trusted test")
    assert "passes against a broken build" in should.reason
    assert all(r.passed for r in results.requirements if r.requirement_id != "SHOULD-03")
    gate = repair_shop.check("acceptance_results_gate_s")
    assert not gate.passed and "SHOULD-03" in gate.metadata["failed_requirements"].value
    assert not repair_shop.result.success
