"""One canary evaluation as a report: a row per canary over its repeats, the baseline it was held to,
the regressions against it, and the verdicts of the two checks on it (Gate S share, no regression)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mge_assets.canary.compare import CanarySummary, regressions, summarize
from mge_assets.canary.gold import GoldCanary, unmet_expectations
from mge_assets.canary.records import CanaryOutcome
from mge_assets.scoring.precision import COMPONENTS

# The share of canaries that must pass Gate S in every one of their repeats.
GATE_S_SHARE = 0.8
# The fewest scored repeats of each canary an evaluation needs before it can be blessed.
MIN_BASELINE_REPEATS = 3
BLESS_HINT = "bless an evaluation of at least 3 repeats with `mge canary bless [EVALUATION]`"


class CanaryRun(BaseModel):
    """One run of one canary repeat: what it measured and the state each gate ended in."""

    model_config = ConfigDict(frozen=True)

    outcome: CanaryOutcome
    gates: dict[str, str] = Field(default_factory=dict)  # gate → passed | warning | failed | not run
    run_id: str = ""
    attempt: int = 1


class BaselineRef(BaseModel):
    """The blessed evaluation a report was held to."""

    model_config = ConfigDict(frozen=True)

    evaluation: str
    blessed_at: datetime

    def describe(self) -> str:
        return f"{self.evaluation} (blessed {self.blessed_at:%Y-%m-%d %H:%M} UTC)"


class CanaryRow(BaseModel):
    """One canary over the repeats of an evaluation. Means are over its scored repeats; harness errors
    (a timeout, a crashed sandbox, a model API that was down) are listed apart and never scored."""

    model_config = ConfigDict(frozen=True)

    name: str
    repeats: int  # scored repeats
    precision: float
    spread: float
    components: dict[str, float]
    gate_s_passes: int
    pass_k: bool  # Gate S passed in every one of the k scored repeats
    cost_usd: float  # per repeat
    wall_s: float  # per repeat
    calls: float  # model calls per repeat
    cache_hits: float
    retries: float
    harness_errors: list[str]
    unmet_expectations: list[str]
    regression: str | None = None
    changed_stages: list[str] = Field(default_factory=list)


class CanaryReport(BaseModel):
    """The value of the canary_report asset for one evaluation (a UTC date)."""

    evaluation: str
    baseline: BaselineRef | None
    rows: list[CanaryRow]
    outcomes: list[CanaryOutcome]  # every repeat read, harness errors included: what `bless` stores

    @property
    def regressed(self) -> list[CanaryRow]:
        return [row for row in self.rows if row.regression]

    def row(self, name: str) -> CanaryRow:
        return next(row for row in self.rows if row.name == name)


@dataclass(frozen=True)
class Verdict:
    """What a check on the report says: passed or not, why, and numbers for the UI."""

    passed: bool
    description: str
    metadata: dict[str, Any]


def build_report(
    evaluation: str,
    runs: Sequence[CanaryRun],
    gold: Iterable[GoldCanary] = (),
    baseline: tuple[BaselineRef, Sequence[CanaryOutcome]] | None = None,
) -> CanaryReport:
    """The report of `runs` (the newest run of each canary repeat of `evaluation`), each canary held
    to its gold-set expectations and, when a baseline is given, to the baseline's outcomes."""
    outcomes = [run.outcome for run in runs]
    summaries = summarize(outcomes)
    expected = {canary.name: canary for canary in gold}
    found = {}
    if baseline is not None:
        reference = summarize(baseline[1])
        found = {r.name: r for r in regressions(summaries, reference, stage_order([*outcomes, *baseline[1]]))}
    rows = []
    for name, summary in summaries.items():
        mine = [run for run in runs if run.outcome.name == name]
        regression = found.get(name)
        rows.append(
            _row(summary, mine, expected.get(name)).model_copy(
                update={
                    "regression": regression.reason if regression else None,
                    "changed_stages": list(regression.changed_stages) if regression else [],
                }
            )
        )
    return CanaryReport(
        evaluation=evaluation,
        baseline=baseline[0] if baseline is not None else None,
        rows=rows,
        outcomes=sorted(outcomes, key=lambda o: (o.name, o.repeat)),
    )


def stage_order(outcomes: Iterable[CanaryOutcome]) -> list[str]:
    """Every stage with a digest, in the order the runs materialized them (the pipeline's order: the
    runs are in-process, one step after the other)."""
    return list(dict.fromkeys(stage for outcome in outcomes for stage in outcome.stage_digests))


def _row(summary: CanarySummary, runs: Sequence[CanaryRun], canary: GoldCanary | None) -> CanaryRow:
    scored = [run for run in runs if run.outcome.scored]

    def mean(values: Iterable[float]) -> float:
        values = list(values)
        return round(statistics.fmean(values), 6) if values else 0.0

    unmet: list[str] = []
    if canary is not None:
        for run in scored:
            unmet += [f"repeat {run.outcome.repeat}: {text}" for text in unmet_expectations(canary, run.gates)]
    return CanaryRow(
        name=summary.name,
        repeats=summary.repeats,
        precision=round(summary.precision, 6),
        spread=round(summary.spread, 6),
        components={c: mean(run.outcome.components.get(c, 0.0) for run in scored) for c in COMPONENTS},
        gate_s_passes=summary.gate_s_passes,
        pass_k=summary.pass_k,
        cost_usd=mean(run.outcome.cost_usd for run in scored),
        wall_s=mean(run.outcome.wall_s for run in scored),
        calls=mean(run.outcome.calls for run in scored),
        cache_hits=mean(run.outcome.cache_hits for run in scored),
        retries=mean(run.outcome.retries for run in scored),
        harness_errors=list(summary.harness_errors),
        unmet_expectations=unmet,
    )


def gate_s_share_verdict(report: CanaryReport) -> Verdict:
    """At least GATE_S_SHARE of the canaries with a scored repeat pass Gate S in every repeat (pass^k).
    A canary with nothing but harness errors is left out: it is to be re-run, not judged."""
    judged = [row for row in report.rows if row.repeats]
    passing = [row for row in judged if row.pass_k]
    share = len(passing) / len(judged) if judged else 0.0
    failing = [f"{row.name} ({row.gate_s_passes}/{row.repeats})" for row in judged if not row.pass_k]
    unscored = [row.name for row in report.rows if not row.repeats]
    description = f"{len(passing)} of {len(judged)} canaries pass Gate S in every repeat ({share:.0%}; at least "
    description += f"{GATE_S_SHARE:.0%} needed)"
    if failing:
        description += f"; not every repeat: {', '.join(failing)}"
    if unscored:
        description += f"; only harness errors, re-run them: {', '.join(unscored)}"
    return Verdict(
        passed=bool(judged) and share >= GATE_S_SHARE,
        description=description,
        metadata={"share": round(share, 4), "threshold": GATE_S_SHARE, "canaries": len(judged)},
    )


def no_regression_verdict(report: CanaryReport) -> Verdict:
    """No canary regressed against the baseline; each regressed canary is named with the stages whose
    output changed. With no baseline blessed there is nothing to regress against: it passes, saying so."""
    if report.baseline is None:
        return Verdict(True, f"no baseline blessed yet, nothing to compare against; {BLESS_HINT}", {"regressions": 0})
    where = f"against the baseline {report.baseline.describe()}"
    regressed = report.regressed
    if not regressed:
        return Verdict(True, f"no canary regressed {where}", {"regressions": 0, "baseline": report.baseline.evaluation})
    lines = [f"{len(regressed)} canaries regressed {where}:"]
    lines += [
        f"- {row.name}: {row.regression}; changed stages: {', '.join(row.changed_stages) or 'none'}"
        for row in regressed
    ]
    return Verdict(
        False,
        "\n".join(lines),
        {
            "regressions": len(regressed),
            "baseline": report.baseline.evaluation,
            "regressed": ", ".join(row.name for row in regressed),
        },
    )


def report_rows_json(report: CanaryReport) -> list[dict[str, Any]]:
    """The table for scripts: one object per canary (`gate_s` true when Gate S passed in every repeat)."""
    baseline = report.baseline.evaluation if report.baseline else None
    return [
        {
            "name": row.name,
            "precision": row.precision,
            "gate_s": row.pass_k,
            "evaluation": report.evaluation,
            "baseline": baseline,
            **row.model_dump(exclude={"name", "precision"}),
        }
        for row in report.rows
    ]


def render_table(report: CanaryReport) -> str:
    """The report as aligned text: a line per canary, then the baseline, harness errors, expectations
    and regressions."""
    headers = ["canary", "precision", "spec", "integ", "valid", "gate S", "pass^k", "cost $", "wall s", "calls"]
    headers += ["hits", "retries", "errors", "regressed"]
    table = [headers] + [_cells(row) for row in report.rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(headers))]
    lines = [f"Canary evaluation {report.evaluation}", ""]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in table]
    lines.append("")
    if report.baseline:
        lines.append(f"Baseline: {report.baseline.describe()}")
    else:
        lines.append(f"Baseline: none; {BLESS_HINT}")
    for row in report.rows:
        lines += [f"  {row.name}: harness error, {error}" for error in row.harness_errors]
        lines += [f"  {row.name}: unmet expectation, {text}" for text in row.unmet_expectations]
        if row.regression:
            stages = ", ".join(row.changed_stages) or "no stage output changed"
            lines.append(f"  {row.name}: REGRESSED, {row.regression}; changed stages: {stages}")
    return "\n".join(lines)


def _cells(row: CanaryRow) -> list[str]:
    parts = [f"{row.components.get(c, 0.0):.3f}" for c in COMPONENTS]
    return [
        row.name,
        f"{row.precision:.4f}",
        *parts,
        f"{row.gate_s_passes}/{row.repeats}",
        "yes" if row.pass_k else "no",
        f"{row.cost_usd:.4f}",
        f"{row.wall_s:.1f}",
        f"{row.calls:g}",
        f"{row.cache_hits:g}",
        f"{row.retries:g}",
        str(len(row.harness_errors)),
        "YES" if row.regression else "no",
    ]


def per_canary_metrics(report: CanaryReport) -> dict[str, float]:
    """Numbers the UI plots over evaluations, keyed `<canary>/<figure>` (e.g. `task-api/precision`)."""
    metrics: dict[str, float] = {}
    for row in report.rows:
        figures: Mapping[str, float] = {
            "precision": row.precision,
            **row.components,
            "gate_s_passes": row.gate_s_passes,
            "pass_k": float(row.pass_k),
            "cost_usd": row.cost_usd,
            "wall_s": row.wall_s,
            "model_calls": row.calls,
            "cache_hits": row.cache_hits,
            "retries": row.retries,
            "harness_errors": len(row.harness_errors),
        }
        metrics |= {f"{row.name}/{key}": float(value) for key, value in figures.items()}
    return metrics
