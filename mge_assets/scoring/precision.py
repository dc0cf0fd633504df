"""The precision score: 0.5 * spec conformance + 0.3 * integration pass + 0.2 * validation pass.

Every component keeps its inputs so a reader can recompute it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

WEIGHTS = {"spec_conformance": 0.5, "integration_pass": 0.3, "validation_pass": 0.2}
COMPONENTS = tuple(WEIGHTS)  # the score's three components, in the order reports show them
GATE_A = 0.95
GATE_S = 0.98


class Component(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    weight: float
    value: float
    numerator: float
    denominator: float
    explanation: str


class PrecisionReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    score: float
    components: tuple[Component, ...]
    gate_a: bool
    gate_s: bool
    totals: dict[str, float]
    # With reviewers' decisions applied: how many are in effect, and the score before any was applied.
    review_decisions: int = 0
    before_review: float | None = None


def spec_conformance(passed: int, total: int) -> Component:
    return _component("spec_conformance", passed, total, "requirements whose acceptance tests all pass")


def integration_pass(passed: int, total: int) -> Component:
    return _component(
        "integration_pass",
        passed,
        total,
        "atoms with dependencies in earlier waves whose module imports and whose service answers (levels 2 and 4)",
    )


def validation_pass(level_scores: dict[str, float], inputs: dict[str, str] | None = None) -> Component:
    """The mean of the levels' scores; `inputs` says what each level counted (shown with its score)."""
    total = float(len(level_scores))
    value = sum(level_scores.values())
    inputs = inputs or {}
    detail = ", ".join(
        f"{name} {score:.3f}" + (f" [{inputs[name]}]" if name in inputs else "") for name, score in level_scores.items()
    )
    return _component("validation_pass", value, total, f"mean of the validation levels ({detail})")


def precision_report(components: list[Component], totals: dict[str, float]) -> PrecisionReport:
    score = round(sum(c.weight * c.value for c in components), 6)
    return PrecisionReport(
        score=score, components=tuple(components), gate_a=score >= GATE_A, gate_s=score >= GATE_S, totals=totals
    )


def _component(name: str, numerator: float, denominator: float, explanation: str) -> Component:
    value = numerator / denominator if denominator else 0.0
    return Component(
        name=name,
        weight=WEIGHTS[name],
        value=round(value, 6),
        numerator=numerator,
        denominator=denominator,
        explanation=explanation,
    )
