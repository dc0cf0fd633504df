"""What the tests of one business rule send and expect, for both languages' templates.

Each rule's tests pass on a service that keeps the rule and fail when it is missing or off by one:
a bound's boundary values and their neighbours outside, a quota's N and N+1, every forbidden move
of a lifecycle, a computed field after each change of what it sums.
"""

from __future__ import annotations

import ast
import datetime as dt
from dataclasses import dataclass
from typing import Any

from mge_assets.acceptance.patterns import Untestable
from mge_assets.plan.discovery import DiscoveryDocument
from mge_assets.rules import Rule
from mge_assets.rules.records import BoundParameters, LifecycleParameters
from mge_assets.synth.samples import valid_range
from mge_assets.synth.views import EntityView, FieldView, entity_views, py_literal, ts_literal


@dataclass(frozen=True)
class Value:
    """A value a test sends or expects, written in each language."""

    py: str

    @property
    def ts(self) -> str:
        return ts_literal(self.py)


def value(python: Any) -> Value:
    return Value(py_literal(python))


@dataclass(frozen=True)
class RuleTests:
    """One rule's tests: the entities and fields they use and the values they send and expect."""

    rule: Rule
    entity: EntityView  # the entity the sentence is about
    views: dict[str, EntityView]
    facts: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.facts[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def kind(self) -> str:
        return self.rule.kind

    @property
    def status(self) -> int:
        return self.rule.status or 409


def rule_tests(discovery: DiscoveryDocument, rule: Rule) -> RuleTests:
    """The plan of a rule's tests, or Untestable when no test could tell the rule from its absence."""
    views = {v.name: v for v in entity_views(discovery)}
    entity = views[rule.entity]
    facts = _FACTS[rule.kind](rule, entity, views, discovery)
    return RuleTests(rule=rule, entity=entity, views=views, facts=facts)


def _field(entity: EntityView, name: str) -> FieldView:
    return next(f for f in entity.fields if f.name == name)


def _bound(rule: Rule, entity: EntityView, views: dict, discovery: DiscoveryDocument) -> dict[str, Any]:
    p: BoundParameters = rule.parameters  # type: ignore[assignment]
    field = _field(entity, p.field)
    length = p.measure == "length"
    integral = length or field.type == "int"
    step = 1 if integral else 0.01
    low, high = valid_range(p, integral)
    inside, outside = [], []
    if low is not None:
        inside.append(low)
        outside.append(round(low - step, 6))
    if high is not None:
        inside.append(high)
        outside.append(round(high + step, 6))
    if length:
        inside = [x for x in inside if x >= 0]
        outside = [x for x in outside if x >= 0]

    def literal(x: float) -> Value:
        if length:
            return value("x" * int(x))
        return value(int(x) if integral else float(x))

    return {"field": field, "inside": [literal(x) for x in inside], "outside": [literal(x) for x in outside]}


def _date_order(rule: Rule, entity: EntityView, views: dict, discovery: DiscoveryDocument) -> dict[str, Any]:
    p = rule.parameters
    later, earlier = _field(entity, p.later), _field(entity, p.earlier)
    base = ast.literal_eval(earlier.sample(0))
    moment = dt.datetime.fromisoformat(base) if "T" in base else dt.date.fromisoformat(base)
    tick = dt.timedelta(hours=1) if isinstance(moment, dt.datetime) else dt.timedelta(days=1)

    def at(delta: int) -> Value:
        return value((moment + delta * tick).isoformat())

    accepted = [at(1)] + ([] if p.strict else [at(0)])
    rejected = ([at(0)] if p.strict else []) + [at(-1)]
    return {
        "later": later,
        "earlier": earlier,
        "base": value(base),
        "accepted": accepted,
        "rejected": rejected,
        "earlier_too_late": at(2),  # moves the earlier field past the later one's first accepted value
    }


def _lifecycle(rule: Rule, entity: EntityView, views: dict, discovery: DiscoveryDocument) -> dict[str, Any]:
    p: LifecycleParameters = rule.parameters  # type: ignore[assignment]
    field = _field(entity, p.field)
    allowed = [(s, t) for s, targets in p.transitions.items() for t in targets if s != t]
    forbidden = [(s, t) for s in field.choices for t in field.choices if s != t and t not in p.transitions.get(s, ())]
    if not forbidden:
        raise Untestable(f"the lifecycle of {entity.name}.{field.name} allows every move, so no test can show it")
    pairs = [(value(s), value(t)) for s, t in allowed], [(value(s), value(t)) for s, t in forbidden]
    return {"field": field, "allowed": pairs[0], "forbidden": pairs[1]}


def _counting(rule: Rule, entity: EntityView, views: dict, discovery: DiscoveryDocument) -> dict[str, Any]:
    """Facts of the kinds that count child rows: quotas, pairs, delete guards."""
    p = rule.parameters
    child = views[p.child]
    via = _field(child, p.via)
    facts: dict[str, Any] = {"child": child, "via": via, "cond": None, "counted": None, "uncounted": None}
    if p.condition is not None:
        field = _field(child, p.condition.field)
        other = next((c for c in field.choices if c != p.condition.value), None) if field.type == "enum" else False
        facts.update(cond=field, counted=value(p.condition.value), uncounted=None if other is None else value(other))
        moves = _moves(discovery, child.name, field.name)
        facts["moves_in"] = other is not None and (moves is None or p.condition.value in moves.get(other, ()))
        leaving = moves is None or other in moves.get(p.condition.value, ())
        facts["leaves"] = other is not None and leaving
    else:
        facts.update(moves_in=False, leaves=False)
    if rule.kind == "quota":
        facts["limit"] = p.limit
        word = str(p.condition.value if p.condition.value is not True else p.condition.field) if p.condition else ""
        facts["counted_rows"] = "_".join(w for w in (word.replace("-", "_"), child.plural) if w)
    if rule.kind == "no_duplicate_pair":
        facts["other"] = views[p.other]
        facts["other_via"] = _field(child, p.other_via)
        # A quota of one on either side keeps a second counted row from that side: skip those steps.
        facts["parent_shares"] = _capacity(discovery, p.child, p.via, p.condition) > 1
        facts["other_shares"] = _capacity(discovery, p.child, p.other_via, p.condition) > 1
    return facts


def _computed(rule: Rule, entity: EntityView, views: dict, discovery: DiscoveryDocument) -> dict[str, Any]:
    p = rule.parameters
    child = views[p.child]
    factors = [_field(child, f) for f in p.factors]

    def amount(index: int) -> float:
        result = 1.0
        for factor in factors:
            result *= float(ast.literal_eval(factor.sample(index)))
        return result if factors else 1.0

    first, second = amount(0), amount(1)
    if _capacity(discovery, p.child, p.via, p.condition) < 2:
        raise Untestable(
            f"a quota lets an {entity.name} have one counted {child.name} only, so its {p.field} cannot be shown "
            "to follow several of them"
        )
    facts: dict[str, Any] = {
        "target": _field(entity, p.field),
        "child": child,
        "via": _field(child, p.via),
        "factors": factors,
        "first": value(_tidy(first)),
        "both": value(_tidy(first + second)),
        "changed": value(_tidy(first + first)),  # the second row changed to the first's values
        "cond": None,
    }
    if p.condition is not None:
        field = _field(child, p.condition.field)
        other = next((c for c in field.choices if c != p.condition.value), None) if field.type == "enum" else False
        facts.update(cond=field, counted=value(p.condition.value), uncounted=None if other is None else value(other))
    return facts


def _action(rule: Rule, entity: EntityView, views: dict, discovery: DiscoveryDocument) -> dict[str, Any]:
    p = rule.parameters
    expected = []
    start: dict[str, Value] = {}
    blocked: list[Value] = []
    moved = None
    for assignment in p.assignments:
        field = _field(entity, assignment.field)
        timely = assignment.value in ("today", "now") and field.type in ("date", "datetime")
        special = field.type if timely else None  # the date of today, or a time within the test's run
        expected.append((field, None if special else value(assignment.value), special))
        moves = _moves(discovery, entity.name, field.name)
        if moves is not None and moved is None:
            sources = [s for s, targets in moves.items() if assignment.value in targets]
            if not sources:
                raise Untestable(f"the lifecycle of {entity.name}.{field.name} never moves to {assignment.value}")
            start[field.column] = value(sources[0])
            blocked = [value(s) for s in field.choices if assignment.value not in moves.get(s, ())]
            moved = field
    return {
        "expected": expected,
        "start": start,
        "blocked": blocked,
        "moved": moved,
        "method": p.method,
        "segment": p.segment,
        "needs_datetime": any(special for _, _, special in expected),
    }


def _derived_default(rule: Rule, entity: EntityView, views: dict, discovery: DiscoveryDocument) -> dict[str, Any]:
    p = rule.parameters
    facts: dict[str, Any] = {
        "target": _field(entity, p.field),
        "source": p.source,
        "needs_datetime": p.source in ("today", "now"),
    }
    if p.source == "reference":
        reference = _field(entity, p.reference)
        facts.update(reference=reference, source_entity=views[reference.reference.name])
        facts["source_field"] = _field(views[reference.reference.name], p.reference_field)
    if p.source == "offset":
        base = _field(entity, p.base)
        start = ast.literal_eval(base.sample(0))
        moment = dt.datetime.fromisoformat(start) if "T" in start else dt.date.fromisoformat(start)
        facts.update(base=base, start=value(start), expected=value((moment + dt.timedelta(days=p.days)).isoformat()))
    given = facts["target"].sample(1)
    facts["given"] = Value(given)
    facts["clear"] = [(f, v) for f, v in _ordered_against(discovery, entity, p.field) if f.name != p.base]
    return facts


def _ordered_against(discovery: DiscoveryDocument, entity: EntityView, field: str) -> list[tuple[FieldView, Value]]:
    """Fields a date order ties to `field`, with a value that keeps the order whatever date the default
    derives (far past for one that must come before, far future for one that must come after)."""
    found = []
    for rule in discovery.rules:
        p = rule.parameters
        if rule.entity != entity.name or p.kind != "date_order" or field not in (p.later, p.earlier):
            continue
        other = _field(entity, p.earlier if p.later == field else p.later)
        moment = "2000-01-01" if p.later == field else "2999-12-31"
        found.append((other, value(moment if other.type == "date" else f"{moment}T00:00:00")))
    return found


def _capacity(discovery: DiscoveryDocument, child: str, via: str, condition: object) -> float:
    """How many counted rows of `child` one row may have through `via`, as quotas allow."""
    limits = [
        r.parameters.limit
        for r in discovery.rules
        if r.parameters.kind == "quota"
        and r.parameters.child == child
        and r.parameters.via == via
        and r.parameters.condition in (None, condition)
    ]
    return min(limits, default=float("inf"))


def _moves(discovery: DiscoveryDocument, entity: str, field: str) -> dict[str, tuple[str, ...]] | None:
    """The transitions a lifecycle allows for `entity.field`, or None when it has no lifecycle."""
    for rule in discovery.rules:
        p = rule.parameters
        if rule.entity == entity and isinstance(p, LifecycleParameters) and p.field == field:
            return p.transitions
    return None


def _tidy(number: float) -> float | int:
    rounded = round(number, 6)
    return int(rounded) if rounded.is_integer() else rounded


_FACTS = {
    "bound": _bound,
    "date_order": _date_order,
    "lifecycle": _lifecycle,
    "quota": _counting,
    "no_duplicate_pair": _counting,
    "delete_guard": _counting,
    "computed": _computed,
    "action": _action,
    "derived_default": _derived_default,
}
