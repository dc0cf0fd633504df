"""The discovery document: what the request is about, as a typed domain model.

`discover` derives it deterministically from a request that carries `## Entities`; the
`anthropic` backend asks the model for the same JSON shape for free-form requests.
"""

from __future__ import annotations

import re

import networkx as nx
from pydantic import BaseModel, ConfigDict

from mge_assets.request import EntitySpec, ProjectRequest, Requirement, parse_requirements, require_entities

CRUD_ACTIONS = ("create", "read", "update", "delete", "list")


class Relation(BaseModel):
    """A many-to-one reference from `source.field` to `target`."""

    model_config = ConfigDict(frozen=True)

    source: str
    field: str
    target: str
    required: bool


class Aggregate(BaseModel):
    """A consistency boundary: a root entity and the entities that cannot exist without it."""

    model_config = ConfigDict(frozen=True)

    root: str
    members: tuple[str, ...]


class BoundedContext(BaseModel):
    """A group of aggregates connected by references."""

    model_config = ConfigDict(frozen=True)

    name: str
    aggregates: tuple[str, ...]


class UseCase(BaseModel):
    """One thing a client of the service can do, e.g. `create Task`."""

    model_config = ConfigDict(frozen=True)

    id: str
    action: str
    entity: str


class DiscoveryDocument(BaseModel):
    """The domain model of one request; the input of planning and synthesis."""

    model_config = ConfigDict(frozen=True)

    name: str
    title: str
    summary: str
    language: str
    package: str
    entities: tuple[EntitySpec, ...]
    relations: tuple[Relation, ...]
    aggregates: tuple[Aggregate, ...]
    bounded_contexts: tuple[BoundedContext, ...]
    use_cases: tuple[UseCase, ...]
    requirements: tuple[Requirement, ...]

    def entity(self, name: str) -> EntitySpec:
        return next(e for e in self.entities if e.name == name)


def discover(request: ProjectRequest, backend: str = "offline") -> DiscoveryDocument:
    """Build the discovery document of a request that has an `## Entities` section."""
    entities = require_entities(request, backend)
    relations = tuple(
        Relation(source=e.name, field=f.name, target=f.type, required=f.required)
        for e in entities
        for f in e.references
    )
    aggregates = _aggregates(entities, relations)
    return DiscoveryDocument(
        name=request.name,
        title=request.settings.title,
        summary=request.summary,
        language=request.settings.language,
        package=package_name(request.name),
        entities=tuple(entities),
        relations=relations,
        aggregates=aggregates,
        bounded_contexts=_contexts(entities, relations, aggregates),
        use_cases=tuple(
            UseCase(id=f"UC-{i:02d}", action=action, entity=e.name)
            for i, (e, action) in enumerate(((e, a) for e in entities for a in CRUD_ACTIONS), 1)
        ),
        requirements=tuple(parse_requirements(request.sections.get("requirements", ""))),
    )


def package_name(request_name: str) -> str:
    """The generated project's Python package: the request name as an identifier."""
    name = re.sub(r"[^a-z0-9]+", "_", request_name.lower()).strip("_")
    return name if name and not name[0].isdigit() else f"app_{name}"


def _aggregates(entities: list[EntitySpec], relations: tuple[Relation, ...]) -> tuple[Aggregate, ...]:
    """An entity belongs to the aggregate of what it is part of, the rest are roots.

    "Part of" is a required reference named after its target (`project (Project, required)`); a
    reference under a role name (`owner (User)`) only associates two aggregates.
    """
    snake = {e.name: e.snake for e in entities}
    owner = {}
    for relation in relations:
        part_of = relation.required and relation.field == snake.get(relation.target)
        if part_of and relation.source not in owner and relation.target != relation.source:
            owner[relation.source] = relation.target

    def root_of(name: str) -> str:
        seen = set()
        while name in owner and name not in seen:
            seen.add(name)
            name = owner[name]
        return name

    members: dict[str, list[str]] = {}
    for entity in entities:
        members.setdefault(root_of(entity.name), []).append(entity.name)
    return tuple(Aggregate(root=root, members=tuple(names)) for root, names in members.items())


def _contexts(
    entities: list[EntitySpec], relations: tuple[Relation, ...], aggregates: tuple[Aggregate, ...]
) -> tuple[BoundedContext, ...]:
    """Bounded contexts are the connected groups of entities; each is named after its first aggregate."""
    graph = nx.Graph()
    graph.add_nodes_from(e.name for e in entities)
    graph.add_edges_from((r.source, r.target) for r in relations)
    order = [e.name for e in entities]
    contexts = []
    for component in sorted(nx.connected_components(graph), key=lambda c: min(order.index(n) for n in c)):
        roots = tuple(a.root for a in aggregates if a.root in component)
        contexts.append(BoundedContext(name=roots[0] if roots else sorted(component)[0], aggregates=roots))
    return tuple(contexts)
