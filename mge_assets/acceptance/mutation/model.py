"""A mutant: one operator applied at one site of one file of a generated service."""

from __future__ import annotations

from dataclasses import dataclass

STATUS_SWAPS = {200: 201, 201: 200, 204: 200, 404: 400, 409: 400, 422: 400}
# Operators that only business rules give sites to (a mutant of a rules module is a rule mutant too).
RULE_OPERATORS = frozenset(
    {"bound_up", "bound_down", "allow_transition", "drop_rule_check", "drop_refresh", "skip_lifecycle_move"}
)


@dataclass(frozen=True)
class Mutant:
    file: str
    operator: str
    site: int  # the operator's n-th site in the file
    line: int
    description: str
    source: str  # the whole mutated file

    @property
    def rule(self) -> bool:
        """Whether it breaks a business rule: a rule operator, or any change to a rules module."""
        return self.operator in RULE_OPERATORS or "/rules/" in f"/{self.file}"
