"""Execution: every atom written by the model in dependency order, then the project assembled,
written and checked (with their gates)."""

from pathlib import Path

import dagster as dg
import pandas as pd

from mge_assets.assemble import write_project
from mge_assets.assemble.project import GeneratedProject, assemble_files, entity_paths, project_modules
from mge_assets.defs.metadata import frame_table, markdown_table, reuse_metadata, stage_call_metadata
from mge_assets.defs.partitions import requests_partitions
from mge_assets.defs.resources import ModelBackendResource, WorkspaceResource, is_fresh
from mge_assets.errors import MgeError, ModelUnavailableError
from mge_assets.execute.pipeline import StageOptions, run_atoms
from mge_assets.execute.progress import Progress
from mge_assets.execute.validate import CHECKS
from mge_assets.graph import DependencyGraph
from mge_assets.ledger import Ledger
from mge_assets.llm.prompts import atom_inputs, code_digest
from mge_assets.plan import DiscoveryDocument
from mge_assets.request import ProjectRequest
from mge_assets.request.modes import split_partition
from mge_assets.review.apply import ReviewContext, TypedRevalidation, apply_review
from mge_assets.review.store import ReviewStore
from mge_assets.settings import mge_home, mypy_cache_dir
from mge_assets.validation import check_project


@dg.asset(partitions_def=requests_partitions, group_name="execution", kinds={"python", "anthropic"}, pool="anthropic")
async def atom_results(
    context: dg.AssetExecutionContext,
    project_request: ProjectRequest,
    discovery_document: DiscoveryDocument,
    atoms: pd.DataFrame,
    dependency_graph: DependencyGraph,
    model_backend: ModelBackendResource,
) -> dg.MaterializeResult:
    """Each atom written by the model as soon as its dependencies are done (critical path first, under
    an adaptive concurrency limit), with its context and its dependencies' final code in the prompt.
    Level-1 validation per answer: parses in its file, defines its unit, no undefined or shadowed name,
    atomicity criteria, mypy on the assembled module; a rejected answer is retried with the errors as
    feedback (up to 4 attempts, temperature 0.7 → 0.5 → 0.3 → 0.3). An atom that never validates keeps
    its draft and goes to the review queue with its history; atoms that depend on it are not sent.
    Every call's cost goes to `cost_events` with the atom's trace id; the hard cap holds because each
    call reserves its worst case first. Finished atoms are checkpointed: a re-run redoes only the rest.
    While it runs, an observation of atom_results for the partition every 2 s at most (and one at the
    end) carries the atoms done, in flight, waiting and failed, the retries and the spend against the
    caps, as numbers: `mge status` reads them, and the UI plots them.

    Then the reviewers' decisions on the partition are applied (see `review_decisions`): edits and
    approvals replace or keep an atom's code, regenerated atoms go back to the model with the comment,
    and the atoms around a changed one are validated again; the `review_decisions` table says which
    decision changed what.

    The partition decides the mode: `NAME` is v2; `NAME@mvp` is the dual-run's baseline (~25-line task
    units, one attempt each, no unit-level validation)."""
    partition = context.partition_key
    _name, mode = split_partition(partition)
    cap = model_backend.budget_override_usd or project_request.settings.budget_usd
    client, ledger = model_backend.stage_client(context, cap)
    if model_backend.budget_override_usd:
        ledger.record_override(cap, project_request.settings.budget_usd)
        context.log.warning(
            f"budget override: hard cap ${cap:.2f} instead of ${project_request.settings.budget_usd:.2f}"
        )
    options = StageOptions(
        mode=mode,
        workers=model_backend.max_concurrency,
        type_check_dir=mge_home() / "typecheck" / partition if model_backend.type_check else None,
        mypy_cache=mypy_cache_dir(),
        # An atom's checkpoint is keyed by what decides its answer (its request's reuse key), not by the
        # whole request: an edit elsewhere reuses it. A fresh run salts with its own id: nothing matches.
        fingerprint_salt=context.run.run_id if is_fresh(context.run.tags) else "",
        atoms_per_call=model_backend.atoms_per_call,
        on_progress=lambda progress: _observe(context, progress),
    )
    frame, report = await run_atoms(atoms, dependency_graph, discovery_document, client, partition, options, ledger)
    review = ReviewContext(
        atoms,
        dependency_graph,
        discovery_document,
        client,
        partition,
        ledger,
        TypedRevalidation(options.type_check_dir / "review", options.mypy_cache) if options.type_check_dir else None,
        options.fingerprint_salt,
    )
    frame["budget_cap_usd"] = cap
    if report.unavailable_error:
        finished = int(frame["status"].isin(["valid", "invalid"]).sum())
        raise ModelUnavailableError(
            f"{report.unavailable_error}\n{finished} of {len(frame)} atoms finished and are kept; "
            "re-materialize atom_results to go on: finished atoms are not redone"
        )
    # Only once the model's own results are whole: a run the model API stopped applies nothing.
    frame, reviewed = await _apply_decisions(context, frame, review, model_backend.database_url)
    metadata = _metadata(frame, report, client, model_backend, mode) | stage_call_metadata(context, client, ledger)
    metadata |= _reuse(ledger, frame, atoms, dependency_graph, discovery_document) | reviewed
    return dg.MaterializeResult(value=frame, metadata=metadata)


async def _apply_decisions(
    context: dg.AssetExecutionContext, frame: pd.DataFrame, review: ReviewContext, database_url: str | None
) -> tuple[pd.DataFrame, dict]:
    """The reviewers' decisions on this partition applied to the model's results; those no run had
    applied yet are marked applied by this run. A review database that cannot be read costs a warning."""
    try:
        store = ReviewStore(database_url)
        decisions = store.decisions(review.partition)
    except MgeError as error:
        context.log.warning(f"review decisions not applied: {error}")
        return frame, {}
    if not decisions:
        return frame, {"review_decisions_in_effect": 0}
    application = await apply_review(frame, decisions, review)
    by_id = {d.id: d for d in decisions}
    new = {i: o for i, o in application.outcomes.items() if not by_id[i].applied}
    store.mark_applied(new, context.run.run_id)
    for decision_id, (outcome, _code) in new.items():
        context.log.info(f"review decision #{decision_id} on {by_id[decision_id].atom_id}: {outcome}")
    rows = [row for row in application.rows(by_id) if row[0] in new]
    return application.frame, {
        "review_decisions_in_effect": int((application.frame["review_decision"] > 0).sum()),
        "review_decisions_applied": len(new),
        "review_atoms_changed": len(application.changed),
        "review_atoms_regenerated": len(application.regenerated),
        "review_atoms_unblocked": len(application.unblocked),
        "review_atoms_revalidated": len(application.revalidated),
        "review_decisions_stale": len(application.stale),
        "review_decisions": dg.MetadataValue.md(
            markdown_table(rows, ["decision", "atom", "action", "reviewer", "what it changed"])
            if rows
            else "no new decision"
        ),
    }


def _observe(context: dg.AssetExecutionContext, progress: Progress) -> None:
    context.log_event(
        dg.AssetObservation(
            asset_key=context.asset_key, partition=context.partition_key, metadata=progress.as_metadata()
        )
    )


def _reuse(
    ledger: Ledger, frame: pd.DataFrame, atoms: pd.DataFrame, graph: DependencyGraph, discovery: DiscoveryDocument
) -> dict:
    """Which atoms were reused (from their checkpoint or the response cache) and why the others were
    asked again: a changed draft, or a dependency whose final code changed. An atom asked again whose
    code comes out as before leaves its dependents' inputs as they were (early cutoff): they are
    reused, and `early_cutoff` counts such atoms."""
    final = dict(zip(frame["atom_id"], frame["code"], strict=True))
    depends = graph.dependencies()
    inputs = {
        atom_id: atom_inputs(discovery, draft, [final.get(d, "") for d in sorted(depends.get(atom_id, ()))])
        for atom_id, draft in zip(atoms["id"], atoms["code"], strict=True)
    }
    asked = set(frame.loc[frame["model_calls"] > 0, "atom_id"])
    outputs = {atom_id: code_digest(code) for atom_id, code in final.items()}
    return reuse_metadata(ledger, "atom_results", inputs, asked, outputs)


def _metadata(frame, report, client, model_backend, mode) -> dict:
    budget = client.budget
    governor = getattr(client.backend, "governor", None)
    statuses = report.by_status()
    checks = {c: int((frame[f"check_{c}"] == "fail").sum()) for c in CHECKS}
    metadata = {
        "mode": mode,
        "atoms": len(frame),
        "valid": int((frame["status"] == "valid").sum()),
        "invalid": int((frame["status"] != "valid").sum()),
        "statuses": dg.MetadataValue.md(markdown_table(sorted(statuses.items()), ["status", "atoms/units"])),
        "retried": int((frame["attempts"] > 1).sum()),
        "resumed": report.resumed,
        "makespan_s": round(report.makespan_s, 3),
        "budget_usd": float(frame["budget_cap_usd"].iloc[0]) if len(frame) else 0.0,
        "budget_override": model_backend.budget_override_usd is not None,
        "spent_in_run_usd": round(budget.spent_usd - budget.earlier_usd, 6),
        "spent_by_earlier_runs_usd": round(budget.earlier_usd, 6),
        "budget_warnings": "; ".join(budget.warnings) or "none",
        "failed_checks": dg.MetadataValue.md(markdown_table(list(checks.items()), ["check", "answers failing last"])),
        "results": frame_table(
            frame, ["atom_id", "status", "attempts", "model_calls", "cache_hits", "cost_usd", "wave", "trace_id"]
        ),
    }
    if governor is not None:
        metadata |= {
            "peak_concurrency": governor.stats.peak_in_flight,
            "mean_concurrency": round(governor.mean_in_flight(report.makespan_s), 2),
            "throttled_429": governor.stats.throttled,
            "overloaded": governor.stats.overloaded,
            "concurrency_limit": int(governor.limit),
            "limit_changes": governor.stats.limit_changes,
            "peak_backlog": governor.stats.peak_backlog,
            "backlog_waited": governor.stats.waited,
            "backlog_wait_s": round(governor.stats.wait_seconds, 3),
            "backlog_max_wait_s": round(governor.stats.max_wait_s, 3),
            "backlog_dropped": governor.stats.dropped,
        }
    return metadata


@dg.asset_check(asset=atom_results, blocking=True, partitions_def=requests_partitions)
def atom_results_budget_cap_held(atom_results: pd.DataFrame) -> dg.AssetCheckResult:
    """Gate: what the atoms cost stays within the request's hard budget cap (or the recorded override)."""
    spent = float(atom_results["cost_usd"].sum())
    cap = float(atom_results["budget_cap_usd"].iloc[0]) if len(atom_results) else 0.0
    stopped = int((atom_results["status"] == "budget").sum())
    return dg.AssetCheckResult(
        passed=spent <= cap + 1e-9,
        metadata={"spent_usd": round(spent, 6), "cap_usd": cap, "atoms_stopped_by_cap": stopped},
    )


@dg.asset_check(asset=atom_results, blocking=True, partitions_def=requests_partitions)
def atom_results_valid_or_queued(atom_results: pd.DataFrame) -> dg.AssetCheckResult:
    """Gate: every atom is valid, or carries the errors that send it to the review queue; an atom
    left without either (lost in the run) fails the gate."""
    unexplained = atom_results[(atom_results["status"] != "valid") & (atom_results["errors"].str.len() == 0)]
    counts = atom_results["status"].value_counts().to_dict()
    return dg.AssetCheckResult(
        passed=unexplained.empty,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            **{f"status_{s}": int(n) for s, n in sorted(counts.items())},
            "unexplained": ", ".join(unexplained["atom_id"].head(20)) or "none",
        },
    )


@dg.asset(partitions_def=requests_partitions, group_name="execution", kinds={"python", "docker", "sqlite"})
def generated_project(
    context: dg.AssetExecutionContext,
    discovery_document: DiscoveryDocument,
    atom_results: pd.DataFrame,
    workspace: WorkspaceResource,
) -> dg.MaterializeResult:
    """The project on disk: files assembled from the atoms' final code, plus pyproject, README,
    Dockerfile and package files from templates, written under the workspace root. Then, in the
    sandbox: every module imports (level 2), its unit tests pass (level 3), the service starts and
    answers /health and each resource (level 4)."""
    files = assemble_files(atom_results, discovery_document)
    root = write_project(Path(workspace.root), context.partition_key, files)
    language = discovery_document.language
    modules = project_modules(files, discovery_document.package, language)
    paths = entity_paths(discovery_document)
    checks = check_project(root, discovery_document.package, modules, paths, language=language)
    project = GeneratedProject(
        name=context.partition_key,
        root=str(root.resolve()),
        package=discovery_document.package,
        files={p: len(c.encode()) for p, c in files.items()},
        modules=tuple(modules),
        entity_paths=tuple(paths),
        checks=checks,
    )
    failing_modules = [(m, e) for m, e in checks.modules.items() if e]
    return dg.MaterializeResult(
        value=project,
        metadata={
            "path": dg.MetadataValue.path(project.root),
            "files": len(files),
            "loc": sum(c.count("\n") for c in files.values()),
            "modules_importing": checks.modules_ok,
            "unit_tests_passed": checks.unit_passed,
            "unit_tests": len(checks.unit_tests),
            "service_answers": checks.system_ok,
            **{f"level_{name}": round(score, 4) for name, score in checks.level_scores().items()},
            "checks": dg.MetadataValue.md(
                "**Modules that do not import:** "
                + (markdown_table(failing_modules, ["module", "error"]) if failing_modules else "none")
                + "\n\n**Service:** "
                + (checks.system_error or ", ".join(f"`GET {p}` → {s}" for p, s in checks.system.items()))
            ),
        },
    )


@dg.asset_check(asset=generated_project, blocking=True, partitions_def=requests_partitions)
def generated_project_imports(generated_project: GeneratedProject) -> dg.AssetCheckResult:
    """Gate: every module of the generated package imports, in the sandbox."""
    errors = {m: e for m, e in generated_project.checks.modules.items() if e}
    return dg.AssetCheckResult(
        passed=generated_project.checks.imports,
        metadata={
            "modules": len(generated_project.checks.modules),
            "failing": "; ".join(f"{m}: {e}" for m, e in errors.items()) or "none",
        },
    )


@dg.asset_check(asset=generated_project, blocking=True, partitions_def=requests_partitions)
def generated_project_unit_tests_pass(generated_project: GeneratedProject) -> dg.AssetCheckResult:
    """Gate: the generated project's own unit tests all pass, in the sandbox."""
    checks = generated_project.checks
    failing = [t for t, o in checks.unit_tests.items() if o != "passed"]
    return dg.AssetCheckResult(
        passed=checks.unit_tests_pass,
        metadata={
            "passed": checks.unit_passed,
            "total": len(checks.unit_tests),
            "failing": ", ".join(failing[:20]) or "none",
            "log": dg.MetadataValue.text(checks.unit_log[-2000:]),
        },
    )
