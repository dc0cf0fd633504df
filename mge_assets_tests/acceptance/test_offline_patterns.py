"""The offline test generator: each documented phrasing becomes a test; others are untestable, with why."""

import pytest

from mge_assets.acceptance.generate import crud_facts, offline_tests_answer
from mge_assets.acceptance.patterns import EXAMPLES, Untestable, match_requirement
from mge_assets.acceptance.results import judge, parse_junit
from mge_assets.acceptance.suite import AcceptanceSuite, read_tests_answer
from mge_assets.request import Requirement
from mge_assets.synth.views import entity_views


@pytest.mark.parametrize("pattern", list(EXAMPLES))
def test_every_documented_example_matches_its_pattern(pattern: str, task_api_discovery) -> None:
    views = entity_views(task_api_discovery)
    text = EXAMPLES[pattern].split(" / ")[0].replace("Book", "Task")
    assert match_requirement(text, views).pattern == pattern


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("The service is fast.", "no offline test pattern"),
        ("Creating a Task without a colour is rejected with 422.", "does not have"),
        ("Creating a Task with a title that already exists is rejected with 409.", "not declared unique"),
        ("Creating a Widget without a title is rejected with 422.", "not an entity"),
        ("Creating a Task whose title does not exist is rejected with 404.", "not a reference"),
    ],
)
def test_requirements_without_an_offline_test_say_why(text: str, reason: str, task_api_discovery) -> None:
    with pytest.raises(Untestable, match=reason):
        match_requirement(text, entity_views(task_api_discovery))


def test_generated_tests_are_linked_to_their_requirement(task_api_discovery) -> None:
    requirement = task_api_discovery.requirements[1]  # MUST-02: Task without a title → 422
    files, cases = read_tests_answer(requirement, offline_tests_answer(task_api_discovery, requirement))
    assert list(files) == ["acceptance/test_must_02.py"]
    assert {c.requirement_id for c in cases} == {"MUST-02"} and len(cases) == 2  # missing, then empty title
    assert "status_code == 422" in files["acceptance/test_must_02.py"]


def test_an_untestable_must_fails_with_its_reason() -> None:
    requirement = Requirement(id="MUST-01", level="MUST", text="It is pleasant.", line=1)
    suite = AcceptanceSuite(
        requirements=(requirement,),
        files={},
        cases=(),
        untestable=({"requirement_id": "MUST-01", "level": "MUST", "reason": "no pattern"},),
    )
    results = judge(suite, {}, 0.0, "")
    assert not results.requirements[0].passed
    assert results.requirements[0].reason == "untestable: no pattern"
    assert results.share("MUST") == 0.0


def test_junit_outcomes_are_read_per_test() -> None:
    xml = b"""<testsuites><testsuite>
      <testcase classname="acceptance.test_must_01" name="test_must_01__a" time="0.1"/>
      <testcase classname="acceptance.test_must_01" name="test_must_01__b" time="0.2">
        <failure message="assert 500 == 201">trace</failure></testcase>
    </testsuite></testsuites>"""
    outcomes = parse_junit(xml)
    assert outcomes["acceptance/test_must_01.py::test_must_01__a"][0] == "passed"
    assert outcomes["acceptance/test_must_01.py::test_must_01__b"][:2] == ("failed", "assert 500 == 201")


def test_the_crud_test_leaves_a_refusal_the_request_states_to_its_own_requirement(task_api_discovery) -> None:
    """MUST-02 (no title) and MUST-04/08 (no project, no assignee) are Task's, MUST-03 a User's duplicate
    email: the CRUD test refuses none of them, so a failure of one is charged to its own requirement alone."""
    views = {view.name: view for view in entity_views(task_api_discovery)}
    task = crud_facts(task_api_discovery, views["Task"])
    assert "title" not in {f.name for f in (*task.required, *task.non_empty)} and not task.references
    assert not crud_facts(task_api_discovery, views["User"]).unique
    without_them = task_api_discovery.model_copy(update={"requirements": task_api_discovery.requirements[:1]})
    task = crud_facts(without_them, views["Task"])
    assert "title" in {f.name for f in task.required} and "title" in {f.name for f in task.non_empty}
    assert {f.name for f in task.references} == {"project", "assignee"}
    assert [f.name for f in crud_facts(without_them, views["User"]).unique] == ["email"]
