"""What a run spent and finished, in SQL: the `cost_events` table (one row per model call, with its
trace id) and the `atom_checkpoints` table (each finished atom, so a killed run resumes).

SQLite under MGE_HOME (`mge.db`) by default; any SQLAlchemy URL with MGE_DATABASE_URL (PostgreSQL:
`postgresql+psycopg2://user@host/db`). A database that cannot be reached costs a warning, never the run.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

import sqlalchemy as sa

from mge_assets.llm.client import CallRecord
from mge_assets.settings import mge_home

log = logging.getLogger(__name__)
metadata = sa.MetaData()

cost_events = sa.Table(
    "cost_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("partition", sa.String(64), nullable=False, index=True),
    # Indexed for the reads by run (a run's spend, the exporter's latest runs); older databases get
    # the index when a Ledger opens them (`add_missing_columns`).
    sa.Column("run_id", sa.String(64), nullable=False, index=True),
    sa.Column("trace_id", sa.String(128), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),  # the prompt's kind, or budget_override
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("input_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("output_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("cache_write_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("cache_read_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("cost_usd", sa.Float, nullable=False, default=0.0),
    sa.Column("latency_s", sa.Float, nullable=False, default=0.0),
    sa.Column("cached", sa.Boolean, nullable=False, default=False),
    sa.Column("error", sa.Text, nullable=False, default=""),
    # Billed at the Message Batches price (half). Added later: databases made before it get the column
    # when a Ledger opens them (`add_missing_columns`), their earlier rows reading as standard calls.
    sa.Column("batch", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    # Added later, like `batch`: the stage that made the call, and whether its run was fresh (a canary:
    # its own cold project, whose spend does not count against the request's budget).
    sa.Column("stage", sa.String(64), nullable=False, default="", server_default=""),
    sa.Column("fresh", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
)

atom_checkpoints = sa.Table(
    "atom_checkpoints",
    metadata,
    sa.Column("partition", sa.String(64), primary_key=True),
    sa.Column("fingerprint", sa.String(64), primary_key=True),
    sa.Column("atom_id", sa.String(512), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),
)


# Per stage and item (task, atom, requirement), the digests of the inputs its answer was written from,
# as of the latest run: the next run says which of them changed for each answer it asks again.
answer_inputs = sa.Table(
    "answer_inputs",
    metadata,
    sa.Column("partition", sa.String(64), primary_key=True),
    sa.Column("stage", sa.String(64), primary_key=True),
    sa.Column("item", sa.String(512), primary_key=True),
    sa.Column("inputs", sa.Text, nullable=False),
    sa.Column("output", sa.String(64), nullable=False, default=""),  # digest of the answer (normalized code)
    sa.Column("run_id", sa.String(64), nullable=False),
)


def database_url() -> str:
    return os.environ.get("MGE_DATABASE_URL") or f"sqlite:///{(mge_home() / 'mge.db').resolve()}"


def open_engine(url: str) -> sa.Engine:
    """An engine on `url` (SQLite: its folder made, WAL so readers do not block the writer)."""
    if url.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(url.removeprefix("sqlite:///")) or ".", exist_ok=True)
    engine = sa.create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class Ledger:
    """The two tables for one partition and run. Every method degrades to a no-op on database errors."""

    def __init__(self, partition: str, run_id: str = "", url: str | None = None, fresh: bool = False) -> None:
        self.partition = partition
        self.run_id = run_id
        self.fresh = fresh
        self.url = url or database_url()
        self.warnings: list[str] = []
        self.engine: sa.Engine | None = None
        try:
            engine = open_engine(self.url)
            metadata.create_all(engine)
            add_missing_columns(engine, cost_events)
            self.engine = engine
        except sa.exc.SQLAlchemyError as error:
            self._degrade(error)

    def record_call(self, record: CallRecord) -> None:
        self._insert(cost_events, {**record.as_row(), **self._keys(), "fresh": self.fresh})

    def record_override(self, cap_usd: float, request_cap_usd: float) -> None:
        """An explicit budget override, kept with the costs it allowed."""
        self._insert(
            cost_events,
            {
                **self._keys(),
                "trace_id": f"{self.partition}:budget",
                "kind": "budget_override",
                "model": "",
                "error": f"hard cap raised from ${request_cap_usd:.2f} to ${cap_usd:.2f} for run {self.run_id}",
            },
        )

    def costs(self) -> list[dict[str, Any]]:
        if self.engine is None:
            return []
        query = sa.select(cost_events).where(cost_events.c.partition == self.partition).order_by(cost_events.c.id)
        try:
            with self.engine.connect() as connection:
                return [dict(row._mapping) for row in connection.execute(query)]
        except sa.exc.SQLAlchemyError as error:
            self._degrade(error)
            return []

    def run_cost_usd(self) -> float:
        """What the calls recorded for this partition and run have cost so far (0 without a database)."""
        if self.engine is None:
            return 0.0
        query = sa.select(sa.func.coalesce(sa.func.sum(cost_events.c.cost_usd), 0.0)).where(
            cost_events.c.partition == self.partition, cost_events.c.run_id == self.run_id
        )
        try:
            with self.engine.connect() as connection:
                return float(connection.execute(query).scalar() or 0.0)
        except sa.exc.SQLAlchemyError as error:
            self._degrade(error)
            return 0.0

    def project_spend(self) -> tuple[float, float]:
        """What counts against the request's budget: (this run's spend so far, earlier runs' spend).
        The budget is the project's: every earlier run of the partition counts, review suggestions
        included, except fresh runs (canaries), each of which is a cold project of its own."""
        if self.engine is None:
            return 0.0, 0.0
        c = cost_events.c
        this_run = c.run_id == self.run_id
        counted = this_run if self.fresh else sa.or_(this_run, c.fresh == sa.false())
        query = sa.select(
            sa.func.coalesce(sa.func.sum(sa.case((this_run, c.cost_usd), else_=0.0)), 0.0),
            sa.func.coalesce(sa.func.sum(sa.case((this_run, 0.0), else_=c.cost_usd)), 0.0),
        ).where(c.partition == self.partition, counted)
        try:
            with self.engine.connect() as connection:
                run, earlier = connection.execute(query).one()
        except sa.exc.SQLAlchemyError as error:
            self._degrade(error)
            return 0.0, 0.0
        return float(run), float(earlier)

    # -- what each answer was written from ----------------------------------------------------

    def answer_inputs(self, stage: str) -> dict[str, tuple[dict[str, str], str]]:
        """(inputs, output digest) of each item of `stage`, as the latest run that recorded them saw them."""
        if self.engine is None:
            return {}
        t = answer_inputs.c
        query = sa.select(t.item, t.inputs, t.output).where(t.partition == self.partition, t.stage == stage)
        try:
            with self.engine.connect() as connection:
                return {row.item: (json.loads(row.inputs), row.output) for row in connection.execute(query)}
        except sa.exc.SQLAlchemyError as error:
            self._degrade(error)
            return {}

    def save_answer_inputs(
        self, stage: str, inputs: dict[str, dict[str, str]], outputs: dict[str, str] | None = None
    ) -> None:
        """Replace the stage's recorded inputs (and the digests of its answers) by this run's."""
        if self.engine is None:
            return
        rows = [
            {
                "partition": self.partition,
                "stage": stage,
                "item": item,
                "inputs": json.dumps(digests),
                "output": (outputs or {}).get(item, ""),
                "run_id": self.run_id,
            }
            for item, digests in inputs.items()
        ]
        t = answer_inputs.c
        try:
            with self.engine.begin() as connection:
                connection.execute(sa.delete(answer_inputs).where(t.partition == self.partition, t.stage == stage))
                if rows:
                    connection.execute(sa.insert(answer_inputs), rows)
        except sa.exc.SQLAlchemyError as error:
            self._degrade(error)

    # -- checkpoints (the engine's Checkpoints protocol) ----------------------------------------

    def load(self, fingerprint: str) -> dict[str, Any] | None:
        if self.engine is None:
            return None
        query = sa.select(atom_checkpoints.c.outcome).where(
            atom_checkpoints.c.partition == self.partition, atom_checkpoints.c.fingerprint == fingerprint
        )
        try:
            with self.engine.connect() as connection:
                value = connection.execute(query).scalar()
        except sa.exc.SQLAlchemyError as error:
            self._degrade(error)
            return None
        return json.loads(value) if value else None

    def save(self, fingerprint: str, atom_id: str, outcome: dict[str, Any]) -> None:
        if self.engine is None:
            return
        row = {
            "partition": self.partition,
            "fingerprint": fingerprint,
            "atom_id": atom_id,
            "created_at": time.time(),
            "outcome": json.dumps(outcome, default=str),
        }
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    sa.delete(atom_checkpoints).where(
                        atom_checkpoints.c.partition == self.partition, atom_checkpoints.c.fingerprint == fingerprint
                    )
                )
                connection.execute(sa.insert(atom_checkpoints), [row])
        except sa.exc.SQLAlchemyError as error:
            self._degrade(error)

    def checkpoint_count(self) -> int:
        if self.engine is None:
            return 0
        query = sa.select(sa.func.count()).where(atom_checkpoints.c.partition == self.partition)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar() or 0)

    # -- internals ------------------------------------------------------------------------------

    def _keys(self) -> dict[str, Any]:
        return {"created_at": time.time(), "partition": self.partition, "run_id": self.run_id}

    def _insert(self, table: sa.Table, row: dict[str, Any]) -> None:
        if self.engine is None:
            return
        try:
            with self.engine.begin() as connection:
                connection.execute(sa.insert(table), [row])
        except sa.exc.SQLAlchemyError as error:
            self._degrade(error)

    def _degrade(self, error: Exception) -> None:
        message = (
            f"the cost and checkpoint database ({_redact(self.url)}) is unavailable ({type(error).__name__}: "
            f"{str(error).splitlines()[0][:200]}); going on without it: costs stay in the asset's metadata, "
            "but a killed run will redo its atoms"
        )
        log.warning(message)
        self.warnings.append(message)
        self.engine = None


def add_missing_columns(engine: sa.Engine, table: sa.Table) -> None:
    """Columns and indexes of `table` added after it was first created (each column nullable or with
    a server default), added to a database that lacks them: SQLite and PostgreSQL both take `ADD
    COLUMN ... DEFAULT`.
    Another process adding the same column at the same moment makes ours fail; the column is then
    there, which is all that is needed."""
    present = _column_names(engine, table)
    for column in table.columns:
        if column.name in present:
            continue
        definition = sa.schema.CreateColumn(column).compile(dialect=engine.dialect)  # batch BOOLEAN DEFAULT ...
        try:
            with engine.begin() as connection:
                connection.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {definition}"))
        except sa.exc.SQLAlchemyError:
            if column.name not in _column_names(engine, table):
                raise
        log.info("added the column %s to %s", column.name, table.name)
    for index in table.indexes:  # indexes added later: `create_all` leaves an existing table alone
        try:
            index.create(engine, checkfirst=True)
        except sa.exc.SQLAlchemyError:
            if index.name not in {i["name"] for i in sa.inspect(engine).get_indexes(table.name)}:
                raise


def _column_names(engine: sa.Engine, table: sa.Table) -> set[str]:
    return {column["name"] for column in sa.inspect(engine).get_columns(table.name)}


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (the UI, a resumed run) do not block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _redact(url: str) -> str:
    from mge_assets.llm.cache import redact

    return redact(url)
