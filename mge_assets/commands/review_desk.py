"""The reviewer's desk: what `mge review` and its page do, over one instance and one review database.

It reads the queue back (readback.review), asks for AI suggestions through the configured model
backend (their cost in `cost_events`, with the atom's trace id), checks and stores decisions
(review.decide, review.store), and applies them in-process for a user without a daemon (the same
review_apply job the `review_decisions` sensor launches).
"""

from __future__ import annotations

import getpass
import os
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from mge_assets.atomize.model import Atom
from mge_assets.errors import MgeError
from mge_assets.review.decide import RefusedEdit, new_decision, undo_decision
from mge_assets.review.items import ReviewItem, find_item
from mge_assets.review.stats import ReviewStats, review_stats
from mge_assets.review.store import Decision, ReviewStore, Suggestion

if TYPE_CHECKING:
    import dagster as dg

SUGGESTION_BUDGET_USD = 0.50  # the most one suggestion may cost


def reviewer_name(given: str | None = None) -> str:
    """Who decides: --reviewer, else MGE_REVIEWER, else the login name."""
    return given or os.environ.get("MGE_REVIEWER") or getpass.getuser()


@dataclass
class Applied:
    request: str
    decisions: list[int]
    run_id: str
    success: bool


class ReviewDesk:
    def __init__(self, instance: dg.DagsterInstance | None = None, store: ReviewStore | None = None) -> None:
        from mge_assets.commands.instance import open_instance
        from mge_assets.definitions import defs

        self.defs = defs
        self.instance = instance or open_instance()
        self.store = store or ReviewStore(_database_url())

    # -- reading --------------------------------------------------------------------------------

    def items(self, name: str | None = None, status: str | None = None) -> list[ReviewItem]:
        from mge_assets.readback.review import review_items

        items = review_items(self.defs, self.instance, self.store, name)
        return [i for i in items if status is None or i.status == status]

    def item(self, item_id: str) -> ReviewItem:
        return find_item(self.items(), item_id)

    def stats(self, name: str | None = None) -> ReviewStats:
        from mge_assets.readback.review import request_values

        items = self.items(name)
        requests = sorted({i.request for i in items})
        unqueued = 0
        for request in requests:
            values = request_values(self.defs, self.instance, request)
            if values is not None:
                spot = values.queue.get("spot_check")
                queued = len(values.queue) - (int(spot.sum()) if spot is not None else 0)
                unqueued += len(values.results) - queued
        decisions = [d for r in requests for d in self.store.decisions(r)]
        return review_stats(items, decisions, unqueued, time.time(), self.precision(requests))

    def precision(self, requests: list[str]) -> dict[str, tuple[float | None, float]]:
        """Per request with decisions: (precision before review, precision now)."""
        from mge_assets.readback.review import review_precision

        scores = {}
        for request in requests:
            if self.store.decisions(request):
                try:
                    scores[request] = review_precision(self.defs, self.instance, self.store, request)
                except MgeError:
                    continue
        return scores

    async def suggestion(self, item: ReviewItem) -> Suggestion:
        """The suggestion for this version of the atom: stored, or asked of the model backend now."""
        stored = self.store.suggestion(item.request, item.atom, item.current_sha)
        if stored is not None:
            return stored
        from mge_assets.defs.resources import default_resources
        from mge_assets.ledger import Ledger
        from mge_assets.llm import Budget
        from mge_assets.plan import DiscoveryDocument
        from mge_assets.readback.review import stored_value
        from mge_assets.review.suggest import suggest

        discovery = stored_value(self.defs, "discovery_document", item.request, DiscoveryDocument)
        ledger = Ledger(item.request, "review-suggestion", _database_url())
        resource = default_resources()["model_backend"]
        budget = Budget(SUGGESTION_BUDGET_USD)
        client = resource.client(budget, on_record=ledger.record_call, stage="review_suggestion")  # type: ignore[attr-defined]
        made = await suggest(item, discovery, client)  # type: ignore[arg-type]
        return self.store.save_suggestion(made)

    # -- deciding -------------------------------------------------------------------------------

    def decide(
        self,
        item_id: str,
        action: str,
        reviewer: str,
        comment: str = "",
        code: str | None = None,
        seen_sha: str | None = None,
        suggestion_id: int | None = None,
    ) -> Decision:
        """Check and store one decision. A refused edit is kept as a draft before the error is raised."""
        item = self.item(item_id)
        suggestion = self.store.suggestions([suggestion_id]).get(suggestion_id) if suggestion_id else None
        if suggestion is None:
            suggestion = self.store.suggestion(item.request, item.atom, item.current_sha)
        atoms, codes = self._sources(item) if action == "edit" else ({}, {})
        try:
            new = new_decision(
                item,
                action,
                reviewer,
                comment,
                code,
                seen_sha,
                suggestion,
                atoms.get(item.atom),
                codes,
                atoms,
            )
        except RefusedEdit as refused:
            draft = self.store.keep_draft(item.request, item.atom, reviewer, code or "", refused.problems)
            raise RefusedEdit([*refused.problems, f"your code is kept as draft #{draft}"]) from None
        return self.store.record(replace(new, precision_before=self._precision_before(item.request)))

    def _precision_before(self, request: str) -> float | None:
        """The request's precision now, while none of its decisions is applied (its values are the
        model's own); once one is, the score before review is the one recorded then."""
        if any(d.applied for d in self.store.decisions(request)):
            return None
        from mge_assets.readback.review import review_precision

        try:
            return review_precision(self.defs, self.instance, self.store, request)[1]
        except MgeError:
            return None

    def undo(self, item_id: str, reviewer: str, comment: str = "") -> Decision:
        return self.store.record(undo_decision(self.item(item_id), reviewer, comment))

    def _sources(self, item: ReviewItem) -> tuple[dict[str, Atom], dict[str, str]]:
        from mge_assets.readback.review import request_values

        values = request_values(self.defs, self.instance, item.request)
        if values is None:
            raise MgeError(f"'{item.request}' has no review queue yet; run it first")
        atoms = {row["id"]: Atom.from_row(row) for row in values.atoms.to_dict("records")}
        codes = dict(zip(values.results["atom_id"], values.results["code"], strict=True))
        return atoms, codes

    # -- applying -------------------------------------------------------------------------------

    def apply(self, name: str | None = None, log_level: str = "WARNING") -> list[Applied]:
        """Run review_apply in this process for every request (or `name`) with decisions not yet applied."""
        from mge_assets.defs.tags import REVIEW_TAG

        waiting: dict[str, list[int]] = {}
        for decision in self.store.unapplied():
            if name is None or decision.partition == name:
                waiting.setdefault(decision.partition, []).append(decision.id)
        job = self.defs.resolve_job_def("review_apply")
        applied = []
        for request, ids in sorted(waiting.items()):
            result = job.execute_in_process(
                partition_key=request,
                instance=self.instance,
                raise_on_error=False,
                tags={REVIEW_TAG: ",".join(map(str, ids))},
                run_config={"loggers": {"console": {"config": {"log_level": log_level.upper()}}}},
            )
            applied.append(Applied(request, ids, result.run_id, result.success))
            if not result.success:
                make_queue_after_a_gate(self.defs, self.instance, request, result.run_id, log_level)
        return applied


def make_queue_after_a_gate(
    defs: dg.Definitions, instance: dg.DagsterInstance, partition: str, run_id: str, log_level: str = "WARNING"
) -> bool:
    """What the review_queue_after_a_gate sensor does, in this process: when a gate stopped run
    `run_id` after the project but before the review queue, make the queue in a run of its own."""
    from mge_assets.readback.review import queue_skipped

    if not queue_skipped(instance, run_id, partition):
        return False
    result = defs.resolve_job_def("review_queue_refresh").execute_in_process(
        partition_key=partition,
        instance=instance,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": log_level.upper()}}}},
    )
    return result.success


def _database_url() -> str | None:
    from mge_assets.defs.resources import default_resources

    return default_resources()["model_backend"].database_url  # type: ignore[attr-defined]


def decision_line(decision: Decision) -> str:
    verb = {"approve": "approved", "edit": "edited", "regenerate": "sent back", "reject": "rejected", "undo": "undid"}
    return (
        f"decision #{decision.id}: {verb[decision.action]} {decision.atom_id} of '{decision.partition}' "
        f"by {decision.reviewer}; the review_decisions sensor applies it "
        f"(or run: mge review apply {decision.partition})"
    )
