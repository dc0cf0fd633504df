"""Any name a user would write for an entity or a field either works in both languages or is refused at
submit with the reason: the keywords and builtins of Python, SQL and TypeScript, and the generated code's
own identifiers, as field names and as entity names.

Every name is parsed on its own (cheap); the names parse accepts are batched into a few requests whose
projects are built in Python and in TypeScript, and whose own unit tests and acceptance tests all run,
through the sandbox, and must all pass.
"""

from __future__ import annotations

import ast
import builtins
import json
import keyword
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from mge_assets.acceptance.offline_build import offline_project_files, offline_suite, write_built_tree
from mge_assets.acceptance.results import parse_junit
from mge_assets.errors import RequestError
from mge_assets.node import node_test_command, parse_node_junit
from mge_assets.plan import discover
from mge_assets.request import EntitySpec, parse_request
from mge_assets.sandbox import run_in_sandbox
from mge_assets.synth.views import entity_views
from mge_assets.validation import PYTEST


def _words(text: str) -> list[str]:
    return text.split()


PYTHON_WORDS = sorted({*keyword.kwlist, *keyword.softkwlist, *dir(builtins)})
# SQLite's keywords (https://sqlite.org/lang_keywords.html), and the names its rows answer to besides.
SQL_WORDS = _words("""
ABORT ACTION ADD AFTER ALL ALTER ALWAYS ANALYZE AND AS ASC ATTACH AUTOINCREMENT BEFORE BEGIN BETWEEN BY
CASCADE CASE CAST CHECK COLLATE COLUMN COMMIT CONFLICT CONSTRAINT CREATE CROSS CURRENT CURRENT_DATE
CURRENT_TIME CURRENT_TIMESTAMP DATABASE DEFAULT DEFERRABLE DEFERRED DELETE DESC DETACH DISTINCT DO DROP
EACH ELSE END ESCAPE EXCEPT EXCLUDE EXCLUSIVE EXISTS EXPLAIN FAIL FILTER FIRST FOLLOWING FOR FOREIGN FROM
FULL GENERATED GLOB GROUP GROUPS HAVING IF IGNORE IMMEDIATE IN INDEX INDEXED INITIALLY INNER INSERT
INSTEAD INTERSECT INTO IS ISNULL JOIN KEY LAST LEFT LIKE LIMIT MATCH MATERIALIZED NATURAL NO NOT NOTHING
NOTNULL NULL NULLS OF OFFSET ON OR ORDER OTHERS OUTER OVER PARTITION PLAN PRAGMA PRECEDING PRIMARY QUERY
RAISE RANGE RECURSIVE REFERENCES REGEXP REINDEX RELEASE RENAME REPLACE RESTRICT RETURNING RIGHT ROLLBACK
ROW ROWS SAVEPOINT SELECT SET TABLE TEMP TEMPORARY THEN TIES TO TRANSACTION TRIGGER UNBOUNDED UNION
UNIQUE UPDATE USING VACUUM VALUES VIEW VIRTUAL WHEN WHERE WINDOW WITH WITHOUT
ROWID OID _ROWID_
""")
# TypeScript's and JavaScript's reserved and contextual words, the globals and utility types of the
# language and of node, and what every object inherits.
TYPESCRIPT_WORDS = _words("""
break case catch class const continue debugger default delete do else enum export extends false finally
for function if import in instanceof new null return super switch this throw true try typeof var void
while with implements interface let package private protected public static yield abstract accessor any
as asserts assert async await bigint boolean constructor declare get infer intrinsic is keyof module
namespace never out number object of override readonly require satisfies set string symbol type undefined
unique unknown using from global arguments eval
Object Function Array Number Boolean String Symbol BigInt Math Date RegExp Error EvalError RangeError
ReferenceError SyntaxError TypeError URIError AggregateError JSON Promise Proxy Reflect Map Set WeakMap
WeakSet WeakRef FinalizationRegistry ArrayBuffer SharedArrayBuffer DataView Atomics Int8Array Uint8Array
Uint8ClampedArray Int16Array Uint16Array Int32Array Uint32Array Float32Array Float64Array BigInt64Array
BigUint64Array Intl globalThis NaN Infinity isFinite isNaN parseFloat parseInt encodeURI
encodeURIComponent decodeURI decodeURIComponent escape unescape Record Partial Required Readonly Pick Omit
Exclude Extract NonNullable Parameters ConstructorParameters ReturnType InstanceType Awaited ThisType
Uppercase Lowercase Capitalize Uncapitalize PropertyKey Iterable Iterator IterableIterator Generator
AsyncGenerator ArrayLike PromiseLike Buffer URL URLSearchParams TextEncoder TextDecoder console process
setTimeout setInterval clearTimeout clearInterval setImmediate queueMicrotask structuredClone fetch
Request Response Headers AbortController Event EventTarget exports __dirname __filename prototype
toString valueOf hasOwnProperty isPrototypeOf propertyIsEnumerable toLocaleString __proto__ length name
""")
# Identifiers of the generated code itself (its modules, classes, locals and test helpers).
SERVICE_WORDS = _words("""
app api db errors models repositories services rules routes tests acceptance conftest fixtures fields http
store main health router client factory create serial payload response request body status detail data
values changes current found existing own_id row rows query cursor columns table filters given where
select insert update connection repository service created stored new_value reply wanted unwanted match
other kept listed keys first second extra missing required wrong bad parent pair dependents before after
later earlier base reference source moment today now assigned validate problem page accepts parsers
with_service to_sql quoted where_clause init_db connect get_connection create_app not_found conflict
refused count serial test assert pydantic fastapi sqlite3 typing datetime dt Any Field Literal BaseModel
ConfigDict Annotated Query Depends APIRouter TestClient Collection Iterator Path
""")


def _pascal(word: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in word.split("_"))


WORDS = sorted({*PYTHON_WORDS, *SQL_WORDS, *TYPESCRIPT_WORDS, *SERVICE_WORDS})
FIELD_NAMES = sorted({word.lower() for word in WORDS})
# As a user would capitalise them: `class` → Class, `current_date` → CurrentDate, `ValueError` kept.
ENTITY_NAMES = sorted(
    {_pascal(word) for word in {*PYTHON_WORDS, *TYPESCRIPT_WORDS, *SERVICE_WORDS} if word.strip("_")}
    | {_pascal(word.lower()) for word in SQL_WORDS if word.strip("_")}
    | {"A"}
)
LANGUAGES = ("python", "typescript")


def _request(entities: list[str], requirements: list[str], name: str = "names", language: str = "python") -> str:
    lines = "\n".join(f"- {e}" for e in entities)
    musts = "\n".join(f"- {r}" for r in requirements)
    return (
        f"---\nname: {name}\nlanguage: {language}\n---\n# Names\n\n## Entities\n{lines}\n\n"
        f"## Requirements\n### MUST\n{musts}\n"
    )


def _refusal(text: str) -> str | None:
    """parse_request's refusal of a request, or None when it accepts it."""
    try:
        parse_request(text)
    except RequestError as error:
        return str(error)
    return None


def field_refusal(name: str) -> str | None:
    return _refusal(_request([f"Probe: {name} (str)"], ["A Probe can be created."]))


def entity_refusal(name: str) -> str | None:
    return _refusal(_request([f"{name}: label (str)"], [f"A {name} can be created."]))


def _said_why(message: str, name: str) -> bool:
    """A refusal names the name and gives a reason (a reserved name's, or the form names must have)."""
    return f"'{name}" in message and bool(re.search(r"reserved \(.+\)|must read", message))


@pytest.mark.parametrize(("names", "refusal"), [(FIELD_NAMES, field_refusal), (ENTITY_NAMES, entity_refusal)])
def test_a_refused_name_is_named_with_the_reason(names: list[str], refusal) -> None:
    refused = {name: message for name in names if (message := refusal(name)) is not None}
    assert not {name: message for name, message in refused.items() if not _said_why(message, name)}
    assert len(refused) < len(names) / 10  # almost every name works: refusing is the exception


# The types and options a keyword-named field gets, in turn: every type, required, unique and defaults.
FIELD_SPECS = (
    "str, required",
    "int",
    "float",
    "bool",
    "date",
    "datetime",
    "email",
    "text",
    "enum: low|high",
    "str",
    "int, default 3",
    "bool, default true",
    "str, unique",
    "float, required",
    "enum: low|high, default low",
    "int, unique",
)
FIELDS_PER_ENTITY = 48
SHEETS_WITH_REQUIREMENTS = 2  # each requirement pattern on keyword-named fields, in two sheets


def fields_request(names: list[str]) -> str:
    """Sheets carrying the field names, dozens each, of every type; each sheet but the first references the
    one before it through a field named after a keyword. Requirements of every pattern the offline
    generator knows use some of them."""
    chunks = [names[i : i + FIELDS_PER_ENTITY] for i in range(0, len(names), FIELDS_PER_ENTITY)]
    entities, requirements = [], []
    for index, chunk in enumerate(chunks):
        sheet = f"Sheet{index}"
        specs = {name: FIELD_SPECS[(i + index) % len(FIELD_SPECS)] for i, name in enumerate(chunk)}
        fields = [f"{name} ({spec})" for name, spec in specs.items()]
        if index:
            fields.append(f"{chunks[index - 1][0]} (Sheet{index - 1})")
        entities.append(f"{sheet}: {', '.join(fields)}")
        if index < SHEETS_WITH_REQUIREMENTS:
            requirements += _field_requirements(sheet, specs)
    return _request(entities, requirements, name="field-names")


def _field_requirements(sheet: str, specs: dict[str, str]) -> list[str]:
    """One requirement of each kind the offline generator knows, on the first field it fits."""

    def first(*kinds: str) -> str:
        return next(name for name, spec in specs.items() if spec in kinds)

    plural = f"{sheet}s"
    return [
        f"A {sheet} can be created, read, updated, deleted and listed over HTTP.",
        f"Listing {plural} can be filtered by {first('int', 'int, default 3')}.",
        f"Listing {plural} can be filtered by {first('enum: low|high')}.",
        f"Listing {plural} is ordered by {first('float')}.",
        f"Creating a {sheet} without a {first('str, required')} is rejected with 422.",
        f"Creating a {sheet} with an invalid {first('datetime')} is rejected with 422.",
        f"Creating a {sheet} with a {first('str, unique')} that already exists is rejected with 409.",
        f"A {sheet} is created with {first('bool, default true')} true by default.",
        f"A {sheet}'s {first('int')} must be at least 0.",
        f"Listing {plural} supports limit and offset.",
    ]


# Entity names as a user would choose them for a domain, with references and the requirements about
# them: the most dangerous words (keywords of the three languages) carry the acceptance tests.
REFERENCED = ("A", "Class", "From", "Import", "Default", "Delete", "New", "Order", "Group", "Index", "Select", "Where")


def entities_request(names: list[str], label: str, requirements: bool = False) -> str:
    """Entities named after the names, in threes where each references the one before it (through a field
    named after it when that name is a field name too); with `requirements`, every requirement about
    references for each of them."""
    entities, wanted = [], []
    for index, name in enumerate(names):
        fields = ["label (str, required)"]
        parent = names[index - 1] if index % 3 else None
        if parent:
            parent_snake = EntitySpec(name=parent, fields=()).snake
            via = parent_snake if field_refusal(parent_snake) is None else "parent"
            fields.append(f"{via} ({parent}{', required' if index % 2 else ''})")
            if requirements:
                plural = EntitySpec(name=name, fields=()).plural.replace("_", "")
                wanted += [
                    f"Creating a {name} whose {via} does not exist is rejected with 404.",
                    f"Listing {plural} can be filtered by {via}.",
                    f"Deleting a {parent} that has {plural} is rejected with 409.",
                ]
        entities.append(f"{name}: {', '.join(fields)}")
    if requirements:
        wanted.insert(0, "Every entity can be created, read, updated, deleted and listed over HTTP.")
    # One requirement about one entity: a test per entity would start a service of hundreds of routes each
    # time; the round trip covers them all in one.
    return _request(entities, wanted or [f"A {names[0]} can be created."], name=f"entity-names-{label}")


def _apart(names: list[str], groups: int) -> list[list[str]]:
    """The names in `groups` groups such that no group holds a name and that name plus a suffix of the
    generated classes (`With` and `WithService`: parse would refuse the pair)."""
    chunks: list[list[str]] = [[] for _ in range(groups)]
    for index, name in enumerate(sorted(names, key=len)):
        turn = chunks[index % groups :] + chunks[: index % groups]  # round robin, evenly filled
        fits = next(c for c in turn if not any(name in (other + s for s in SUFFIXES) for other in c))
        fits.append(name)
    return chunks


# Entities per project: a FastAPI app nests each router's lifespan in the next, so a few hundred
# routers overflow Python's stack at start-up; sixty-odd keep a project of a realistic size.
ENTITIES_PER_GROUP = 64
SUFFIXES = ("Create", "Update", "Repository", "Service", "Rules")


@dataclass(frozen=True)
class Project:
    """A names request built in one language: its untestable requirements and its tests' outcomes."""

    label: str
    language: str
    untestable: tuple[str, ...]
    outcomes: dict[str, str]
    log: str


# Every entity of a names project round-trips through one service (hundreds of entities would spend
# minutes on unit tests that each start the whole app): created, read, found by each filter, changed
# field by field, deleted.
PYTHON_ROUND_TRIP = """
import json

ENTITIES = json.loads({entities!r})


def test_every_entity_round_trips(client, factory) -> None:
    for entity in ENTITIES:
        path = entity["path"]
        row = getattr(factory, entity["var"])()
        assert client.get(f"{{path}}/{{row['id']}}").json() == row, path
        for column in entity["filters"]:
            listed = client.get(path, params={{column: row[column], "limit": 1000}})
            assert listed.status_code == 200 and row["id"] in [r["id"] for r in listed.json()], (path, column)
        changed = client.patch(f"{{path}}/{{row['id']}}", json=entity["changes"])
        assert changed.status_code == 200, (path, changed.text)
        assert {{key: changed.json()[key] for key in entity["changes"]}} == entity["changes"], path
        assert client.delete(f"{{path}}/{{row['id']}}").status_code == 204, path
"""
TYPESCRIPT_ROUND_TRIP = """
import assert from "node:assert/strict";
import {{ test }} from "node:test";

import {{ withService }} from "./fixtures.js";

type Entity = {{ name: string; path: string; filters: string[]; changes: Record<string, unknown> }};
const ENTITIES: Entity[] = {entities};

test("every entity round-trips", () =>
  withService(async (client, factory) => {{
    const make = factory as unknown as Record<string, () => Promise<Record<string, unknown>>>;
    for (const {{ name, path, filters, changes }} of ENTITIES) {{
      const row = await make[name].call(factory);
      assert.deepEqual((await client.get(`${{path}}/${{row.id}}`)).body, row, path);
      for (const column of filters) {{
        const listed = await client.get(path, {{ [column]: row[column], limit: 1000 }});
        assert.equal(listed.status, 200, `${{path}} ${{column}}: ${{JSON.stringify(listed.body)}}`);
        assert.ok(listed.body.some((r: {{ id: number }}) => r.id === row.id), `${{path}} ${{column}}`);
      }}
      const changed = await client.patch(`${{path}}/${{row.id}}`, changes);
      assert.equal(changed.status, 200, JSON.stringify(changed.body));
      for (const [key, value] of Object.entries(changes)) {{
        assert.deepEqual(changed.body[key], value, `${{path}} ${{key}}`);
      }}
      assert.equal((await client.delete(`${{path}}/${{row.id}}`)).status, 204, path);
    }}
  }}));
"""


def _round_trip(discovery: object, language: str) -> dict[str, str]:
    """The round trip of every entity of a project, with each filter and a change of each plain field."""
    entities = []
    for view in entity_views(discovery):  # type: ignore[arg-type]
        filters = [f.column for f in view.filters if f.type not in ("datetime", "float") and not f.reference]
        changes = {f.column: ast.literal_eval(f.sample(1)) for f in view.writable if not f.reference and not f.unique}
        name = view.var if language == "python" else view.camel
        entities.append({"var": name, "name": name, "path": view.path, "filters": filters, "changes": changes})
    if language == "python":
        return {"acceptance/test_round_trip.py": PYTHON_ROUND_TRIP.format(entities=json.dumps(entities))}
    return {"acceptance/test_round_trip.ts": TYPESCRIPT_ROUND_TRIP.format(entities=json.dumps(entities))}


def render(text: str, language: str) -> tuple[dict[str, str], tuple[str, ...]]:
    """The request's project, its acceptance tests and the round trip of every entity (the Python parsed),
    with the untestable requirements of its suite. Rendering stays in one thread: `ast.parse` side by side
    in threads trips a SystemError on Python 3.11.7."""
    text = text.replace("language: python", f"language: {language}")
    discovery = discover(parse_request(text))
    suite = offline_suite(discovery)
    files = {**offline_project_files(discovery), **suite.files, **_round_trip(discovery, language)}
    for path, code in files.items():
        if path.endswith(".py"):
            ast.parse(code, filename=path)  # a clear failure before anything runs
    return files, tuple(f"{u.requirement_id}: {u.reason}" for u in suite.untestable)


def build(
    label: str, language: str, rendered: tuple[dict[str, str], tuple[str, ...]], root: Path, own_tests: bool
) -> Project:
    """The rendered project written and compiled, its tests run in the sandbox (with its own unit tests,
    with `own_tests`)."""
    files, untestable = rendered
    project = root / f"{label}-{language}"
    write_built_tree(project, files, language)
    if language == "python":
        command = [*PYTEST, *(["tests"] if own_tests else []), "acceptance"]
        result = run_in_sandbox(command, project, timeout_s=900, collect=("junit.xml",))
        reported = parse_junit(result.files["junit.xml"]) if "junit.xml" in result.files else {}
    else:
        folders = ("dist/tests/", "dist/acceptance/test_") if own_tests else ("dist/acceptance/test_",)
        tests = sorted(str(p.relative_to(project)) for p in (project / "dist").glob("*/*.js"))
        command = node_test_command([t for t in tests if t.startswith(folders)], 600)
        result = run_in_sandbox(command, project, timeout_s=900, collect=("junit.xml",))
        reported = parse_node_junit(result.files["junit.xml"]) if "junit.xml" in result.files else {}
    outcomes = {test: outcome for test, (outcome, _, _) in reported.items()}
    return Project(label, language, untestable, outcomes, (result.stdout + result.stderr)[-3000:])


def _requests() -> dict[str, tuple[str, bool]]:
    """Label → (request, whether its own unit tests run too)."""
    accepted_fields = [n for n in FIELD_NAMES if field_refusal(n) is None]
    accepted_entities = [n for n in ENTITY_NAMES if entity_refusal(n) is None]
    groups = _apart(accepted_entities, -(-len(accepted_entities) // ENTITIES_PER_GROUP))
    return {
        "fields": (fields_request(accepted_fields), False),
        "references": (entities_request(list(REFERENCED), "references", requirements=True), False),
    } | {f"entities-{i}": (entities_request(group, str(i)), False) for i, group in enumerate(groups)}


REQUESTS = _requests()


@pytest.fixture(scope="module")
def projects(tmp_path_factory) -> dict[tuple[str, str], Project]:
    root = tmp_path_factory.mktemp("names")
    jobs = [(label, text, language, own) for label, (text, own) in REQUESTS.items() for language in LANGUAGES]
    rendered = [(label, language, render(text, language), root, own) for label, text, language, own in jobs]
    with ThreadPoolExecutor(max_workers=2) as pool:
        built = list(pool.map(lambda job: build(*job), rendered))
    return {(p.label, p.language): p for p in built}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("label", sorted(REQUESTS))
def test_every_accepted_name_gives_a_project_whose_tests_all_pass(projects, label: str, language: str) -> None:
    project = projects[(label, language)]
    assert not project.untestable, project.untestable
    failing = {test: outcome for test, outcome in project.outcomes.items() if outcome != "passed"}
    assert project.outcomes and not failing, f"{sorted(failing)[:10]}\n{project.log}"


def test_the_names_first_tried_by_hand_are_among_those_that_work() -> None:
    """An entity `A` (table `as`), `Class` (module `class`), fields `order group index default from to`,
    and `new default delete` in TypeScript."""
    for name in ("order", "group", "index", "default", "from", "to", "new", "delete", "class"):
        assert field_refusal(name) is None and re.search(rf"\b{name} \(", REQUESTS["fields"][0]), name
    for name in ("A", "Class"):
        assert entity_refusal(name) is None and name in REFERENCED
    assert "entity name 'Function' is reserved" in (entity_refusal("Function") or "")
