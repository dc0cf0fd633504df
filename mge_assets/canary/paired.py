"""Two modes of the same requests compared pair by pair: wins, losses and ties, and whether the set is
large enough to say who is ahead (a sign test on precision, McNemar's exact test on Gate S)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from scipy.stats import binomtest

# A difference is shown at this two-sided significance level.
ALPHA = 0.05


@dataclass(frozen=True)
class PairedVerdict:
    """`verdict` is "v2 ahead", "mvp ahead", "no difference shown" or "not enough data"."""

    wins: int  # v2 better
    losses: int  # mvp better
    ties: int
    precision_p: float | None  # the sign test's p-value, None when every pair ties
    gate_s_p: float | None  # McNemar's exact p-value on the discordant pairs, None when there are none
    verdict: str
    why: str


def paired_verdict(precisions: Sequence[tuple[float, float]], gate_s: Sequence[tuple[bool, bool]]) -> PairedVerdict:
    """`precisions` and `gate_s` hold one (v2, mvp) pair per request."""
    wins = sum(v2 > mvp for v2, mvp in precisions)
    losses = sum(v2 < mvp for v2, mvp in precisions)
    ties = len(precisions) - wins - losses
    gate_wins = sum(v2 and not mvp for v2, mvp in gate_s)
    gate_losses = sum(mvp and not v2 for v2, mvp in gate_s)
    precision_p = _two_sided(wins, wins + losses)
    gate_s_p = _two_sided(gate_wins, gate_wins + gate_losses)
    decided, needed = wins + losses, smallest_sweep()
    if decided < needed:  # even a clean sweep of these pairs would show nothing
        verdict = "not enough data"
        why = f"{decided} of {len(precisions)} pairs differ; a sign test needs at least {needed} to show a difference"
    elif precision_p is not None and precision_p <= ALPHA:
        verdict = "v2 ahead" if wins > losses else "mvp ahead"
        why = f"{wins} wins, {losses} losses, {ties} ties; sign test p = {precision_p:.3g}"
    else:
        verdict = "no difference shown"
        why = f"{wins} wins, {losses} losses, {ties} ties; sign test p = {precision_p:.3g} > {ALPHA}"
    return PairedVerdict(wins, losses, ties, precision_p, gate_s_p, verdict, why)


def _two_sided(successes: int, trials: int) -> float | None:
    return float(binomtest(successes, trials, 0.5).pvalue) if trials else None


@cache
def smallest_sweep() -> int:
    """The fewest differing pairs whose clean sweep a two-sided sign test calls significant (6)."""
    n = 1
    while float(binomtest(n, n, 0.5).pvalue) > ALPHA:
        n += 1
    return n
