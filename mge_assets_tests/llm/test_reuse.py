"""Why answers are asked again, and the early cutoff: an answer asked again that comes out as before."""

from pathlib import Path

from mge_assets.defs.metadata import reuse_metadata
from mge_assets.ledger import Ledger
from mge_assets.llm.prompts import code_digest
from mge_assets.llm.reuse import UNCHANGED, regeneration_reasons


def test_each_answer_asked_again_is_explained_by_the_inputs_that_changed() -> None:
    previous = {"a": {"draft": "1", "dependencies": "2"}, "b": {"draft": "3", "dependencies": "4"}}
    current = {"a": {"draft": "1", "dependencies": "9"}, "b": previous["b"], "c": {"draft": "5"}}
    assert regeneration_reasons(previous, current, ["a", "b", "c"]) == {
        "a": "changed: dependencies",
        "b": UNCHANGED,
        "c": "new: no earlier run wrote it",
    }


def test_an_atom_asked_again_that_comes_out_as_before_is_an_early_cutoff(tmp_path: Path) -> None:
    ledger = Ledger("p", "run-1", f"sqlite:///{tmp_path / 'mge.db'}")
    inputs = {"a": {"draft": "1"}, "b": {"draft": "2", "dependencies": code_digest("x = 1\n")}}
    first = reuse_metadata(ledger, "atom_results", inputs, {"a", "b"}, {"a": code_digest("x = 1\n"), "b": "y"})
    assert first["answers_regenerated"] == 2 and first["early_cutoff"] == 0
    changed = {**inputs, "a": {"draft": "1 with a new comment"}}
    again = Ledger("p", "run-2", f"sqlite:///{tmp_path / 'mge.db'}")
    second = reuse_metadata(again, "atom_results", changed, {"a"}, {"a": code_digest("x = 1   \n\n"), "b": "y"})
    assert second["early_cutoff"] == 1 and second["answers_reused"] == 1  # b: its dependency came out as before
    assert (
        "| a | changed: draft; came out as before, so what depends on it is reused |"
        in second["regenerated_because"].value
    )
