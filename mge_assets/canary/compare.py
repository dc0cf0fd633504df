"""A canary's repeats summarized, and the regressions of an evaluation against the blessed baseline."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mge_assets.canary.records import CanaryOutcome

# The smallest drop in precision that counts as a regression, however steady the baseline was.
MIN_TOLERANCE = 0.02
# A drop counts once it exceeds this many standard deviations of the baseline's own repeats.
SPREADS = 2.0


@dataclass(frozen=True)
class CanarySummary:
    """One canary over the repeats of one evaluation (harness errors set apart, not scored)."""

    name: str
    repeats: int  # scored repeats
    precision: float  # their mean
    spread: float  # their standard deviation (0 for a single repeat)
    gate_s_passes: int
    harness_errors: tuple[str, ...]
    first: CanaryOutcome | None  # the first scored repeat: its stage digests stand for the evaluation

    @property
    def pass_k(self) -> bool:
        """pass^k: Gate S passed in every one of the k repeats (a canary passing 9 in 10 is flaky)."""
        return self.repeats > 0 and self.gate_s_passes == self.repeats

    @property
    def gate_s_rate(self) -> float:
        return self.gate_s_passes / self.repeats if self.repeats else 0.0


@dataclass(frozen=True)
class Regression:
    """A canary worse than at the baseline: why, and the stages whose output changed, in pipeline order."""

    name: str
    reason: str
    changed_stages: tuple[str, ...]


def summarize(outcomes: Iterable[CanaryOutcome]) -> dict[str, CanarySummary]:
    """Canary name → its summary over the repeats in `outcomes`."""
    by_name: dict[str, list[CanaryOutcome]] = {}
    for outcome in outcomes:
        by_name.setdefault(outcome.name, []).append(outcome)
    return {name: _summary(name, sorted(runs, key=lambda o: o.repeat)) for name, runs in sorted(by_name.items())}


def _summary(name: str, runs: list[CanaryOutcome]) -> CanarySummary:
    scored = [run for run in runs if run.scored]
    precisions = [run.precision or 0.0 for run in scored]  # none computed (a gate stopped it): nothing delivered
    return CanarySummary(
        name=name,
        repeats=len(scored),
        precision=statistics.fmean(precisions) if precisions else 0.0,
        spread=statistics.stdev(precisions) if len(precisions) > 1 else 0.0,
        gate_s_passes=sum(run.gate_s for run in scored),
        harness_errors=tuple(f"repeat {run.repeat}: {run.harness_error}" for run in runs if run.harness_error),
        first=scored[0] if scored else None,
    )


def tolerance(baseline: CanarySummary) -> float:
    """How far below the baseline's mean a canary's precision may fall before it has regressed."""
    return max(MIN_TOLERANCE, SPREADS * baseline.spread)


def regressions(
    current: dict[str, CanarySummary], baseline: dict[str, CanarySummary], stages: Sequence[str]
) -> list[Regression]:
    """Each canary of `current` that the baseline also scored and that fell behind it: precision below
    the baseline's mean by more than its tolerance, or Gate S passed in a smaller share of repeats.
    A canary with no scored repeat (only harness errors) is not judged: it is to be re-run."""
    found: list[Regression] = []
    for name, now in current.items():
        before = baseline.get(name)
        if before is None or before.repeats == 0 or now.repeats == 0:
            continue
        reasons: list[str] = []
        allowed = tolerance(before)
        if now.precision < before.precision - allowed:
            reasons.append(
                f"precision {now.precision:.3f} is below the baseline's {before.precision:.3f} "
                f"by more than {allowed:.3f}"
            )
        if now.gate_s_rate < before.gate_s_rate:
            reasons.append(
                f"Gate S passed in {now.gate_s_passes} of {now.repeats} repeats "
                f"against {before.gate_s_passes} of {before.repeats} at the baseline"
            )
        if reasons:
            found.append(Regression(name, "; ".join(reasons), changed_stages(now, before, stages)))
    return found


def changed_stages(now: CanarySummary, before: CanarySummary, stages: Sequence[str]) -> tuple[str, ...]:
    """The stages, in pipeline order, whose output digest differs between the two evaluations."""
    if now.first is None or before.first is None:
        return ()
    ours, theirs = now.first.stage_digests, before.first.stage_digests
    return tuple(stage for stage in stages if stage in ours and stage in theirs and ours[stage] != theirs[stage])
