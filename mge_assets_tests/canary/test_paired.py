"""The paired comparison of v2 against mvp: wins, losses and ties, a sign test, McNemar on Gate S, and
"not enough data" when even a clean sweep of the differing pairs could not show a difference."""

import pytest

from mge_assets.canary.paired import paired_verdict, smallest_sweep


def test_five_wins_of_five_are_not_enough_to_say_but_six_are() -> None:
    assert smallest_sweep() == 6
    five = paired_verdict([(1.0, 0.9)] * 5 + [(1.0, 1.0)] * 5, [(True, True)] * 10)
    assert (five.wins, five.losses, five.ties, five.verdict) == (5, 0, 5, "not enough data")
    six = paired_verdict([(1.0, 0.9)] * 6, [(True, False)] * 6)
    assert six.verdict == "v2 ahead" and six.precision_p == pytest.approx(1 / 32)
    assert six.gate_s_p == pytest.approx(1 / 32)


def test_a_split_is_no_difference_and_a_sweep_the_other_way_puts_mvp_ahead() -> None:
    split = paired_verdict([(1.0, 0.9)] * 4 + [(0.8, 0.9)] * 4, [(True, True)] * 8)
    assert split.verdict == "no difference shown" and split.precision_p == pytest.approx(1.0)
    assert split.gate_s_p is None  # no pair differs at Gate S
    behind = paired_verdict([(0.5, 0.9)] * 8, [(False, True)] * 8)
    assert behind.verdict == "mvp ahead"


def test_every_pair_tied_is_not_enough_data() -> None:
    tied = paired_verdict([(1.0, 1.0)] * 12, [(True, True)] * 12)
    assert tied.verdict == "not enough data" and tied.precision_p is None
