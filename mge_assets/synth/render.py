"""Jinja2 rendering of the generated service: task code and project infrastructure."""

from __future__ import annotations

import json
import textwrap
from functools import cache, lru_cache

import jinja2

from mge_assets.plan.discovery import DiscoveryDocument
from mge_assets.plan.masterplan import PlanTask
from mge_assets.synth.rule_views import entity_rules
from mge_assets.synth.views import EMAIL_PATTERN, entity_views, py_literal, python_kwargs

_TASK_TEMPLATES = {
    "python": {
        "errors": "service/errors.py.j2",
        "database": "service/db.py.j2",
        "model": "service/model.py.j2",
        "repository": "service/repository.py.j2",
        "rules": "service/rules.py.j2",
        "service": "service/service.py.j2",
        "routes": "service/routes.py.j2",
        "app": "service/app.py.j2",
        "test_fixtures": "service/conftest.py.j2",
        "unit_tests": "service/unit_tests.py.j2",
    },
    "typescript": {
        "errors": "typescript/errors.ts.j2",
        "database": "typescript/store.ts.j2",
        "fields": "typescript/fields.ts.j2",
        "http": "typescript/http.ts.j2",
        "model": "typescript/model.ts.j2",
        "repository": "typescript/repository.ts.j2",
        "rules": "typescript/rules.ts.j2",
        "service": "typescript/service.ts.j2",
        "routes": "typescript/routes.ts.j2",
        "app": "typescript/app.ts.j2",
        "test_fixtures": "typescript/fixtures.ts.j2",
        "unit_tests": "typescript/unit_tests.ts.j2",
    },
}


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mge_assets", "templates"),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # the output is code, not HTML
    )
    env.filters["py"] = py_literal  # a value as a Python literal
    env.filters["ts"] = json.dumps  # a value as a TypeScript literal
    env.filters["docstring"] = docstring
    env.filters["pystr"] = python_string
    env.globals["kwargs"] = python_kwargs
    return env


def docstring(text: str, indent: int = 0, width: int = 116) -> str:
    """A docstring's text wrapped to fit the line length at `indent` (continuation lines indented)."""
    lines = textwrap.wrap(text, width=width - indent - 3, break_long_words=False, break_on_hyphens=False)
    return ("\n" + " " * indent).join(lines)


def python_string(text: str, indent: int = 0, width: int = 116) -> str:
    """A string literal that fits the line length: itself, or parenthesised parts joined by Python."""
    literal = json.dumps(text, ensure_ascii=False)
    if indent + len(literal) <= width - 20:
        return literal
    parts = textwrap.wrap(text, width=width - indent - 8, drop_whitespace=False, break_long_words=False)
    inner = "\n".join(" " * (indent + 4) + json.dumps(part, ensure_ascii=False) for part in parts)
    return f"(\n{inner}\n{' ' * indent})"


def render(template: str, **context: object) -> str:
    return environment().get_template(template).render(**context)


def draft_task(discovery: DiscoveryDocument, task: PlanTask) -> dict[str, str]:
    """The code of one task: its target files, rendered from the task kind's template."""
    base = _context(discovery)
    entity = next((v for v in base["entities"] if v.name == task.entity), None)  # type: ignore[attr-defined]
    context = base | {
        "e": entity,
        "r": base["rules"].get(task.entity or ""),  # type: ignore[attr-defined]
        "purpose": "Fixtures: a client on a fresh database for each test, and factories of valid rows.",
    }
    code = render(_TASK_TEMPLATES[discovery.language][task.kind], **context)
    return {path: code for path in task.target_files}


def infrastructure(discovery: DiscoveryDocument) -> dict[str, str]:
    """Files that are not generated atom by atom: packaging, container, docs, package markers."""
    context = _context(discovery)
    if discovery.language == "typescript":
        return _typescript_infrastructure(context)
    pkg = discovery.package
    files = {
        "pyproject.toml": render("project/pyproject.toml.j2", **context),
        "README.md": render("project/README.md.j2", **context),
        "Dockerfile": render("project/Dockerfile.j2", **context),
        ".dockerignore": render("project/dockerignore.j2", **context),
        f"{pkg}/__init__.py": render("project/package_init.py.j2", docstring=discovery.title + "."),
    }
    for sub, doc in (
        ("models", "Request and response models."),
        ("repositories", "SQL access, one module per table."),
        ("services", "Business rules, one module per entity."),
        ("api", "HTTP routes, one module per resource."),
    ):
        files[f"{pkg}/{sub}/__init__.py"] = render("project/package_init.py.j2", docstring=doc)
    return files


def _typescript_infrastructure(context: dict[str, object]) -> dict[str, str]:
    files = {
        "package.json": "project/package.json.j2",
        "tsconfig.json": "project/tsconfig.json.j2",
        "README.md": "project/README.md.j2",
        "Dockerfile": "project/Dockerfile.j2",
        ".dockerignore": "project/dockerignore.j2",
        "src/main.ts": "main.ts.j2",
    }
    return {path: render(f"typescript/{template}", **context) for path, template in files.items()}


def _context(discovery: DiscoveryDocument) -> dict[str, object]:
    """What every template of a project is rendered with; computed once per document, as each of its
    tasks (and each offline answer, which carries the document) renders with the same."""
    return dict(_project_context(discovery.model_dump_json()))


@lru_cache(maxsize=16)
def _project_context(document: str) -> dict[str, object]:
    discovery = DiscoveryDocument.model_validate_json(document)
    return {
        "pkg": discovery.package,
        "name": discovery.name,
        "title": discovery.title,
        "summary": discovery.summary,
        "entities": entity_views(discovery),
        # the types any field has: the checks of the others would be code no test can reach
        "field_types": frozenset(f.type for e in entity_views(discovery) for f in e.fields),
        "requirements": discovery.requirements,
        "rules": entity_rules(discovery),
        "email_pattern": EMAIL_PATTERN,
    }
