"""Offline test generation: each requirement's wording matched to a pattern and rendered as pytest
(a Python project) or as node:test in TypeScript (a TypeScript project)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from mge_assets.acceptance.naming import test_file_for, test_prefix
from mge_assets.acceptance.patterns import INVALID_VALUES, Match, Untestable, match_requirement
from mge_assets.acceptance.rule_tests import rule_tests
from mge_assets.llm.answers import render_files
from mge_assets.plan.discovery import DiscoveryDocument
from mge_assets.request import Requirement
from mge_assets.rules import Rule
from mge_assets.synth.render import render
from mge_assets.synth.views import EntityView, FieldView, entity_views, ts_literal


def offline_tests_answer(discovery: DiscoveryDocument, requirement: Requirement) -> str:
    """What the offline backend answers to a write_tests prompt: a test file, or <untestable/>."""
    path = test_file_for(requirement.id, discovery.language)
    rule = discovery.rule_for(requirement.id)
    problem = next((p for p in discovery.rule_problems if p.requirement_id == requirement.id), None)
    try:
        if rule is not None:
            return render_files({path: _rule_tests(discovery, requirement, rule)})
        if problem is not None:
            raise Untestable(f"line {problem.line}: the rule is not understood: {problem.reason}")
        match = match_requirement(requirement.text, entity_views(discovery))
    except Untestable as reason:
        return f'<untestable reason="{str(reason).replace(chr(34), chr(39))}"/>'
    invalid = INVALID_VALUES.get(match.field.type) if match.field else None
    typescript = discovery.language == "typescript"
    if typescript and match.value is not None:
        match = replace(match, value=ts_literal(match.value))
    code = render(
        "typescript/acceptance_tests.ts.j2" if typescript else "acceptance/tests.py.j2",
        requirement=requirement,
        match=match,
        prefix=test_prefix(requirement.id),
        invalid=invalid,  # a JSON string: the same literal in Python and TypeScript
        single_match=match.field is not None and (match.field.unique or _capped(discovery, match)),
        crud={e.name: crud_facts(discovery, e) for e in match.entities} if match.pattern == "crud" else {},
    )
    return render_files({path: code})


@dataclass(frozen=True)
class CrudFacts:
    """What creating and deleting one entity must refuse or take along, from its declaration."""

    required: tuple[FieldView, ...]  # each one missing: 422
    non_empty: tuple[FieldView, ...]  # each one empty: 422
    invalid: tuple[tuple[FieldView, str], ...]  # each one of the wrong type: 422 (a JSON literal)
    references: tuple[FieldView, ...]  # each one to a row that does not exist: 404
    unique: tuple[FieldView, ...]  # each one the same as a stored row's: 409
    # rows referring to it: deleted with it when they require it, else their reference cleared
    dependents: tuple[tuple[EntityView, FieldView], ...]


# A requirement of its own for a refusal takes it out of the CRUD test, so a failure is charged to it alone.
# (Its test of a missing field sends the field empty too.)
STATED_REFUSALS = {
    "reject_missing_field": ("required", "non_empty"),
    "reject_invalid": ("invalid",),
    "reject_missing_reference": ("references",),
    "reject_duplicate": ("unique",),
}


def stated_refusals(discovery: DiscoveryDocument) -> set[tuple[str, str, str]]:
    """(fact, entity, field) for each refusal a requirement of the request states on its own."""
    entities = entity_views(discovery)
    stated: set[tuple[str, str, str]] = set()
    for requirement in discovery.requirements:
        if discovery.rule_for(requirement.id) is not None:
            continue
        try:
            match = match_requirement(requirement.text, entities)
        except Untestable:
            continue
        if match.pattern in STATED_REFUSALS and match.field is not None:
            stated |= {(fact, match.entities[0].name, match.field.name) for fact in STATED_REFUSALS[match.pattern]}
    return stated


def crud_facts(discovery: DiscoveryDocument, entity: EntityView) -> CrudFacts:
    stated = stated_refusals(discovery)

    def unstated(fact: str, field: FieldView) -> bool:
        return (fact, entity.name, field.name) not in stated

    writable = [f for f in entity.writable if not f.derived]
    guarded = {(r.parameters.child, r.parameters.via) for r in discovery.rules if r.parameters.kind == "delete_guard"}
    dependents = [
        (child, via)
        for child in entity_views(discovery)
        for via in child.references
        if via.reference and via.reference.name == entity.name and child.name != entity.name
        if (child.name, via.name) not in guarded
    ]
    return CrudFacts(
        required=tuple(f for f in writable if f.required and unstated("required", f)),
        non_empty=tuple(f for f in writable if f.non_empty and unstated("non_empty", f)),
        invalid=tuple(
            (f, INVALID_VALUES[f.type])
            for f in writable
            if f.type in INVALID_VALUES and not f.reference and unstated("invalid", f)
        ),
        references=tuple(
            f for f in writable if f.reference and f.reference.name != entity.name and unstated("references", f)
        ),
        unique=tuple(f for f in writable if f.unique and unstated("unique", f)),
        dependents=tuple(dependents),
    )


def _capped(discovery: DiscoveryDocument, match: Match) -> bool:
    """Whether a quota keeps two rows of the entity from sharing the field (a filter test makes one)."""
    return any(
        r.parameters.kind == "quota"
        and r.parameters.child == match.entities[0].name
        and match.field is not None
        and r.parameters.via == match.field.name
        and r.parameters.limit < 2
        for r in discovery.rules
    )


def _rule_tests(discovery: DiscoveryDocument, requirement: Requirement, rule: Rule) -> str:
    template = "typescript/acceptance_rules.ts.j2" if discovery.language == "typescript" else "acceptance/rules.py.j2"
    return render(template, requirement=requirement, t=rule_tests(discovery, rule), prefix=test_prefix(requirement.id))


ACCEPTANCE_FIXTURES = {"python": "acceptance/conftest.py", "typescript": "acceptance/fixtures.ts"}


def acceptance_fixtures(discovery: DiscoveryDocument) -> dict[str, str]:
    """The fixtures every acceptance test uses: a client on a fresh database, and the row factory."""
    template = "typescript/fixtures.ts.j2" if discovery.language == "typescript" else "service/conftest.py.j2"
    code = render(
        template,
        pkg=discovery.package,
        entities=entity_views(discovery),
        purpose="Acceptance fixtures (written by MGE): a client on a fresh database per test, and row factories.",
    )
    return {ACCEPTANCE_FIXTURES[discovery.language]: code}
