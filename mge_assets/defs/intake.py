"""Intake: the request, its discovery document, and the masterplan (with their gates)."""

import dagster as dg
import networkx as nx

from mge_assets.defs.metadata import markdown_table, stage_call_metadata
from mge_assets.defs.partitions import requests_partitions
from mge_assets.defs.resources import ModelBackendResource, WorkspaceResource
from mge_assets.llm.answers import json_object
from mge_assets.llm.ask import AttemptsExhaustedError, ask
from mge_assets.llm.prompts import discovery_request
from mge_assets.plan import DiscoveryDocument, Masterplan, plan_project, render_markdown
from mge_assets.plan.discovery import discovery_from_answer, domain_model, request_requirements
from mge_assets.plan.masterplan import task_graph
from mge_assets.request import ProjectRequest, require_entities
from mge_assets.request.issues import RequirementIssue, requirement_issues
from mge_assets.rules.describe import describe_rule


@dg.asset(partitions_def=requests_partitions, group_name="intake", kinds={"markdown"})
def project_request(context: dg.AssetExecutionContext, workspace: WorkspaceResource) -> dg.MaterializeResult:
    """The submitted request: its settings (YAML front matter) and its Markdown text.

    A request is submitted with `mge submit FILE` or by dropping the file into the inbox folder;
    both validate it and add its partition. This asset reads the stored copy.
    """
    request = workspace.load_request(context.partition_key)
    return dg.MaterializeResult(
        value=request,
        metadata={
            "title": request.settings.title,
            "budget_usd": request.settings.budget_usd,
            "language": request.settings.language,
            "sha256": request.sha256,
            "sections": ", ".join(request.sections),
            "request": dg.MetadataValue.md(request.text),
        },
    )


@dg.asset_check(asset=project_request, blocking=True, partitions_def=requests_partitions)
def project_request_well_formed(
    project_request: ProjectRequest, model_backend: ModelBackendResource
) -> dg.AssetCheckResult:
    """Gate: the settings are valid, there are requirements, and the selected backend can serve it."""
    problems = []
    if "requirements" not in project_request.sections:
        problems.append("no '## Requirements' section")
    if model_backend.backend == "offline" and not project_request.has_entities:
        problems.append("no '## Entities' section, which the offline backend needs")
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={"problems": "; ".join(problems) or "none", "backend": model_backend.backend},
    )


@dg.asset(partitions_def=requests_partitions, group_name="intake", kinds={"python"}, pool="anthropic")
async def discovery_document(
    context: dg.AssetExecutionContext, project_request: ProjectRequest, model_backend: ModelBackendResource
) -> dg.MaterializeResult:
    """The domain model of the request: entities with typed fields (enums included), relations,
    aggregates, bounded contexts, use cases, the requirements classified MUST or SHOULD with stable
    ids, and the business rules as typed records (kind, entity, fields, parameters, status, the
    requirement they come from). A model's answer that does not fit the request is refused with the
    reason and asked again; when none fits, the document records why and its gate stops the run."""
    if model_backend.backend == "offline":
        require_entities(project_request, "offline")  # a clear refusal before any call
    client, ledger = model_backend.stage_client(context, project_request.settings.budget_usd)
    try:
        answer = await ask(
            client,
            lambda attempt, errors, _: discovery_request(project_request, attempt, errors),
            lambda text: discovery_from_answer(json_object(text), project_request),
        )
        document, attempts, refused = answer.value, answer.attempts, list(answer.errors)
    except AttemptsExhaustedError as error:
        refused = list(error.errors)
        document = domain_model(project_request, [], request_requirements(project_request))
        document = document.model_copy(update={"problems": tuple(refused)})
        attempts = len(refused)
    entity_rows = [
        (
            e.name,
            ", ".join(
                f"{f.name}: {f.type}{'(' + '|'.join(f.choices) + ')' if f.choices else ''}"
                f"{' required' if f.required else ''}{' unique' if f.unique else ''}"
                for f in e.fields
            ),
        )
        for e in document.entities
    ]
    return dg.MaterializeResult(
        value=document,
        metadata={
            "entities": len(document.entities),
            "requirements": len(document.requirements),
            "must": sum(r.level == "MUST" for r in document.requirements),
            "should": sum(r.level == "SHOULD" for r in document.requirements),
            "rules": len(document.rules),
            "rules_not_understood": len(document.rule_problems),
            "attempts": attempts,
            "refused_answers": dg.MetadataValue.md("\n".join(f"- {e}" for e in refused) or "none"),
            "domain": dg.MetadataValue.md(
                markdown_table(entity_rows, ["entity", "fields"])
                + "\n\n**Aggregates:** "
                + "; ".join(f"{a.root} ({', '.join(a.members)})" for a in document.aggregates)
                + "\n\n"
                + markdown_table(
                    [(r.id, r.level or "?", r.line, r.text) for r in document.requirements],
                    ["id", "level", "line", "requirement"],
                )
            ),
            "business_rules": dg.MetadataValue.md(_rules_table(document)),
            "requirement_issues": dg.MetadataValue.md(
                _issues_table(
                    requirement_issues(
                        project_request.sections.get("requirements", ""),
                        project_request.section_lines.get("requirements", 0),
                    )
                )
            ),
            **stage_call_metadata(context, client, ledger),
        },
    )


def _issues_table(issues: list[RequirementIssue]) -> str:
    rows = [(i.kind, i.requirement_id or "-", i.line, i.text, i.detail) for i in issues]
    return markdown_table(rows, ["issue", "requirement", "line", "text", "what to do"]) if rows else "none"


def _rules_table(document: DiscoveryDocument) -> str:
    rows = [
        (r.requirement_id, r.kind, r.entity, describe_rule(r), r.status or "-", ", ".join(r.fields))
        for r in document.rules
    ]
    rows += [
        (p.requirement_id, "not understood", "-", f"line {p.line}: {p.reason}", "-", "-")
        for p in document.rule_problems
    ]
    headers = ["requirement", "kind", "entity", "rule", "status", "fields"]
    return markdown_table(rows, headers) if rows else "none"


@dg.asset_check(asset=discovery_document, blocking=True, partitions_def=requests_partitions)
def discovery_document_consistent(discovery_document: DiscoveryDocument) -> dg.AssetCheckResult:
    """Gate: the domain model fits the request and itself (its language, entities `## Entities`
    would accept, relations that follow from the references, rules that fit their entities). Fails
    with the reasons when every answer of the model was refused."""
    return dg.AssetCheckResult(
        passed=not discovery_document.problems,
        metadata={"problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in discovery_document.problems) or "none")},
    )


@dg.asset_check(asset=discovery_document, partitions_def=requests_partitions)
def discovery_document_rules_understood(discovery_document: DiscoveryDocument) -> dg.AssetCheckResult:
    """Warning: every requirement worded as a business rule was understood. Each one that was not is
    listed with its line and why; it has no test, so it counts as failed at Gate S."""
    problems = discovery_document.rule_problems
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rules": len(discovery_document.rules),
            "not_understood": len(problems),
            "details": dg.MetadataValue.md(
                markdown_table(
                    [(p.requirement_id, p.line, p.text, p.reason) for p in problems],
                    ["requirement", "line", "text", "why"],
                )
                if problems
                else "none"
            ),
        },
    )


@dg.asset_check(asset=discovery_document, blocking=True, partitions_def=requests_partitions)
def discovery_document_has_entities(discovery_document: DiscoveryDocument) -> dg.AssetCheckResult:
    """Gate: the domain model has at least one entity."""
    return dg.AssetCheckResult(
        passed=bool(discovery_document.entities), metadata={"entities": len(discovery_document.entities)}
    )


@dg.asset_check(
    asset=discovery_document,
    partitions_def=requests_partitions,
    additional_ins={"project_request": dg.AssetIn("project_request")},
)
def discovery_document_requirements_clean(
    discovery_document: DiscoveryDocument, project_request: ProjectRequest
) -> dg.AssetCheckResult:
    """Warning: the requirements have no duplicate, no empty bullet and no wording that contradicts its
    MUST/SHOULD heading (each issue listed with its line and what to do)."""
    issues = requirement_issues(
        project_request.sections.get("requirements", ""), project_request.section_lines.get("requirements", 0)
    )
    return dg.AssetCheckResult(
        passed=not issues,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "issues": len(issues),
            "duplicates": sum(i.kind == "duplicate" for i in issues),
            "empty": sum(i.kind == "empty" for i in issues),
            "ambiguous": sum(i.kind in ("ambiguous", "unclassified") for i in issues),
            "details": dg.MetadataValue.md(_issues_table(issues)),
        },
    )


@dg.asset_check(asset=discovery_document, blocking=True, partitions_def=requests_partitions)
def discovery_document_requirements_classified(discovery_document: DiscoveryDocument) -> dg.AssetCheckResult:
    """Gate: there are requirements, and every one is classified MUST or SHOULD."""
    unclassified = [r for r in discovery_document.requirements if r.level is None]
    return dg.AssetCheckResult(
        passed=bool(discovery_document.requirements) and not unclassified,
        metadata={
            "requirements": len(discovery_document.requirements),
            "unclassified": dg.MetadataValue.md(
                "\n".join(f"- line {r.line}: {r.text}" for r in unclassified) or "none"
            ),
        },
    )


@dg.asset(partitions_def=requests_partitions, group_name="intake", kinds={"python", "networkx"})
def masterplan(discovery_document: DiscoveryDocument) -> dg.MaterializeResult:
    """Phases of tasks (id, title, target files, dependencies, criteria, target LOC), the requirements
    with their ids, and which tasks cover each; rendered as Markdown below."""
    plan = plan_project(discovery_document)
    return dg.MaterializeResult(
        value=plan,
        metadata={
            "tasks": len(plan.tasks),
            "phases": len(plan.phases),
            "target_loc": sum(t.target_loc for t in plan.tasks),
            "masterplan": dg.MetadataValue.md(render_markdown(plan)),
        },
    )


@dg.asset_check(asset=masterplan, blocking=True, partitions_def=requests_partitions)
def masterplan_task_graph_acyclic(masterplan: Masterplan) -> dg.AssetCheckResult:
    """Gate: no task depends, directly or not, on itself."""
    graph = task_graph(masterplan)
    cycles = list(nx.simple_cycles(graph))[:5]
    return dg.AssetCheckResult(
        passed=not cycles, metadata={"cycles": "; ".join(" → ".join(c) for c in cycles) or "none"}
    )


@dg.asset_check(asset=masterplan, blocking=True, partitions_def=requests_partitions)
def masterplan_must_covered(masterplan: Masterplan) -> dg.AssetCheckResult:
    """Gate: every MUST requirement is covered by at least one task."""
    uncovered = [r.id for r in masterplan.requirements if r.level == "MUST" and not masterplan.coverage.get(r.id)]
    return dg.AssetCheckResult(passed=not uncovered, metadata={"uncovered": ", ".join(uncovered) or "none"})
