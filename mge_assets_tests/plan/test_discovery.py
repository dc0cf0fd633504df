"""The discovery document: entities, relations, aggregates, contexts, use cases, requirements."""

from mge_assets.plan import discover, package_name
from mge_assets.request import parse_request


def test_task_api_domain_model(task_api_discovery) -> None:
    d = task_api_discovery
    assert [e.name for e in d.entities] == ["User", "Project", "Task"]
    assert {(r.source, r.field, r.target, r.required) for r in d.relations} == {
        ("Project", "owner", "User", True),
        ("Task", "project", "Project", True),
        ("Task", "assignee", "User", False),
    }
    # A Task is part of its Project (a required reference named after it); an owner only associates.
    assert {a.root: a.members for a in d.aggregates} == {"User": ("User",), "Project": ("Project", "Task")}
    assert len(d.bounded_contexts) == 1
    assert len(d.use_cases) == 15
    assert [r.level for r in d.requirements].count("MUST") == 10
    assert [(r.requirement_id, r.kind, r.entity) for r in d.rules] == [
        ("MUST-10", "bound", "Task"),
        ("SHOULD-04", "delete_guard", "Project"),
    ]


def test_unconnected_entities_form_separate_bounded_contexts() -> None:
    request = parse_request(
        "---\nname: two\n---\n# Two\n\n## Entities\n- Tag: label (str)\n- Note: body (text)\n\n"
        "## Requirements\n### MUST\n- Every entity can be created.\n"
    )
    assert [c.name for c in discover(request).bounded_contexts] == ["Tag", "Note"]


def test_package_name_is_a_python_identifier() -> None:
    assert package_name("task-api") == "task_api"
    assert package_name("3d-shop") == "app_3d_shop"
