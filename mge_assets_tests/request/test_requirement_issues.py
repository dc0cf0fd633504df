"""Requirement classification, exact on every shipped example and on fixtures, and the issues reported."""

from pathlib import Path

import pytest

from mge_assets.request import parse_request, parse_requirements
from mge_assets.request.issues import requirement_issues
from mge_assets_tests.conftest import EXAMPLES, example_path

FIXTURES = Path(__file__).parents[1] / "acceptance" / "fixtures"

# Hand-counted from the files: (MUST, SHOULD) bullets.
EXPECTED_LEVELS = {
    "blog": (8, 5),
    "clinic": (9, 6),
    "event_tickets_ts": (12, 5),
    "inventory": (10, 6),
    "library_lending": (9, 5),
    "order_desk": (11, 6),
    "room_booking": (10, 6),
    "task_api": (10, 4),
    "task_board_ts": (8, 8),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_LEVELS))
def test_every_shipped_example_is_classified_exactly(name: str) -> None:
    section = parse_request(example_path(name).read_bytes()).sections["requirements"]
    requirements = parse_requirements(section)
    must, should = EXPECTED_LEVELS[name]
    assert [r.id for r in requirements] == [f"MUST-{i:02d}" for i in range(1, must + 1)] + [
        f"SHOULD-{i:02d}" for i in range(1, should + 1)
    ]
    assert requirement_issues(section) == []


def test_every_shipped_example_has_an_expectation() -> None:
    assert {p.stem for p in EXAMPLES} == set(EXPECTED_LEVELS)


def test_the_pattern_fixture_is_classified_exactly() -> None:
    section = parse_request((FIXTURES / "every_pattern.md").read_bytes()).sections["requirements"]
    levels = [r.level for r in parse_requirements(section)]
    assert levels == ["MUST"] * 11 + ["SHOULD"] * 7


MESSY = """
### MUST
- The API must answer in JSON.
- Pages should load in a second.
-
- The API must answer in JSON.
### SHOULD
- Exports must be signed.
### COULD
- Themes may be chosen.
- Nice colours.
- It must and should be fast.
"""


def test_duplicates_empty_bullets_and_ambiguous_wording_are_reported() -> None:
    requirements = parse_requirements(MESSY)
    assert [(r.id, r.level) for r in requirements] == [
        ("MUST-01", "MUST"),
        ("MUST-02", "MUST"),
        ("MUST-03", "MUST"),
        ("SHOULD-01", "SHOULD"),
        ("SHOULD-02", "SHOULD"),
        ("REQ-01", None),
        ("MUST-04", "MUST"),
    ]
    issues = [(i.kind, i.requirement_id, i.line) for i in requirement_issues(MESSY)]
    assert issues == [
        ("ambiguous", "MUST-02", 4),
        ("empty", None, 5),
        ("duplicate", "MUST-03", 6),
        ("ambiguous", "SHOULD-01", 8),
        ("ambiguous", None, 9),
        ("unclassified", "REQ-01", 11),
        ("ambiguous", "MUST-04", 12),
    ]
    duplicate = next(i for i in requirement_issues(MESSY) if i.kind == "duplicate")
    assert "MUST-01" in duplicate.detail
