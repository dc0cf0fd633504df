"""Business rules as typed records: what each rule of a request means, independent of how it was worded.

A rule comes from one requirement sentence (`requirement_id`, `line`, `text`) and is about one entity;
its `parameters` hold what its kind needs, checked by pydantic. The offline phrasings produce these
records from the request; a model's discovery answer must produce the same shape.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

RuleKind = Literal[
    "bound", "date_order", "lifecycle", "quota", "no_duplicate_pair", "delete_guard", "computed", "action",
    "derived_default",
]  # fmt: skip
KINDS: tuple[str, ...] = RuleKind.__args__  # type: ignore[attr-defined]
# The HTTP status a violation is answered with when the sentence names none.
DEFAULT_STATUS = {
    "bound": 422,
    "date_order": 422,
    "lifecycle": 409,
    "quota": 409,
    "no_duplicate_pair": 409,
    "delete_guard": 409,
}


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Condition(_Record):
    """Which rows a rule counts: those whose `field` holds `value` (an enum value, or true for a bool)."""

    field: str
    value: str | bool


class BoundParameters(_Record):
    """`field` (its value, or its length for text) lies within the bounds; a missing bound is open."""

    kind: Literal["bound"] = "bound"
    field: str
    measure: Literal["value", "length"] = "value"
    minimum: float | None = None
    maximum: float | None = None
    minimum_inclusive: bool = True
    maximum_inclusive: bool = True

    @model_validator(mode="after")
    def _some_bound(self) -> BoundParameters:
        if self.minimum is None and self.maximum is None:
            raise ValueError("a bound needs a minimum, a maximum or both")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"the minimum {self.minimum:g} is above the maximum {self.maximum:g}")
        return self


class DateOrderParameters(_Record):
    """`later` comes after `earlier` (strictly, unless `strict` is false: on or after)."""

    kind: Literal["date_order"] = "date_order"
    later: str
    earlier: str
    strict: bool = True


class LifecycleParameters(_Record):
    """The enum `field` moves only along `transitions` (from → the values it may move to)."""

    kind: Literal["lifecycle"] = "lifecycle"
    field: str
    transitions: dict[str, tuple[str, ...]]


class QuotaParameters(_Record):
    """An entity has at most `limit` rows of `child` (through the child's reference `via`) meeting `condition`."""

    kind: Literal["quota"] = "quota"
    child: str
    via: str
    limit: int = Field(ge=1)
    condition: Condition | None = None


class NoDuplicatePairParameters(_Record):
    """No two rows of `child` meeting `condition` share both references, `via` (to the entity) and `other_via`."""

    kind: Literal["no_duplicate_pair"] = "no_duplicate_pair"
    child: str
    via: str
    other: str
    other_via: str
    condition: Condition | None = None


class DeleteGuardParameters(_Record):
    """A row cannot be deleted while rows of `child` (meeting `condition`) reference it through `via`."""

    kind: Literal["delete_guard"] = "delete_guard"
    child: str
    via: str
    condition: Condition | None = None


class ComputedParameters(_Record):
    """`field` is read-only and always equals the sum over the entity's `child` rows (through `via`,
    meeting `condition`) of the product of `factors`; with no factors, the number of those rows."""

    kind: Literal["computed"] = "computed"
    field: str
    child: str
    via: str
    factors: tuple[str, ...] = ()
    condition: Condition | None = None

    @property
    def aggregate(self) -> str:
        return "sum" if self.factors else "count"


class Assignment(_Record):
    """`field` is set to `value`: a literal (enum value, bool, number) or `today` / `now`."""

    field: str
    value: str | bool | int | float


class ActionParameters(_Record):
    """`method path` on one row (`/<resource>/{id}/<segment>`) sets `assignments`, obeying every other rule."""

    kind: Literal["action"] = "action"
    name: str  # as the sentence says it: "returned"
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    segment: str  # the last part of the path: "return"
    assignments: tuple[Assignment, ...] = Field(min_length=1)


class DerivedDefaultParameters(_Record):
    """A new row created without `field` gets it from `source`: `today`, `now`, `reference` (the
    `reference_field` of the row its reference `reference` points to) or `offset` (`days` after its
    `base` field)."""

    kind: Literal["derived_default"] = "derived_default"
    field: str
    source: Literal["today", "now", "reference", "offset"]
    reference: str | None = None
    reference_field: str | None = None
    base: str | None = None
    days: int | None = None

    @model_validator(mode="after")
    def _source_complete(self) -> DerivedDefaultParameters:
        if self.source == "reference" and not (self.reference and self.reference_field):
            raise ValueError("a default from a reference names the reference and the field it copies")
        if self.source == "offset" and (self.base is None or self.days is None):
            raise ValueError("a default offset from a date names the base field and the days")
        return self


Parameters = Annotated[
    BoundParameters
    | DateOrderParameters
    | LifecycleParameters
    | QuotaParameters
    | NoDuplicatePairParameters
    | DeleteGuardParameters
    | ComputedParameters
    | ActionParameters
    | DerivedDefaultParameters,
    Field(discriminator="kind"),
]


class Rule(_Record):
    """One business rule: its kind, the entity it is about, the fields it reads or constrains (as
    `Entity.field`), its parameters, the HTTP status a violation gets, and where it came from."""

    requirement_id: str
    kind: RuleKind
    entity: str
    fields: tuple[str, ...]
    parameters: Parameters
    status: int | None = Field(default=None, ge=400, le=599)
    text: str = ""
    line: int = 0

    @model_validator(mode="after")
    def _kind_matches(self) -> Rule:
        if self.parameters.kind != self.kind:
            raise ValueError(f"a {self.kind} rule carries {self.parameters.kind} parameters")
        return self

    @property
    def entities(self) -> tuple[str, ...]:
        """Every entity the rule reads: its own, and a child or the other side of a pair."""
        names = [self.entity]
        for attribute in ("child", "other"):
            value = getattr(self.parameters, attribute, None)
            if value and value not in names:
                names.append(value)
        return tuple(names)

    @property
    def enforced_on(self) -> str:
        """The entity whose changes the rule checks: the child for quotas and pairs, else its own."""
        return self.parameters.child if self.kind in ("quota", "no_duplicate_pair") else self.entity  # type: ignore[union-attr]


class RuleProblem(_Record):
    """A requirement worded like a rule that could not be understood, with its line and why."""

    requirement_id: str
    line: int
    text: str
    reason: str
