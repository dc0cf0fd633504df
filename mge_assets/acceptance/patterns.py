"""The requirement phrasings the offline test generator understands, each a regular expression.

They are documented in the README ("Request format"); a requirement that matches none of them has
no offline test and, if it is a MUST, counts as failed with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mge_assets.rules.phrasings import LISTING_ORDER
from mge_assets.synth.views import EntityView, FieldView

CRUD_VERBS = ("created", "read", "updated", "deleted", "listed")

PATTERNS: dict[str, re.Pattern[str]] = {
    "crud": re.compile(
        r"^(?:(?:every|each) entity|all entities|(?:an? |every |each )?(?P<entity>[A-Za-z0-9_]+))"
        r" can be (?P<verbs>[a-z ,]+?)(?: over HTTP)?\.?$",
        re.I,
    ),
    "reject_missing_field": re.compile(
        r"^creating an? (?P<entity>[A-Za-z0-9_]+) without an? (?P<field>[A-Za-z0-9_]+) "
        r"is rejected with (?P<status>\d{3})\.?$",
        re.I,
    ),
    "reject_duplicate": re.compile(
        r"^creating an? (?P<entity>[A-Za-z0-9_]+) with an? (?P<field>[A-Za-z0-9_]+) that already exists "
        r"is rejected with (?P<status>\d{3})\.?$",
        re.I,
    ),
    "reject_missing_reference": re.compile(
        r"^creating an? (?P<entity>[A-Za-z0-9_]+) whose (?P<field>[A-Za-z0-9_]+) does not exist "
        r"is rejected with (?P<status>\d{3})\.?$",
        re.I,
    ),
    "reject_invalid": re.compile(
        r"^creating an? (?P<entity>[A-Za-z0-9_]+) with an? invalid (?P<field>[A-Za-z0-9_]+) "
        r"is rejected with (?P<status>\d{3})\.?$",
        re.I,
    ),
    "reject_unknown_id": re.compile(
        r"^(?P<verb>reading|updating|deleting) an? (?P<entity>[A-Za-z0-9_]+) that does not exist "
        r"is rejected with (?P<status>\d{3})\.?$",
        re.I,
    ),
    "default": re.compile(
        r"^(?:an? |every |each )?(?:new )?(?P<entity>[A-Za-z0-9_]+) is created with (?P<field>[A-Za-z0-9_]+) "
        r"(?P<value>\S+?) by default\.?$",
        re.I,
    ),
    "ordering": LISTING_ORDER,
    "filter": re.compile(r"^listing (?P<entity>[A-Za-z0-9_]+) can be filtered by (?P<field>[A-Za-z0-9_]+)\.?$", re.I),
    "pagination": re.compile(r"^listing(?: (?P<entity>[A-Za-z0-9_]+))? supports limit and offset\.?$", re.I),
}

EXAMPLES = {
    "crud": "Every entity can be created, read, updated, deleted and listed over HTTP. / A Book can be read.",
    "reject_missing_field": "Creating a Task without a title is rejected with 422.",
    "reject_duplicate": "Creating a User with an email that already exists is rejected with 409.",
    "reject_missing_reference": "Creating a Task whose project does not exist is rejected with 404.",
    "reject_invalid": "Creating a User with an invalid email is rejected with 422.",
    "reject_unknown_id": "Reading a Task that does not exist is rejected with 404.",
    "default": "A Task is created with done false by default.",
    "ordering": "Listing Tasks is ordered by id.",
    "filter": "Listing Tasks can be filtered by done.",
    "pagination": "Listing supports limit and offset. / Listing Books supports limit and offset.",
}


class Untestable(Exception):
    """The requirement has no offline test; the message says why."""


@dataclass(frozen=True)
class Match:
    pattern: str
    entities: tuple[EntityView, ...]
    field: FieldView | None = None
    status: int | None = None
    verbs: tuple[str, ...] = ()
    value: str | None = None  # a default's value, as a Python literal


def match_requirement(text: str, entities: list[EntityView]) -> Match:
    """The pattern a requirement's text matches, with its entity and field resolved, or `Untestable`."""
    text = " ".join(text.split())
    for name, pattern in PATTERNS.items():
        found = pattern.match(text)
        if found:
            return _resolve(name, found, entities, text)
    raise Untestable(
        "no offline test pattern matches this wording; rephrase it as one of: " + " | ".join(EXAMPLES.values())
    )


def _resolve(name: str, found: re.Match[str], entities: list[EntityView], text: str) -> Match:
    groups = found.groupdict()
    targets = tuple(entities) if not groups.get("entity") else (_entity(groups["entity"], entities, text),)
    by_id = name == "ordering" and groups["field"].lower() in ("id", "creation")
    field = _field(groups["field"], targets[0], text) if groups.get("field") and not by_id else None
    verbs: tuple[str, ...] = ()
    if name == "crud":
        verbs = tuple(v for v in CRUD_VERBS if re.search(rf"\b{v}\b", groups["verbs"]))
        if not verbs:
            raise Untestable(f"'{text}' names none of the operations {', '.join(CRUD_VERBS)}")
    if name == "reject_duplicate" and field and not field.unique:
        raise Untestable(f"field '{field.name}' of {targets[0].name} is not declared unique in ## Entities")
    if name == "reject_missing_reference" and field and not field.reference:
        raise Untestable(f"field '{field.name}' of {targets[0].name} is not a reference to another entity")
    if name == "reject_missing_field" and field and not field.required:
        raise Untestable(f"field '{field.name}' of {targets[0].name} is not declared required in ## Entities")
    if name == "reject_missing_field" and field and (field.derived or field.computed):
        raise Untestable(f"field '{field.name}' of {targets[0].name} is filled in by a rule when it is not sent")
    if name == "ordering" and field and field.reference:
        raise Untestable(f"'{text}': ordering by a reference ({field.name}) has no meaning to test")
    if name == "reject_unknown_id":
        verbs = ({"reading": "read", "updating": "updated", "deleting": "deleted"}[groups["verb"].lower()],)
    if name == "reject_invalid" and field and field.type not in INVALID_VALUES:
        raise Untestable(f"field '{field.name}' of {targets[0].name} ({field.type}) has no invalid value to send")
    value = _literal(groups["value"], field, text) if name == "default" and field else None
    status = int(groups["status"]) if groups.get("status") else None
    return Match(pattern=name, entities=targets, field=field, status=status, verbs=verbs, value=value)


# A value each field type refuses, as a Python literal (sent as JSON).
INVALID_VALUES = {
    "email": '"not-an-email"',
    "int": '"many"',
    "float": '"a lot"',
    "bool": '"perhaps"',
    "date": '"2025-02-30"',  # shaped like a date, but no day of the calendar
    "datetime": '"2025-02-30T10:00:00"',
    "enum": '"not-one-of-its-values"',
}


def _literal(word: str, field: FieldView, text: str) -> str:
    """The default's value in the requirement's words, as a Python literal of the field's type."""
    word = word.strip("'\"")
    try:
        if field.type == "bool" and word.lower() in ("true", "false"):
            return str(word.lower() == "true")
        if field.type == "int":
            return str(int(word))
        if field.type == "float":
            return repr(float(word))
    except ValueError:
        pass
    if field.type in ("str", "text", "email", "date", "datetime"):
        return repr(word)
    raise Untestable(f"'{text}': '{word}' is not a {field.type} value for {field.name}")


def _entity(word: str, entities: list[EntityView], text: str) -> EntityView:
    lowered = word.lower()
    for entity in entities:
        if lowered in (entity.name.lower(), entity.snake, entity.plural, entity.plural.replace("_", "")):
            return entity
    raise Untestable(f"'{text}' names '{word}', which is not an entity ({', '.join(e.name for e in entities)})")


def _field(word: str, entity: EntityView, text: str) -> FieldView:
    for field in entity.fields:
        if word.lower() in (field.name.lower(), field.column.lower()):
            return field
    raise Untestable(
        f"'{text}' names field '{word}', which {entity.name} does not have ({', '.join(f.name for f in entity.fields)})"
    )
