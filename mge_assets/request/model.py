"""Typed records for a request: its settings, its entities and its requirements."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Scalar field types the request format knows; any other type must name an entity of the request.
FIELD_TYPES: dict[str, str] = {
    "str": "short text",
    "text": "long text",
    "int": "integer",
    "float": "decimal number",
    "bool": "true or false",
    "date": "calendar date (YYYY-MM-DD)",
    "datetime": "date and time (ISO 8601)",
    "email": "e-mail address",
    "enum": "one of the listed values (`enum: open|closed`)",
}
# Field types whose values can be compared as numbers or as points in time (bounds, date order).
NUMERIC_TYPES = ("int", "float")
TEMPORAL_TYPES = ("date", "datetime")

Level = Literal["MUST", "SHOULD"]


class RequestSettings(BaseModel):
    """The front matter. Unknown keys are refused so that a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Partition key: lowercase letters, digits and dashes, at most 64.")
    title: str = Field(default="", description="Human title; defaults to the document's first heading.")
    language: Literal["python", "typescript"] = Field(
        default="python", description="Language of the generated project: python (FastAPI) or typescript (Node)."
    )
    budget_usd: float = Field(default=5.0, gt=0, description="Hard spending cap for model calls, in USD.")


class FieldSpec(BaseModel):
    """One field of an entity. `type` is a scalar type or the name of another entity (a reference)."""

    model_config = ConfigDict(frozen=True)

    name: str
    type: str
    required: bool = False
    unique: bool = False
    default: str | None = None
    choices: tuple[str, ...] = ()  # the values of an `enum` field, in the order declared

    @property
    def is_reference(self) -> bool:
        return self.type not in FIELD_TYPES

    @property
    def column(self) -> str:
        """The stored and over-the-wire name: references carry the target's id."""
        return f"{self.name}_id" if self.is_reference else self.name


class EntitySpec(BaseModel):
    """An entity of the domain model with its typed fields."""

    model_config = ConfigDict(frozen=True)

    name: str
    fields: tuple[FieldSpec, ...]

    @property
    def snake(self) -> str:
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.name).lower()

    @property
    def plural(self) -> str:
        return pluralize(self.snake)

    @property
    def references(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.is_reference)


class Requirement(BaseModel):
    """A requirement with a stable id, its level, and the line of the request file it came from."""

    model_config = ConfigDict(frozen=True)

    id: str
    level: Level | None
    text: str
    line: int


class ProjectRequest(BaseModel):
    """A validated request: settings, the Markdown body, its sections, and a content hash."""

    model_config = ConfigDict(frozen=True)

    settings: RequestSettings
    text: str
    sha256: str
    summary: str
    sections: dict[str, str]
    section_lines: dict[str, int] = {}  # file lines before each section's text (line n of it is file line offset+n)

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def has_entities(self) -> bool:
        return "entities" in self.sections


def pluralize(word: str) -> str:
    """English plural good enough for route and table names (category → categories, box → boxes)."""
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    return word + "s"
