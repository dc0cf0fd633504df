"""The masterplan: phases of tasks with target files, dependencies, criteria and requirement coverage.

The planner is deterministic: the same discovery document always yields the same plan.
"""

from __future__ import annotations

import re

import networkx as nx
from pydantic import BaseModel, ConfigDict

from mge_assets.plan.discovery import DiscoveryDocument
from mge_assets.request import EntitySpec, Requirement
from mge_assets.rules import Rule
from mge_assets.rules.describe import describe_rule
from mge_assets.synth.names import python_module

PHASES = ("Foundation", "Domain", "API", "Assembly", "Tests")

# Per entity: (kind, phase, title template, lines per field, base lines)
_ENTITY_TASKS = (
    ("model", "Domain", "{name} models", 2, 14),
    ("repository", "Domain", "{name} repository", 1, 60),
    ("service", "Domain", "{name} service", 4, 40),
    ("routes", "API", "{name} HTTP routes", 2, 45),
    ("unit_tests", "Tests", "{name} unit tests", 0, 40),
)
# Where each kind of task writes, per language of the generated project: a Python module is named so
# that it can be imported (`class` → `class_`), a TypeScript one keeps the snake_case name.
TARGET_FILES = {
    "python": {
        "errors": "{pkg}/errors.py",
        "database": "{pkg}/db.py",
        "model": "{pkg}/models/{module}.py",
        "repository": "{pkg}/repositories/{module}.py",
        "rules": "{pkg}/rules/{module}.py",
        "service": "{pkg}/services/{module}.py",
        "routes": "{pkg}/api/{module}.py",
        "app": "{pkg}/app.py",
        "test_fixtures": "tests/conftest.py",
        "unit_tests": "tests/test_{snake}.py",
    },
    "typescript": {
        "errors": "src/errors.ts",
        "database": "src/store.ts",
        "fields": "src/fields.ts",
        "http": "src/http.ts",
        "model": "src/models/{snake}.ts",
        "repository": "src/repositories/{snake}.ts",
        "rules": "src/rules/{snake}.ts",
        "service": "src/services/{snake}.ts",
        "routes": "src/routes/{snake}.ts",
        "app": "src/app.ts",
        "test_fixtures": "tests/fixtures.ts",
        "unit_tests": "tests/{snake}.test.ts",
    },
}
_DATABASE_TITLE = {"python": "SQLite connection and schema", "typescript": "In-memory store"}
# Kinds whose code a requirement about an entity touches.
_REQUIREMENT_KINDS = ("model", "repository", "service", "routes")


class PlanTask(BaseModel):
    """One unit of planned work: what to write, where, after what, and how it is judged."""

    model_config = ConfigDict(frozen=True)

    id: str
    phase: str
    kind: str
    title: str
    entity: str | None
    target_files: tuple[str, ...]
    depends_on: tuple[str, ...]
    requirement_ids: tuple[str, ...]
    criteria: tuple[str, ...]
    target_loc: int


class Phase(BaseModel):
    """An ordered group of tasks."""

    model_config = ConfigDict(frozen=True)

    name: str
    task_ids: tuple[str, ...]


class Masterplan(BaseModel):
    """The whole plan for one request."""

    model_config = ConfigDict(frozen=True)

    name: str
    title: str
    package: str
    phases: tuple[Phase, ...]
    tasks: tuple[PlanTask, ...]
    requirements: tuple[Requirement, ...]
    coverage: dict[str, tuple[str, ...]]

    def task(self, task_id: str) -> PlanTask:
        return next(t for t in self.tasks if t.id == task_id)


def plan_project(discovery: DiscoveryDocument) -> Masterplan:
    """Plan the tasks that build the service described by a discovery document."""
    pkg = discovery.package
    files = TARGET_FILES[discovery.language]
    fields = sum(len(e.fields) for e in discovery.entities)
    specs: list[dict] = [
        _spec("errors", "Foundation", "Domain errors", None, files["errors"].format(pkg=pkg), 18),
        _spec(
            "database",
            "Foundation",
            _DATABASE_TITLE[discovery.language],
            None,
            files["database"].format(pkg=pkg),
            30 + 5 * fields,
        ),
    ]
    if discovery.language == "typescript":
        specs.append(_spec("fields", "Foundation", "Field validation", None, files["fields"], 45))
        specs.append(_spec("http", "Foundation", "HTTP routes and query parameters", None, files["http"], 60))
    specs += _entity_specs(discovery, kinds=("model", "repository"))
    specs += [
        _spec(
            "rules",
            "Domain",
            f"{entity} business rules",
            entity,
            _entity_file(files["rules"], pkg, discovery.entity(entity)),
            15 + 12 * len(rules),
        )
        for entity, rules in rules_by_module(discovery).items()
    ]
    specs += _entity_specs(discovery, kinds=("service", "routes"))
    specs.append(
        _spec(
            "app",
            "Assembly",
            "Application assembly",
            None,
            files["app"].format(pkg=pkg),
            30 + 2 * len(discovery.entities),
        )
    )
    specs.append(
        _spec("test_fixtures", "Tests", "Test fixtures", None, files["test_fixtures"], 20 + 8 * len(discovery.entities))
    )
    specs += _entity_specs(discovery, kinds=("unit_tests",))
    ids = {(s["kind"], s["entity"]): f"T{i:02d}" for i, s in enumerate(_phase_order(specs), 1)}
    coverage = {r.id: _covering_tasks(r, discovery, ids) for r in discovery.requirements}
    by_module = rules_by_module(discovery)
    tasks = [
        PlanTask(
            id=ids[(s["kind"], s["entity"])],
            phase=s["phase"],
            kind=s["kind"],
            title=s["title"],
            entity=s["entity"],
            target_files=(s["file"],),
            depends_on=tuple(sorted(ids[d] for d in _dependencies(s["kind"], s["entity"], discovery))),
            requirement_ids=tuple(r for r, covering in coverage.items() if ids[(s["kind"], s["entity"])] in covering),
            criteria=_criteria(s["kind"], s["entity"], by_module),
            target_loc=s["loc"],
        )
        for s in _phase_order(specs)
    ]
    return Masterplan(
        name=discovery.name,
        title=discovery.title,
        package=pkg,
        phases=tuple(
            Phase(name=p, task_ids=tuple(t.id for t in tasks if t.phase == p))
            for p in PHASES
            if any(t.phase == p for t in tasks)
        ),
        tasks=tuple(tasks),
        requirements=discovery.requirements,
        coverage=coverage,
    )


def task_graph(plan: Masterplan) -> nx.DiGraph:
    """Tasks as nodes, an edge from each dependency to the task that needs it."""
    graph = nx.DiGraph()
    graph.add_nodes_from(t.id for t in plan.tasks)
    graph.add_edges_from((d, t.id) for t in plan.tasks for d in t.depends_on)
    return graph


def render_markdown(plan: Masterplan) -> str:
    """The masterplan as a Markdown document for people (and the Dagster UI)."""
    lines = [
        f"# Masterplan: {plan.title}",
        "",
        "## Requirements",
        "",
        "| id | level | requirement | covered by |",
        "|---|---|---|---|",
    ]
    for r in plan.requirements:
        covered = ", ".join(plan.coverage.get(r.id, ())) or "**not covered**"
        lines.append(f"| {r.id} | {r.level or '?'} | {r.text} | {covered} |")
    for phase in plan.phases:
        lines += [
            "",
            f"## Phase: {phase.name}",
            "",
            "| task | title | files | depends on | target LOC |",
            "|---|---|---|---|---|",
        ]
        for task_id in phase.task_ids:
            t = plan.task(task_id)
            lines.append(
                f"| {t.id} | {t.title} | {', '.join(f'`{f}`' for f in t.target_files)} | "
                f"{', '.join(t.depends_on) or '—'} | {t.target_loc} |"
            )
    return "\n".join(lines) + "\n"


def _entity_specs(discovery: DiscoveryDocument, kinds: tuple[str, ...]) -> list[dict]:
    return [
        _spec(
            kind,
            phase,
            title.format(name=e.name),
            e.name,
            _entity_file(TARGET_FILES[discovery.language][kind], discovery.package, e),
            base + per_field * len(e.fields),
        )
        for e in discovery.entities
        for kind, phase, title, per_field, base in _ENTITY_TASKS
        if kind in kinds
    ]


def _entity_file(template: str, pkg: str, entity: EntitySpec) -> str:
    return template.format(pkg=pkg, snake=entity.snake, module=python_module(entity.snake))


def _spec(kind: str, phase: str, title: str, entity: str | None, file: str, loc: int) -> dict:
    return {"kind": kind, "phase": phase, "title": title, "entity": entity, "file": file, "loc": loc}


def _phase_order(specs: list[dict]) -> list[dict]:
    return sorted(specs, key=lambda s: PHASES.index(s["phase"]))


def rules_by_module(discovery: DiscoveryDocument) -> dict[str, list[Rule]]:
    """The rules each entity's rules module holds: those checked on its own changes (a quota or a
    pair is checked where the counted rows change), its delete guards and its computed fields."""
    modules: dict[str, list[Rule]] = {}
    for rule in discovery.rules:
        modules.setdefault(rule.enforced_on, []).append(rule)
    order = [e.name for e in discovery.entities]
    return {name: modules[name] for name in order if name in modules}


def rule_readers(discovery: DiscoveryDocument, entity: str) -> list[str]:
    """The entities whose repositories the rules module of `entity` reads, its own first."""
    read = [entity]
    for rule in rules_by_module(discovery).get(entity, []):
        p = rule.parameters
        others = [getattr(p, "child", None), getattr(p, "other", None)]
        if p.kind == "derived_default" and p.reference:
            others.append(next(f.type for f in discovery.entity(entity).fields if f.name == p.reference))
        read += [o for o in others if o and o not in read]
    return read


def refreshed_by(discovery: DiscoveryDocument, entity: str) -> list[str]:
    """The entities whose computed fields change when rows of `entity` change (it is their child)."""
    parents = [r.entity for r in discovery.rules if r.parameters.kind == "computed" and r.parameters.child == entity]
    return list(dict.fromkeys(parents))


def _dependencies(kind: str, entity: str | None, discovery: DiscoveryDocument) -> list[tuple[str, str | None]]:
    entities = [e.name for e in discovery.entities]
    targets = sorted({r.target for r in discovery.relations if r.source == entity})
    own_rules = entity in rules_by_module(discovery)
    if kind == "rules" and entity:
        readers = rule_readers(discovery, entity)
        return [("model", entity), ("errors", None)] + [("repository", e) for e in readers]
    return {
        "errors": [],
        "database": [],
        "fields": [("errors", None)],
        "http": [("errors", None), ("fields", None), ("database", None)],
        "model": [("fields", None)] if discovery.language == "typescript" else [],
        "repository": [("model", entity), ("database", None)],
        "service": [("repository", entity), ("model", entity), ("errors", None)]
        + [("repository", t) for t in targets if t != entity]
        + ([("rules", entity)] if own_rules else [])
        + [("rules", p) for p in refreshed_by(discovery, entity or "") if p != entity],
        "routes": [("service", entity), ("model", entity)]
        + ([("http", None)] if discovery.language == "typescript" else [("database", None)]),
        "app": [("routes", e) for e in entities] + [("database", None), ("errors", None)],
        "test_fixtures": [("app", None)],
        "unit_tests": [("test_fixtures", None)],
    }[kind]


def _criteria(kind: str, entity: str | None, by_module: dict[str, list[Rule]]) -> tuple[str, ...]:
    if kind == "rules":
        return tuple(
            f"{r.requirement_id}: {describe_rule(r)}" + (f" (else {r.status})" if r.status else "")
            for r in by_module[entity or ""]
        )
    return {
        "errors": ("NotFoundError and ConflictError carry a message for the client",),
        "database": ("one table per entity, references as foreign keys", "connections enforce foreign keys"),
        "fields": ("a check per field type", "required, non-empty and well-formed values, or 422"),
        "http": ("routes as plain data", "limit, offset and per-field filters parsed, or 422"),
        "model": (f"{entity}Create, {entity}Update and {entity} pydantic models", "required fields validated"),
        "repository": (f"insert, get, list (filters, limit, offset), update, delete for {entity}",),
        "service": ("references checked (404)", "unique fields checked (409)", "missing rows raise NotFoundError"),
        "routes": (f"POST, GET, GET by id, PATCH, DELETE for {entity}", "status codes 201/200/204/404/409/422"),
        "app": ("create_app(database_path) wires every router and error handler", "GET /health answers ok"),
        "test_fixtures": ("a client on a fresh database per test", "factories for valid payloads"),
        "unit_tests": (f"each {entity} route exercised",),
    }[kind]


def _covering_tasks(
    requirement: Requirement, discovery: DiscoveryDocument, ids: dict[tuple[str, str | None], str]
) -> tuple[str, ...]:
    """Tasks whose code a requirement is about: for a rule, its rules module and the services (and
    routes, for an action) of the entities it reads; else those of the entities it names, or of all."""
    rule = discovery.rule_for(requirement.id)
    if rule is not None:
        covering = [ids[("rules", rule.enforced_on)]] + [ids[("service", e)] for e in rule.entities]
        if rule.kind == "action":
            covering.append(ids[("routes", rule.entity)])
        return tuple(sorted(set(covering)))
    named = [e for e in discovery.entities if _mentions(requirement.text, e)]
    entities = named or list(discovery.entities)
    return tuple(sorted(ids[(k, e.name)] for e in entities for k in _REQUIREMENT_KINDS))


def _mentions(text: str, entity: EntitySpec) -> bool:
    words = {entity.name.lower(), entity.snake, entity.plural, entity.plural.replace("_", " ")}
    return any(re.search(rf"\b{re.escape(w)}\b", text.lower()) for w in words)
