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
from mge_assets.rules.records import (
    DEFAULT_STATUS,
    ActionParameters,
    Assignment,
    BoundParameters,
    ComputedParameters,
    Condition,
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

_NUMBER = r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?"
_WORD_NUMBERS = {
    w: i
    for i, w in enumerate(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"],
    )
}
_COUNT = r"\d+|" + "|".join(_WORD_NUMBERS)
_ARTICLE = r"(?:(?:a|an|every|each|any|the|one)\s+)?"
_NAME = r"[A-Za-z][A-Za-z0-9_]*"
_SUBJECTS = (
    rf"^{_ARTICLE}(?P<entity>{_NAME})(?:'s|’s|'|’)\s+(?P<field>{_NAME})\s+",
    rf"^(?:the\s+)?(?P<field>{_NAME})\s+of\s+{_ARTICLE}(?P<entity>{_NAME})\s+",
)
_MODAL = r"(?:(?:must|should|shall|will|has to|have to|needs to|need to)\s+(?:always\s+)?be|(?:is|are)(?:\s+always)?)"
_NEGATED = (
    r"(?:(?:must|should|shall|will|may|can)\s*not|mustn't|shouldn't|cannot|can't|won't|(?:must|may|can) never)"
    r"\s+be|(?:is|are)\s+never|(?:is|are)\s*n[o']t|isn't|aren't"
)
_AT_MOST = r"(?:at most|no more than|up to|a maximum of|not more than)"
_CANNOT = r"(?:cannot|can't|can not|may not|must not|should not|shall not)"
_SOME = r"(?:any\s+|a\s+|an\s+|one or more\s+|some\s+)?"
_CHILDREN_END = r"(?:\s+(?:at (?:a|the same) time|at once|simultaneously))?$"


# "Listing Tasks is ordered by due." The order a list route returns rows in (a CRUD phrasing the
# service honours, so discovery records it).
LISTING_ORDER = re.compile(
    r"^listing (?P<entity>[A-Za-z_]+) (?:returns them |is )?(?:ordered|sorted) by "
    r"(?P<field>[A-Za-z_]+)(?: ascending)?\.?$",
    re.I,
)


class NotUnderstood(Exception):
    """A rule-shaped sentence that cannot be turned into a rule; the message says why."""


@dataclass(frozen=True)
class Understanding:
    """What the rule sentences of a request mean."""

    rules: tuple[Rule, ...]
    problems: tuple[RuleProblem, ...]
    entities: tuple[EntitySpec, ...]  # with the fields rules add (a computed total nobody declared)


def understand_rules(requirements: list[Requirement], entities: list[EntitySpec]) -> Understanding:
    """Every rule-shaped requirement as a rule, or as a problem with its line and reason."""
    model = _Model(list(entities))
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
    model = _Model(entities)
    orders: dict[str, str] = {}
    for requirement in requirements:
        found = LISTING_ORDER.match(" ".join(requirement.text.split()))
        if not found or found["field"].lower() in ("id", "creation"):
            continue
        try:
            entity = model._entity(found["entity"])
            field = model._field(entity, found["field"])
        except NotUnderstood:
            continue  # the test generator reports it untestable, with the reason
        if not field.is_reference:
            orders.setdefault(entity.name, field.name)
    return orders


def rule_shaped(text: str) -> bool:
    """Whether a sentence reads like a business rule of one of the kinds."""
    sentence, _ = _strip_status(_normalize(text))
    return any(trigger.search(sentence) for trigger in _TRIGGERS)


_TRIGGERS = [
    re.compile(rf"^{_ARTICLE}{_NAME}(?:'s|’s|'|’)\s+{_NAME}\s+\w", re.I),
    re.compile(
        rf"^(?:the\s+)?{_NAME}\s+of\s+(?:a|an|every|each|any)\s+{_NAME}\s+(?:must|should|is|are|can|may|moves|defaults)",
        re.I,
    ),
    re.compile(
        rf"^{_ARTICLE}{_NAME}\s+(?:(?:can|may)\s+(?:only\s+)?(?:have|hold)|has|holds?)\s+{_AT_MOST}\b",
        re.I,
    ),
    re.compile(
        rf"^{_ARTICLE}{_NAME}\s+{_CANNOT}\s+(?:have|hold)\s+(?:more than|two|2\b|multiple|several)",
        re.I,
    ),
    re.compile(r"^deleting\s+", re.I),
    re.compile(
        rf"^{_ARTICLE}{_NAME}\s+(?:that|which|with)\s+(?:has|have)\s+.+\s+{_CANNOT}\s+be\s+deleted$",
        re.I,
    ),
    re.compile(rf"^{_ARTICLE}{_NAME}\s+can\s+be\s+[\w-]+(?:\s+by\s+[\w ]+?)?\s*:", re.I),
]


def _normalize(text: str) -> str:
    return " ".join(text.split()).rstrip(" .")


def _strip_status(sentence: str) -> tuple[str, int | None]:
    """The sentence without its trailing status clause ('; any other change is rejected with 409',
    '(422)', a remark in parentheses), and the status it names."""
    status: int | None = None
    found = re.search(r"\s*\((?:status\s+|http\s+)?(\d{3})\)$", sentence, re.I)
    if found:
        return sentence[: found.start()].rstrip(" ,;"), int(found.group(1))
    remark = re.search(r"\s*\(([^()]*)\)$", sentence)
    if remark and not re.search(r"\d{3}", remark.group(1)):
        sentence = sentence[: remark.start()].rstrip(" ,;")
    found = re.search(
        r"[,;:]?\s*(?:(?:otherwise|else|or|and)\s+)?"
        r"(?:(?:the next(?: one)?|any other(?: \w+)?|it|this|that|a violation|violations|such(?: an?)? \w+|"
        r"the (?:request|change|call|creation|update))\s+)?"
        r"(?:is|are|gets|get)\s+(?:rejected|refused|denied)(?:\s+with\s+(?:(?:a\s+)?(?:status|http)\s+(?:code\s+)?)?(\d{3}))?$",
        sentence,
        re.I,
    )
    if found:
        status = int(found.group(1)) if found.group(1) else None
        sentence = sentence[: found.start()].rstrip(" ,;")
    return sentence, status


class _Model:
    """The entities of a request and the parsing of one sentence against them."""

    def __init__(self, entities: list[EntitySpec]) -> None:
        self.entities = entities

    # -- one sentence ---------------------------------------------------------------------------

    def parse(self, requirement: Requirement) -> Rule | None:
        sentence, status = _strip_status(_normalize(requirement.text))
        if not any(trigger.search(sentence) for trigger in _TRIGGERS):
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
        for subject in _SUBJECTS:
            found = re.match(subject + rf"(?P<modal>{_NEGATED}|{_MODAL})\s+(?P<predicate>.+)$", sentence, re.I)
            if found:
                break
        else:
            return None
        entity = self._entity(found["entity"])
        field = self._field(entity, found["field"])
        negated = re.match(_NEGATED, found["modal"], re.I) is not None
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
        other = self._field(entity, other_word)
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
        limits = _limits(re.sub(unit, "", predicate, flags=re.I).strip())
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
            limits = [_negated(limits[0])]
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
        for subject in _SUBJECTS:
            found = re.match(
                subject + r"(?:(?:can|may)\s+)?(?:only\s+)?(?:moves?|goes|go|changes?|transitions?|passes|pass)\s+"
                r"(?:only\s+)?(?P<rest>from\s+.+)$",
                sentence,
                re.I,
            )
            if found:
                break
        else:
            return None
        entity = self._entity(found["entity"])
        field = self._field(entity, found["field"])
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
            rf"^{_ARTICLE}(?P<parent>{_NAME})\s+(?:(?:(?:can|may)\s+(?:only\s+)?(?:have|hold))|has|holds?)\s+"
            rf"{_AT_MOST}\s+(?P<n>{_COUNT})\s+(?P<rest>.+?){_CHILDREN_END}",
            sentence,
            re.I,
        ) or re.match(
            rf"^{_ARTICLE}(?P<parent>{_NAME})\s+(?:cannot|can't|can not|may not|must not|should not|shall not)\s+"
            rf"(?:have|hold)\s+more than\s+(?P<n>{_COUNT})\s+(?P<rest>.+?){_CHILDREN_END}",
            sentence,
            re.I,
        )
        if not found:
            return None
        parent = self._entity(found["parent"])
        child, condition = self._children(found["rest"])
        via = self._via(child, parent)
        limit = _count(found["n"])
        if limit < 1:
            raise NotUnderstood(f"a quota of {limit} allows no {child.name} at all; state at least 1")
        parameters = QuotaParameters(child=child.name, via=via.name, limit=limit, condition=condition)
        fields = [f"{child.name}.{via.name}"] + ([f"{child.name}.{condition.field}"] if condition else [])
        return "quota", parent.name, fields, parameters

    def _no_duplicate_pair(self, sentence: str) -> tuple | None:
        found = re.match(
            rf"^{_ARTICLE}(?P<parent>{_NAME})\s+(?:cannot|can't|can not|may not|must not|should not|shall not)\s+"
            r"(?:have|hold)\s+(?:two|2|more than one|multiple|several)\s+(?P<rest>.+?)\s+(?:of|for|with|on|about|to)\s+"
            rf"the\s+same\s+(?P<other>{_NAME}){_CHILDREN_END}",
            sentence,
            re.I,
        )
        if not found:
            return None
        parent = self._entity(found["parent"])
        child, condition = self._children(found["rest"])
        other = self._entity(found["other"])
        via, other_via = self._via(child, parent), self._via(child, other)
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
            rf"^deleting\s+{_ARTICLE}(?P<parent>{_NAME})\s+(?:that|which|who|while it|when it)\s+"
            rf"(?:still\s+)?(?:has|have|holds?|is referenced by)\s+{_SOME}(?P<rest>.+)$",
            sentence,
            re.I,
        ) or re.match(
            rf"^{_ARTICLE}(?P<parent>{_NAME})\s+(?:that|which|with)\s+(?:still\s+)?(?:has|have)\s+"
            rf"{_SOME}(?P<rest>.+?)\s+{_CANNOT}\s+be\s+deleted$",
            sentence,
            re.I,
        )
        if not found:
            if re.match(r"^deleting\s+", sentence, re.I):
                raise NotUnderstood("a delete guard must read 'Deleting a Project that has Tasks is rejected with 409'")
            return None
        parent = self._entity(found["parent"])
        child, condition = self._children(found["rest"])
        via = self._via(child, parent)
        parameters = DeleteGuardParameters(child=child.name, via=via.name, condition=condition)
        fields = [f"{child.name}.{via.name}"] + ([f"{child.name}.{condition.field}"] if condition else [])
        return "delete_guard", parent.name, fields, parameters

    def _computed(self, sentence: str) -> tuple | None:
        for subject in _SUBJECTS:
            found = re.match(
                subject + r"(?:is|equals|is always|must be|must equal|should be|should equal|is computed as|"
                r"is calculated as)\s+(?:the\s+)?(?P<aggregate>sum|total|number|count)\s+of\s+(?P<rest>.+)$",
                sentence,
                re.I,
            )
            if found:
                break
        else:
            return None
        entity = self._entity(found["entity"])
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
            child, condition = self._children(children_words)
            for word in re.split(r"\s+(?:times|multiplied by|x)\s+|\s*[*×]\s*", expression.strip()):
                factor = self._field(child, word)
                if factor.type not in NUMERIC_TYPES:
                    raise NotUnderstood(
                        f"field '{factor.name}' of {child.name} is a {factor.type}; a sum needs numbers"
                    )
                factors.append(factor.name)
        else:
            child, condition = self._children(rest)
        via = self._via(child, entity)
        floats = any(self._field(child, f).type == "float" for f in factors)
        target = self._computed_field(entity, found["field"], "float" if floats else "int")
        parameters = ComputedParameters(
            field=target.name, child=child.name, via=via.name, factors=tuple(factors), condition=condition
        )
        fields = [f"{entity.name}.{target.name}", f"{child.name}.{via.name}"] + [f"{child.name}.{f}" for f in factors]
        return "computed", entity.name, fields, parameters

    def _derived_default(self, sentence: str) -> tuple | None:
        for subject in _SUBJECTS:
            found = re.match(
                subject
                + r"(?:defaults to|should default to|must default to|will default to|is by default|by default is)\s+"
                r"(?P<source>.+?)(?:\s+(?:by default|(?:when|if|unless) (?:it is )?(?:not )?(?:given|sent|set)))?$",
                sentence,
                re.I,
            )
            if found:
                break
        else:
            return None
        entity = self._entity(found["entity"])
        source = found["source"].strip()
        values: dict[str, object]
        if re.fullmatch(r"today|the current date|the date of (?:its )?creation|the day it is created", source, re.I):
            values, field_type = {"source": "today"}, "date"
        elif re.fullmatch(r"now|the current (?:date and )?time|the time of (?:its )?creation", source, re.I):
            values, field_type = {"source": "now"}, "datetime"
        elif offset := re.fullmatch(
            rf"(?P<days>{_COUNT})\s+days?\s+(?:after|from)\s+(?:its|the)\s+(?P<base>\w+)|(?:its|the)\s+(?P<base2>\w+)\s+plus\s+(?P<days2>{_COUNT})\s+days?",
            source,
            re.I,
        ):
            base = self._field(entity, offset["base"] or offset["base2"])
            if base.type not in TEMPORAL_TYPES:
                raise NotUnderstood(f"field '{base.name}' of {entity.name} is a {base.type}, not a date")
            values = {"source": "offset", "base": base.name, "days": _count(offset["days"] or offset["days2"])}
            field_type = base.type
        elif copied := re.fullmatch(
            rf"(?:its|the)\s+(?P<reference>{_NAME})(?:'s|’s)\s+(?P<field>{_NAME})|(?:the\s+)?(?P<field2>{_NAME})\s+of\s+(?:its|the)\s+(?P<reference2>{_NAME})",
            source,
            re.I,
        ):
            reference = self._reference(entity, copied["reference"] or copied["reference2"])
            target = self._entity(reference.type)
            source_field = self._field(target, copied["field"] or copied["field2"])
            values = {"source": "reference", "reference": reference.name, "reference_field": source_field.name}
            field_type = source_field.type
        else:
            raise NotUnderstood(
                f"'{source}' is not a default this backend derives (today, now, N days after its <date>, "
                "its <Reference>'s <field>)"
            )
        target_field = self._default_field(entity, found["field"], field_type, values)
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
            rf"^{_ARTICLE}(?P<entity>{_NAME})\s+can\s+be\s+(?P<verb>[\w-]+)(?:\s+by\s+[\w ]+?)?\s*:\s*"
            r"(?P<method>\w+)\s+(?P<path>/\S+?)(?:\s*[,;]?\s+(?:which\s+|and\s+|that\s+|it\s+)?(?:sets|set|marks|changes)\s+(?P<assign>.+))?$",
            sentence,
            re.I,
        )
        if not found:
            if re.match(rf"^{_ARTICLE}{_NAME}\s+can\s+be\s+[\w-]+\s*:", sentence, re.I):
                raise NotUnderstood(f"a custom action must read '{EXAMPLES['action']}'")
            return None
        entity = self._entity(found["entity"])
        method = found["method"].upper()
        if method not in ("POST", "PUT", "PATCH"):
            raise NotUnderstood(f"an action is called with POST, PUT or PATCH, not {found['method']}")
        resource = "/" + pluralize(entity.snake).replace("_", "-")
        path = re.fullmatch(
            rf"{re.escape(resource)}/(?:\{{\w+\}}|:\w+)/(?P<segment>[a-z0-9][a-z0-9-]*)", found["path"], re.I
        )
        if not path:
            raise NotUnderstood(f"the action's path must be {resource}/{{id}}/<name>, not {found['path']}")
        assignments = self._assignments(entity, found["assign"], found["verb"])
        fields = [f"{entity.name}.{a.field}" for a in assignments]
        parameters = ActionParameters(
            name=found["verb"].lower(),
            method=method,
            segment=path["segment"].lower(),
            assignments=tuple(assignments),  # type: ignore[arg-type]
        )
        return "action", entity.name, fields, parameters

    # -- resolution -----------------------------------------------------------------------------

    def _assignments(self, entity: EntitySpec, words: str | None, verb: str) -> list[Assignment]:
        if not words:  # "A Loan can be returned: POST /loans/{id}/return": the enum value it names
            owners = [f for f in entity.fields if f.type == "enum" and verb in f.choices]
            if len(owners) != 1:
                raise NotUnderstood(f"say what the action sets, e.g. '... sets status to {verb}'")
            return [Assignment(field=owners[0].name, value=verb)]
        assignments = []
        for part in re.split(r"\s*(?:,|\band\b)\s*", words.strip()):
            if not part:
                continue
            found = re.fullmatch(r"(?:its\s+|the\s+)?(?P<field>\w+)\s+(?:to|=|as)\s+(?P<value>[\w.:-]+)", part, re.I)
            if not found:
                raise NotUnderstood(f"'{part}' must read '<field> to <value>'")
            field = self._field(entity, found["field"])
            assignments.append(Assignment(field=field.name, value=_assigned_value(entity, field, found["value"])))
        return assignments

    def _children(self, words: str) -> tuple[EntitySpec, Condition | None]:
        """`open Loans` → (Loan, status = open); `Tasks` → (Task, None)."""
        tokens = words.strip().split()
        if not tokens:
            raise NotUnderstood("the sentence names no entity to count")
        child = self._entity(tokens[-1])
        if len(tokens) == 1:
            return child, None
        word = "_".join(tokens[:-1]).lower()
        for field in child.fields:
            for choice in field.choices:
                if choice.lower().replace("-", "_") == word:
                    return child, Condition(field=field.name, value=choice)
        flag = next((f for f in child.fields if f.type == "bool" and f.name.lower() == word), None)
        if flag:
            return child, Condition(field=flag.name, value=True)
        raise NotUnderstood(
            f"'{' '.join(tokens[:-1])}' is neither a value of an enum field of {child.name} nor one of its bool fields"
        )

    def _via(self, child: EntitySpec, parent: EntitySpec) -> FieldSpec:
        """The reference of `child` to `parent`: the only one, or the one named after the parent."""
        references = [f for f in child.fields if f.type == parent.name]
        if not references:
            raise NotUnderstood(
                f"{child.name} has no reference to {parent.name} (e.g. '{parent.snake} ({parent.name})')"
            )
        if len(references) == 1:
            return references[0]
        named = [f for f in references if f.name == parent.snake]
        if len(named) == 1:
            return named[0]
        raise NotUnderstood(
            f"{child.name} references {parent.name} through several fields ({', '.join(f.name for f in references)}); "
            "the sentence cannot say which"
        )

    def _entity(self, word: str) -> EntitySpec:
        key = word.lower().replace("_", "").removesuffix("'s").removesuffix("’s").rstrip("'’")
        for entity in self.entities:
            forms = {entity.name.lower(), entity.snake.replace("_", ""), pluralize(entity.snake).replace("_", "")}
            if key in forms:
                return entity
        names = ", ".join(e.name for e in self.entities)
        raise NotUnderstood(f"'{word}' is not an entity of the request ({names})")

    def _field(self, entity: EntitySpec, word: str) -> FieldSpec:
        for field in entity.fields:
            if word.lower() in (field.name.lower(), field.column.lower()):
                return field
        raise NotUnderstood(f"{entity.name} has no field '{word}' ({', '.join(f.name for f in entity.fields)})")

    def _reference(self, entity: EntitySpec, word: str) -> FieldSpec:
        """A reference field of `entity`, named by its own name or by the entity it points to."""
        by_name = next((f for f in entity.fields if f.is_reference and f.name.lower() == word.lower()), None)
        if by_name:
            return by_name
        target = self._entity(word)
        return self._via(entity, target)

    def _computed_field(self, entity: EntitySpec, word: str, field_type: str) -> FieldSpec:
        existing = next((f for f in entity.fields if f.name.lower() == word.lower()), None)
        if existing is None:
            return self._add_field(entity, FieldSpec(name=word, type=field_type))
        if existing.type not in NUMERIC_TYPES:
            raise NotUnderstood(
                f"field '{existing.name}' of {entity.name} is a {existing.type}; a computed sum is a number"
            )
        return existing

    def _default_field(self, entity: EntitySpec, word: str, field_type: str, values: dict[str, object]) -> FieldSpec:
        existing = next((f for f in entity.fields if f.name.lower() == word.lower()), None)
        if existing is None:
            return self._add_field(entity, FieldSpec(name=word, type=field_type))
        fits = existing.type == field_type or (existing.type == "float" and field_type == "int")
        if values["source"] in ("today", "now"):
            fits = existing.type in TEMPORAL_TYPES
        if not fits:
            raise NotUnderstood(
                f"field '{existing.name}' of {entity.name} is a {existing.type}; its default would be a {field_type}"
            )
        return existing

    def _add_field(self, entity: EntitySpec, field: FieldSpec) -> FieldSpec:
        """A field a rule names that ## Entities does not declare joins its entity."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", field.name) or field.name in ("id", "limit", "offset"):
            raise NotUnderstood(f"'{field.name}' cannot be a field name; declare the field in ## Entities")
        grown = entity.model_copy(update={"fields": (*entity.fields, field)})
        self.entities = [grown if e.name == entity.name else e for e in self.entities]
        return field


def _limits(predicate: str) -> list[tuple[str, float]] | None:
    """`between 1 and 5` → [(">=", 1), ("<=", 5)]; `greater than 0 and at most 9` → two limits; else None."""
    between = re.fullmatch(
        rf"(?P<strict>strictly\s+)?between\s+(?P<a>{_NUMBER})\s+and\s+(?P<b>{_NUMBER})(?:\s+inclusive)?",
        predicate,
        re.I,
    )
    if between:
        low, high = (">", "<") if between["strict"] else (">=", "<=")
        return [(low, _number(between["a"])), (high, _number(between["b"]))]
    limits = [_single_bound(part) for part in re.split(r"\s+and\s+(?=[a-z<>≤≥])", predicate, flags=re.I)]
    return None if any(limit is None for limit in limits) else limits  # type: ignore[return-value]


def _single_bound(part: str) -> tuple[str, float] | None:
    part = part.strip()
    table = (
        (
            r"(?:at least|no less than|not less than|a minimum of|minimum|min|greater than or equal to|"
            r"more than or equal to|equal to or greater than|equal to or more than|>=|≥)",
            ">=",
        ),
        (
            r"(?:at most|no more than|not more than|a maximum of|maximum|max|less than or equal to|"
            r"equal to or less than|up to|<=|≤)",
            "<=",
        ),
        (r"(?:greater than|more than|larger than|higher than|bigger than|above|over|>)", ">"),
        (r"(?:less than|fewer than|smaller than|lower than|below|under|<)", "<"),
    )
    part = re.sub(r"^an?\s+(.+?)(?:\s+(?:number|value|integer|amount|quantity))$", r"\1", part, flags=re.I)
    for words, operator in table:
        found = re.fullmatch(rf"{words}\s*(?P<n>{_NUMBER}|{_COUNT})", part, re.I)
        if found:
            return operator, _number(found["n"])
    named = {
        "positive": (">", 0.0),
        "strictly positive": (">", 0.0),
        "negative": ("<", 0.0),
        "non-negative": (">=", 0.0),
        "nonnegative": (">=", 0.0),
        "not negative": (">=", 0.0),
        "zero or more": (">=", 0.0),
        "zero or positive": (">=", 0.0),
        "positive or zero": (">=", 0.0),
        "zero or greater": (">=", 0.0),
    }
    return named.get(part.lower())


def _negated(limit: tuple[str, float]) -> tuple[str, float]:
    operator, number = limit
    return {">=": "<", ">": "<=", "<=": ">", "<": ">="}[operator], number


def _number(text: str) -> float:
    return float(_WORD_NUMBERS[text.lower()]) if text.lower() in _WORD_NUMBERS else float(text.replace(",", ""))


def _count(text: str) -> int:
    return int(text) if text.isdigit() else _WORD_NUMBERS[text.lower()]


def _assigned_value(entity: EntitySpec, field: FieldSpec, word: str) -> str | bool | int | float:
    if field.type == "enum":
        if word not in field.choices:
            raise NotUnderstood(f"'{word}' is not a value of {entity.name}.{field.name} ({'|'.join(field.choices)})")
        return word
    if field.type == "bool" and word.lower() in ("true", "false"):
        return word.lower() == "true"
    if field.type in TEMPORAL_TYPES and word.lower() in ("today", "now"):
        return "today" if field.type == "date" else "now"
    if field.type == "int" and re.fullmatch(r"-?\d+", word):
        return int(word)
    if field.type == "float" and re.fullmatch(r"-?\d+(?:\.\d+)?", word):
        return float(word)
    raise NotUnderstood(f"'{word}' is not a value the action can set on {field.name} ({field.type})")


def _first_error(error: ValueError) -> str:
    text = str(error).splitlines()
    return next((line.strip() for line in text if line.strip().startswith("Value error")), text[-1]).removeprefix(
        "Value error, "
    )
