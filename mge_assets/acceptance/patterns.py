"""The requirement phrasings the offline test generator understands, each a regular expression.

They are documented in the README ("Request format"); a requirement that matches none of them has
no offline test and, if it is a MUST, counts as failed with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mge_assets.synth.views import EntityView, FieldView

CRUD_VERBS = ("created", "read", "updated", "deleted", "listed")

PATTERNS: dict[str, re.Pattern[str]] = {
    "crud": re.compile(
        r"^(?:(?:every|each) entity|all entities|(?:an? |every |each )?(?P<entity>[A-Za-z_]+))"
        r" can be (?P<verbs>[a-z ,]+?)(?: over HTTP)?\.?$",
        re.I,
    ),
    "reject_missing_field": re.compile(
        r"^creating an? (?P<entity>[A-Za-z_]+) without an? (?P<field>[A-Za-z_]+) "
        r"is rejected with (?P<status>\d{3})\.?$",
        re.I,
    ),
    "reject_duplicate": re.compile(
        r"^creating an? (?P<entity>[A-Za-z_]+) with an? (?P<field>[A-Za-z_]+) that already exists "
        r"is rejected with (?P<status>\d{3})\.?$",
        re.I,
    ),
    "reject_missing_reference": re.compile(
        r"^creating an? (?P<entity>[A-Za-z_]+) whose (?P<field>[A-Za-z_]+) does not exist "
        r"is rejected with (?P<status>\d{3})\.?$",
        re.I,
    ),
    "filter": re.compile(r"^listing (?P<entity>[A-Za-z_]+) can be filtered by (?P<field>[A-Za-z_]+)\.?$", re.I),
    "pagination": re.compile(r"^listing(?: (?P<entity>[A-Za-z_]+))? supports limit and offset\.?$", re.I),
}

EXAMPLES = {
    "crud": "Every entity can be created, read, updated, deleted and listed over HTTP. / A Book can be read.",
    "reject_missing_field": "Creating a Task without a title is rejected with 422.",
    "reject_duplicate": "Creating a User with an email that already exists is rejected with 409.",
    "reject_missing_reference": "Creating a Task whose project does not exist is rejected with 404.",
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
    field = _field(groups["field"], targets[0], text) if groups.get("field") else None
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
    status = int(groups["status"]) if groups.get("status") else None
    return Match(pattern=name, entities=targets, field=field, status=status, verbs=verbs)


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
