"""What the templates need to know about entities and fields, computed once in Python."""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass

from mge_assets.plan.discovery import DiscoveryDocument
from mge_assets.request import EntitySpec, FieldSpec

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# Dates go through the `dt` module alias so that a field named `date` cannot shadow its own type.
_PY_TYPES = {
    "str": "str",
    "text": "str",
    "int": "int",
    "float": "float",
    "bool": "bool",
    "date": "dt.date",
    "datetime": "dt.datetime",
    "email": "str",
}
_SQL_TYPES = {
    "str": "TEXT",
    "text": "TEXT",
    "int": "INTEGER",
    "float": "REAL",
    "bool": "INTEGER",
    "date": "TEXT",
    "datetime": "TEXT",
    "email": "TEXT",
}
_TS_TYPES = {
    "str": "string",
    "text": "string",
    "int": "number",
    "float": "number",
    "bool": "boolean",
    "date": "string",
    "datetime": "string",
    "email": "string",
}
# Values that fit each type, used by generated tests; index 0 and 1 differ so filters can tell rows apart.
SAMPLES = {
    "str": ('"alpha"', '"beta"'),
    "text": ('"Some longer text."', '"Other text."'),
    "int": ("1", "2"),
    "float": ("1.5", "2.5"),
    "bool": ("True", "False"),
    "date": ('"2025-01-31"', '"2025-02-28"'),
    "datetime": ('"2025-01-31T09:30:00"', '"2025-02-28T17:00:00"'),
    "email": ('"ada@example.com"', '"grace@example.com"'),
}


@dataclass(frozen=True)
class FieldView:
    name: str
    column: str
    type: str
    py_type: str
    sql_type: str
    required: bool
    unique: bool
    default: str | None
    reference: EntityRef | None

    @property
    def create_annotation(self) -> str:
        """`name: <this>` in the Create model."""
        constraint = self._constraint()
        if self.required:
            return f"{self.py_type} = Field({constraint})" if constraint else self.py_type
        if self.default is not None:
            return f"{self.py_type} = {self.default_literal}"
        return f"{self.py_type} | None = " + (f"Field(default=None, {constraint})" if constraint else "None")

    @property
    def update_annotation(self) -> str:
        """`name: <this>` in the Update model: every field optional."""
        constraint = self._constraint()
        return f"{self.py_type} | None = " + (f"Field(default=None, {constraint})" if constraint else "None")

    @property
    def default_literal(self) -> str:
        if self.type == "bool":
            return "True" if (self.default or "").lower() == "true" else "False"
        if self.type in ("int", "float"):
            return str(self.default)
        return repr(self.default)

    @property
    def sql_declaration(self) -> str:
        parts = [self.column, self.sql_type]
        if self.required:
            parts.append("NOT NULL")
        if self.unique:
            parts.append("UNIQUE")
        if self.reference:
            parts.append(f"REFERENCES {self.reference.table}(id)")
        return " ".join(parts)

    @property
    def filterable(self) -> bool:
        return self.type != "text"

    def sample(self, index: int = 0) -> str:
        return SAMPLES[self.type][index % 2] if not self.reference else "None"

    # The same facts for the TypeScript service and its tests.
    @property
    def ts_type(self) -> str:
        base = "number" if self.reference else _TS_TYPES[self.type]
        return base if self.required else f"{base} | null"

    @property
    def ts_default(self) -> str:
        """What a new row holds when the field is not sent: its declared default, else null."""
        return "null" if self.default is None else ts_literal(self.default_literal)

    def ts_sample(self, index: int = 0) -> str:
        return ts_literal(self.sample(index))

    @property
    def non_empty(self) -> bool:
        """A required short text must not be empty (the Python models' `min_length=1`)."""
        return self.type == "str" and self.required

    @property
    def camel(self) -> str:
        return camel_case(self.name)

    @property
    def pascal(self) -> str:
        return pascal_case(self.column)

    def _constraint(self) -> str:
        if self.type == "email":
            return "pattern=EMAIL_PATTERN"
        if self.type == "str" and self.required:
            return "min_length=1"
        return ""


@dataclass(frozen=True)
class EntityRef:
    name: str
    snake: str
    table: str

    @property
    def camel(self) -> str:
        return self.name[0].lower() + self.name[1:]


@dataclass(frozen=True)
class EntityView:
    name: str
    snake: str
    plural: str
    table: str
    path: str
    fields: tuple[FieldView, ...]

    @property
    def camel(self) -> str:
        return self.name[0].lower() + self.name[1:]

    @property
    def constant(self) -> str:
        return self.snake.upper()

    @property
    def plural_pascal(self) -> str:
        return pascal_case(self.plural)

    @property
    def plural_camel(self) -> str:
        return camel_case(self.plural)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.column for f in self.fields)

    @property
    def references(self) -> tuple[FieldView, ...]:
        return tuple(f for f in self.fields if f.reference)

    @property
    def unique_fields(self) -> tuple[FieldView, ...]:
        return tuple(f for f in self.fields if f.unique)

    @property
    def filters(self) -> tuple[FieldView, ...]:
        return tuple(f for f in self.fields if f.filterable)

    @property
    def uses_dates(self) -> bool:
        """Whether the models need `import datetime as dt`."""
        return any(f.py_type.startswith("dt.") for f in self.fields)

    @property
    def update_field(self) -> FieldView:
        """The field unit tests change: the first plain field, else the first reference."""
        return next((f for f in self.fields if not f.reference), self.fields[0])

    @property
    def uses_email(self) -> bool:
        return any(f.type == "email" for f in self.fields)

    @property
    def uses_field(self) -> bool:
        return any("Field(" in f.create_annotation or "Field(" in f.update_annotation for f in self.fields)

    @property
    def repository_imports(self) -> tuple[EntityRef, ...]:
        """Its own repository and those of what it references, in import-sort order."""
        own = EntityRef(self.name, self.snake, self.table)
        return tuple(sorted({own, *self.referenced_entities}, key=lambda r: r.snake))

    @property
    def referenced_entities(self) -> tuple[EntityRef, ...]:
        seen: dict[str, EntityRef] = {}
        for f in self.references:
            if f.reference and f.reference.name != self.name:
                seen.setdefault(f.reference.name, f.reference)
        return tuple(seen.values())


def ts_literal(python_literal: str) -> str:
    """A Python literal of the samples and defaults (True, 'x', 1.5, None) as TypeScript."""
    return json.dumps(ast.literal_eval(python_literal))


def pascal_case(snake: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


def camel_case(snake: str) -> str:
    pascal = pascal_case(snake)
    return pascal[:1].lower() + pascal[1:]


def entity_views(discovery: DiscoveryDocument) -> list[EntityView]:
    refs = {e.name: EntityRef(e.name, e.snake, e.plural) for e in discovery.entities}
    return [_entity_view(e, refs) for e in discovery.entities]


def _entity_view(entity: EntitySpec, refs: dict[str, EntityRef]) -> EntityView:
    return EntityView(
        name=entity.name,
        snake=entity.snake,
        plural=entity.plural,
        table=entity.plural,
        path="/" + entity.plural.replace("_", "-"),
        fields=tuple(_field_view(f, refs) for f in entity.fields),
    )


def _field_view(spec: FieldSpec, refs: dict[str, EntityRef]) -> FieldView:
    reference = refs.get(spec.type) if spec.is_reference else None
    return FieldView(
        name=spec.name,
        column=spec.column,
        type="int" if reference else spec.type,
        py_type="int" if reference else _PY_TYPES[spec.type],
        sql_type="INTEGER" if reference else _SQL_TYPES[spec.type],
        required=spec.required,
        unique=spec.unique,
        default=spec.default,
        reference=reference,
    )
