"""The blessed baseline: an evaluation recorded as the one every later evaluation is compared against.

Kept in the `canary_baselines` table of the ledger's database (MGE_DATABASE_URL, else SQLite under
MGE_HOME), one row per blessing: the history stays, the newest row wins.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

from mge_assets.canary.compare import summarize
from mge_assets.canary.records import CanaryOutcome
from mge_assets.canary.report import MIN_BASELINE_REPEATS, BaselineRef
from mge_assets.errors import MgeError

metadata = sa.MetaData()

canary_baselines = sa.Table(
    "canary_baselines",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("evaluation", sa.String(32), nullable=False, index=True),
    sa.Column("blessed_at", sa.Float, nullable=False),
    sa.Column("outcomes", sa.Text, nullable=False),  # JSON: a list of CanaryOutcome
)


class BaselineError(MgeError):
    """An evaluation that cannot be blessed, or a baseline store that cannot be reached."""


class Baseline(BaselineRef):
    """A blessed evaluation with the outcomes of its repeats."""

    outcomes: list[CanaryOutcome]

    @property
    def ref(self) -> BaselineRef:
        return BaselineRef(evaluation=self.evaluation, blessed_at=self.blessed_at)


def refuse_short_evaluation(evaluation: str, outcomes: Sequence[CanaryOutcome]) -> None:
    """Raise, naming them, when any canary has fewer than MIN_BASELINE_REPEATS scored repeats: a
    baseline's spread sets the tolerance, and fewer repeats cannot show a spread."""
    if not outcomes:
        raise BaselineError(f"evaluation {evaluation} has no canary repeat to bless; run `mge canary run` first")
    short = {name: s.repeats for name, s in summarize(outcomes).items() if s.repeats < MIN_BASELINE_REPEATS}
    if short:
        named = ", ".join(f"{name} ({repeats} scored)" for name, repeats in short.items())
        raise BaselineError(
            f"evaluation {evaluation} cannot be the baseline: {named} has fewer than {MIN_BASELINE_REPEATS} "
            f"scored repeats; run `mge canary run --repeats {MIN_BASELINE_REPEATS}` and bless that evaluation"
        )


class BaselineStore:
    """The canary_baselines table at `url` (default: the ledger's database)."""

    def __init__(self, url: str | None = None) -> None:
        from mge_assets.ledger import database_url

        self.url = url or database_url()
        try:
            if self.url.startswith("sqlite:///"):
                os.makedirs(os.path.dirname(self.url.removeprefix("sqlite:///")) or ".", exist_ok=True)
            self.engine = sa.create_engine(self.url, pool_pre_ping=True)
            metadata.create_all(self.engine)
        except sa.exc.SQLAlchemyError as error:
            raise self._unreachable(error) from error

    def bless(self, evaluation: str, outcomes: Sequence[CanaryOutcome], now: datetime | None = None) -> Baseline:
        """Record `evaluation` as the baseline (refused when a canary has too few scored repeats)."""
        refuse_short_evaluation(evaluation, outcomes)
        baseline = Baseline(evaluation=evaluation, blessed_at=now or datetime.now(UTC), outcomes=list(outcomes))
        row = {
            "evaluation": evaluation,
            "blessed_at": baseline.blessed_at.timestamp(),
            "outcomes": json.dumps([o.model_dump(mode="json") for o in baseline.outcomes]),
        }
        try:
            with self.engine.begin() as connection:
                connection.execute(sa.insert(canary_baselines), [row])
        except sa.exc.SQLAlchemyError as error:
            raise self._unreachable(error) from error
        return baseline

    def latest(self) -> Baseline | None:
        """The newest blessing, or None when nothing was ever blessed."""
        query = sa.select(canary_baselines).order_by(canary_baselines.c.blessed_at.desc(), canary_baselines.c.id.desc())
        try:
            with self.engine.connect() as connection:
                row = connection.execute(query.limit(1)).first()
        except sa.exc.SQLAlchemyError as error:
            raise self._unreachable(error) from error
        if row is None:
            return None
        return Baseline(
            evaluation=row.evaluation,
            blessed_at=datetime.fromtimestamp(row.blessed_at, UTC),
            outcomes=[CanaryOutcome.model_validate(o) for o in json.loads(row.outcomes)],
        )

    def _unreachable(self, error: Exception) -> BaselineError:
        from mge_assets.ledger import _redact

        return BaselineError(
            f"the canary baseline store ({_redact(self.url)}) is unavailable ({type(error).__name__}: "
            f"{str(error).splitlines()[0][:200]}); check MGE_DATABASE_URL or MGE_HOME"
        )
