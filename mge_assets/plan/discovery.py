"""The discovery document: what the request is about, as a typed domain model.

`discover` derives it deterministically from a request that carries `## Entities`; the
`anthropic` backend asks the model for the same JSON shape for free-form requests, and
`discovery_problems` holds both to the same checks.
"""

from __future__ import annotations

import re
from typing import Literal

import networkx as nx
from pydantic import BaseModel, ConfigDict, ValidationError

from mge_assets.errors import ModelOutputError
from mge_assets.request import (
    EntitySpec,
    ProjectRequest,
    Requirement,
    entity_problems,
    parse_requirements,
    require_entities,
)
from mge_assets.rules import Rule, RuleProblem, understand_rules
from mge_assets.rules.consistency import rule_problems
from mge_assets.rules.phrasings import listing_orders

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
    language: Literal["python", "typescript"]
    package: str
    entities: tuple[EntitySpec, ...]
    relations: tuple[Relation, ...]
    aggregates: tuple[Aggregate, ...]
    bounded_contexts: tuple[BoundedContext, ...]
    use_cases: tuple[UseCase, ...]
    requirements: tuple[Requirement, ...]
    rules: tuple[Rule, ...] = ()
    # Requirements worded like rules that were not understood, each with its line and why.
    rule_problems: tuple[RuleProblem, ...] = ()
    # Why no usable document could be made (a model's answers all refused); the discovery gate shows it.
    problems: tuple[str, ...] = ()
    # Entity → the field its list is ordered by, when a requirement asks for one other than id.
    list_orders: dict[str, str] = {}

    def entity(self, name: str) -> EntitySpec:
        return next(e for e in self.entities if e.name == name)

    def rule_for(self, requirement_id: str) -> Rule | None:
        return next((r for r in self.rules if r.requirement_id == requirement_id), None)


def discover(request: ProjectRequest, backend: str = "offline") -> DiscoveryDocument:
    """Build the discovery document of a request that has an `## Entities` section."""
    requirements = request_requirements(request)
    understood = understand_rules(requirements, require_entities(request, backend))
    document = domain_model(
        request,
        list(understood.entities),
        requirements,
        rules=understood.rules,
        rule_problems=understood.problems,
    )
    return document.model_copy(update={"list_orders": listing_orders(requirements, list(understood.entities))})


def request_requirements(request: ProjectRequest) -> list[Requirement]:
    """The request's requirements, numbered by the lines of its file."""
    return parse_requirements(request.sections.get("requirements", ""), request.section_lines.get("requirements", 0))


def domain_model(
    request: ProjectRequest,
    entities: list[EntitySpec],
    requirements: list[Requirement],
    rules: tuple[Rule, ...] = (),
    rule_problems: tuple[RuleProblem, ...] = (),
) -> DiscoveryDocument:
    """The document around given entities and rules: relations, aggregates, contexts and use cases
    follow from them, and the request decides its name, title, language and package."""
    relations = relations_of(entities)
    aggregates = _aggregates(entities, relations)
    actions = [(r.entity, r.parameters.segment) for r in rules if r.parameters.kind == "action"]
    uses = [(e.name, a) for e in entities for a in CRUD_ACTIONS] + actions
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
        use_cases=tuple(UseCase(id=f"UC-{i:02d}", action=a, entity=e) for i, (e, a) in enumerate(uses, 1)),
        requirements=tuple(requirements),
        rules=rules,
        rule_problems=rule_problems,
    )


def relations_of(entities: list[EntitySpec]) -> tuple[Relation, ...]:
    names = {e.name for e in entities}
    return tuple(
        Relation(source=e.name, field=f.name, target=f.type, required=f.required)
        for e in entities
        for f in e.references
        if f.type in names
    )


def discovery_from_answer(answer: dict, request: ProjectRequest) -> DiscoveryDocument:
    """A model's discovery document, or ModelOutputError naming every way it does not fit.

    The request itself decides the requirements (their ids and lines), so a model cannot renumber
    them; everything else is the model's and is checked."""
    given = {**answer, "requirements": [r.model_dump() for r in request_requirements(request)]}
    given.setdefault("name", request.name)
    given.setdefault("package", package_name(request.name))
    try:
        document = DiscoveryDocument.model_validate(given)
    except ValidationError as error:
        problems = [f"'{'.'.join(str(p) for p in e['loc'])}': {e['msg']}" for e in error.errors(include_url=False)]
        raise ModelOutputError(
            "the discovery document does not match its schema: " + "; ".join(problems[:12])
        ) from None
    problems = discovery_problems(document, request)
    if problems:
        raise ModelOutputError("the discovery document does not fit the request: " + "; ".join(problems[:12]))
    return _sourced(document)


def _sourced(document: DiscoveryDocument) -> DiscoveryDocument:
    """Rules and rule problems carrying the line and words of the requirement they come from."""
    by_id = {r.id: r for r in document.requirements}

    def source(record: Rule | RuleProblem) -> dict[str, object]:
        requirement = by_id.get(record.requirement_id)
        return {"line": requirement.line, "text": requirement.text} if requirement else {}

    return document.model_copy(
        update={
            "rules": tuple(r.model_copy(update=source(r)) for r in document.rules),
            "rule_problems": tuple(p.model_copy(update=source(p)) for p in document.rule_problems),
        }
    )


def discovery_problems(document: DiscoveryDocument, request: ProjectRequest) -> list[str]:
    """Every way a discovery document does not fit its request or itself: the request's language,
    entities that `## Entities` would accept, relations that follow from the references, and rules
    that fit the entities and requirements."""
    problems = []
    if document.name != request.name or document.package != package_name(request.name):
        problems.append(f"'name' and 'package' must be '{request.name}' and '{package_name(request.name)}'")
    if document.language != request.settings.language:
        problems.append(
            f"'language' is '{document.language}' but the request is written for '{request.settings.language}'"
        )
    if not document.entities:
        problems.append("'entities' is empty: the service needs at least one entity")
    problems += entity_problems(list(document.entities))
    if set(document.relations) != set(relations_of(list(document.entities))):
        problems.append("'relations' must list exactly the reference fields of the entities (source, field, target)")
    problems += rule_problems(document.rules, document.entities, [r.id for r in document.requirements])
    fields = {e.name: {f.name for f in e.fields} for e in document.entities}
    problems += [
        f"'list_orders': {entity}.{field} is not a field of the entities"
        for entity, field in document.list_orders.items()
        if field not in fields.get(entity, set())
    ]
    return problems


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
