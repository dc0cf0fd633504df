"""Sample values of each field that every rule of the request accepts, as Python literals.

Generated factories and tests send `samples[0]` for a valid row and `samples[1]` for a second,
different value (an update, a filter's other row): both must lie within the field's bounds,
keep the entity's dates in the order its rules ask for, and be values of its enum.
"""

from __future__ import annotations

import datetime as dt
import math

import networkx as nx

from mge_assets.request import EntitySpec, FieldSpec
from mge_assets.rules import Rule
from mge_assets.rules.records import BoundParameters

# Values that fit each type; index 0 and 1 differ so filters can tell rows apart.
DEFAULT_SAMPLES = {
    "str": ('"alpha"', '"beta"'),
    "text": ('"Some longer text."', '"Other text."'),
    "int": ("1", "2"),
    "float": ("1.5", "2.5"),
    "bool": ("True", "False"),
    "date": ('"2025-01-31"', '"2025-02-28"'),
    "datetime": ('"2025-01-31T09:30:00"', '"2025-02-28T17:00:00"'),
    "email": ('"ada@example.com"', '"grace@example.com"'),
}


def entity_samples(entity: EntitySpec, rules: list[Rule]) -> dict[str, tuple[str, str]]:
    """Two valid sample literals per scalar field of `entity` (references are filled in by factories)."""
    bounds = {r.parameters.field: r.parameters for r in rules if isinstance(r.parameters, BoundParameters)}
    ranks = _date_ranks(entity, rules)
    samples: dict[str, tuple[str, str]] = {}
    for field in entity.fields:
        if field.type == "enum":
            first = field.default if field.default in field.choices else field.choices[0]
            other = next((c for c in field.choices if c != first), first)
            samples[field.name] = (repr(first), repr(other))
        elif field.name in bounds:
            samples[field.name] = _bounded(field, bounds[field.name])
        elif field.name in ranks:
            samples[field.name] = _dated(field, ranks[field.name])
        elif field.type in DEFAULT_SAMPLES:
            samples[field.name] = DEFAULT_SAMPLES[field.type]
    return samples


def _date_ranks(entity: EntitySpec, rules: list[Rule]) -> dict[str, int]:
    """The place of each ordered date field in the order its rules set (0 is the earliest)."""
    order = nx.DiGraph()
    for rule in rules:
        p = rule.parameters
        if rule.entity == entity.name and p.kind == "date_order":
            order.add_edge(p.earlier, p.later)
    if not order or not nx.is_directed_acyclic_graph(order):
        return {}
    return {name: rank for rank, layer in enumerate(nx.topological_generations(order)) for name in layer}


def _dated(field: FieldSpec, rank: int) -> tuple[str, str]:
    """Dates a month apart per rank: every sample of rank k lies after every sample of rank k-1."""
    first = dt.date(2025, 1, 10) + dt.timedelta(days=40 * rank)
    second = first + dt.timedelta(days=10)
    if field.type == "datetime":
        return repr(f"{first.isoformat()}T09:30:00"), repr(f"{second.isoformat()}T17:00:00")
    return repr(first.isoformat()), repr(second.isoformat())


def _bounded(field: FieldSpec, bound: BoundParameters) -> tuple[str, str]:
    if bound.measure == "length":
        low, high = valid_range(bound, integral=True)
        shortest = max(int(low or 1), 1)
        longest = int(high) if high is not None else max(shortest, 12)
        return repr(_text("alpha", min(max(shortest, 5), longest))), repr(_text("beta", min(max(shortest, 4), longest)))
    integral = field.type == "int"
    defaults = DEFAULT_SAMPLES[field.type]
    if all(_within(float(v), bound) for v in defaults):
        return defaults
    low, high = valid_range(bound, integral)
    start = low if low is not None else (high - 1 if high is not None else 1)  # type: ignore[operator]
    second = start + 1 if high is None or start + 1 <= high else start
    if integral:
        return str(int(start)), str(int(second))
    return repr(float(start)), repr(float(second))


def _text(seed: str, length: int) -> str:
    return (seed * (length // len(seed) + 1))[:length]


def valid_range(bound: BoundParameters, integral: bool) -> tuple[float | None, float | None]:
    """The smallest and largest values a bound accepts (for an int: whole numbers)."""
    step = 1 if integral else 0.01
    low = high = None
    if bound.minimum is not None:
        low = bound.minimum if bound.minimum_inclusive else bound.minimum + step
        low = math.ceil(low) if integral else round(low, 6)
    if bound.maximum is not None:
        high = bound.maximum if bound.maximum_inclusive else bound.maximum - step
        high = math.floor(high) if integral else round(high, 6)
    return low, high


def _within(value: float, bound: BoundParameters) -> bool:
    if bound.minimum is not None and (
        value < bound.minimum or (value == bound.minimum and not bound.minimum_inclusive)
    ):
        return False
    return not (
        bound.maximum is not None
        and (value > bound.maximum or (value == bound.maximum and not bound.maximum_inclusive))
    )
