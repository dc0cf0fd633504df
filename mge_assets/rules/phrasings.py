"""The rule sentences the offline backend understands, turned into typed `Rule` records.

A requirement is *rule-shaped* when it reads like one of the kinds (a possessive "A Loan's due ...",
"A Member can have at most ...", "Deleting a Project that has ...", "A Loan can be returned: POST
...", ...). A rule-shaped sentence is either understood, or reported with the reason it was not;
any other sentence is left to the CRUD test patterns. The README lists every phrasing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from mge_assets.request.model import NUMERIC_TYPES, TEMPORAL_TYPES, EntitySpec, FieldSpec, Requirement, pluralize
from mge_assets.rules.domain import Domain
from mge_assets.rules.grammar import (
    ARTICLE,
    AT_MOST,
    CANNOT,
    CHILDREN_END,
    COUNT,
    MODAL,
    NAME,
    NEGATED,
    SOME,
    SUBJECTS,
    TRIGGERS,
    NotUnderstood,
    count_of,
    negated_limit,
    normalize,
    parse_limits,
    strip_status,
)
from mge_assets.rules.records import (
    DEFAULT_STATUS,
    ActionParameters,
    BoundParameters,
    ComputedParameters,
    DateOrderParameters,
    DeleteGuardParameters,
    DerivedDefaultParameters,
    LifecycleParameters,
    NoDuplicatePairParameters,
    QuotaParameters,
    Rule,
    RuleProblem,
)

EXAMPLES = {
    "bound": "A Product's price must be at least 0. / A Task's priority is between 1 and 5.",
    "date_order": "A Loan's due must be after its start.",
    "lifecycle": "A Loan's status moves from open to returned or lost; any other change is rejected with 409.",
    "quota": "A Member can have at most 3 open Loans.",
    "no_duplicate_pair": "A Member cannot have two open Loans of the same Book.",
    "delete_guard": "Deleting a Project that has Tasks is rejected with 409.",
    "computed": "An Order's total is the sum of its Lines' quantity times unit_price.",
    "action": "A Loan can be returned: POST /loans/{id}/return sets status to returned.",
    "derived_default": "A Task's created_on defaults to today.",
}

# "Listing Tasks is ordered by due." The order a list route returns rows in (a CRUD phrasing the
# service honours, so discovery records it).
LISTING_ORDER = re.compile(
    r"^listing (?P<entity>[A-Za-z0-9_]+) (?:returns them |is )?(?:ordered|sorted) by "
    r"(?P<field>[A-Za-z0-9_]+)(?: ascending)?\.?$",
    re.I,
)


@dataclass(frozen=True)
class Understanding:
    """What the rule sentences of a request mean."""

    rules: tuple[Rule, ...]
    problems: tuple[RuleProblem, ...]
    entities: tuple[EntitySpec, ...]  # with the fields rules add (a computed total nobody declared)


def understand_rules(requirements: list[Requirement], entities: list[EntitySpec]) -> Understanding:
    """Every rule-shaped requirement as a rule, or as a problem with its line and reason."""
    model = _Sentences(list(entities))
    rules: list[Rule] = []
    problems: list[RuleProblem] = []
    for requirement in requirements:
        try:
            rule = model.parse(requirement)
        except NotUnderstood as reason:
            problems.append(
                RuleProblem(
                    requirement_id=requirement.id, line=requirement.line, text=requirement.text, reason=str(reason)
                )
            )
            continue
        if rule is not None:
            rules.append(rule)
    return Understanding(rules=tuple(rules), problems=tuple(problems), entities=tuple(model.entities))


def listing_orders(requirements: list[Requirement], entities: list[EntitySpec]) -> dict[str, str]:
    """Entity → the field its list is ordered by, for each 'Listing Tasks is ordered by due.' that names
    a scalar field (id and creation order are the default)."""
    model = _Sentences(entities)
    orders: dict[str, str] = {}
    for requirement in requirements:
        found = LISTING_ORDER.match(" ".join(requirement.text.split()))
        if not found or found["field"].lower() in ("id", "creation"):
            continue
        try:
            entity = model.entity(found["entity"])
            field = model.field(entity, found["field"])
        except NotUnderstood:
            continue  # the test generator reports it untestable, with the reason
        if not field.is_reference:
            orders.setdefault(entity.name, field.name)
    return orders


def rule_shaped(text: str) -> bool:
    """Whether a sentence reads like a business rule of one of the kinds."""
    sentence, _ = strip_status(normalize(text))
    return any(trigger.search(sentence) for trigger in TRIGGERS)


class _Sentences(Domain):
    """One sentence at a time, read against the request's entities."""

    # -- one sentence ---------------------------------------------------------------------------

    def parse(self, requirement: Requirement) -> Rule | None:
        sentence, status = strip_status(normalize(requirement.text))
        if not any(trigger.search(sentence) for trigger in TRIGGERS):
            return None
        for parser in self._parsers():
            found = parser(sentence)
            if found is not None:
                kind, entity, fields, parameters = found
                return Rule(
                    requirement_id=requirement.id,
                    kind=kind,
                    entity=entity,
                    fields=tuple(fields),
                    parameters=parameters,
                    status=status or DEFAULT_STATUS.get(kind),
                    text=requirement.text,
                    line=requirement.line,
                )
        raise NotUnderstood(
            "it reads like a business rule but matches none of the rule phrasings; write it as one of: "
            + " | ".join(EXAMPLES.values())
        )

    def _parsers(self) -> list[Callable[[str], tuple | None]]:
        return [
            self._action,
            self._delete_guard,
            self._no_duplicate_pair,
            self._quota,
            self._lifecycle,
            self._computed,
            self._derived_default,
            self._order_or_bound,
        ]

    # -- kinds ----------------------------------------------------------------------------------

    def _order_or_bound(self, sentence: str) -> tuple | None:
        found = _about_a_field(rf"(?P<modal>{NEGATED}|{MODAL})\s+(?P<predicate>.+)$", sentence)
        if found is None:
            return None
        entity = self.entity(found["entity"])
        field = self.field(entity, found["field"])
        negated = re.match(NEGATED, found["modal"], re.I) is not None
        predicate = found["predicate"]
        order = re.fullmatch(
            r"(?P<relation>(?:strictly\s+)?(?:after|later than|on or after|after or on|not before|no earlier than|"
            r"at or after|the same as or after|before|earlier than|on or before|before or on|not after|"
            r"no later than|at or before))\s+(?:its|the|their)\s+(?P<other>\w+)",
            predicate,
            re.I,
        )
        if order:
            return self._date_order(entity, field, order["relation"].lower(), order["other"], negated)
        return self._bound(entity, field, predicate, negated)

    def _date_order(self, entity: EntitySpec, field: FieldSpec, relation: str, other_word: str, negated: bool) -> tuple:
        other = self.field(entity, other_word)
        for f in (field, other):
            if f.type not in TEMPORAL_TYPES:
                raise NotUnderstood(f"field '{f.name}' of {entity.name} is a {f.type}, not a date or datetime")
        if field.name == other.name:
            raise NotUnderstood(f"'{field.name}' cannot be compared with itself")
        relation = relation.removeprefix("strictly ")
        later = relation in (
            "after",
            "later than",
            "on or after",
            "after or on",
            "not before",
            "no earlier than",
            "at or after",
            "the same as or after",
        )
        strict = relation in ("after", "later than", "before", "earlier than")
        if negated:  # "must not be before its start": on or after it
            later, strict = not later, not strict
        first, second = (field, other) if later else (other, field)
        parameters = DateOrderParameters(later=first.name, earlier=second.name, strict=strict)
        return "date_order", entity.name, [f"{entity.name}.{field.name}", f"{entity.name}.{other.name}"], parameters

    def _bound(self, entity: EntitySpec, field: FieldSpec, predicate: str, negated: bool) -> tuple:
        unit = r"\s+(?:characters|chars|letters)(?:\s+long)?\b"
        length = re.search(unit, predicate, re.I) is not None
        limits = parse_limits(re.sub(unit, "", predicate, flags=re.I).strip())
        if limits is None:
            raise NotUnderstood(
                f"'{predicate}' is not a rule this backend knows; a bound reads 'at least N', 'at most N', "
                "'between N and M', 'greater than N', 'less than N', 'positive', 'non-negative' (or 'at most N "
                "characters' for text), a date order 'after its <date>'; the other kinds: "
                + " | ".join(EXAMPLES.values())
            )
        if length and field.type not in ("str", "text", "email"):
            raise NotUnderstood(f"field '{field.name}' of {entity.name} is a {field.type}; only text has a length")
        if not length and field.type not in NUMERIC_TYPES:
            raise NotUnderstood(
                f"field '{field.name}' of {entity.name} is a {field.type}; a bound needs an int or float field "
                "(or a length in characters of a text field)"
            )
        if negated:
            if len(limits) != 1:
                raise NotUnderstood(f"'not {predicate}' is not one interval; state the bound positively")
            limits = [negated_limit(limits[0])]
        values: dict[str, object] = {"field": field.name, "measure": "length" if length else "value"}
        for operator, number in limits:
            side = "minimum" if operator in (">", ">=") else "maximum"
            if side in values:
                raise NotUnderstood(f"'{predicate}' sets the {side} twice")
            values[side] = number
            values[f"{side}_inclusive"] = operator in (">=", "<=")
        try:
            parameters = BoundParameters.model_validate(values)
        except ValueError as error:
            raise NotUnderstood(_first_error(error)) from None
        return "bound", entity.name, [f"{entity.name}.{field.name}"], parameters

    def _lifecycle(self, sentence: str) -> tuple | None:
        found = _about_a_field(
            r"(?:(?:can|may)\s+)?(?:only\s+)?(?:moves?|goes|go|changes?|transitions?|passes|pass)\s+"
            r"(?:only\s+)?(?P<rest>from\s+.+)$",
            sentence,
        )
        if found is None:
            return None
        entity = self.entity(found["entity"])
        field = self.field(entity, found["field"])
        if field.type != "enum":
            raise NotUnderstood(
                f"field '{field.name}' of {entity.name} is a {field.type}; a lifecycle needs an enum field"
            )
        transitions: dict[str, list[str]] = {}
        for clause in re.split(r"\s*(?:,|;)?\s*(?:and\s+)?(?:then\s+)?from\s+", " " + found["rest"], flags=re.I):
            if not clause.strip():
                continue
            parts = re.fullmatch(r"(?P<source>[\w-]+)\s+to\s+(?P<targets>.+)", clause.strip(), re.I)
            if not parts:
                raise NotUnderstood(f"'from {clause.strip()}' must read 'from A to B' (or 'to B or C')")
            targets = [t for t in re.split(r"\s*(?:,|\bor\b|\band\b)\s*", parts["targets"]) if t]
            for state in [parts["source"], *targets]:
                if state not in field.choices:
                    raise NotUnderstood(
                        f"'{state}' is not a value of {entity.name}.{field.name} ({'|'.join(field.choices)})"
                    )
            own = transitions.setdefault(parts["source"], [])
            own.extend(t for t in targets if t not in own)
        if not transitions:
            raise NotUnderstood("the lifecycle names no 'from A to B' move")
        parameters = LifecycleParameters(field=field.name, transitions={k: tuple(v) for k, v in transitions.items()})
        return "lifecycle", entity.name, [f"{entity.name}.{field.name}"], parameters

    def _quota(self, sentence: str) -> tuple | None:
        found = re.match(
            rf"^{ARTICLE}(?P<parent>{NAME})\s+(?:(?:(?:can|may)\s+(?:only\s+)?(?:have|hold))|has|holds?)\s+"
            rf"{AT_MOST}\s+(?P<n>{COUNT})\s+(?P<rest>.+?){CHILDREN_END}",
            sentence,
            re.I,
        ) or re.match(
            rf"^{ARTICLE}(?P<parent>{NAME})\s+(?:cannot|can't|can not|may not|must not|should not|shall not)\s+"
            rf"(?:have|hold)\s+more than\s+(?P<n>{COUNT})\s+(?P<rest>.+?){CHILDREN_END}",
            sentence,
            re.I,
        )
        if not found:
            return None
        parent = self.entity(found["parent"])
        child, condition = self.children(found["rest"])
        via = self.via(child, parent)
        limit = count_of(found["n"])
        if limit < 1:
            raise NotUnderstood(f"a quota of {limit} allows no {child.name} at all; state at least 1")
        parameters = QuotaParameters(child=child.name, via=via.name, limit=limit, condition=condition)
        fields = [f"{child.name}.{via.name}"] + ([f"{child.name}.{condition.field}"] if condition else [])
        return "quota", parent.name, fields, parameters

    def _no_duplicate_pair(self, sentence: str) -> tuple | None:
        found = re.match(
            rf"^{ARTICLE}(?P<parent>{NAME})\s+(?:cannot|can't|can not|may not|must not|should not|shall not)\s+"
            r"(?:have|hold)\s+(?:two|2|more than one|multiple|several)\s+(?P<rest>.+?)\s+(?:of|for|with|on|about|to)\s+"
            rf"the\s+same\s+(?P<other>{NAME}){CHILDREN_END}",
            sentence,
            re.I,
        )
        if not found:
            return None
        parent = self.entity(found["parent"])
        child, condition = self.children(found["rest"])
        other = self.entity(found["other"])
        via, other_via = self.via(child, parent), self.via(child, other)
        if via.name == other_via.name:
            raise NotUnderstood(f"{child.name} needs one reference to {parent.name} and another to {other.name}")
        parameters = NoDuplicatePairParameters(
            child=child.name, via=via.name, other=other.name, other_via=other_via.name, condition=condition
        )
        fields = [f"{child.name}.{via.name}", f"{child.name}.{other_via.name}"]
        return (
            "no_duplicate_pair",
            parent.name,
            fields + ([f"{child.name}.{condition.field}"] if condition else []),
            parameters,
        )

    def _delete_guard(self, sentence: str) -> tuple | None:
        found = re.match(
            rf"^deleting\s+{ARTICLE}(?P<parent>{NAME})\s+(?:that|which|who|while it|when it)\s+"
            rf"(?:still\s+)?(?:has|have|holds?|is referenced by)\s+{SOME}(?P<rest>.+)$",
            sentence,
            re.I,
        ) or re.match(
            rf"^{ARTICLE}(?P<parent>{NAME})\s+(?:that|which|with)\s+(?:still\s+)?(?:has|have)\s+"
            rf"{SOME}(?P<rest>.+?)\s+{CANNOT}\s+be\s+deleted$",
            sentence,
            re.I,
        )
        if not found:
            if re.match(r"^deleting\s+", sentence, re.I):
                raise NotUnderstood("a delete guard must read 'Deleting a Project that has Tasks is rejected with 409'")
            return None
        parent = self.entity(found["parent"])
        child, condition = self.children(found["rest"])
        via = self.via(child, parent)
        parameters = DeleteGuardParameters(child=child.name, via=via.name, condition=condition)
        fields = [f"{child.name}.{via.name}"] + ([f"{child.name}.{condition.field}"] if condition else [])
        return "delete_guard", parent.name, fields, parameters

    def _computed(self, sentence: str) -> tuple | None:
        found = _about_a_field(
            r"(?:is|equals|is always|must be|must equal|should be|should equal|is computed as|"
            r"is calculated as)\s+(?:the\s+)?(?P<aggregate>sum|total|number|count)\s+of\s+(?P<rest>.+)$",
            sentence,
        )
        if found is None:
            return None
        entity = self.entity(found["entity"])
        rest = re.sub(r"^(?:(?:all\s+)?(?:its|the|their)|all)\s+", "", found["rest"], flags=re.I)
        factors: list[str] = []
        if found["aggregate"].lower() in ("sum", "total"):
            over = re.fullmatch(
                r"(?P<expression>.+?)\s+(?:of|over|across)\s+(?:(?:all\s+)?(?:its|the|their)\s+)?(?P<children>.+)",
                rest,
                re.I,
            )
            owned = re.fullmatch(r"(?P<children>.+?)(?:'s|’s|'|’)\s+(?P<expression>.+)", rest)
            if owned:
                children_words, expression = owned["children"], owned["expression"]
            elif over:
                children_words, expression = over["children"], over["expression"]
            else:
                raise NotUnderstood(
                    "a sum must read 'the sum of its Lines' quantity times unit_price' (or '... amount')"
                )
            child, condition = self.children(children_words)
            for word in re.split(r"\s+(?:times|multiplied by|x)\s+|\s*[*×]\s*", expression.strip()):
                factor = self.field(child, word)
                if factor.type not in NUMERIC_TYPES:
                    raise NotUnderstood(
                        f"field '{factor.name}' of {child.name} is a {factor.type}; a sum needs numbers"
                    )
                factors.append(factor.name)
        else:
            child, condition = self.children(rest)
        via = self.via(child, entity)
        floats = any(self.field(child, f).type == "float" for f in factors)
        target = self.computed_field(entity, found["field"], "float" if floats else "int")
        parameters = ComputedParameters(
            field=target.name, child=child.name, via=via.name, factors=tuple(factors), condition=condition
        )
        fields = [f"{entity.name}.{target.name}", f"{child.name}.{via.name}"] + [f"{child.name}.{f}" for f in factors]
        return "computed", entity.name, fields, parameters

    def _derived_default(self, sentence: str) -> tuple | None:
        found = _about_a_field(
            r"(?:defaults to|should default to|must default to|will default to|is by default|by default is)\s+"
            r"(?P<source>.+?)(?:\s+(?:by default|(?:when|if|unless) (?:it is )?(?:not )?(?:given|sent|set)))?$",
            sentence,
        )
        if found is None:
            return None
        entity = self.entity(found["entity"])
        source = found["source"].strip()
        values: dict[str, object]
        if re.fullmatch(r"today|the current date|the date of (?:its )?creation|the day it is created", source, re.I):
            values, field_type = {"source": "today"}, "date"
        elif re.fullmatch(r"now|the current (?:date and )?time|the time of (?:its )?creation", source, re.I):
            values, field_type = {"source": "now"}, "datetime"
        elif offset := re.fullmatch(
            rf"(?P<days>{COUNT})\s+days?\s+(?:after|from)\s+(?:its|the)\s+(?P<base>\w+)|(?:its|the)\s+(?P<base2>\w+)\s+plus\s+(?P<days2>{COUNT})\s+days?",
            source,
            re.I,
        ):
            base = self.field(entity, offset["base"] or offset["base2"])
            if base.type not in TEMPORAL_TYPES:
                raise NotUnderstood(f"field '{base.name}' of {entity.name} is a {base.type}, not a date")
            values = {"source": "offset", "base": base.name, "days": count_of(offset["days"] or offset["days2"])}
            field_type = base.type
        elif copied := re.fullmatch(
            rf"(?:its|the)\s+(?P<reference>{NAME})(?:'s|’s)\s+(?P<field>{NAME})|(?:the\s+)?(?P<field2>{NAME})\s+of\s+(?:its|the)\s+(?P<reference2>{NAME})",
            source,
            re.I,
        ):
            reference = self.reference(entity, copied["reference"] or copied["reference2"])
            target = self.entity(reference.type)
            source_field = self.field(target, copied["field"] or copied["field2"])
            values = {"source": "reference", "reference": reference.name, "reference_field": source_field.name}
            field_type = source_field.type
        else:
            raise NotUnderstood(
                f"'{source}' is not a default this backend derives (today, now, N days after its <date>, "
                "its <Reference>'s <field>)"
            )
        target_field = self.default_field(entity, found["field"], field_type, values)
        parameters = DerivedDefaultParameters(field=target_field.name, **values)  # type: ignore[arg-type]
        read = [v for k, v in values.items() if k in ("base", "reference")]
        return (
            "derived_default",
            entity.name,
            [f"{entity.name}.{target_field.name}"] + [f"{entity.name}.{r}" for r in read],
            parameters,
        )

    def _action(self, sentence: str) -> tuple | None:
        found = re.match(
            rf"^{ARTICLE}(?P<entity>{NAME})\s+can\s+be\s+(?P<verb>[\w-]+)(?:\s+by\s+[\w ]+?)?\s*:\s*"
            r"(?P<method>\w+)\s+(?P<path>/\S+?)(?:\s*[,;]?\s+(?:which\s+|and\s+|that\s+|it\s+)?(?:sets|set|marks|changes)\s+(?P<assign>.+))?$",
            sentence,
            re.I,
        )
        if not found:
            if re.match(rf"^{ARTICLE}{NAME}\s+can\s+be\s+[\w-]+\s*:", sentence, re.I):
                raise NotUnderstood(f"a custom action must read '{EXAMPLES['action']}'")
            return None
        entity = self.entity(found["entity"])
        method = found["method"].upper()
        if method not in ("POST", "PUT", "PATCH"):
            raise NotUnderstood(f"an action is called with POST, PUT or PATCH, not {found['method']}")
        resource = "/" + pluralize(entity.snake).replace("_", "-")
        path = re.fullmatch(
            rf"{re.escape(resource)}/(?:\{{\w+\}}|:\w+)/(?P<segment>[a-z0-9][a-z0-9-]*)", found["path"], re.I
        )
        if not path:
            raise NotUnderstood(f"the action's path must be {resource}/{{id}}/<name>, not {found['path']}")
        assignments = self.assignments(entity, found["assign"], found["verb"])
        fields = [f"{entity.name}.{a.field}" for a in assignments]
        parameters = ActionParameters(
            name=found["verb"].lower(),
            method=method,
            segment=path["segment"].lower(),
            assignments=tuple(assignments),  # type: ignore[arg-type]
        )
        return "action", entity.name, fields, parameters

    # -- resolution -----------------------------------------------------------------------------


def _about_a_field(predicate: str, sentence: str) -> re.Match[str] | None:
    """A sentence about one field of an entity (`A Loan's due ...`, `The due of a Loan ...`) whose rest
    matches `predicate`."""
    for subject in SUBJECTS:
        found = re.match(subject + predicate, sentence, re.I)
        if found:
            return found
    return None


def _first_error(error: ValueError) -> str:
    text = str(error).splitlines()
    return next((line.strip() for line in text if line.strip().startswith("Value error")), text[-1]).removeprefix(
        "Value error, "
    )
