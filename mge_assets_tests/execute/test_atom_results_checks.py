"""The gates on atom_results: the hard budget cap, and no atom left neither valid nor explained."""

import pandas as pd

from mge_assets.defs.execution import atom_results_budget_cap_held, atom_results_valid_or_queued


def _results(**columns: list) -> pd.DataFrame:
    base = {
        "atom_id": ["a", "b"],
        "status": ["valid", "valid"],
        "errors": ["", ""],
        "cost_usd": [0.01, 0.02],
        "budget_cap_usd": [1.0, 1.0],
    }
    return pd.DataFrame(base | columns)


def test_the_budget_gate_passes_under_the_cap_and_fails_above_it() -> None:
    assert atom_results_budget_cap_held(_results()).passed
    over = atom_results_budget_cap_held(_results(cost_usd=[0.6, 0.5]))
    assert not over.passed
    assert over.metadata["spent_usd"].value == 1.1


def test_an_invalid_atom_with_its_errors_is_queued_but_one_without_fails_the_gate() -> None:
    queued = _results(status=["valid", "invalid"], errors=["", "line 3: name 'x' is not defined"])
    assert atom_results_valid_or_queued(queued).passed
    lost = atom_results_valid_or_queued(_results(status=["valid", "unavailable"]))
    assert not lost.passed
    assert lost.metadata["unexplained"].value == "b"
