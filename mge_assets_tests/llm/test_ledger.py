"""cost_events and checkpoints in SQL: SQLite by default, PostgreSQL when configured, and a database
that is down costs a warning, not the run."""

import pytest
import sqlalchemy as sa

from mge_assets.ledger import Ledger, database_url
from mge_assets.llm import CallRecord


def record(trace: str, cost: float) -> CallRecord:
    return CallRecord(trace, "write_atom", "claude-haiku-4-5", 100, 20, 0, 0, cost, 0.5, False)


def exercise(ledger: Ledger) -> None:
    ledger.record_call(record("mge-a", 0.001))
    ledger.record_call(record("mge-b", 0.002))
    ledger.record_override(10.0, 5.0)
    ledger.save("fp-1", "atom-1", {"atom_id": "atom-1", "status": "valid"})
    ledger.save("fp-1", "atom-1", {"atom_id": "atom-1", "status": "valid", "code": "x"})
    events = ledger.costs()
    assert [e["trace_id"] for e in events][:2] == ["mge-a", "mge-b"]
    assert events[2]["kind"] == "budget_override" and "5.00 to $10.00" in events[2]["error"]
    assert sum(e["cost_usd"] for e in events) == pytest.approx(0.003)
    assert ledger.load("fp-1") == {"atom_id": "atom-1", "status": "valid", "code": "x"}
    assert ledger.load("fp-2") is None and ledger.checkpoint_count() == 1


def test_sqlite_under_mge_home_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("MGE_HOME", str(tmp_path))
    monkeypatch.delenv("MGE_DATABASE_URL", raising=False)
    assert database_url() == f"sqlite:///{tmp_path / 'mge.db'}"
    exercise(Ledger("p1", "run-1"))


def test_postgres_when_configured(postgres_env):
    url = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
    with sa.create_engine(url).begin() as connection:
        connection.execute(sa.text("DELETE FROM cost_events WHERE partition = 'pg-test'")) if sa.inspect(
            connection
        ).has_table("cost_events") else None
        connection.execute(sa.text("DELETE FROM atom_checkpoints WHERE partition = 'pg-test'")) if sa.inspect(
            connection
        ).has_table("atom_checkpoints") else None
    exercise(Ledger("pg-test", "run-1", url))


def test_unreachable_database_degrades_with_a_warning():
    ledger = Ledger("p1", "run-1", "postgresql+psycopg2://nobody@127.0.0.1:9/none")
    ledger.record_call(record("mge-a", 0.001))
    ledger.save("fp", "atom", {"status": "valid"})
    assert ledger.load("fp") is None and ledger.costs() == []
    assert ledger.warnings and "unavailable" in ledger.warnings[0] and "going on without it" in ledger.warnings[0]


def test_the_budget_counts_every_earlier_run_of_the_project_but_not_fresh_runs(tmp_path):
    url = f"sqlite:///{tmp_path / 'mge.db'}"
    Ledger("p1", "run-1", url).record_call(record("p1:a", 0.25))
    Ledger("p1", "review-suggestion", url).record_call(record("p1:b", 0.5))
    Ledger("p1", "canary-1", url, fresh=True).record_call(record("p1:c", 2.0))
    Ledger("p2", "run-9", url).record_call(record("p2:a", 4.0))
    current = Ledger("p1", "run-2", url)
    current.record_call(record("p1:a", 0.125))
    assert current.project_spend() == (pytest.approx(0.125), pytest.approx(0.75))
    canary = Ledger("p1", "canary-2", url, fresh=True)  # a cold project of its own
    canary.record_call(record("p1:a", 1.0))
    assert canary.project_spend() == (pytest.approx(1.0), 0.0)
    assert Ledger("p1", "run-3", url).project_spend() == (0.0, pytest.approx(0.875))
