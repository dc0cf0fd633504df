"""A request's entities as rule sentences name them: entities by name or plural, fields, the reference
from a child to its parent, a counted condition (`open Loans`), and the fields a rule adds."""

from __future__ import annotations

import re

from mge_assets.request.model import NUMERIC_TYPES, TEMPORAL_TYPES, EntitySpec, FieldSpec, pluralize
from mge_assets.rules.grammar import NotUnderstood
from mge_assets.rules.records import Assignment, Condition


class Domain:
    """The entities a sentence is read against; rules may add fields to them (`entities` grows)."""

    def __init__(self, entities: list[EntitySpec]) -> None:
        self.entities = entities

    def assignments(self, entity: EntitySpec, words: str | None, verb: str) -> list[Assignment]:
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
            field = self.field(entity, found["field"])
            assignments.append(Assignment(field=field.name, value=_assigned_value(entity, field, found["value"])))
        return assignments

    def children(self, words: str) -> tuple[EntitySpec, Condition | None]:
        """`open Loans` → (Loan, status = open); `Tasks` → (Task, None)."""
        tokens = words.strip().split()
        if not tokens:
            raise NotUnderstood("the sentence names no entity to count")
        child = self.entity(tokens[-1])
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

    def via(self, child: EntitySpec, parent: EntitySpec) -> FieldSpec:
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

    def entity(self, word: str) -> EntitySpec:
        key = word.lower().replace("_", "").removesuffix("'s").removesuffix("’s").rstrip("'’")
        for entity in self.entities:
            forms = {entity.name.lower(), entity.snake.replace("_", ""), pluralize(entity.snake).replace("_", "")}
            if key in forms:
                return entity
        names = ", ".join(e.name for e in self.entities)
        raise NotUnderstood(f"'{word}' is not an entity of the request ({names})")

    def field(self, entity: EntitySpec, word: str) -> FieldSpec:
        for field in entity.fields:
            if word.lower() in (field.name.lower(), field.column.lower()):
                return field
        raise NotUnderstood(f"{entity.name} has no field '{word}' ({', '.join(f.name for f in entity.fields)})")

    def reference(self, entity: EntitySpec, word: str) -> FieldSpec:
        """A reference field of `entity`, named by its own name or by the entity it points to."""
        by_name = next((f for f in entity.fields if f.is_reference and f.name.lower() == word.lower()), None)
        if by_name:
            return by_name
        target = self.entity(word)
        return self.via(entity, target)

    def computed_field(self, entity: EntitySpec, word: str, field_type: str) -> FieldSpec:
        existing = next((f for f in entity.fields if f.name.lower() == word.lower()), None)
        if existing is None:
            return self.add_field(entity, FieldSpec(name=word, type=field_type))
        if existing.type not in NUMERIC_TYPES:
            raise NotUnderstood(
                f"field '{existing.name}' of {entity.name} is a {existing.type}; a computed sum is a number"
            )
        return existing

    def default_field(self, entity: EntitySpec, word: str, field_type: str, values: dict[str, object]) -> FieldSpec:
        existing = next((f for f in entity.fields if f.name.lower() == word.lower()), None)
        if existing is None:
            return self.add_field(entity, FieldSpec(name=word, type=field_type))
        fits = existing.type == field_type or (existing.type == "float" and field_type == "int")
        if values["source"] in ("today", "now"):
            fits = existing.type in TEMPORAL_TYPES
        if not fits:
            raise NotUnderstood(
                f"field '{existing.name}' of {entity.name} is a {existing.type}; its default would be a {field_type}"
            )
        return existing

    def add_field(self, entity: EntitySpec, field: FieldSpec) -> FieldSpec:
        """A field a rule names that ## Entities does not declare joins its entity."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", field.name) or field.name in ("id", "limit", "offset"):
            raise NotUnderstood(f"'{field.name}' cannot be a field name; declare the field in ## Entities")
        grown = entity.model_copy(update={"fields": (*entity.fields, field)})
        self.entities = [grown if e.name == entity.name else e for e in self.entities]
        return field


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
