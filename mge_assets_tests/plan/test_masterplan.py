"""The deterministic planner: tasks per entity, dependencies, coverage, the Markdown rendering."""

import networkx as nx

from mge_assets.plan import plan_project, render_markdown
from mge_assets.plan.masterplan import task_graph


def test_tasks_per_entity_plus_foundation_assembly_and_tests(task_api_plan) -> None:
    kinds = [t.kind for t in task_api_plan.tasks]
    assert kinds.count("model") == kinds.count("repository") == kinds.count("routes") == 3
    assert kinds.count("service") == kinds.count("unit_tests") == 3
    assert {"errors", "database", "app", "test_fixtures"} <= set(kinds)
    assert [p.name for p in task_api_plan.phases] == ["Foundation", "Domain", "API", "Assembly", "Tests"]


def test_task_graph_is_acyclic_and_dependencies_come_earlier(task_api_plan) -> None:
    graph = task_graph(task_api_plan)
    assert nx.is_directed_acyclic_graph(graph)
    order = [t.id for t in task_api_plan.tasks]
    for task in task_api_plan.tasks:
        assert all(order.index(d) < order.index(task.id) for d in task.depends_on)
    task_service = next(t for t in task_api_plan.tasks if t.kind == "service" and t.entity == "Task")
    repositories = {t.entity: t.id for t in task_api_plan.tasks if t.kind == "repository"}
    assert {repositories["Project"], repositories["User"], repositories["Task"]} <= set(task_service.depends_on)


def test_requirements_are_covered_by_the_tasks_of_the_entities_they_name(task_api_plan) -> None:
    by_id = {t.id: t for t in task_api_plan.tasks}
    covering = {by_id[t].entity for t in task_api_plan.coverage["MUST-02"]}
    assert covering == {"Task"}
    assert {by_id[t].entity for t in task_api_plan.coverage["MUST-01"]} == {"User", "Project", "Task"}
    assert all(task_api_plan.coverage[r.id] for r in task_api_plan.requirements)


def test_plan_is_deterministic_and_rendered(task_api_discovery) -> None:
    first, second = plan_project(task_api_discovery), plan_project(task_api_discovery)
    assert first == second
    text = render_markdown(first)
    assert text.startswith("# Masterplan: Task management API")
    assert "| MUST-02 | MUST | Creating a Task without a title is rejected with 422. |" in text
    assert "## Phase: Foundation" in text
