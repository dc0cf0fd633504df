"""The review core without Dagster: the decisions store (SQLite and PostgreSQL), the rules a decision
must meet, applying decisions to atom results, the AI suggestion, spot checks; and the sensor's skips."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

from mge_assets.atomize import atomize_file
from mge_assets.defs.resources import ModelBackendResource
from mge_assets.defs.sensors import review_decisions
from mge_assets.errors import MgeError
from mge_assets.execute.pipeline import StageOptions, run_atoms
from mge_assets.ledger import Ledger
from mge_assets.llm import ModelClient
from mge_assets.llm.anthropic_backend import AnthropicBackend
from mge_assets.llm.governor import RateGovernor
from mge_assets.llm.offline import OfflineBackend
from mge_assets.llm.types import ModelRequest, ModelResponse, Usage
from mge_assets.review.apply import ReviewContext, TypedRevalidation, apply_review
from mge_assets.review.decide import RefusedEdit, new_decision, undo_decision
from mge_assets.review.items import ReviewItem, status_of
from mge_assets.review.spot import SPOT_CHECK_SHARE, spot_checks
from mge_assets.review.stats import review_stats
from mge_assets.review.store import Decision, NewDecision, ReviewStore, Suggestion, code_sha
from mge_assets.review.suggest import suggest
from mge_assets.simulator import SimulatorSettings, running_simulator
from mge_assets_tests.conftest import Drafted

UNREACHABLE = "postgresql+psycopg2://nobody@127.0.0.1:1/none"


def _new(action: str, code: str = "x = 1\n", after: str = "", **extra) -> NewDecision:
    base = {"partition": "p", "atom_id": "a.py::x", "trace_id": "mge-1", "reviewer": "ana"}
    return NewDecision(**base, action=action, base_sha=code_sha(code), code_before=code, code_after=after, **extra)


def _exercise_store(store: ReviewStore) -> None:
    first = store.record(_new("approve", after="x = 1\n"))
    second = store.record(_new("edit", after="x = 2\n", comment="two"))
    assert store.decision(first.id).superseded_by == second.id  # not applied yet: the newer one wins
    assert [d.id for d in store.unapplied()] == [second.id]
    store.mark_applied({second.id: ("edited", "x = 2\n")}, "run-1")
    applied = store.decision(second.id)
    assert applied.applied and applied.outcome == "edited" and status_of(code_sha("x = 2\n"), [applied]) == "applied"
    undo = store.record(_new("undo", code="x = 2\n", after="x = 1\n", undoes=second.id))
    assert store.decision(second.id).undone_by == undo.id and not store.decision(second.id).in_effect
    assert status_of(code_sha("x = 1\n"), store.decisions("p")) == "pending"
    draft = store.keep_draft("p", "a.py::x", "ana", "x = (", ["syntax error"])
    assert store.latest_draft("p", "a.py::x")["id"] == draft
    saved = store.save_suggestion(Suggestion(0, "p", "a.py::x", "abc", "offline", True, ("an issue",), "x = 3\n"))
    assert store.suggestion("p", "a.py::x", "abc") == saved and store.suggestions([saved.id])[saved.id].issues


def test_the_store_keeps_versions_supersedes_and_undoes_on_sqlite(tmp_path: Path) -> None:
    _exercise_store(ReviewStore(f"sqlite:///{tmp_path / 'mge.db'}"))


def test_the_store_on_postgres(postgres_env) -> None:
    schema = f"review_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine("postgresql+psycopg2://postgres@127.0.0.1/test")
    with admin.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        _exercise_store(ReviewStore(f"postgresql+psycopg2://postgres@127.0.0.1/test?options=-csearch_path%3D{schema}"))
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def test_an_unreachable_review_database_is_a_clear_error_and_the_sensor_skips() -> None:
    with pytest.raises(MgeError, match=r"review database .* is unavailable.*nothing was recorded"):
        ReviewStore(UNREACHABLE)
    context = dg.build_sensor_context(resources={"model_backend": ModelBackendResource(database_url=UNREACHABLE)})
    assert "nothing was recorded" in review_decisions(context).skip_message


def test_the_sensor_skips_when_no_decision_is_new(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mge.db'}"
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_sensor_context(instance, resources={"model_backend": ModelBackendResource(database_url=url)})
        assert review_decisions(context).skip_message == "no new review decision"
        ReviewStore(url).record(_new("approve", after="x = 1\n"))  # of a request the instance does not know
        result = review_decisions(context)
        assert result.run_requests == [] and result.cursor == "1"


# -- decisions --------------------------------------------------------------------------------------


@pytest.fixture
def results(task_api_atoms: Drafted) -> pd.DataFrame:
    frame, _ = asyncio.run(
        run_atoms(
            task_api_atoms.atoms,
            task_api_atoms.graph,
            task_api_atoms.discovery,
            ModelClient(OfflineBackend()),
            "task-api",
            StageOptions(),
        )
    )
    return frame


def _item(results: pd.DataFrame, atom_id: str, **changes) -> ReviewItem:
    row = results.set_index("atom_id").loc[atom_id]
    code = str(row["code"])
    values = dict(
        id=str(row["trace_id"]),
        request="task-api",
        atom=atom_id,
        file=str(row["file"]),
        kind=str(row["kind"]),
        symbol=atom_id.split("::")[-1],
        lines="1-9",
        confidence=0.5,
        factors={},
        reason="test",
        spot_check=False,
        result_status="valid",
        attempts=1,
        draft=code,
        code=code,
        code_sha=code_sha(code),
        current_sha=code_sha(code),
        queued_at=0.0,
    )
    return ReviewItem(**{**values, **changes})


def _decision(new: NewDecision, decision_id: int) -> Decision:
    return Decision(id=decision_id, created_at=0.0, **new.__dict__)


def _atoms(drafted: Drafted) -> dict:
    return {a.id: a for a in drafted.atom_list()}


WHERE = "task_api/repositories/task.py::where_clause"
INSERT = "task_api/repositories/task.py::TaskRepository.insert"


def test_a_decision_needs_its_comment_a_fresh_item_and_valid_code(task_api_atoms: Drafted, results) -> None:
    item = _item(results, INSERT)
    for action in ("regenerate", "reject"):
        with pytest.raises(MgeError, match=f"{action} needs a comment"):
            new_decision(item, action, "ana")
    with pytest.raises(MgeError, match=r"stale: the atom .* changed since it was queued"):
        new_decision(replace(item, current_sha="0" * 16), "approve", "ana")
    with pytest.raises(MgeError, match="changed while you looked at it"):
        new_decision(item, "approve", "ana", seen_sha="f" * 16)
    codes = dict(zip(results["atom_id"], results["code"], strict=True))
    atoms = _atoms(task_api_atoms)
    with pytest.raises(RefusedEdit, match="syntax error") as refused:
        new_decision(
            item, "edit", "ana", code=item.code.replace(")", "", 1), atom=atoms[INSERT], codes=codes, atoms=atoms
        )
    assert refused.value.problems
    edited = item.code.replace("def insert", "def insert_row")
    with pytest.raises(RefusedEdit, match="no longer defines"):
        new_decision(item, "edit", "ana", code=edited, atom=atoms[INSERT], codes=codes, atoms=atoms)
    fix = item.code.replace('"""', '"""Reviewed. ', 1) if '"""' in item.code else item.code + "\n"
    suggestion = Suggestion(7, "task-api", INSERT, item.code_sha, "offline", True, ("x",), fix)
    taken = new_decision(
        item, "edit", "ana", code=fix, suggestion=suggestion, atom=atoms[INSERT], codes=codes, atoms=atoms
    )
    assert taken.suggestion_taken and taken.suggestion_id == 7 and taken.code_after.startswith(fix.rstrip("\n"))
    with pytest.raises(MgeError, match="no decision to undo"):
        undo_decision(item, "ana")


class Recording(OfflineBackend):
    """The offline model, keeping every prompt it was asked."""

    def __init__(self) -> None:
        self.prompts: list[str] = []

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.prompts.append(request.prompt)
        return await super().complete(request)


def test_applying_edits_rejects_stale_and_regenerations(task_api_atoms: Drafted, results) -> None:
    where = _item(results, WHERE)
    insert = _item(results, INSERT)
    broken_where = where.code.replace("def where_clause", "def where_clauses")
    decisions = [
        _decision(NewDecision("task-api", WHERE, where.id, "edit", "ana", where.code_sha, where.code, broken_where), 1),
        _decision(
            NewDecision(
                "task-api", INSERT, insert.id, "reject", "ana", insert.code_sha, insert.code, insert.code, "no"
            ),
            2,
        ),
        _decision(NewDecision("task-api", INSERT, insert.id, "approve", "bo", "0" * 16, insert.code, insert.code), 3),
    ]
    backend = Recording()
    context = ReviewContext(
        task_api_atoms.atoms, task_api_atoms.graph, task_api_atoms.discovery, ModelClient(backend), "task-api"
    )
    application = asyncio.run(apply_review(results, decisions, context))
    frame = application.frame.set_index("atom_id")
    assert frame.at[WHERE, "code"] == broken_where and frame.at[WHERE, "review_decision"] == 1
    assert frame.at[INSERT, "status"] == "rejected" and "rejected by ana: no" in frame.at[INSERT, "errors"]
    assert application.stale == [3] and application.outcomes[3][0].startswith("stale")
    # the atoms that call where_clause no longer find it: re-validated, they fail, with the cause
    failed = [a for a, problems in application.revalidated.items() if problems != "valid"]
    assert failed and all(frame.at[a, "status"] == "invalid" for a in failed)
    assert all("re-validated after the review of" in frame.at[a, "errors"] for a in failed)
    assert backend.prompts == []  # nothing was regenerated: no model call

    regenerate = _decision(
        NewDecision(
            "task-api", INSERT, insert.id, "regenerate", "ana", insert.code_sha, insert.code, "", "use RETURNING"
        ),
        4,
    )
    again = asyncio.run(apply_review(results, [regenerate], context))
    assert len(backend.prompts) == 1 and "use RETURNING" in backend.prompts[0] and insert.code in backend.prompts[0]
    assert again.regenerated == [INSERT] and "the same code came back" in again.outcomes[4][0]
    assert again.changed == [] and again.frame.set_index("atom_id").at[INSERT, "status"] == "valid"


def test_a_garbled_suggestion_is_unavailable_and_the_offline_one_comes_from_the_findings(
    results, task_api_atoms
) -> None:
    item = _item(results, INSERT, history=({"attempt": 1, "problems": ["line 3: undefined name 'x'"]},))
    offline = asyncio.run(suggest(item, task_api_atoms.discovery, ModelClient(OfflineBackend())))
    assert offline.available and offline.issues == ("line 3: undefined name 'x'",) and offline.fix == item.draft

    class Garbling(OfflineBackend):
        async def complete(self, request: ModelRequest) -> ModelResponse:
            return ModelResponse('{"issues": "all of them", "fix": 3} <script>', "offline", Usage())

    garbled = asyncio.run(suggest(item, task_api_atoms.discovery, ModelClient(Garbling())))
    assert not garbled.available and "not valid JSON" in garbled.error


def test_spot_checks_are_a_small_stable_sample_of_the_unqueued_atoms() -> None:
    scored = pd.DataFrame({"atom_id": [f"a{i:03}" for i in range(200)], "confidence": 1.0})
    queue = scored.head(30)
    first = spot_checks(scored, queue, "notes")
    assert len(first) == round(SPOT_CHECK_SHARE * 170 + 0.5) and not first["atom_id"].isin(queue["atom_id"]).any()
    assert first["spot_check"].all() and list(first["atom_id"]) == list(spot_checks(scored, queue, "notes")["atom_id"])
    assert list(first["atom_id"]) != list(spot_checks(scored, queue, "other")["atom_id"])


def test_typed_revalidation_finds_a_type_error_in_the_files_as_they_are(tmp_path: Path) -> None:
    source = b'def count() -> int:\n    return "many"\n'
    (atom,) = [a for a in atomize_file("pkg/counts.py", source) if a.kind == "function"]
    revalidate = TypedRevalidation(tmp_path / "review", None)
    verdict = asyncio.run(revalidate({"pkg/counts.py": source}, atom, atom.code))
    assert not verdict.ok and any("type error" in p and "return value" in p for p in verdict.problems)


def test_a_suggestion_through_claude_is_a_recorded_call_with_the_atom_trace(results, task_api_atoms, tmp_path) -> None:
    item = _item(results, INSERT)
    ledger = Ledger("task-api", "review-suggestion", f"sqlite:///{tmp_path / 'mge.db'}")
    with running_simulator(SimulatorSettings(latency_mean_s=0.01)) as (url, _simulator):
        backend = AnthropicBackend("test-key", "claude-haiku-4-5", base_url=url, governor=RateGovernor(initial=2))
        made = asyncio.run(suggest(item, task_api_atoms.discovery, ModelClient(backend, on_record=ledger.record_call)))
    assert made.available and made.model.startswith("claude-haiku-4-5") and made.fix == item.draft
    (row,) = ledger.costs()
    assert row["kind"] == "suggest_review" and row["trace_id"] == item.id and row["cost_usd"] > 0
    assert made.cost_usd == pytest.approx(row["cost_usd"])


def test_an_undone_edit_is_not_applied_and_the_undo_says_so(task_api_atoms: Drafted, results) -> None:
    insert = _item(results, INSERT)
    edited = insert.code.replace("def insert", "def insert_row")
    edit = NewDecision("task-api", INSERT, insert.id, "edit", "ana", insert.code_sha, insert.code, edited)
    undo = NewDecision("task-api", INSERT, insert.id, "undo", "ana", code_sha(edited), edited, insert.code, undoes=1)
    decisions = [replace(_decision(edit, 1), undone_by=2, applied_run_id="r1"), _decision(undo, 2)]
    context = ReviewContext(
        task_api_atoms.atoms, task_api_atoms.graph, task_api_atoms.discovery, ModelClient(OfflineBackend()), "task-api"
    )
    application = asyncio.run(apply_review(results, decisions, context))
    assert application.frame.set_index("atom_id").at[INSERT, "code"] == insert.code
    assert application.outcomes == {2: ("undid #1", insert.code)} and application.changed == []


def test_the_stats_estimate_what_the_queue_misses_from_the_spot_checks(results) -> None:
    items = [_item(results, INSERT), _item(results, WHERE, spot_check=True)]
    made = [
        _decision(_new("approve", after="x = 1\n", spot_check=True), 1),
        _decision(_new("reject", comment="off by one", spot_check=True), 2),
        _decision(_new("edit", after="y = 1\n", suggestion_id=5, suggestion_taken=True), 3),
        _decision(_new("approve", after="x = 1\n", suggestion_id=6), 4),
    ]
    stats = review_stats(items, made, unqueued_atoms=100, now=50.0)
    assert stats.decisions == {"approve": 2, "reject": 1, "edit": 1} and stats.pending == 2
    assert (stats.spot_checks, stats.spot_checks_decided, stats.spot_checks_wrong) == (1, 2, 1)
    assert stats.estimated_missed == 50.0 and stats.suggestion_take_rate == 0.5
    assert stats.oldest_pending_age_s == 50.0 and "AI suggestion taken: 1 of 2 (50%)" in stats.lines()


def test_a_review_database_from_before_a_column_gets_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mge.db'}"
    with ReviewStore(url).engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE review_decisions DROP COLUMN precision_before"))
    decision = ReviewStore(url).record(replace(_new("approve", after="x = 1\n"), precision_before=0.75))
    assert decision.precision_before == 0.75
