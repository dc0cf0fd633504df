"""The whole review loop on a real instance: the queue read back, decisions taken from the CLI, the
review_decisions sensor turning them into a run, and that run changing the project and its score."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from mge_assets.cli import main
from mge_assets.commands.review_desk import ReviewDesk
from mge_assets.definitions import defs
from mge_assets.defs.resources import ModelBackendResource
from mge_assets.defs.sensors import review_decisions, review_queue_after_a_gate
from mge_assets.defs.tags import REVIEW_TAG
from mge_assets.readback.review import request_values
from mge_assets_tests.review.conftest import BOUND_ATOM, MOVED

pytestmark = pytest.mark.slow


def _item(desk: ReviewDesk, atom: str):
    return next(i for i in desk.items() if i.atom == atom)


def test_an_edit_that_fixes_the_bound_raises_precision_through_the_sensor(notes_copy: Path, capsys) -> None:
    desk = ReviewDesk()
    bound = _item(desk, BOUND_ATOM)
    assert MOVED[1] in bound.code and bound.status == "pending"
    assert any(r.id == "MUST-02" and r.passed is False for r in bound.requirements)

    fixed = notes_copy / "fixed.py"
    fixed.write_text(bound.code.replace(MOVED[1], MOVED[0]))
    assert main(["review", "edit", bound.id[:10], "--file", str(fixed), "--reviewer", "ana"]) == 0
    other = next(i for i in desk.items() if i.atom != BOUND_ATOM and not i.spot_check)
    assert main(["review", "approve", other.id, "--reviewer", "ana"]) == 0
    assert {i.atom: i.status for i in desk.items()}[BOUND_ATOM] == "edited"
    capsys.readouterr()
    assert main(["review", "list", "notes", "--status", "edited", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["id"] == bound.id and listed["atom"] == BOUND_ATOM and listed["status"] == "edited"
    assert 0 < listed["confidence"] < 1 and listed["request"] == "notes"
    assert main(["review", "show", other.id, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["suggestion"]["available"] and shown["suggestion"]["model"] == "offline"
    assert [d["action"] for d in shown["decisions"]] == ["approve"] and shown["diff"] == ""

    instance = desk.instance
    context = dg.build_sensor_context(instance=instance, resources={"model_backend": ModelBackendResource()})
    result = review_decisions(context)
    assert isinstance(result, dg.SensorResult) and len(result.run_requests) == 1
    run = result.run_requests[0]
    assert run.partition_key == "notes" and run.tags[REVIEW_TAG] == "1,2"
    executed = defs.resolve_job_def("review_apply").execute_in_process(
        instance=instance, partition_key="notes", tags=run.tags, raise_on_error=False
    )
    assert executed.success
    after = dg.build_sensor_context(
        instance=instance, cursor=result.cursor, resources={"model_backend": ModelBackendResource()}
    )
    assert isinstance(review_decisions(after), dg.SkipReason)

    written = (notes_copy / "mge_workspace" / "notes" / "notes" / "rules" / "note.py").read_text()
    assert MOVED[0] in written and MOVED[1] not in written
    stats = desk.stats("notes")
    before, now = stats.precision["notes"]
    assert before is not None and before < 1.0 and now == 1.0
    statuses = {i.atom: i.status for i in desk.items()}
    assert statuses[BOUND_ATOM] == "applied" and statuses[other.atom] == "applied"
    report = instance.fetch_materializations(dg.AssetKey("precision_report"), limit=1).records[0]
    metadata = report.asset_materialization.metadata
    assert metadata["precision_before_review"].value == before and metadata["review_decisions_in_effect"].value == 2
    capsys.readouterr()
    assert main(["report", "notes"]) == 0
    assert f"Before review: {before:.4f}  (2 atom(s) carry a reviewer's decision)" in capsys.readouterr().out


def test_a_broken_edit_fails_a_gate_and_the_queue_is_still_made(notes_copy: Path) -> None:
    """An edit that passes level 1 but breaks the project: the gate stops the run before review_queue,
    and the queue is made from what the run stored (by `mge review apply` here, by the run failure
    sensor under the daemon)."""
    desk = ReviewDesk()
    app = _item(desk, "notes/app.py::create_app")
    broken = app.code.replace("for router in (note_router,):", "for router in ():")
    assert broken != app.code
    desk.decide(app.id, "edit", "ana", "no routers", broken)
    (applied,) = desk.apply()
    assert not applied.success
    item = _item(desk, app.atom)
    # the queue is the new one (not stale), and the edit was re-validated with mypy in the project as
    # it now is: the empty loop is a type error
    assert not item.stale and (item.status, item.result_status) == ("applied", "invalid")
    errors = request_values(defs, desk.instance, "notes").results.set_index("atom_id").at[app.atom, "errors"]
    assert errors.startswith(f"re-validated after the review of {app.atom}: type error")

    instance = desk.instance
    (failure,) = instance.all_logs(applied.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    context = dg.build_run_status_sensor_context(
        sensor_name="review_queue_after_a_gate",
        dagster_event=failure.dagster_event,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(applied.run_id),
    ).for_run_failure()
    request = review_queue_after_a_gate(context)
    assert isinstance(request, dg.RunRequest) and request.partition_key == "notes"
