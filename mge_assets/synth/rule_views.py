"""What the templates need to write an entity's business rules: one `RuleCode` per rule, grouped by
the module that holds it (`EntityRules`), with the names and expressions of both languages."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from mge_assets.plan.discovery import DiscoveryDocument
from mge_assets.plan.masterplan import rules_by_module
from mge_assets.rules import Rule
from mge_assets.rules.records import BoundParameters, Condition
from mge_assets.synth.names import python_variable
from mge_assets.synth.views import EntityRef, EntityView, FieldView, camel_case, entity_views, py_literal

CHECK_KINDS = ("bound", "date_order", "lifecycle", "quota", "no_duplicate_pair")


@dataclass(frozen=True)
class RuleCode:
    """One rule as its module writes it."""

    rule: Rule
    owner: EntityView  # the entity whose rules module holds it
    views: dict[str, EntityView]

    @property
    def kind(self) -> str:
        return self.rule.kind

    @property
    def p(self) -> Any:  # the rule's parameters, whichever kind they are (the templates read them)
        return self.rule.parameters

    @property
    def rid(self) -> str:
        return self.rule.requirement_id

    @property
    def method(self) -> str:
        """`_must_03_due_after_start` for a check (the requirement id, then what it checks); the public
        `refresh_total` for a computed field, `return_changes` for an action."""
        if self.kind in ("computed", "action"):
            return self._slug
        return f"_{self.rid.lower().replace('-', '_')}_{self._slug}"

    @property
    def action_method(self) -> str:
        """The service method of an action, named after its path (`return` → `return_` in Python)."""
        return python_variable(self.p.segment.replace("-", "_"))

    @property
    def ts_action_method(self) -> str:
        return camel_case(self.p.segment.replace("-", "_"))

    @property
    def ts_method(self) -> str:
        return camel_case(self.method.lstrip("_"))

    @property
    def message(self) -> str:
        """What a client is told when the rule refuses a change: the requirement itself."""
        return f"{self.rid}: {self.rule.text}" if self.rule.text else self.rid

    @property
    def status(self) -> int:
        return self.rule.status or 409

    @property
    def _slug(self) -> str:
        p = self.p
        slug = {
            "bound": f"{getattr(p, 'field', '')}_bounds",
            "date_order": f"{getattr(p, 'later', '')}_after_{getattr(p, 'earlier', '')}",
            "lifecycle": f"{getattr(p, 'field', '')}_moves",
            "quota": f"quota_per_{self.views.get(self.rule.entity, self.owner).snake}",
            "no_duplicate_pair": "no_duplicate_pair",
            "delete_guard": f"no_{getattr(p, 'child', '').lower()}_left",
            "computed": f"refresh_{getattr(p, 'field', '')}",
            "action": f"{getattr(p, 'segment', '')}_changes",
            "derived_default": f"default_{getattr(p, 'field', '')}",
        }[self.kind]
        return re.sub(r"[^a-z0-9_]", "_", slug.lower())

    # -- fields the rule reads, as views of their entity ------------------------------------------

    def own(self, name: str) -> FieldView:
        """A field of the entity whose module holds the rule."""
        return _field(self.owner, name)

    @property
    def child(self) -> EntityView:
        return self.views[self.p.child]

    @property
    def subject(self) -> EntityView:
        """The entity the sentence is about (for a quota, the parent that is limited)."""
        return self.views[self.rule.entity]

    @property
    def via(self) -> FieldView:
        """The child's reference to the parent, for the kinds that count children."""
        return _field(self.child, self.p.via)

    @property
    def other_via(self) -> FieldView:
        return _field(self.child, self.p.other_via)

    @property
    def condition(self) -> ConditionCode | None:
        condition: Condition | None = getattr(self.p, "condition", None)
        if condition is None:
            return None
        return ConditionCode(_field(self.child, condition.field), condition.value)

    # -- expressions ------------------------------------------------------------------------------

    @property
    def bound(self) -> BoundCode:
        return BoundCode(self.p)

    @property
    def transitions_constant(self) -> str:
        return f"{self.p.field.upper()}_MOVES"

    @property
    def py_transitions(self) -> str:
        return "{" + ", ".join(f"{py_literal(s)}: {py_literal(tuple(t))}" for s, t in self.p.transitions.items()) + "}"

    @property
    def ts_transitions(self) -> str:
        return "{ " + ", ".join(f"{json.dumps(s)}: {json.dumps(list(t))}" for s, t in self.p.transitions.items()) + " }"

    @property
    def factors(self) -> tuple[FieldView, ...]:
        return tuple(_field(self.child, f) for f in self.p.factors)

    @property
    def target(self) -> FieldView:
        """The field a computed rule keeps current or a default fills in."""
        return self.own(self.p.field)

    @property
    def assignments(self) -> tuple[tuple[FieldView, str, str], ...]:
        """(field, Python expression, TypeScript expression) for each field an action sets."""
        found = []
        for assignment in self.p.assignments:
            target = self.own(assignment.field)
            value = assignment.value
            if value == "today" and target.type == "date":
                found.append((target, "dt.date.today()", "today()"))
            elif value in ("today", "now") and target.type in ("date", "datetime"):
                found.append((target, "dt.datetime.now()", "now()"))
            else:
                found.append((target, py_literal(value), json.dumps(value)))
        return tuple(found)

    @property
    def reference(self) -> FieldView:
        return self.own(self.p.reference)

    @property
    def source_entity(self) -> EntityView:
        return self.views[
            next(f.reference.name for f in self.owner.fields if f.name == self.p.reference and f.reference)
        ]

    @property
    def source_field(self) -> FieldView:
        return _field(self.source_entity, self.p.reference_field)

    @property
    def base(self) -> FieldView:
        return self.own(self.p.base)

    @property
    def uses_time(self) -> bool:
        """Whether the Python code needs `datetime` (dates compared, today, an offset)."""
        if self.kind == "date_order":
            return self.own(self.p.later).type == "datetime"
        if self.kind == "derived_default":
            return self.p.source in ("today", "now", "offset")
        return self.kind == "action" and any("dt." in py for _, py, _ in self.assignments)


@dataclass(frozen=True)
class ConditionCode:
    """`status = 'open'` as code: the field, and its value in each language."""

    field: FieldView
    value: str | bool

    @property
    def py(self) -> str:
        return py_literal(self.value)

    @property
    def ts(self) -> str:
        return json.dumps(self.value)


@dataclass(frozen=True)
class BoundCode:
    """A bound as the condition a valid value meets, in Python and TypeScript."""

    p: BoundParameters

    def _terms(self, value: str) -> list[tuple[str, str]]:
        terms = []
        if self.p.minimum is not None:
            terms.append((">=" if self.p.minimum_inclusive else ">", _number(self.p.minimum)))
        if self.p.maximum is not None:
            terms.append(("<=" if self.p.maximum_inclusive else "<", _number(self.p.maximum)))
        return terms

    @property
    def py_subject(self) -> str:
        return "len(value)" if self.p.measure == "length" else "value"

    @property
    def ts_subject(self) -> str:
        return "value.length" if self.p.measure == "length" else "value"

    @property
    def py(self) -> str:
        return " and ".join(f"{self.py_subject} {op} {n}" for op, n in self._terms("value"))

    @property
    def ts(self) -> str:
        return " && ".join(f"{self.ts_subject} {op} {n}" for op, n in self._terms("value"))


@dataclass(frozen=True)
class Refresh:
    """A computed field of a parent that changes when rows of this entity change."""

    parent: EntityRef
    method: str  # the parent's rules method that recomputes it
    via: FieldView  # this entity's reference to the parent

    @property
    def ts_method(self) -> str:
        return camel_case(self.method)


@dataclass(frozen=True)
class Cascade:
    """Rows of `child` that deleting this entity's row deletes with it (a required reference, `via`),
    and a computed field of another parent they count towards, which must then be recomputed."""

    child: EntityView
    via: FieldView
    refresh: Refresh


@dataclass(frozen=True)
class EntityRules:
    """The business rules one entity's module holds, and what its service and repository need."""

    entity: EntityView
    codes: tuple[RuleCode, ...] = ()
    reads: tuple[EntityRef, ...] = ()  # repositories of other entities the module reads
    refreshes: tuple[Refresh, ...] = ()  # parents' computed fields its service keeps current
    counted: bool = False  # its repository answers count() (a quota, a pair or a guard counts its rows)
    listed: bool = False  # its repository answers where() (a parent sums its rows)
    actions: tuple[RuleCode, ...] = field(default=())
    cascades: tuple[Cascade, ...] = ()  # computed fields elsewhere that deleting a row changes

    def of(self, *kinds: str) -> tuple[RuleCode, ...]:
        return tuple(c for c in self.codes if c.kind in kinds)

    @property
    def repository_imports(self) -> tuple[EntityRef, ...]:
        """Its own repository and those its rules read, in import-sort order."""
        return tuple(sorted({self.entity.ref, *self.reads}, key=lambda r: r.module))

    @property
    def rules_imports(self) -> tuple[EntityRef, ...]:
        """The rules classes its service uses: its own, and those of the parents it refreshes."""
        refreshed = [f.parent for f in self.refreshes] + [c.refresh.parent for c in self.cascades]
        refs = ([self.entity.ref] if self.has_module else []) + refreshed
        return tuple(sorted(set(refs), key=lambda r: r.module))

    @property
    def cascade_imports(self) -> tuple[EntityRef, ...]:
        """Repositories its service reads to find the rows a delete takes with it."""
        return tuple(sorted({c.child.ref for c in self.cascades} - {self.entity.ref}, key=lambda r: r.module))

    @property
    def has_module(self) -> bool:
        return bool(self.codes)

    @property
    def checks(self) -> tuple[RuleCode, ...]:
        return self.of(*CHECK_KINDS)

    @property
    def defaults(self) -> tuple[RuleCode, ...]:
        return self.of("derived_default")

    @property
    def guards(self) -> tuple[RuleCode, ...]:
        return self.of("delete_guard")

    @property
    def computed(self) -> tuple[RuleCode, ...]:
        return self.of("computed")

    @property
    def changes_through_rules(self) -> bool:
        """Whether an update goes through `_change` (checks, an action, or parents to refresh)."""
        return bool(self.checks or self.actions or self.refreshes)

    @property
    def uses_time(self) -> bool:
        return any(c.uses_time for c in self.codes)

    @property
    def uses_moment(self) -> bool:
        """Whether datetimes are compared (naive ones are read as UTC)."""
        return any(c.kind == "date_order" and c.own(c.p.later).type == "datetime" for c in self.codes)

    @property
    def ts_time_helpers(self) -> list[str]:
        """The date helpers of `src/fields.ts` the TypeScript module calls."""
        used = set()
        for code in self.codes:
            p = code.p
            if code.kind == "date_order":
                used.add("moment")
            elif code.kind == "derived_default" and p.source in ("today", "now"):
                used.add("today" if code.target.type == "date" else "now")
            elif code.kind == "derived_default" and p.source == "offset":
                used.add("addDays")
            elif code.kind == "action":
                used |= {ts.removesuffix("()") for _, _, ts in code.assignments if ts in ("today()", "now()")}
        return sorted(used)

    @property
    def class_name(self) -> str:
        return f"{self.entity.name}Rules"

    @property
    def var(self) -> str:
        return python_variable(self.entity.snake)


def entity_rules(discovery: DiscoveryDocument) -> dict[str, EntityRules]:
    """Every entity's rules view (an entity without rules gets an empty one)."""
    views = {v.name: v for v in entity_views(discovery)}
    modules = rules_by_module(discovery)
    counted = {
        getattr(r.parameters, "child", None)
        for r in discovery.rules
        if r.kind in ("quota", "no_duplicate_pair", "delete_guard")
    }
    listed = {r.parameters.child for r in discovery.rules if r.parameters.kind == "computed"}
    refreshes_of = {
        name: tuple(
            Refresh(views[r.entity].ref, RuleCode(r, views[r.entity], views).method, _field(view, r.parameters.via))
            for r in discovery.rules
            if r.parameters.kind == "computed" and r.parameters.child == name
        )
        for name, view in views.items()
    }
    result = {}
    for name, view in views.items():
        codes = tuple(RuleCode(r, view, views) for r in modules.get(name, []))
        reads: dict[str, EntityRef] = {}
        for code in codes:
            for other in _read_entities(code):
                if other != name:
                    reads.setdefault(other, views[other].ref)
        refreshes = refreshes_of[name]
        guarded = {  # rows a guard keeps from being taken along: their delete is refused instead
            (r.parameters.child, r.parameters.via)
            for r in discovery.rules
            if r.parameters.kind == "delete_guard" and r.entity == name and r.parameters.condition is None
        }
        cascades = tuple(
            Cascade(child, via, refresh)
            for child in views.values()
            for via in child.references
            if via.reference and via.reference.name == name and via.required and (child.name, via.name) not in guarded
            for refresh in refreshes_of[child.name]
            if refresh.parent.name != name
        )
        result[name] = EntityRules(
            entity=view,
            codes=codes,
            reads=tuple(sorted(reads.values(), key=lambda r: r.module)),
            refreshes=refreshes,
            counted=name in counted,
            listed=name in listed,
            actions=tuple(c for c in codes if c.kind == "action"),
            cascades=cascades,
        )
    return result


def _read_entities(code: RuleCode) -> list[str]:
    p = code.p
    names = [getattr(p, "child", None)]
    if code.kind == "derived_default" and p.source == "reference":
        names.append(code.source_entity.name)
    return [n for n in names if n]


def _field(entity: EntityView, name: str) -> FieldView:
    return next(f for f in entity.fields if f.name == name)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)
