"""Reviewers' decisions in SQL, beside `cost_events` (the same database: SQLite under MGE_HOME by default,
MGE_DATABASE_URL for PostgreSQL).

- `review_decisions`: one row per decision, in order. The row's id is the atom's new version: the code
  before and after, the reviewer, the time, the comment, and once a run has applied it, that run's id and
  what applying did. A later decision on the same atom before the first is applied supersedes it; an undo
  is a decision too, and marks the one it undoes.
- `review_drafts`: edits the validator refused, kept so the reviewer's work is not lost.
- `review_suggestions`: the suggestion offered for one version of an atom, with the model that made it.

Unlike the cost ledger, a review database that cannot be reached is an error: a decision that was not
stored must not look taken.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from mge_assets.errors import MgeError
from mge_assets.ledger import add_missing_columns, database_url, open_engine

ACTIONS = ("approve", "edit", "regenerate", "reject", "undo")
metadata = sa.MetaData()

review_decisions = sa.Table(
    "review_decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("partition", sa.String(64), nullable=False, index=True),
    sa.Column("atom_id", sa.String(512), nullable=False),
    sa.Column("trace_id", sa.String(128), nullable=False, index=True),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("reviewer", sa.String(128), nullable=False),
    sa.Column("comment", sa.Text, nullable=False, default=""),
    sa.Column("base_sha", sa.String(64), nullable=False),  # the version the reviewer decided on
    sa.Column("code_before", sa.Text, nullable=False),
    sa.Column("code_after", sa.Text, nullable=False, default=""),  # regenerate: filled when applied
    sa.Column("spot_check", sa.Boolean, nullable=False, default=False),
    sa.Column("suggestion_id", sa.Integer, nullable=True),
    sa.Column("suggestion_taken", sa.Boolean, nullable=False, default=False),
    sa.Column("undoes", sa.Integer, nullable=True),
    sa.Column("undone_by", sa.Integer, nullable=True),
    sa.Column("superseded_by", sa.Integer, nullable=True),
    sa.Column("applied_run_id", sa.String(64), nullable=True),
    sa.Column("applied_at", sa.Float, nullable=True),
    sa.Column("outcome", sa.Text, nullable=False, default=""),
    # The request's precision when the decision was made, while no decision of it was applied yet:
    # the score before review, kept because a run's values are replaced by the next.
    sa.Column("precision_before", sa.Float, nullable=True),
)

review_drafts = sa.Table(
    "review_drafts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("partition", sa.String(64), nullable=False, index=True),
    sa.Column("atom_id", sa.String(512), nullable=False),
    sa.Column("reviewer", sa.String(128), nullable=False),
    sa.Column("code", sa.Text, nullable=False),
    sa.Column("problems", sa.Text, nullable=False),
)

review_suggestions = sa.Table(
    "review_suggestions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("partition", sa.String(64), nullable=False, index=True),
    sa.Column("atom_id", sa.String(512), nullable=False),
    sa.Column("code_sha", sa.String(64), nullable=False),
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("available", sa.Boolean, nullable=False),
    sa.Column("issues", sa.Text, nullable=False),  # JSON list of strings
    sa.Column("fix", sa.Text, nullable=False),
    sa.Column("error", sa.Text, nullable=False, default=""),
    sa.Column("cost_usd", sa.Float, nullable=False, default=0.0),
)


def code_sha(code: str) -> str:
    """The version key of an atom's code: what a decision was made on, and what makes an item stale."""
    return hashlib.sha256(code.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Decision:
    id: int
    created_at: float
    partition: str
    atom_id: str
    trace_id: str
    action: str
    reviewer: str
    comment: str
    base_sha: str
    code_before: str
    code_after: str
    spot_check: bool = False
    suggestion_id: int | None = None
    suggestion_taken: bool = False
    undoes: int | None = None
    undone_by: int | None = None
    superseded_by: int | None = None
    applied_run_id: str | None = None
    applied_at: float | None = None
    outcome: str = ""
    precision_before: float | None = None

    @property
    def in_effect(self) -> bool:
        """Whether applying the atom's decisions includes this one (undo rows only mark others)."""
        return self.action != "undo" and self.undone_by is None and self.superseded_by is None

    @property
    def applied(self) -> bool:
        return self.applied_run_id is not None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Suggestion:
    """Issues found in one version of an atom and a proposed fix; `available` is False when the model's
    answer could not be read (then `error` says why)."""

    id: int
    partition: str
    atom_id: str
    code_sha: str
    model: str
    available: bool
    issues: tuple[str, ...] = ()
    fix: str = ""
    error: str = ""
    cost_usd: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "issues": list(self.issues)}


@dataclass(frozen=True)
class NewDecision:
    """What a reviewer decided, before it is stored."""

    partition: str
    atom_id: str
    trace_id: str
    action: str
    reviewer: str
    base_sha: str
    code_before: str
    code_after: str = ""
    comment: str = ""
    spot_check: bool = False
    suggestion_id: int | None = None
    suggestion_taken: bool = False
    undoes: int | None = None
    precision_before: float | None = None


class ReviewStore:
    """The three review tables on one database."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or database_url()
        try:
            self.engine = open_engine(self.url)
            metadata.create_all(self.engine)
            for table in metadata.sorted_tables:  # a database made before a column was added gets it
                add_missing_columns(self.engine, table)
        except sa.exc.SQLAlchemyError as error:
            raise self._unavailable(error) from None

    # -- decisions ------------------------------------------------------------------------------

    def record(self, new: NewDecision) -> Decision:
        """Store a decision; an earlier one on the same atom not yet applied is superseded by it, and an
        undo marks the decision it undoes."""
        row = {**new.__dict__, "created_at": time.time()}
        with self._begin() as connection:
            decision_id = int(connection.execute(sa.insert(review_decisions).values(**row)).inserted_primary_key[0])
            waiting = sa.and_(
                review_decisions.c.partition == new.partition,
                review_decisions.c.atom_id == new.atom_id,
                review_decisions.c.applied_run_id.is_(None),
                review_decisions.c.superseded_by.is_(None),
                review_decisions.c.action != "undo",
                review_decisions.c.id != decision_id,
            )
            if new.action != "undo":
                connection.execute(sa.update(review_decisions).where(waiting).values(superseded_by=decision_id))
            else:
                connection.execute(
                    sa.update(review_decisions).where(review_decisions.c.id == new.undoes).values(undone_by=decision_id)
                )
        return self.decision(decision_id)

    def decision(self, decision_id: int) -> Decision:
        found = self.decisions(ids=[decision_id])
        if not found:
            raise MgeError(f"no review decision #{decision_id}")
        return found[0]

    def decisions(
        self, partition: str | None = None, ids: list[int] | None = None, after_id: int = 0
    ) -> list[Decision]:
        query = sa.select(review_decisions).where(review_decisions.c.id > after_id).order_by(review_decisions.c.id)
        if partition is not None:
            query = query.where(review_decisions.c.partition == partition)
        if ids is not None:
            query = query.where(review_decisions.c.id.in_(ids))
        with self._connect() as connection:
            return [Decision(**dict(row._mapping)) for row in connection.execute(query)]

    def unapplied(self, after_id: int = 0) -> list[Decision]:
        """Decisions no run has applied yet (undos included: they change what is applied)."""
        return [d for d in self.decisions(after_id=after_id) if not d.applied and d.superseded_by is None]

    def precision_before(self, partition: str) -> float | None:
        """The request's precision before any of its decisions was applied (None: not known)."""
        for decision in self.decisions(partition):
            if decision.precision_before is not None:
                return decision.precision_before
        return None

    def mark_applied(self, outcomes: dict[int, tuple[str, str]], run_id: str) -> None:
        """`outcomes`: decision id -> (what applying did, the code after it)."""
        now = time.time()
        with self._begin() as connection:
            for decision_id, (outcome, code_after) in outcomes.items():
                connection.execute(
                    sa.update(review_decisions)
                    .where(review_decisions.c.id == decision_id)
                    .values(applied_run_id=run_id, applied_at=now, outcome=outcome, code_after=code_after)
                )

    # -- drafts and suggestions -------------------------------------------------------------------

    def keep_draft(self, partition: str, atom_id: str, reviewer: str, code: str, problems: list[str]) -> int:
        row = {
            "created_at": time.time(),
            "partition": partition,
            "atom_id": atom_id,
            "reviewer": reviewer,
            "code": code,
            "problems": "\n".join(problems),
        }
        with self._begin() as connection:
            return int(connection.execute(sa.insert(review_drafts).values(**row)).inserted_primary_key[0])

    def latest_draft(self, partition: str, atom_id: str) -> dict[str, Any] | None:
        query = (
            sa.select(review_drafts)
            .where(review_drafts.c.partition == partition, review_drafts.c.atom_id == atom_id)
            .order_by(review_drafts.c.id.desc())
            .limit(1)
        )
        with self._connect() as connection:
            row = connection.execute(query).first()
        return dict(row._mapping) if row else None

    def save_suggestion(self, suggestion: Suggestion) -> Suggestion:
        row = {**suggestion.as_dict(), "issues": json.dumps(list(suggestion.issues)), "created_at": time.time()}
        row.pop("id")
        with self._begin() as connection:
            new_id = int(connection.execute(sa.insert(review_suggestions).values(**row)).inserted_primary_key[0])
        return Suggestion(**{**suggestion.__dict__, "id": new_id})

    def suggestion(self, partition: str, atom_id: str, sha: str) -> Suggestion | None:
        """The newest available suggestion for this version of the atom (an unavailable one is retried)."""
        query = (
            sa.select(review_suggestions)
            .where(
                review_suggestions.c.partition == partition,
                review_suggestions.c.atom_id == atom_id,
                review_suggestions.c.code_sha == sha,
                review_suggestions.c.available.is_(True),
            )
            .order_by(review_suggestions.c.id.desc())
            .limit(1)
        )
        with self._connect() as connection:
            row = connection.execute(query).first()
        return _suggestion(dict(row._mapping)) if row else None

    def suggestions(self, ids: list[int]) -> dict[int, Suggestion]:
        if not ids:
            return {}
        query = sa.select(review_suggestions).where(review_suggestions.c.id.in_(ids))
        with self._connect() as connection:
            return {row.id: _suggestion(dict(row._mapping)) for row in connection.execute(query)}

    # -- internals --------------------------------------------------------------------------------

    def _connect(self) -> Any:
        return _Guarded(self, self.engine.connect)

    def _begin(self) -> Any:
        return _Guarded(self, self.engine.begin)

    def _unavailable(self, error: Exception) -> MgeError:
        from mge_assets.llm.cache import redact

        return MgeError(
            f"the review database ({redact(self.url)}) is unavailable ({type(error).__name__}: "
            f"{str(error).splitlines()[0][:200]}); nothing was recorded. Start it, or point MGE_DATABASE_URL "
            "at one that answers, and try again"
        )


class _Guarded:
    """A connection context whose database errors become the store's clear error."""

    def __init__(self, store: ReviewStore, opener: Any) -> None:
        self.store, self.opener, self.context = store, opener, None

    def __enter__(self) -> sa.Connection:
        try:
            self.context = self.opener()
            return self.context.__enter__()
        except sa.exc.SQLAlchemyError as error:
            raise self.store._unavailable(error) from None

    def __exit__(self, *exc: Any) -> None:
        try:
            self.context.__exit__(*exc)
        except sa.exc.SQLAlchemyError as error:
            raise self.store._unavailable(error) from None
        if exc[0] is not None and issubclass(exc[0], sa.exc.SQLAlchemyError):
            raise self.store._unavailable(exc[1]) from None


def _suggestion(row: dict[str, Any]) -> Suggestion:
    row.pop("created_at", None)
    return Suggestion(**{**row, "issues": tuple(json.loads(row["issues"]))})
