"""Offline test generation: each requirement's wording matched to a pattern and rendered as pytest."""

from __future__ import annotations

from mge_assets.acceptance.patterns import INVALID_VALUES, Untestable, match_requirement
from mge_assets.acceptance.suite import test_file_for, test_prefix
from mge_assets.llm.answers import render_files
from mge_assets.plan.discovery import DiscoveryDocument
from mge_assets.request import Requirement
from mge_assets.synth.render import render
from mge_assets.synth.views import entity_views


def offline_tests_answer(discovery: DiscoveryDocument, requirement: Requirement) -> str:
    """What the offline backend answers to a write_tests prompt: a test file, or <untestable/>."""
    try:
        match = match_requirement(requirement.text, entity_views(discovery))
    except Untestable as reason:
        return f'<untestable reason="{str(reason).replace(chr(34), chr(39))}"/>'
    invalid = INVALID_VALUES.get(match.field.type) if match.field else None
    code = render(
        "acceptance/tests.py.j2",
        requirement=requirement,
        match=match,
        prefix=test_prefix(requirement.id),
        invalid=invalid,
    )
    return render_files({test_file_for(requirement.id): code})


def acceptance_conftest(discovery: DiscoveryDocument) -> str:
    """The fixtures every acceptance test uses: a client on a fresh database, and the row factory."""
    return render(
        "service/conftest.py.j2",
        pkg=discovery.package,
        entities=entity_views(discovery),
        purpose="Acceptance fixtures (written by MGE): a client on a fresh database per test, and row factories.",
    )
