"""The prompts of every stage. Each carries an `<mge-task>` envelope with the facts it is about."""

from __future__ import annotations

import json
from collections.abc import Sequence

from mge_assets.acceptance.naming import test_file_for
from mge_assets.llm.envelope import embed
from mge_assets.llm.types import ModelRequest
from mge_assets.plan.discovery import DiscoveryDocument
from mge_assets.plan.masterplan import PlanTask
from mge_assets.request import ProjectRequest, Requirement

CONTRACT = """\
The service is Python 3.11, FastAPI and pydantic v2, with persistence in SQLite through the standard
library's sqlite3 module. Layout, for package `{pkg}`:
- {pkg}/errors.py: NotFoundError(entity, entity_id) and ConflictError.
- {pkg}/db.py: SCHEMA, connect(path), init_db(path), get_connection(request), and
  Connection = Annotated[sqlite3.Connection, Depends(get_connection)].
- {pkg}/models/<entity>.py: <Entity>Create, <Entity>Update (all optional), <Entity>(<Entity>Create) with id.
- {pkg}/repositories/<entity>.py: <Entity>Repository(connection) with insert, get, select(filters, limit,
  offset), update(id, changes), delete(id), and find_by_<field> for unique fields.
- {pkg}/services/<entity>.py: <Entity>Service(connection): create, get, search, update, delete; a missing
  row or reference raises NotFoundError (404), a duplicate unique value ConflictError (409).
- {pkg}/api/<entity>.py: router = APIRouter(prefix="/<plural>"): POST "" (201), GET "" with limit, offset
  and one optional filter per field, GET/PATCH/DELETE "/{{id}}" (DELETE answers 204).
- {pkg}/app.py: create_app(database_path=None) -> FastAPI with every router, error handlers, GET /health.
References are stored and sent as <field>_id integers."""

TYPESCRIPT_CONTRACT = """\
The service is TypeScript (strict, ES modules, imports with .js specifiers) on Node 20's own http
module, with an in-memory store. Layout:
- src/errors.ts: NotFoundError(entity, entityId), ConflictError, ValidationError(problems), RouteError(status).
- src/store.ts: Table<T> (insert, get, select(filters, limit, offset) ordered by id, update, delete, findBy)
  and Store.table<T>(name).
- src/fields.ts: FieldRule and validate(body, rules, partial), which throws ValidationError (422).
- src/http.ts: ApiRequest, ApiAnswer, Route, page(query) and filters(query, rules).
- src/models/<entity>.ts: type <Entity>, <Entity>Create, <Entity>Update, <ENTITY>_FIELDS,
  parse<Entity>Create(body) (defaults applied) and parse<Entity>Update(body).
- src/repositories/<entity>.ts, src/services/<entity>.ts: as in a layered service; a missing row or
  reference raises NotFoundError (404), a duplicate unique value ConflictError (409).
- src/routes/<entity>.ts: <entity>Routes: POST (201), GET with limit, offset and filters, GET/PATCH/DELETE
  "/<plural>/:id" (DELETE answers 204).
- src/app.ts: createApp(store?) -> http.Server with every route, error answers, GET /health.
References are stored and sent as <field>_id integers."""


def system_context(discovery: DiscoveryDocument) -> str:
    """The context shared by every call of a run (cached by the API): the domain and the contract."""
    return (
        "You write production code for a generated web service, one unit at a time.\n\n"
        f"{_contract(discovery)}\n\n"
        "The domain model (discovery document):\n"
        + embed("context", {"discovery": json.loads(discovery.model_dump_json())})
    )


def _contract(discovery: DiscoveryDocument) -> str:
    return TYPESCRIPT_CONTRACT if discovery.language == "typescript" else CONTRACT.format(pkg=discovery.package)


def discovery_request(request: ProjectRequest, attempt: int = 1, errors: Sequence[str] = ()) -> ModelRequest:
    schema = json.dumps(DiscoveryDocument.model_json_schema(), separators=(",", ":"))
    return ModelRequest(
        kind="discover",
        system=(
            "You turn a software request into a discovery document: entities with typed fields, relations, "
            "aggregates, bounded contexts, use cases, and the requirements, each classified MUST or SHOULD "
            f"with ids MUST-01, SHOULD-01, ... Answer with one JSON object that matches this schema:\n{schema}"
        ),
        prompt=f"The request:\n\n{request.text}{_retry_note(errors)}\n\n"
        + embed("discover", {"request": request.text}),
        temperature=0.0 if attempt == 1 else _temperature(attempt),
        max_tokens=8192,
        trace_id=f"{request.name}:discover",
    )


def draft_request(
    discovery: DiscoveryDocument, task: PlanTask, attempt: int = 1, errors: Sequence[str] = ()
) -> ModelRequest:
    files = ", ".join(f"`{f}`" for f in task.target_files)
    retry = _retry_note(errors)
    return ModelRequest(
        kind="draft_task",
        system=system_context(discovery),
        prompt=(
            f"Task {task.id}: {task.title}. Write {files}.\nCriteria: {'; '.join(task.criteria)}.\n"
            f"Requirements it serves: {', '.join(task.requirement_ids) or 'none'}.\n"
            'Answer with one <file path="..."> block per file, holding the whole file, and nothing else.'
            f"{retry}\n\n" + embed("draft_task", {"task": json.loads(task.model_dump_json())})
        ),
        temperature=_temperature(attempt),
        max_tokens=8192,
        trace_id=f"{discovery.name}:{task.id}",
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
    return ModelRequest(
        kind="write_atom",
        system=system_context(discovery),
        prompt=(
            f"Write the final code of the {atom['kind']} `{atom['symbol']}` in `{atom['file']}`, lines "
            f"{atom['start_line']}-{atom['end_line']}. It uses:\n{deps}\n\nIts first draft:\n"
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
        ),
        temperature=_temperature(attempt),
        max_tokens=max(1024, len(atom["code"]) // 2),
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
    return ModelRequest(
        kind="write_tests",
        system=system_context(discovery),
        prompt=(
            f'{how}Answer with one <file path="{path}"> '
            'block, or, if the requirement cannot be tested over HTTP, with <untestable reason="..."/>.'
            f"{_retry_note(errors)}\n\n"
            + embed("write_tests", {"requirement": json.loads(requirement.model_dump_json())})
        ),
        temperature=0.0 if attempt == 1 else _temperature(attempt),
        max_tokens=4096,
        trace_id=f"{discovery.name}:{requirement.id}",
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
