"""The dual-run compared: each figure's delta and winner, refusal of two request texts, the paired table."""

import pytest

from mge_assets.canary.dual import DualRunMismatchError, ModeFigures, dual_run, render_dual_run, render_paired


def _figures(precision: float, gate_s: bool, sha: str = "a" * 64, **changes: float) -> ModeFigures:
    base = {
        "partition": "p",
        "request_sha256": sha,
        "precision": precision,
        "spec_conformance": precision,
        "integration_pass": 1.0,
        "validation_pass": 1.0,
        "gate_s": gate_s,
        "wall_s": 10.0,
        "cost_usd": 0.5,
        "input_tokens": 1000,
        "output_tokens": 100,
        "model_calls": 50,
        "retries": 3,
        "units": 40,
    }
    return ModeFigures(**{**base, **changes})


def test_each_figure_has_its_delta_and_the_winner_its_direction_says() -> None:
    run = dual_run("shop", _figures(0.99, True, cost_usd=0.8, units=90), _figures(0.80, False, retries=0))
    by_figure = {d.figure: d for d in run.deltas}
    assert by_figure["precision"].delta == pytest.approx(0.19) and by_figure["precision"].winner == "v2"
    assert by_figure["gate_s"].winner == "v2"
    assert by_figure["cost_usd"].winner == "mvp"  # cheaper is better
    assert by_figure["retries"].winner == "mvp"
    assert by_figure["wall_s"].winner == "tie"
    assert by_figure["units"].winner == ""  # describes the run, neither way is better
    assert run.v2_ahead
    table = render_dual_run(run)
    assert "precision" in table and "+0.1900" in table and "pass" in table and "fail" in table


def test_two_runs_of_different_request_texts_are_not_compared() -> None:
    with pytest.raises(DualRunMismatchError, match="run the mode that is behind again"):
        dual_run("shop", _figures(1.0, True, sha="a" * 64), _figures(1.0, True, sha="b" * 64))


def test_the_paired_table_says_not_enough_data_for_a_small_set_and_names_a_clear_winner() -> None:
    few = [dual_run(f"r{i}", _figures(0.99, True), _figures(0.9, False)) for i in range(3)]
    assert "verdict: not enough data" in render_paired(few)
    many = [dual_run(f"r{i}", _figures(0.99, True), _figures(0.9, False)) for i in range(8)]
    text = render_paired(many)
    assert "8 wins, 0 losses, 0 ties" in text and "verdict: v2 ahead" in text and "McNemar exact p" in text
