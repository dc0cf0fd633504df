"""The atom_results stage on a real request's atoms: offline, through the simulator, and in mvp mode."""

import asyncio

import pytest

from mge_assets.atomize import reassemble
from mge_assets.execute.pipeline import StageOptions, run_atoms
from mge_assets.ledger import Ledger
from mge_assets.llm import Budget, ModelClient
from mge_assets.llm.anthropic_backend import AnthropicBackend
from mge_assets.llm.governor import RateGovernor
from mge_assets.llm.offline import OfflineBackend
from mge_assets.simulator import SimulatorSettings, running_simulator


def simulated(url: str, **options) -> AnthropicBackend:
    return AnthropicBackend("test-key", "claude-haiku-4-5", base_url=url, governor=RateGovernor(initial=8), **options)


def test_offline_every_atom_valid_with_each_check_recorded(task_api_atoms, tmp_path):
    client = ModelClient(OfflineBackend())
    options = StageOptions(type_check_dir=tmp_path / "types")
    frame, report = asyncio.run(
        run_atoms(task_api_atoms.atoms, task_api_atoms.graph, task_api_atoms.discovery, client, "task-api", options)
    )
    assert (frame["status"] == "valid").all() and len(frame) == len(task_api_atoms.atoms)
    for check in ("parses", "defines_unit", "names", "atomic", "types"):
        assert (frame[f"check_{check}"] == "pass").all(), check
    assert report.makespan_s > 0


def test_injected_defects_are_caught_and_repaired_through_the_sdk(task_api_atoms, tmp_path):
    settings = SimulatorSettings(defect_rate=0.25, seed=7)
    with running_simulator(settings) as (url, simulator):
        client = ModelClient(simulated(url))
        frame, _ = asyncio.run(
            run_atoms(
                task_api_atoms.atoms,
                task_api_atoms.graph,
                task_api_atoms.discovery,
                client,
                "task-api",
                StageOptions(type_check_dir=tmp_path / "types"),
            )
        )
    injected = simulator.stats.defects_injected
    retried = frame[frame["attempts"] > 1]
    assert sum(injected.values()) > 0
    assert len(retried) == simulator.stats.defects_repaired > 0  # every rejected first answer was a defect
    assert (frame["status"] == "valid").all()
    drafts = task_api_atoms.atoms.set_index("id")["code"]
    assert all(frame.set_index("atom_id").loc[retried["atom_id"], "code"] == drafts[retried["atom_id"]])


@pytest.mark.parametrize(
    ("answers", "problem"), [({"malformed_rate": 1.0}, "fenced code block"), ({"empty_rate": 1.0}, "empty answer")]
)
def test_malformed_and_empty_answers_are_failed_attempts(task_api_atoms, tmp_path, answers, problem):
    atoms = task_api_atoms.atoms.head(3)
    with running_simulator(SimulatorSettings(**answers)) as (url, simulator):
        frame, _ = asyncio.run(
            run_atoms(
                atoms,
                task_api_atoms.graph,
                task_api_atoms.discovery,
                ModelClient(simulated(url)),
                "task-api",
                StageOptions(),
            )
        )
    assert (frame["status"] != "valid").all()
    first = frame[frame["status"] == "invalid"].iloc[0]
    assert first["attempts"] == 4 and first["errors"].count(problem) == 4
    assert simulator.stats.atoms_called[first["atom_id"]] == 4  # each bad answer cost one attempt, no more


def test_model_api_down_stops_with_a_clear_message_and_keeps_finished_atoms(task_api_atoms, tmp_path, monkeypatch):
    monkeypatch.setenv("MGE_HOME", str(tmp_path))
    ledger = Ledger("task-api")
    down = AnthropicBackend("k", "claude-haiku-4-5", base_url="http://127.0.0.1:9", max_attempts=2, max_wait_s=0.1)
    frame, report = asyncio.run(
        run_atoms(
            task_api_atoms.atoms,
            task_api_atoms.graph,
            task_api_atoms.discovery,
            ModelClient(down),
            "task-api",
            StageOptions(),
            ledger,
        )
    )
    assert "did not answer" in report.unavailable_error and "re-materialize" in report.unavailable_error
    assert set(frame["status"]) <= {"unavailable", "blocked"}
    with running_simulator() as (url, _):  # the API is back: the same model finishes every atom
        frame, report = asyncio.run(
            run_atoms(
                task_api_atoms.atoms,
                task_api_atoms.graph,
                task_api_atoms.discovery,
                ModelClient(simulated(url)),
                "task-api",
                StageOptions(),
                ledger,
            )
        )
    assert (frame["status"] == "valid").all() and not report.unavailable_error
    again, report = asyncio.run(
        run_atoms(
            task_api_atoms.atoms,
            task_api_atoms.graph,
            task_api_atoms.discovery,
            ModelClient(down),
            "task-api",
            StageOptions(),
            ledger,
        )
    )
    assert report.resumed == len(frame) and (again["status"] == "valid").all()


def test_cost_events_and_budget_refusals(task_api_atoms, tmp_path, monkeypatch):
    monkeypatch.setenv("MGE_HOME", str(tmp_path))
    ledger = Ledger("task-api", "run-1")
    with running_simulator(SimulatorSettings()) as (url, _):
        budget = Budget(cap_usd=0.02)
        client = ModelClient(simulated(url), budget=budget, on_record=ledger.record_call)
        frame, _ = asyncio.run(
            run_atoms(
                task_api_atoms.atoms,
                task_api_atoms.graph,
                task_api_atoms.discovery,
                client,
                "task-api",
                StageOptions(),
                ledger,
            )
        )
    events = ledger.costs()
    assert len(events) == len(client.records) > 0
    assert {e["trace_id"] for e in events} <= set(frame["trace_id"])
    assert sum(e["cost_usd"] for e in events) <= budget.cap_usd
    assert (frame["status"] == "budget").any()


def test_mvp_units_through_the_same_engine(task_api_atoms):
    client = ModelClient(OfflineBackend())
    frame, _report = asyncio.run(
        run_atoms(
            task_api_atoms.atoms,
            task_api_atoms.graph,
            task_api_atoms.discovery,
            client,
            "task-api",
            StageOptions(mode="mvp"),
        )
    )
    units = frame["unit_id"].nunique()
    assert units < len(task_api_atoms.atoms) and client.summary()["model_calls"] == units
    assert (frame["attempts"] <= 1).all() and (frame["check_parses"] == "not run").all()
    rows = task_api_atoms.atoms.set_index("id")
    rebuilt = {path: "".join(group.sort_values("start_byte")["code"]) for path, group in frame.groupby("file")}
    assert rebuilt == reassemble(task_api_atoms.atom_list())
    assert set(frame["atom_id"]) == set(rows.index)
