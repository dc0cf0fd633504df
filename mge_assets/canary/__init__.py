"""Canaries and the dual-run, without Dagster: what one evaluation of a gold request measured, the
summary of its repeats, the regressions against a blessed baseline, and the paired comparison of two
modes over the gold set (`mge_assets.canary.paired`, imported on its own: it loads scipy)."""

from mge_assets.canary.compare import (
    MIN_TOLERANCE,
    CanarySummary,
    Regression,
    regressions,
    summarize,
    tolerance,
)
from mge_assets.canary.records import CanaryOutcome

__all__ = [
    "MIN_TOLERANCE",
    "CanaryOutcome",
    "CanarySummary",
    "Regression",
    "regressions",
    "summarize",
    "tolerance",
]
