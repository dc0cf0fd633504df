"""How `mge status` and `mge run` show a run: the bar, plain lines at a modest rate, the block, JSON."""

import json

from mge_assets.commands.status_view import ProgressPrinter, render_bar, render_block, render_json, render_line
from mge_assets.execute.progress import Progress
from mge_assets.readback.status import RunStatus, stage_of


def _status(done: int = 40, stage: str = "atom_results", status: str = "started", spent: float = 1.0) -> RunStatus:
    atoms = Progress(total=100, done=done, in_flight=8, waiting=100 - done - 8 - 2, failed=2, retries=3)
    return RunStatus(
        name="blog",
        run_id="r1",
        status=status,
        stage=stage,
        step=stage,
        atoms=atoms,
        spent_usd=spent,
        soft_cap_usd=3.5,
        hard_cap_usd=5.0,
        elapsed_s=12.0,
    )


def test_the_bar_fills_with_the_atoms_finished_and_fits_its_width():
    half = render_bar(_status(done=48), width=160)  # 48 done + 2 failed of 100: half the bar
    assert "[" + "#" * 15 + "." * 15 + "]" in half
    assert "50/100 atoms, 8 in flight, 2 failed | $1.0000/$5.00 | retries 3 | 12s" in half
    assert "past soft cap" in render_bar(_status(spent=3.6), width=160)
    narrow = render_bar(_status(done=48), width=80)
    assert len(narrow) <= 80 and "[" + "#" * 5 + "." * 5 + "]" in narrow and "50/100 atoms" in narrow
    assert len(render_bar(_status(), width=40)) == 40
    waiting = RunStatus(name="blog", run_id="r1", status="started", stage="discovery_document")
    assert "atoms not started" in render_bar(waiting) and "[" + "." * 30 + "]" in render_bar(waiting)


def test_plain_lines_and_the_block_name_every_figure_and_never_a_gate_mark():
    line = render_line(_status())
    assert "blog: started, stage atom_results; atoms 40 done, 8 in flight, 50 waiting, 2 failed of 100" in line
    assert "retries 3; spent $1.0000 of $5.00 (soft cap $3.50)" in line
    block = render_block(_status(status="success", stage="precision_report"))
    assert "run r1: success" in block and "precision_report (last stage)" in block
    for text in (line, block, render_bar(_status())):
        assert "  PASS  " not in text and "FAIL" not in text  # `mge run`'s report is counted on these
    assert "not run yet" in render_block(RunStatus(name="blog"))


def test_json_is_one_object_with_the_documented_keys():
    data = json.loads(render_json(_status()))
    assert data["atoms"] == {"done": 40, "in_flight": 8, "waiting": 50, "failed": 2, "total": 100}
    assert {k: data[k] for k in ("name", "run_id", "status", "stage", "retries", "running")} == {
        "name": "blog",
        "run_id": "r1",
        "status": "started",
        "stage": "atom_results",
        "retries": 3,
        "running": True,
    }
    assert (data["spent_usd"], data["soft_cap_usd"], data["hard_cap_usd"]) == (1.0, 3.5, 5.0)
    assert json.loads(render_json(_status(status="failure")))["running"] is False


def test_plain_lines_come_on_a_change_of_stage_and_otherwise_at_most_every_few_seconds():
    printer = ProgressPrinter(terminal=False, every_s=5.0)
    written = [printer.update(_status(done=d), now=float(d)) for d in range(0, 12)]  # a figure moves every second
    assert [bool(w) for w in written] == [True, False, False, False, False, True] + [False] * 4 + [True, False]
    assert "atoms 11 done" in printer.update(_status(done=11), now=30.0)  # the figure held back comes when due
    assert printer.update(_status(done=11), now=40.0) == ""  # nothing moved since: nothing to say
    assert printer.update(_status(done=11, stage="generated_project"), now=30.5).endswith("\n")
    assert printer.close() == ""


def test_on_a_terminal_the_bar_is_redrawn_in_place_only_when_it_changes():
    printer = ProgressPrinter(terminal=True, width=200)
    first = printer.update(_status(done=10), now=0.0)
    assert first.startswith("\r") and "\n" not in first
    assert printer.update(_status(done=10), now=1.0) == ""
    shorter = printer.update(_status(done=11, stage="atoms"), now=2.0)
    assert len(shorter) == len(first)  # padded over what was there
    assert printer.close() == "\n" and printer.close() == ""


def test_a_check_step_belongs_to_its_asset():
    assert stage_of("atom_results_atom_results_budget_cap_held") == "atom_results"
    assert stage_of("discovery_document_discovery_document_has_entities") == "discovery_document"
    assert stage_of("atom_results") == "atom_results" and stage_of("project_request") == "project_request"
    assert stage_of("") == ""
