"""The spending cap of a request's project: each call reserves its worst case before it is sent.

`spent_usd` starts at what earlier runs of the project spent (`earlier_usd`), so a re-run or a partial
re-materialization counts it against the same cap.

Reservations make the hard cap hold however many calls are in flight: a call that could push
spend plus open reservations past the cap is refused, and settles to its real cost afterwards.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from mge_assets.errors import BudgetExceededError

log = logging.getLogger(__name__)


@dataclass
class Budget:
    cap_usd: float
    spent_usd: float = 0.0
    soft_ratio: float = 0.7
    override: bool = False
    earlier_usd: float = 0.0  # of spent_usd: what earlier runs of the project spent
    reserved_usd: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def reserve(self, amount: float) -> None:
        """Hold `amount` for a call about to be sent, or refuse it."""
        if not self.override and self.spent_usd + self.reserved_usd + amount > self.cap_usd:
            raise BudgetExceededError(
                f"a call that may cost ${amount:.4f} would pass the hard cap of ${self.cap_usd:.2f} "
                f"(spent ${self.spent_usd:.4f}{self._earlier()}, ${self.reserved_usd:.4f} in flight); raise budget_usd "
                "in the request's front matter, or run with the budget override"
            )
        self.reserved_usd += amount

    def settle(self, reserved: float, actual: float) -> None:
        """Replace a reservation by what the call really cost (0 if it failed before billing)."""
        self.reserved_usd = max(0.0, self.reserved_usd - reserved)
        before = self.spent_usd
        self.spent_usd += actual
        soft = self.cap_usd * self.soft_ratio
        if before < soft <= self.spent_usd:
            message = f"spend ${self.spent_usd:.4f} passed the soft cap ({self.soft_ratio:.0%} of ${self.cap_usd:.2f})"
            log.warning(message)
            self.warnings.append(message)

    def _earlier(self) -> str:
        return f", of which ${self.earlier_usd:.4f} by earlier runs of this request" if self.earlier_usd else ""

    @property
    def remaining_usd(self) -> float:
        return self.cap_usd - self.spent_usd - self.reserved_usd
