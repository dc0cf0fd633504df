"""Whether rules fit the entities they name: every field exists with a type the rule can use.

The offline phrasings only produce rules that fit; a model's discovery answer is checked here, and
each problem is a sentence the model is given back when its answer is refused.
"""

from __future__ import annotations

from collections.abc import Iterable

from mge_assets.request.model import NUMERIC_TYPES, TEMPORAL_TYPES, EntitySpec, FieldSpec
from mge_assets.rules.records import Condition, DerivedDefaultParameters, Rule


def rule_problems(rules: Iterable[Rule], entities: Iterable[EntitySpec], requirement_ids: Iterable[str]) -> list[str]:
    """Every way the rules do not fit the entities, each naming the rule's requirement."""
    by_name = {e.name: e for e in entities}
    known_ids = set(requirement_ids)
    problems: list[str] = []
    seen: set[str] = set()
    for rule in rules:
        where = f"rule of {rule.requirement_id} ({rule.kind})"
        if rule.requirement_id not in known_ids:
            problems.append(f"{where}: no requirement has the id {rule.requirement_id}")
        if rule.requirement_id in seen:
            problems.append(f"{where}: {rule.requirement_id} already has a rule; one rule per requirement")
        seen.add(rule.requirement_id)
        if rule.entity not in by_name:
            problems.append(f"{where}: entity '{rule.entity}' is not declared ({', '.join(by_name)})")
            continue
        problems += [f"{where}: {p}" for p in _kind_problems(rule, by_name)]
    return problems


def _kind_problems(rule: Rule, by_name: dict[str, EntitySpec]) -> list[str]:
    entity = by_name[rule.entity]
    p = rule.parameters
    if p.kind == "bound":
        wanted = ("str", "text", "email") if p.measure == "length" else NUMERIC_TYPES
        return _typed(entity, p.field, wanted)
    if p.kind == "date_order":
        found = _typed(entity, p.later, TEMPORAL_TYPES) + _typed(entity, p.earlier, TEMPORAL_TYPES)
        return found + ([f"'{p.later}' is compared with itself"] if p.later == p.earlier else [])
    if p.kind == "lifecycle":
        found = _typed(entity, p.field, ("enum",))
        if found:
            return found
        choices = _field(entity, p.field).choices  # type: ignore[union-attr]
        states = {s for source, targets in p.transitions.items() for s in (source, *targets)}
        return [
            f"'{s}' is not a value of {entity.name}.{p.field} ({'|'.join(choices)})"
            for s in sorted(states - set(choices))
        ]
    if p.kind == "action":
        return [problem for a in p.assignments for problem in _typed(entity, a.field, None)]
    if p.kind == "derived_default":
        return _default_problems(entity, p, by_name)
    child = by_name.get(p.child)
    if child is None:
        return [f"entity '{p.child}' is not declared"]
    found = _reference(child, p.via, entity.name) + _condition(child, p.condition)
    if p.kind == "no_duplicate_pair":
        found += _reference(child, p.other_via, p.other)
    if p.kind == "computed":
        found += _typed(entity, p.field, NUMERIC_TYPES) + [
            x for f in p.factors for x in _typed(child, f, NUMERIC_TYPES)
        ]
    return found


def _default_problems(entity: EntitySpec, p: DerivedDefaultParameters, by_name: dict[str, EntitySpec]) -> list[str]:
    found = _typed(entity, p.field, TEMPORAL_TYPES if p.source in ("today", "now") else None)
    if p.source == "offset" and p.base is not None:
        found += _typed(entity, p.base, TEMPORAL_TYPES)
    if p.source == "reference" and p.reference and p.reference_field:
        reference = _field(entity, p.reference)
        if reference is None or not reference.is_reference or reference.type not in by_name:
            return [*found, f"'{p.reference}' is not a reference field of {entity.name}"]
        found += _typed(by_name[reference.type], p.reference_field, None)
    return found


def _field(entity: EntitySpec, name: str) -> FieldSpec | None:
    return next((f for f in entity.fields if f.name == name), None)


def _typed(entity: EntitySpec, name: str, types: tuple[str, ...] | None) -> list[str]:
    field = _field(entity, name)
    if field is None:
        return [f"{entity.name} has no field '{name}' ({', '.join(f.name for f in entity.fields)})"]
    if types is not None and field.type not in types:
        return [f"{entity.name}.{name} is a {field.type}; this rule needs {' or '.join(types)}"]
    return []


def _reference(child: EntitySpec, via: str, target: str) -> list[str]:
    field = _field(child, via)
    if field is None or field.type != target:
        return [f"{child.name}.{via} is not a reference to {target}"]
    return []


def _condition(child: EntitySpec, condition: Condition | None) -> list[str]:
    if condition is None:
        return []
    field = _field(child, condition.field)
    if field is None:
        return [f"{child.name} has no field '{condition.field}' to count by"]
    fits = (
        condition.value in field.choices if field.type == "enum" else field.type == "bool" and condition.value is True
    )
    return [] if fits else [f"{child.name}.{condition.field} never holds {condition.value!r}"]
