"""The review queue read back: each request's queued atoms with their values and decisions, for
`mge review` and its page; and a request's precision now, to set beside the one before review."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from mge_assets.acceptance.results import AcceptanceResults
from mge_assets.acceptance.suite import AcceptanceSuite
from mge_assets.defs.partitions import requests_partitions
from mge_assets.errors import MgeError
from mge_assets.plan.masterplan import Masterplan
from mge_assets.readback.modes import mode_figures
from mge_assets.review.items import RequestValues, ReviewItem, build_items
from mge_assets.review.store import ReviewStore

QUEUE = dg.AssetKey("review_queue")


def review_items(
    defs: dg.Definitions, instance: dg.DagsterInstance, store: ReviewStore, name: str | None = None
) -> list[ReviewItem]:
    """Every queued item across requests (or of request `name`), lowest confidence first."""
    names = [name] if name else instance.get_dynamic_partitions(requests_partitions.name)
    if name and name not in instance.get_dynamic_partitions(requests_partitions.name):
        raise MgeError(f"no request named '{name}'; `mge review list` shows every request's queue")
    items: list[ReviewItem] = []
    for partition in names:
        values = request_values(defs, instance, partition)
        if values is not None:
            items += build_items(values, store.decisions(partition))
    return sorted(items, key=lambda i: (i.confidence, i.request, i.atom))


def request_values(defs: dg.Definitions, instance: dg.DagsterInstance, partition: str) -> RequestValues | None:
    """What the items of one request are made of; None when its queue was never materialized."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=QUEUE, asset_partitions=[partition]), limit=1
    ).records
    if not records:
        return None
    queue = _load(defs, instance, "review_queue", partition, pd.DataFrame)
    results = _load(defs, instance, "atom_results", partition, pd.DataFrame)
    atoms = _load(defs, instance, "atoms", partition, pd.DataFrame)
    if queue is None or results is None or atoms is None:
        return None
    plan = _load(defs, instance, "masterplan", partition, Masterplan)
    suite = _load(defs, instance, "acceptance_tests", partition, AcceptanceSuite)
    outcome = _load(defs, instance, "acceptance_results", partition, AcceptanceResults)
    tests: dict[str, list[tuple[str, str]]] = {}
    outcomes = {t.test_id: t.outcome for t in outcome.tests} if outcome else {}
    for case in suite.cases if suite else ():
        tests.setdefault(case.requirement_id, []).append((case.test_id, outcomes.get(case.test_id, "not run")))
    return RequestValues(
        request=partition,
        queue=queue,
        queued_at=records[0].timestamp,
        results=results,
        atoms=atoms,
        requirements_by_task={t.id: tuple(t.requirement_ids) for t in plan.tasks} if plan else {},
        requirements={r.id: (r.level, r.text) for r in plan.requirements} if plan else {},
        requirement_passed={r.requirement_id: r.passed for r in outcome.requirements} if outcome else {},
        tests_by_requirement={r: tuple(t) for r, t in tests.items()},
    )


def queue_skipped(instance: dg.DagsterInstance, run_id: str, partition: str) -> bool:
    """Whether run `run_id` made the project of `partition` but a gate stopped it before the review
    queue (a blocking check skips everything downstream in the same run)."""

    def latest_run(asset: str) -> str | None:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition]), limit=1
        ).records
        return records[0].run_id if records else None

    return latest_run("generated_project") == run_id and latest_run("review_queue") != run_id


def review_precision(
    defs: dg.Definitions, instance: dg.DagsterInstance, store: ReviewStore, partition: str
) -> tuple[float | None, float]:
    """(precision before any decision was applied, precision now), the latter scored from the stored
    values as the dual-run does, so a run that Gate S blocked still has one."""
    figures = mode_figures(instance, partition, lambda asset, kind: stored_value(defs, asset, partition, kind))
    return store.precision_before(partition), figures.precision


def stored_value(defs: dg.Definitions, asset: str, partition: str, kind: type) -> object:
    """A stored value read through the project's IO manager, straight from its file: Dagster's own
    loader builds two throwaway instances per value (~0.4 s), and a page of the queue reads six values
    per request."""
    try:
        return defs.resources["io_manager"].stored(dg.AssetKey(asset), partition, kind)
    except FileNotFoundError:
        raise MgeError(f"'{partition}' has no {asset} yet; run it first: mge run <its request file>") from None


def _load(defs: dg.Definitions, instance: dg.DagsterInstance, asset: str, partition: str, kind: type) -> object:
    try:
        return stored_value(defs, asset, partition, kind)
    except MgeError:
        return None
