"""What the templates need to know about entities and fields, computed once in Python."""

from __future__ import annotations

import ast
import json
import keyword
from dataclasses import dataclass

from mge_assets.plan.discovery import DiscoveryDocument
from mge_assets.request import EntitySpec, FieldSpec
from mge_assets.rules import Rule
from mge_assets.synth.names import (
    ROUTE_PARAMETERS,
    python_attribute,
    python_module,
    python_variable,
    sql_identifier,
    typescript_local,
    typescript_member,
)
from mge_assets.synth.samples import DEFAULT_SAMPLES, entity_samples

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
    "enum": "TEXT",
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
# Kept for the tests that send a value of a type; an entity's own samples respect its rules.
SAMPLES = DEFAULT_SAMPLES


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
    choices: tuple[str, ...] = ()
    samples: tuple[str, str] = ("None", "None")
    computed: bool = False  # read-only: the service keeps it equal to what it is computed from
    derived: bool = False  # a rule fills it in when a new row comes without it

    @property
    def attr(self) -> str:
        """Its attribute in the Python models (the column, unless that name is unsafe there)."""
        return python_attribute(self.column)

    @property
    def aliased(self) -> bool:
        return self.attr != self.column

    @property
    def kwarg_safe(self) -> bool:
        """Whether a Python call can pass it as `column=value` (a factory's `**changes`)."""
        return self.column.isidentifier() and not keyword.iskeyword(self.column) and self.column != "self"

    @property
    def param(self) -> str:
        """Its parameter in a Python list route (aliased to the column when it is not the column)."""
        return f"{self.attr}_" if self.attr in ROUTE_PARAMETERS else self.attr

    @property
    def create_annotation(self) -> str:
        """`attr: <this>` in the Create model."""
        constraint = self._constraint()
        if self.required and not self.derived:
            return f"{self.py_type} = Field({constraint})" if constraint else self.py_type
        if self.default is not None:
            default = self.default_literal
            return (
                f"{self.py_type} = Field(default={default}, {constraint})"
                if constraint
                else f"{self.py_type} = {default}"
            )
        return f"{self.py_type} | None = " + (f"Field(default=None, {constraint})" if constraint else "None")

    @property
    def update_annotation(self) -> str:
        """`attr: <this>` in the Update model: every field optional."""
        constraint = self._constraint()
        return f"{self.py_type} | None = " + (f"Field(default=None, {constraint})" if constraint else "None")

    @property
    def stored_annotation(self) -> str:
        """`attr: <this>` of a computed field in the stored model (it starts at 0)."""
        zero = "0.0" if self.type == "float" else "0"
        return (
            f"{self.py_type} = Field(default={zero}, alias={self.column!r})"
            if self.aliased
            else f"{self.py_type} = {zero}"
        )

    @property
    def default_literal(self) -> str:
        if self.type == "bool":
            return "True" if (self.default or "").lower() == "true" else "False"
        if self.type in ("int", "float"):
            return str(self.default)
        return repr(self.default)

    @property
    def sql_declaration(self) -> str:
        parts = [sql_identifier(self.column), self.sql_type]
        if self.required and not self.computed:
            parts.append("NOT NULL")
        if self.unique:
            parts.append("UNIQUE")
        if self.computed:
            parts.append("NOT NULL DEFAULT 0")
        if self.reference:
            # Deleting a row deletes the rows that require it and clears the optional references to it.
            action = "CASCADE" if self.required else "SET NULL"
            parts.append(f"REFERENCES {sql_identifier(self.reference.table)}(id) ON DELETE {action}")
        return " ".join(parts)

    @property
    def quoted(self) -> str:
        return sql_identifier(self.column)

    @property
    def filterable(self) -> bool:
        return self.type != "text"

    def sample(self, index: int = 0) -> str:
        return self.samples[index % 2] if not self.reference else "None"

    # The same facts for the TypeScript service and its tests.
    @property
    def ts_type(self) -> str:
        if self.reference:
            base = "number"
        elif self.type == "enum":
            base = " | ".join(json.dumps(c) for c in self.choices)
        else:
            base = _TS_TYPES[self.type]
        return base if self.required and not self.derived else f"{base} | null"

    @property
    def ts_default(self) -> str:
        """What a new row holds when the field is not sent: its declared default, else null."""
        if self.computed:
            return "0"
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

    @property
    def ts_local(self) -> str:
        return typescript_local(camel_case(self.column))

    def _constraint(self) -> str:
        parts = []
        if self.type == "email":
            parts.append("pattern=EMAIL_PATTERN")
        elif self.type == "str" and self.required:
            parts.append("min_length=1")
        if self.aliased:
            parts.append(f"alias={self.column!r}")
        return ", ".join(parts)


class _Named:
    """The names an entity goes by in generated code, from its own name and its snake_case form."""

    name: str
    snake: str

    @property
    def camel(self) -> str:
        """Its name in TypeScript code, and its test factory's method."""
        return typescript_member(self.name[0].lower() + self.name[1:])

    @property
    def module(self) -> str:
        """Its Python module name in models/, repositories/, services/, rules/ and api/."""
        return python_module(self.snake)

    @property
    def var(self) -> str:
        """A Python local, parameter or factory method named after it."""
        return python_variable(self.snake)


@dataclass(frozen=True)
class EntityRef(_Named):
    name: str
    snake: str
    table: str


@dataclass(frozen=True)
class EntityView(_Named):
    name: str
    snake: str
    plural: str
    table: str
    path: str
    fields: tuple[FieldView, ...]
    # Fields a rule other than a bound constrains or counts by: generated tests leave them be.
    ruled_fields: frozenset[str] = frozenset()
    order_by: str = "id"  # the column its list is ordered by (then by id)

    @property
    def ts_var(self) -> str:
        return typescript_local(self.camel)

    @property
    def quoted_table(self) -> str:
        return sql_identifier(self.table)

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
    def writable(self) -> tuple[FieldView, ...]:
        """The fields a client sends: all but the computed ones."""
        return tuple(f for f in self.fields if not f.computed)

    @property
    def computed(self) -> tuple[FieldView, ...]:
        return tuple(f for f in self.fields if f.computed)

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
    def uses_literal(self) -> bool:
        return any(f.type == "enum" for f in self.fields)

    @property
    def aliased(self) -> bool:
        """Whether a field's attribute differs from its wire name (the models then populate by name)."""
        return any(f.aliased for f in self.fields)

    @property
    def update_field(self) -> FieldView:
        """The field unit tests change: the first plain field no rule constrains, else the first plain field."""
        plain = [f for f in self.fields if not f.reference and not f.computed]
        free = [f for f in plain if f.name not in self.ruled_fields]
        return next(iter(free or plain or self.fields))

    @property
    def uses_email(self) -> bool:
        return any(f.type == "email" for f in self.fields)

    @property
    def uses_field(self) -> bool:
        return any(
            "Field(" in f.create_annotation or "Field(" in f.update_annotation or (f.computed and f.aliased)
            for f in self.fields
        )

    @property
    def repository_imports(self) -> tuple[EntityRef, ...]:
        """Its own repository and those of what it references, in import-sort order."""
        own = EntityRef(self.name, self.snake, self.table)
        return tuple(sorted({own, *self.referenced_entities}, key=lambda r: r.module))

    @property
    def referenced_entities(self) -> tuple[EntityRef, ...]:
        seen: dict[str, EntityRef] = {}
        for f in self.references:
            if f.reference and f.reference.name != self.name:
                seen.setdefault(f.reference.name, f.reference)
        return tuple(seen.values())

    @property
    def ref(self) -> EntityRef:
        return EntityRef(self.name, self.snake, self.table)


def py_literal(value: object) -> str:
    """A value as Python source, strings in double quotes (as the generated code writes them)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, tuple):
        return "(" + ", ".join(py_literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def python_kwargs(pairs: list[tuple[FieldView, str]]) -> str:
    """Keyword arguments setting fields (`done=True`), or a dict unpacked when a name cannot be one."""
    if all(f.kwarg_safe for f, _ in pairs):
        return ", ".join(f"{f.column}={v}" for f, v in pairs)
    return "**{" + ", ".join(f"{f.column!r}: {v}" for f, v in pairs) + "}"


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
    orders = discovery.list_orders
    return [_entity_view(e, refs, list(discovery.rules), orders.get(e.name)) for e in discovery.entities]


def _entity_view(entity: EntitySpec, refs: dict[str, EntityRef], rules: list[Rule], order: str | None) -> EntityView:
    own = [r for r in rules if r.entity == entity.name]
    samples = entity_samples(entity, own)
    computed = {r.parameters.field for r in own if r.parameters.kind == "computed"}
    derived = {r.parameters.field for r in own if r.parameters.kind == "derived_default"}
    return EntityView(
        name=entity.name,
        snake=entity.snake,
        plural=entity.plural,
        table=entity.plural,
        path="/" + entity.plural.replace("_", "-"),
        fields=tuple(_field_view(f, refs, samples, f.name in computed, f.name in derived) for f in entity.fields),
        ruled_fields=frozenset(_constrained(entity.name, rules)),
        order_by=next((f.column for f in entity.fields if f.name == order), "id"),
    )


def _constrained(entity: str, rules: list[Rule]) -> set[str]:
    """Fields of `entity` that a rule other than a bound constrains or counts by."""
    names: set[str] = set()
    for rule in rules:
        for qualified in rule.fields:
            owner, _, field = qualified.partition(".")
            if owner == entity and rule.kind != "bound":
                names.add(field)
    return names


def _field_view(
    spec: FieldSpec, refs: dict[str, EntityRef], samples: dict[str, tuple[str, str]], computed: bool, derived: bool
) -> FieldView:
    reference = refs.get(spec.type) if spec.is_reference else None
    if reference:
        py_type = "int"
    elif spec.type == "enum":
        py_type = "Literal[" + ", ".join(repr(c) for c in spec.choices) + "]"
    else:
        py_type = _PY_TYPES[spec.type]
    return FieldView(
        name=spec.name,
        column=spec.column,
        type="int" if reference else spec.type,
        py_type=py_type,
        sql_type="INTEGER" if reference else _SQL_TYPES[spec.type],
        required=spec.required,
        unique=spec.unique,
        default=spec.default,
        reference=reference,
        choices=spec.choices,
        samples=samples.get(spec.name, ("None", "None")),
        computed=computed,
        derived=derived,
    )
