"""What the reviewers' work says: decisions by kind, how often the AI suggestion was taken, what the
spot checks estimate the queue misses, and the age of the oldest pending item (the review SLA)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from mge_assets.review.items import ReviewItem, oldest_pending_age
from mge_assets.review.store import Decision

CHANGING = ("edit", "regenerate", "reject")  # a decision that says the atom was wrong


@dataclass(frozen=True)
class ReviewStats:
    items: int
    pending: int
    decisions: dict[str, int] = field(default_factory=dict)
    suggestions_offered: int = 0  # decisions made with a suggestion on screen
    suggestions_taken: int = 0
    spot_checks: int = 0
    spot_checks_decided: int = 0
    spot_checks_wrong: int = 0  # edited, regenerated or rejected
    unqueued_atoms: int = 0
    estimated_missed: float | None = None  # wrong share of decided spot checks x unqueued atoms
    oldest_pending_age_s: float | None = None
    precision: dict[str, tuple[float | None, float]] = field(default_factory=dict)  # request -> (before, now)

    @property
    def suggestion_take_rate(self) -> float | None:
        return self.suggestions_taken / self.suggestions_offered if self.suggestions_offered else None

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "suggestion_take_rate": self.suggestion_take_rate}

    def lines(self) -> list[str]:
        take = self.suggestion_take_rate
        age = self.oldest_pending_age_s
        missed = "" if self.estimated_missed is None else f", est. {self.estimated_missed:.1f} missed defect(s)"
        return [
            f"{self.items} item(s), {self.pending} pending"
            + (f"; oldest pending waited {age_text(age)}" if age is not None else ""),
            "decisions: " + (", ".join(f"{k} {v}" for k, v in sorted(self.decisions.items())) or "none"),
            f"AI suggestion taken: {self.suggestions_taken} of {self.suggestions_offered}"
            + (f" ({take:.0%})" if take is not None else ""),
            f"spot checks: {self.spot_checks} offered, {self.spot_checks_decided} decided, "
            f"{self.spot_checks_wrong} found wrong, over {self.unqueued_atoms} unqueued atom(s){missed}",
            *(
                f"precision of {request}: {_score(before)} before review, {now:.4f} now"
                for request, (before, now) in sorted(self.precision.items())
            ),
        ]


def review_stats(
    items: list[ReviewItem],
    decisions: list[Decision],
    unqueued_atoms: int,
    now: float,
    precision: dict[str, tuple[float | None, float]] | None = None,
) -> ReviewStats:
    made = [d for d in decisions if d.action != "undo" and d.superseded_by is None and d.undone_by is None]
    counts: dict[str, int] = {}
    for decision in made:
        counts[decision.action] = counts.get(decision.action, 0) + 1
    spot = [d for d in made if d.spot_check]
    wrong = [d for d in spot if d.action in CHANGING]
    offered = [d for d in made if d.suggestion_id is not None]
    return ReviewStats(
        items=len(items),
        pending=sum(1 for i in items if i.status == "pending"),
        decisions=counts,
        suggestions_offered=len(offered),
        suggestions_taken=sum(1 for d in offered if d.suggestion_taken),
        spot_checks=sum(1 for i in items if i.spot_check),
        spot_checks_decided=len(spot),
        spot_checks_wrong=len(wrong),
        unqueued_atoms=unqueued_atoms,
        estimated_missed=len(wrong) / len(spot) * unqueued_atoms if spot else None,
        oldest_pending_age_s=oldest_pending_age(items, now),
        precision=precision or {},
    )


def age_text(seconds: float | None) -> str:
    """'42 s', '7 min', '3 h 5 min', '2 d 4 h'; 'nothing pending' for None."""
    if seconds is None:
        return "nothing pending"
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min"
    if whole < 86400:
        return f"{whole // 3600} h {whole % 3600 // 60} min"
    return f"{whole // 86400} d {whole % 86400 // 3600} h"


def _score(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.4f}"
