"""The gold set: every canary a valid request with a unique name, both languages and rules among them,
expectations naming real gates; a broken manifest is refused with the entry and what to do."""

import re
from pathlib import Path

import dagster as dg
import pytest

from mge_assets.canary.gold import GoldSetError, load_gold_set, unmet_expectations
from mge_assets.cli import main
from mge_assets.definitions import defs
from mge_assets.readback.report import read_report
from mge_assets_tests.conftest import ROOT

GOLD_SET = ROOT / "examples" / "gold_set.yaml"


def test_the_shipped_gold_set_has_at_least_ten_requests_in_both_languages() -> None:
    canaries = load_gold_set(GOLD_SET)
    assert len(canaries) >= 10
    assert {c.language for c in canaries} == {"python", "typescript"}
    assert any(c.expect for c in canaries)  # at least one is expected to fail a gate
    gates = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    for canary in canaries:
        assert set(canary.expect) <= gates, canary.name


def test_a_run_is_held_to_its_expectations() -> None:
    [help_desk] = [c for c in load_gold_set(GOLD_SET) if c.name == "help-desk"]
    run = {"acceptance_results_gate_s": "failed", "precision_report_gate_s": "not run", "atoms_atomicity": "passed"}
    assert unmet_expectations(help_desk, run) == [
        "acceptance_tests_every_must_has_test: expected failed, not reported",
        "discovery_document_rules_understood: expected warning, not reported",
        "precision_report_gate_a: expected not run, not reported",
    ]
    run |= {"atoms_atomicity": "failed"}
    assert "atoms_atomicity: expected passed, got failed" in unmet_expectations(help_desk, run)


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("canaries: []\n", "non-empty list `canaries:`"),
        ("canaries:\n  - requests/task_api.md\n", "write it as `- request: requests/NAME.md`"),
        ("canaries:\n  - request: requests/nowhere.md\n", "canary 1: cannot read"),
        (
            "canaries:\n  - request: requests/task_api.md\n    expect: {acceptance_results_gate_s: red}\n",
            "expects 'red'",
        ),
        ("canaries:\n  - request: requests/task_api.md\n    repeat: 3\n", "unknown key(s) repeat"),
        (
            "canaries:\n  - request: requests/task_api.md\n  - request: requests/task_api.md\n",
            "share the name 'task-api'",
        ),
        ("canaries: [\n", "cannot read the gold set"),
    ],
)
def test_a_broken_manifest_is_refused_naming_the_entry(tmp_path: Path, manifest: str, message: str) -> None:
    (tmp_path / "requests").mkdir()
    (tmp_path / "requests" / "task_api.md").write_bytes((ROOT / "examples/requests/task_api.md").read_bytes())
    path = tmp_path / "gold_set.yaml"
    path.write_text(manifest)
    with pytest.raises(GoldSetError, match=re.escape(message)):
        load_gold_set(path)


def test_the_canary_expected_to_fail_gate_s_ends_exactly_as_the_gold_set_says(mge_env) -> None:
    """help-desk, run as a user runs it, ends in the gates its entry lists (and passes all the others)."""
    [help_desk] = [c for c in load_gold_set(GOLD_SET) if c.name == "help-desk"]
    assert main(["run", str(help_desk.path)]) == 1  # Gate S stops it, as expected
    with dg.DagsterInstance.get() as instance:
        gates = {gate.check: gate.status for gate in read_report(instance, defs, help_desk.name).gates}
    assert unmet_expectations(help_desk, gates) == []
