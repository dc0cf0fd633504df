"""The request document: Markdown with YAML front matter, parsed and validated."""

from mge_assets.request.model import (
    FIELD_TYPES,
    EntitySpec,
    FieldSpec,
    ProjectRequest,
    RequestSettings,
    Requirement,
)
from mge_assets.request.parser import (
    PARTITION_KEY_PATTERN,
    entity_line,
    entity_problems,
    parse_entities,
    parse_request,
    parse_requirements,
    require_entities,
)

__all__ = [
    "FIELD_TYPES",
    "PARTITION_KEY_PATTERN",
    "EntitySpec",
    "FieldSpec",
    "ProjectRequest",
    "RequestSettings",
    "Requirement",
    "entity_line",
    "entity_problems",
    "parse_entities",
    "parse_request",
    "parse_requirements",
    "require_entities",
]
