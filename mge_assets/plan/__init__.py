"""Discovery (the domain model of a request) and the masterplan (phases and tasks)."""

from mge_assets.plan.discovery import (
    Aggregate,
    BoundedContext,
    DiscoveryDocument,
    Relation,
    UseCase,
    discover,
    package_name,
)
from mge_assets.plan.masterplan import Masterplan, Phase, PlanTask, plan_project, render_markdown

__all__ = [
    "Aggregate",
    "BoundedContext",
    "DiscoveryDocument",
    "Masterplan",
    "Phase",
    "PlanTask",
    "Relation",
    "UseCase",
    "discover",
    "package_name",
    "plan_project",
    "render_markdown",
]
