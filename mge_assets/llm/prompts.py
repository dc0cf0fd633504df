"""The prompts of every stage. Each carries an `<mge-task>` envelope with the facts it is about."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from mge_assets.acceptance.naming import test_file_for
from mge_assets.llm.envelope import embed
from mge_assets.llm.types import ModelRequest
from mge_assets.plan.discovery import DiscoveryDocument, package_name, request_requirements
from mge_assets.plan.masterplan import PlanTask, plan_project
from mge_assets.request import FIELD_TYPES, ProjectRequest, Requirement
from mge_assets.rules.describe import describe_rule

CONTRACT = """\
The service is Python 3.11, FastAPI and pydantic v2, with persistence in SQLite through the standard
library's sqlite3 module. Layout, for package `{pkg}`:
- {pkg}/errors.py: NotFoundError(entity, entity_id) (404), ConflictError (409) and RuleError(status, message)
  for a change a business rule refuses (answered with that status).
- {pkg}/db.py: SCHEMA (every table and column name double-quoted; a reference is a foreign key, ON DELETE
  CASCADE when required, SET NULL when optional), connect(path), init_db(path), get_connection(request),
  and Connection = Annotated[sqlite3.Connection, Depends(get_connection)].
- {pkg}/models/<entity>.py: <Entity>Create, <Entity>Update (all optional), <Entity>(<Entity>Create) with id and
  its computed fields (read-only: never taken from a client). A field whose name is a Python keyword or
  builtin keeps its wire name as an alias (`from_: dt.date = Field(alias="from")`).
- {pkg}/repositories/<entity>.py: <Entity>Repository(connection) with insert(values), get, select(filters, limit,
  offset) in its list order, update(id, changes), delete(id), find_by_<field> for unique fields, and
  count(filters, excluding) / where(filters) where a rule needs them.
- {pkg}/rules/<entity>.py: <Entity>Rules(connection): the entity's business rules (the discovery document's
  `rules`): check(values, current, assigned) refusing a change with RuleError, apply_defaults(values) for
  derived defaults, check_delete(id) for delete guards, refresh_<field>(id) recomputing a computed field,
  <action>_changes() for custom actions. A rule holds on every path into the state it constrains.
- {pkg}/services/<entity>.py: <Entity>Service(connection): create, get, search, update, delete and one method per
  custom action; a missing row or reference raises NotFoundError (404), a duplicate unique value
  ConflictError (409), and every change goes through the entity's rules.
- {pkg}/api/<entity>.py: router = APIRouter(prefix="/<plural>"): POST "" (201), GET "" with limit, offset
  and one optional filter per field, GET/PATCH/DELETE "/{{id}}" (DELETE answers 204), and each custom action
  at its own path (e.g. POST "/{{id}}/return", answering 200 with the changed row).
- {pkg}/app.py: create_app(database_path=None) -> FastAPI with every router, error handlers, GET /health.
References are stored and sent as <field>_id integers."""

TYPESCRIPT_CONTRACT = """\
The service is TypeScript (strict, ES modules, imports with .js specifiers) on Node 20's own http
module, with an in-memory store. Layout:
- src/errors.ts: NotFoundError(entity, entityId), ConflictError, ValidationError(problems), RouteError(status),
  RuleError(status, message) for a change a business rule refuses.
- src/store.ts: Table<T> (insert, get, select(filters, limit, offset, orderBy), where(filters), update,
  delete, findBy) and Store.table<T>(name).
- src/fields.ts: FieldRule and validate(body, rules, partial), which throws ValidationError (422); today(),
  now(), moment(value) and addDays(value, days) for the date types.
- src/http.ts: ApiRequest, ApiAnswer, Route, page(query) and filters(query, rules).
- src/models/<entity>.ts: type <Entity>, <Entity>Create (without id and computed fields), <Entity>Update,
  <ENTITY>_FIELDS, parse<Entity>Create(body) (defaults applied) and parse<Entity>Update(body).
- src/repositories/<entity>.ts: storage only (count and where where a rule needs them).
- src/rules/<entity>.ts: <Entity>Rules(store): the entity's business rules (the discovery document's
  `rules`): check(values, current, assigned) throwing RuleError, applyDefaults, checkDelete, refresh<Field>,
  <action>Changes(). A rule holds on every path into the state it constrains.
- src/services/<entity>.ts: create, get, search, update, delete and one method per custom action; a missing
  row or reference raises NotFoundError (404), a duplicate unique value ConflictError (409), and every
  change goes through the entity's rules.
- src/routes/<entity>.ts: <entity>Routes: POST (201), GET with limit, offset and filters, GET/PATCH/DELETE
  "/<plural>/:id" (DELETE answers 204), and each custom action at its path ("/<plural>/:id/<name>", 200).
- src/app.ts: createApp(store?) -> http.Server with every route, error answers, GET /health.
References are stored and sent as <field>_id integers."""

RULES_GUIDE = """\
Business rules are typed records in `rules`, one per requirement that states one, each with its
`requirement_id`, `kind`, `entity`, `fields` ("Entity.field") and `parameters` of its kind (the schema
names them), and `status`, the HTTP status a violation gets (422 for bounds and date orders, 409
otherwise, unless the sentence names another). The kinds: bound (a number, or a text's length, within
limits; inclusive unless the sentence says greater/less than), date_order (one date after another),
lifecycle (the moves an enum field may make), quota (at most N child rows per parent, counting those
meeting a condition), no_duplicate_pair (no two child rows with the same pair of references), delete_guard
(no delete while child rows reference it), computed (a read-only sum or count over child rows), action
(POST /<plural>/{id}/<name> setting fields), derived_default (today, now, N days after a date, or a
field of a referenced row). A requirement worded like a rule that fits none of them goes in
`rule_problems` with the reason; never drop one silently."""


def system_context(discovery: DiscoveryDocument) -> str:
    """The context shared by every call of a run, the prompt cache's prefix: the contract, what the
    rule kinds mean, the project's files by task, and the domain. It depends on the discovery document
    alone and is byte-stable (sorted keys, no timestamp, nothing of one call), so every call of a run
    reads the same cache entry; what differs per call goes in the prompt, after the breakpoint."""
    layout = "\n".join(f"- {task.id} {task.title}: {', '.join(task.target_files)}" for task in _planned(discovery))
    return (
        "You write production code for a generated web service, one unit at a time.\n\n"
        f"{_contract(discovery)}\n\n{RULES_GUIDE}\n\nThe project's files, by task:\n{layout}\n\n"
        "The domain model (discovery document):\n"
        + embed("context", {"discovery": json.loads(discovery.model_dump_json())})
    )


def domain_slice(discovery: DiscoveryDocument, entities: Iterable[str] | None) -> dict[str, Any]:
    """The part of the domain an answer about `entities` depends on: those entities, their rules and
    list orders, the entities their rules name (whole), and the names of the entities they reference;
    every entity when `entities` is None (a foundation file: the schema, the app). Never the title,
    the summary or the requirements' wording, which no code is written from."""
    every = {e.name for e in discovery.entities}
    names = every if entities is None else set(entities)
    rules = [r for r in discovery.rules if r.entity in names]
    whole = names | {field.split(".")[0] for r in rules for field in r.fields}
    referenced = {r.target for r in discovery.relations if r.source in whole} - whole
    return {
        "language": discovery.language,
        "package": discovery.package,
        "entities": [e.model_dump(mode="json") for e in discovery.entities if e.name in whole],
        "referenced": sorted(referenced),
        "relations": [r.model_dump(mode="json") for r in discovery.relations if r.source in whole],
        "rules": [r.model_dump(mode="json", exclude={"line"}) for r in rules],  # where it is written: no answer's
        "list_orders": {k: v for k, v in sorted(discovery.list_orders.items()) if k in whole},
    }


def reuse_key(discovery: DiscoveryDocument, entities: Iterable[str] | None, prompt: str) -> str:
    """What decides an answer written from the shared context: the contract, the slice of the domain it
    is about, and the call's own prompt (see ModelRequest.reuse_key)."""
    return _digest({"contract": _contract(discovery), "domain": domain_slice(discovery, entities), "prompt": prompt})


def draft_inputs(discovery: DiscoveryDocument, task: PlanTask) -> dict[str, str]:
    """The inputs a task's draft is written from, by name (see llm/reuse.py)."""
    return {
        "task": _digest(task.model_dump(mode="json")),
        "domain": _digest(domain_slice(discovery, task_entities(task))),
        "contract": _digest(_contract(discovery)),
    }


def test_inputs(discovery: DiscoveryDocument, requirement: Requirement) -> dict[str, str]:
    """The inputs a requirement's tests are written from, by name."""
    rule = discovery.rule_for(requirement.id)
    return {
        "requirement": _digest(requirement.model_dump(mode="json", exclude={"line"})),
        "rule": _digest(rule.model_dump(mode="json", exclude={"line"}) if rule is not None else None),
        "domain": _digest(domain_slice(discovery, requirement_entities(discovery, requirement))),
        "contract": _digest(_contract(discovery)),
    }


def atom_inputs(discovery: DiscoveryDocument, draft: str, dependency_code: Iterable[str]) -> dict[str, str]:
    """The inputs an atom's final code is written from, by name: its draft and its dependencies' code."""
    return {
        "draft": _digest(draft),
        "dependencies": _digest([code_digest(code) for code in dependency_code]),
        "contract": _digest(_contract(discovery)),
    }


def normalized_code(code: str) -> str:
    """A unit's code as it decides its dependents' answers: trailing spaces and blank lines left out."""
    return "\n".join(line.rstrip() for line in code.rstrip().splitlines())


def code_digest(code: str) -> str:
    """The digest of a unit's normalized code: equal for an answer that came out as before."""
    return _digest(normalized_code(code))


def task_entities(task: PlanTask) -> list[str] | None:
    """The entities a task's files are written from: its own; none for the domain errors; every
    entity for the other shared files (the schema, the app, the test fixtures)."""
    if task.entity:
        return [task.entity]
    return [] if task.kind == "errors" else None


def _planned(discovery: DiscoveryDocument) -> tuple[PlanTask, ...]:
    return _plan_of(discovery.model_dump_json())


@functools.lru_cache(maxsize=16)
def _plan_of(discovery_json: str) -> tuple[PlanTask, ...]:
    """The planned tasks of a discovery document, once per document (every call of a run asks)."""
    return plan_project(DiscoveryDocument.model_validate_json(discovery_json)).tasks


def requirement_entities(discovery: DiscoveryDocument, requirement: Requirement) -> set[str] | None:
    """The entities a requirement is about: its rule's, and those its wording names (singular or
    plural); None when it names none (a requirement about the whole service)."""
    rule = discovery.rule_for(requirement.id)
    named = {rule.entity} if rule is not None else set()
    words = set(re.findall(r"[a-z]+", requirement.text.lower()))
    for entity in discovery.entities:
        spaced = re.sub(r"(?<!^)(?=[A-Z])", " ", entity.name).lower().split()
        if spaced and (spaced[-1] in words or f"{spaced[-1]}s" in words or f"{spaced[-1]}es" in words):
            named.add(entity.name)
    return named or None


def item_trace(name: str, item_id: str) -> str:
    """The trace id of a request's task or requirement: its calls, its drafts and its tests carry it."""
    return f"{name}:{item_id}"


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _contract(discovery: DiscoveryDocument) -> str:
    return TYPESCRIPT_CONTRACT if discovery.language == "typescript" else CONTRACT.format(pkg=discovery.package)


def discovery_request(request: ProjectRequest, attempt: int = 1, errors: Sequence[str] = ()) -> ModelRequest:
    schema = json.dumps(DiscoveryDocument.model_json_schema(), separators=(",", ":"), sort_keys=True)
    requirements = "\n".join(f"- {r.id} ({r.level}): {r.text}" for r in request_requirements(request))
    system = (
        "You turn a software request into a discovery document: entities with typed fields (field types: "
        f"{', '.join(FIELD_TYPES)}, or the name of another entity for a reference; an enum lists its "
        "`choices`), relations (exactly the reference fields), aggregates, bounded contexts, use cases, "
        "and the business rules.\n\n" + RULES_GUIDE + "\n\nAnswer with one JSON object that matches this "
        f"schema:\n{schema}"
    )
    settings = [request.name, package_name(request.name), request.settings.language]
    return ModelRequest(
        kind="discover",
        system=system,
        prompt=f"The request:\n\n{request.text}\n\nIts requirements, with the ids to use:\n{requirements}"
        f"\n\n'name' is '{request.name}', 'package' is '{package_name(request.name)}' and 'language' is "
        f"'{request.settings.language}'.{_retry_note(errors)}\n\n" + embed("discover", {"request": request.text}),
        temperature=0.0 if attempt == 1 else _temperature(attempt),
        max_tokens=8192,
        trace_id=f"{request.name}:discover",
        # the request as written, without what no answer depends on: front matter, comments, the title
        reuse_key=_digest([system, _request_body(request.text), requirements, settings, _retry_note(errors)]),
    )


def _request_body(text: str) -> str:
    """A request's text as its answer depends on it: no front matter, no HTML comment, no first-level
    heading (the title), whitespace runs made one space."""
    body = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.DOTALL)
    body = re.sub(r"<!--.*?-->", "", body, flags=re.DOTALL)
    body = re.sub(r"^# .*$", "", body, flags=re.MULTILINE)
    return " ".join(body.split())


def draft_request(
    discovery: DiscoveryDocument, task: PlanTask, attempt: int = 1, errors: Sequence[str] = ()
) -> ModelRequest:
    files = ", ".join(f"`{f}`" for f in task.target_files)
    retry = _retry_note(errors)
    prompt = (
        f"Task {task.id}: {task.title}. Write {files}.\nCriteria: {'; '.join(task.criteria)}.\n"
        f"Requirements it serves: {', '.join(task.requirement_ids) or 'none'}.\n"
        'Answer with one <file path="..."> block per file, holding the whole file, and nothing else.'
        f"{retry}\n\n" + embed("draft_task", {"task": json.loads(task.model_dump_json())})
    )
    return ModelRequest(
        kind="draft_task",
        system=system_context(discovery),
        prompt=prompt,
        temperature=_temperature(attempt),
        max_tokens=8192,
        trace_id=item_trace(discovery.name, task.id),
        reuse_key=reuse_key(discovery, task_entities(task), prompt),
    )


def atom_request(
    discovery: DiscoveryDocument,
    atom: dict,
    context: list[str],
    trace_id: str,
    attempt: int = 1,
    errors: Sequence[str] = (),
    rejected_answer: str = "",
) -> ModelRequest:
    """Ask for the final code of one atom, given its draft and the signatures it depends on."""
    retry = _retry_note(errors, rejected_answer)
    deps = "\n".join(context) or "(none)"
    fence = atom.get("language") or "python"
    prompt = (
        # no line numbers: they move when the file changes above the unit, and no answer depends on them
        f"Write the final code of the {atom['kind']} `{atom['symbol']}` in `{atom['file']}`. It uses:\n{deps}"
        "\n\nIts first draft:\n"
        f"```{fence}\n{atom['code']}```\nKeep its indentation and surrounding blank lines, define exactly "
        f"this unit, and answer with one ```{fence} block and nothing else."
        f"{retry}\n\n"
        + embed(
            "write_atom",
            {
                "atom": {k: atom[k] for k in ("id", "file", "kind", "symbol")},
                "draft": atom["code"],
                "feedback": bool(errors),
            },
        )
    )
    return ModelRequest(
        kind="write_atom",
        system=system_context(discovery),
        prompt=prompt,
        temperature=_temperature(attempt),
        max_tokens=max(1024, len(atom["code"]) // 2),
        trace_id=trace_id,
        # the atom's draft (in the prompt) is what it is written from: its task's draft was written from
        # the domain, and an atom whose draft and dependencies are unchanged has the same answer
        reuse_key=reuse_key(discovery, [], prompt),
    )


def atoms_request(
    discovery: DiscoveryDocument, members: Sequence[tuple[dict, list[str]]], trace_id: str
) -> ModelRequest:
    """Ask for the final code of several small atoms in one call: each atom's draft, and the code they
    depend on listed once. The answer holds one `<unit n="...">` block per atom (`answers.units`); each
    is validated on its own, and one that fails is asked again alone."""
    shared: list[str] = []
    for _atom, context in members:
        shared.extend(entry for entry in context if entry not in shared)
    sections = []
    for number, (atom, context) in enumerate(members, 1):
        fence = atom.get("language") or "python"
        uses = ", ".join(f"[{shared.index(entry) + 1}]" for entry in context) or "nothing listed"
        sections.append(
            f"Unit {number}: the {atom['kind']} `{atom['symbol']}` in `{atom['file']}`. It uses {uses}. "
            f"Its first draft:\n```{fence}\n{atom['code']}```"
        )
    listed = "\n".join(f"[{index}] {entry.removeprefix('- ')}" for index, entry in enumerate(shared, 1))
    prompt = (
        f"Write the final code of each of these {len(members)} units. The code they use:\n{listed or '(none)'}\n\n"
        + "\n\n".join(sections)
        + "\n\nFor each unit keep its indentation and surrounding blank lines and define exactly that unit. "
        'Answer with one <unit n="N"> block per unit, N its number, each holding one fenced code block '
        "and closed by </unit>, and nothing else.\n\n"
        + embed(
            "write_atoms",
            {
                "atoms": [
                    {"atom": {k: a[k] for k in ("id", "file", "kind", "symbol")}, "draft": a["code"], "feedback": False}
                    for a, _context in members
                ]
            },
        )
    )
    return ModelRequest(
        kind="write_atoms",
        system=system_context(discovery),
        prompt=prompt,
        temperature=_temperature(1),
        max_tokens=max(1024, sum(len(a["code"]) // 2 + 128 for a, _context in members)),
        trace_id=trace_id,
    )


def tests_request(
    discovery: DiscoveryDocument, requirement: Requirement, attempt: int = 1, errors: Sequence[str] = ()
) -> ModelRequest:
    path = test_file_for(requirement.id, discovery.language)
    how = (
        "Write node:test acceptance tests (TypeScript, node:assert/strict) for requirement "
        f"{requirement.id} ({requirement.level}): {requirement.text}\nEach test calls `withService(async "
        "(client, factory) => ...)` of acceptance/fixtures.ts (a fresh service on a loopback port). Name each "
        'test `test("test_<requirement id>__<what>", ...)`. '
        if discovery.language == "typescript"
        else f"Write pytest acceptance tests for requirement {requirement.id} ({requirement.level}): "
        f"{requirement.text}\nThe tests use the `client` (fastapi TestClient on a fresh database) and "
        "`factory` fixtures of acceptance/conftest.py. Name each test `test_<requirement id>__<what>`. "
    )
    rule = discovery.rule_for(requirement.id)
    if rule is not None:
        how += (
            f"It is a business rule ({rule.kind}: {describe_rule(rule)}, status {rule.status or 'none'}): test it at "
            "its boundaries (values just inside and just outside, N and N+1, every forbidden move) on every "
            "path into the state it constrains, so that a service without the rule, or with it off by one, fails. "
        )
    prompt = (
        f'{how}Answer with one <file path="{path}"> '
        'block, or, if the requirement cannot be tested over HTTP, with <untestable reason="..."/>.'
        f"{_retry_note(errors)}\n\n"
        + embed(
            "write_tests",
            {
                "requirement": json.loads(requirement.model_dump_json()),
                "rule": json.loads(rule.model_dump_json()) if rule is not None else None,
            },
        )
    )
    return ModelRequest(
        kind="write_tests",
        system=system_context(discovery),
        prompt=prompt,
        temperature=0.0 if attempt == 1 else _temperature(attempt),
        # the CRUD tests of a request with five entities run past 4,096 tokens; a cut answer loses its
        # closing tag, and every retry is cut the same way
        max_tokens=8192,
        trace_id=item_trace(discovery.name, requirement.id),
        # where the requirement and its rule are written in the file decides no test
        reuse_key=reuse_key(
            discovery, requirement_entities(discovery, requirement), re.sub(r'"line": \d+', '"line": 0', prompt)
        ),
    )


TEMPERATURES = (0.7, 0.5, 0.3, 0.3)


def _retry_note(errors: Sequence[str], rejected_answer: str = "") -> str:
    """What the next attempt must fix: the last problem, and the rejected answer when there is one."""
    if not errors:
        return ""
    note = f"\n\nYour previous answer was rejected: {errors[-1]}"
    if rejected_answer:
        note += f"\nThe rejected answer:\n{rejected_answer}"
    return note + "\nCorrect it."


def _temperature(attempt: int) -> float:
    return TEMPERATURES[min(attempt, len(TEMPERATURES)) - 1]
