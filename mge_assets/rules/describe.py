"""A rule in a few words, for tables, plans and prompts: `price ≥ 0`, `status: open → returned | lost`."""

from __future__ import annotations

from mge_assets.rules.records import Condition, Rule


def describe_rule(rule: Rule) -> str:
    p = rule.parameters
    if p.kind == "bound":
        subject = f"len({p.field})" if p.measure == "length" else p.field
        parts = []
        if p.minimum is not None:
            parts.append(f"{subject} {'≥' if p.minimum_inclusive else '>'} {p.minimum:g}")
        if p.maximum is not None:
            parts.append(f"{subject} {'≤' if p.maximum_inclusive else '<'} {p.maximum:g}")
        return " and ".join(parts)
    if p.kind == "date_order":
        return f"{p.later} {'>' if p.strict else '≥'} {p.earlier}"
    if p.kind == "lifecycle":
        return f"{p.field}: " + "; ".join(f"{s} → {' | '.join(t)}" for s, t in p.transitions.items())
    if p.kind == "quota":
        return f"at most {p.limit} {p.child}{_where(p.condition)} per {rule.entity} (by {p.via})"
    if p.kind == "no_duplicate_pair":
        return f"no two {p.child}{_where(p.condition)} with the same {p.via} and {p.other_via}"
    if p.kind == "delete_guard":
        return f"no delete while a {p.child}{_where(p.condition)} references it (by {p.via})"
    if p.kind == "computed":
        rows = f"{p.child}{_where(p.condition)}"
        value = f"Σ {' × '.join(p.factors)} over {rows}" if p.factors else f"count of {rows}"
        return f"{p.field} = {value} (read-only)"
    if p.kind == "action":
        sets = ", ".join(f"{a.field} = {a.value}" for a in p.assignments)
        return f"{p.method} /{{id}}/{p.segment} sets {sets}"
    source = {
        "today": "today",
        "now": "now",
        "reference": f"{p.reference}.{p.reference_field}",
        "offset": f"{p.base} + {p.days} days",
    }[p.source]
    return f"{p.field} defaults to {source}"


def _where(condition: Condition | None) -> str:
    return f" with {condition.field} = {condition.value}" if condition else ""
