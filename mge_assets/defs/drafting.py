"""Drafting: first-pass code per task, its atoms, and their dependency graph (with their gates)."""

import dagster as dg
import networkx as nx
import pandas as pd

from mge_assets.atomize import Atom, atomize_file, reassemble
from mge_assets.atomize.atomicity import CRITERIA, atomicity
from mge_assets.defs.metadata import asked_items, frame_table, markdown_table, reuse_metadata, stage_call_metadata
from mge_assets.defs.partitions import requests_partitions
from mge_assets.defs.resources import ModelBackendResource
from mge_assets.execute.engine import trace_id
from mge_assets.graph import DependencyGraph, build_graph
from mge_assets.graph.analyze import to_dot, to_mermaid
from mge_assets.graph.context import atom_contexts
from mge_assets.llm.prompts import draft_inputs, draft_request
from mge_assets.plan import DiscoveryDocument, Masterplan
from mge_assets.request import ProjectRequest
from mge_assets.settings import mge_home
from mge_assets.synth.drafting import write_drafts

ATOMICITY_PASS = 0.9


@dg.asset(partitions_def=requests_partitions, group_name="drafting", kinds={"python", "jinja"}, pool="anthropic")
async def task_drafts(
    context: dg.AssetExecutionContext,
    project_request: ProjectRequest,
    discovery_document: DiscoveryDocument,
    masterplan: Masterplan,
    model_backend: ModelBackendResource,
) -> dg.MaterializeResult:
    """First-pass code of every task's files, one row per file. Each answer must write exactly the
    task's files at safe paths in code that parses, or it is retried with the problem as feedback.
    A task whose inputs (itself, the slice of the domain it is written from, the contract) are those of
    an earlier run is answered from the response cache; `regenerated_because` names, for every task
    asked again, the inputs that changed."""
    client, ledger = model_backend.stage_client(context, project_request.settings.budget_usd)
    drafts = await write_drafts(discovery_document, masterplan, client, model_backend.concurrency)
    return dg.MaterializeResult(
        value=drafts,
        metadata={
            "files": len(drafts),
            "loc": int(drafts["loc"].sum()),
            "failed": int((~drafts["parses"]).sum()),
            "drafts": frame_table(drafts, ["task_id", "kind", "file", "loc", "attempts", "parses", "error"]),
            **stage_call_metadata(context, client, ledger),
            **reuse_metadata(
                ledger,
                "task_drafts",
                {t.id: draft_inputs(discovery_document, t) for t in masterplan.tasks},
                asked_items(client, {t.id: draft_request(discovery_document, t).trace_id for t in masterplan.tasks}),
            ),
        },
    )


@dg.asset_check(asset=task_drafts, blocking=True, partitions_def=requests_partitions)
def task_drafts_parse(task_drafts: pd.DataFrame) -> dg.AssetCheckResult:
    """Gate: every drafted file parses."""
    failed = task_drafts[~task_drafts["parses"]]
    return dg.AssetCheckResult(
        passed=failed.empty,
        metadata={
            "failed": len(failed),
            "problems": dg.MetadataValue.md(
                markdown_table(failed[["task_id", "file", "error"]].values.tolist(), ["task", "file", "error"])
                if not failed.empty
                else "none"
            ),
        },
    )


@dg.asset(partitions_def=requests_partitions, group_name="drafting", kinds={"python", "pandas"})
def atoms(context: dg.AssetExecutionContext, task_drafts: pd.DataFrame) -> dg.MaterializeResult:
    """The drafts split by tree-sitter into atoms: id, file, byte and line span, kind, symbol, parent,
    LOC, complexity, names defined and referenced, imports, context (signatures of what it reads) and
    its completeness; with atomicity criteria per atom, and its trace id (that of its calls)."""
    found = [
        (atom, draft.task_id)
        for draft in task_drafts.itertuples()
        for atom in atomize_file(draft.file, draft.code.encode())
    ]
    contexts = atom_contexts([atom for atom, _ in found], files=task_drafts["file"])
    rows = [
        {
            **atom.as_row(),
            "task_id": task_id,
            "trace_id": trace_id(context.partition_key, atom.id),
            "context": list(contexts[atom.id][0]),
            "context_completeness": contexts[atom.id][1],
        }
        for atom, task_id in found
    ]
    frame = pd.DataFrame(rows)
    frame = pd.concat([frame, atomicity(frame)], axis=1)
    return dg.MaterializeResult(
        value=frame,
        metadata={
            "atoms": len(frame),
            "files": int(frame["file"].nunique()),
            "loc_mean": round(float(frame["loc"].mean()), 2),
            "loc_max": int(frame["loc"].max()),
            "complexity_max": int(frame["complexity"].max()),
            "atomicity_mean": round(float(frame["atomicity"].mean()), 4),
            "context_completeness_mean": round(float(frame["context_completeness"].mean()), 4),
            "distribution": dg.MetadataValue.md(_distribution(frame)),
            "atoms_table": frame_table(
                frame,
                ["id", "kind", "start_line", "end_line", "loc", "complexity", "context_completeness", "atomicity"],
            ),
        },
    )


def _distribution(frame: pd.DataFrame) -> str:
    kinds = frame["kind"].value_counts().sort_index()
    loc = pd.cut(frame["loc"], bins=[0, 5, 10, 20, 40, 10_000], labels=["1-5", "6-10", "11-20", "21-40", ">40"])
    loc_counts = loc.value_counts().sort_index()
    complexity = frame["complexity"].clip(upper=6).value_counts().sort_index()
    return (
        "**By kind**\n\n"
        + markdown_table(kinds.reset_index().values.tolist(), ["kind", "atoms"])
        + "\n\n**Lines of code**\n\n"
        + markdown_table(loc_counts.reset_index().values.tolist(), ["LOC", "atoms"])
        + "\n\n**Cyclomatic complexity** (6 = 6 or more)\n\n"
        + markdown_table(complexity.reset_index().values.tolist(), ["complexity", "atoms"])
    )


@dg.asset_check(
    asset=atoms,
    blocking=True,
    partitions_def=requests_partitions,
    additional_ins={"task_drafts": dg.AssetIn("task_drafts")},
)
def atoms_reassemble(atoms: pd.DataFrame, task_drafts: pd.DataFrame) -> dg.AssetCheckResult:
    """Gate: joined in byte order, the atoms of each file are that file's draft, byte for byte."""
    rebuilt = reassemble([Atom.from_row(r) for r in atoms.to_dict("records")])
    drafts = dict(zip(task_drafts["file"], task_drafts["code"], strict=True))
    differing = sorted(f for f in drafts if rebuilt.get(f, "") != drafts[f])
    return dg.AssetCheckResult(
        passed=not differing,
        metadata={"files": len(drafts), "differing": ", ".join(differing) or "none"},
    )


@dg.asset_check(asset=atoms, partitions_def=requests_partitions)
def atoms_atomicity(atoms: pd.DataFrame) -> dg.AssetCheckResult:
    """Warning: the share of atoms meeting each atomicity criterion; passes at a mean score ≥ 0.9."""
    shares = {name: round(float(atoms[name].mean()), 4) for name in CRITERIA}
    mean = float(atoms["atomicity"].mean())
    worst = atoms.sort_values("atomicity").head(10)
    return dg.AssetCheckResult(
        passed=mean >= ATOMICITY_PASS,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            **shares,
            "atomicity_mean": round(mean, 4),
            "criteria": dg.MetadataValue.md(
                markdown_table(
                    [(n, d, shares[n]) for n, d in CRITERIA.items()], ["criterion", "meaning", "share of atoms"]
                )
            ),
            "least_atomic": dg.MetadataValue.md(
                markdown_table(
                    worst[["id", "loc", "complexity", "atomicity"]].values.tolist(),
                    ["atom", "LOC", "complexity", "score"],
                )
            ),
        },
    )


@dg.asset(partitions_def=requests_partitions, group_name="drafting", kinds={"networkx"})
def dependency_graph(context: dg.AssetExecutionContext, atoms: pd.DataFrame) -> dg.MaterializeResult:
    """Atoms as nodes and typed edges (import, call, type, inherit, data, parent) resolved across
    files; cycles broken with each decision recorded; execution waves (topological generations). The
    graph is also written as Graphviz DOT and Mermaid files under MGE_HOME/graphs/."""
    graph = build_graph([Atom.from_row(r) for r in atoms.to_dict("records")])
    graph = graph.model_copy(update={"traces": dict(zip(atoms["id"], atoms["trace_id"], strict=True))})
    types = pd.Series([e.type for e in graph.edges], dtype=str).value_counts()
    widths = [len(w) for w in graph.waves]
    folder = mge_home() / "graphs"
    folder.mkdir(parents=True, exist_ok=True)
    dot, mermaid = folder / f"{context.partition_key}.dot", folder / f"{context.partition_key}.mmd"
    dot.write_text(to_dot(graph))
    mermaid.write_text(to_mermaid(graph))
    stats = graph.wave_stats()
    return dg.MaterializeResult(
        value=graph,
        metadata={
            "nodes": len(graph.nodes),
            "edges": len(graph.edges),
            "waves": len(graph.waves),
            "depth": stats["depth"],
            "widest_wave": stats["widest_wave"],
            "parallelism": stats["parallelism"],
            "graph_dot": dg.MetadataValue.path(str(dot.resolve())),
            "graph_mermaid": dg.MetadataValue.path(str(mermaid.resolve())),
            "broken_edges": len(graph.broken),
            "unresolved": len(graph.unresolved),
            "edges_by_type": dg.MetadataValue.md(
                markdown_table(types.reset_index().values.tolist(), ["type", "edges"])
            ),
            "waves_table": dg.MetadataValue.md(
                markdown_table(
                    [
                        (i, n, ", ".join(w[:4]) + (" …" if n > 4 else ""))
                        for i, (n, w) in enumerate(zip(widths, graph.waves, strict=True))
                    ],
                    ["wave", "atoms", "first atoms"],
                )
            ),
            "broken_cycles": dg.MetadataValue.md(
                markdown_table(
                    [(b.source, b.target, b.type, b.reason) for b in graph.broken],
                    ["source", "target", "type", "reason"],
                )
                if graph.broken
                else "none"
            ),
        },
    )


@dg.asset_check(asset=dependency_graph, blocking=True, partitions_def=requests_partitions)
def dependency_graph_acyclic(dependency_graph: DependencyGraph) -> dg.AssetCheckResult:
    """Gate: after cycle breaking, the graph has no cycle and every atom is in exactly one wave."""
    graph = nx.DiGraph([(e.source, e.target) for e in dependency_graph.edges])
    in_waves = sum(len(w) for w in dependency_graph.waves)
    return dg.AssetCheckResult(
        passed=nx.is_directed_acyclic_graph(graph) and in_waves == len(dependency_graph.nodes),
        metadata={
            "atoms": len(dependency_graph.nodes),
            "atoms_in_waves": in_waves,
            "broken_edges": len(dependency_graph.broken),
        },
    )


@dg.asset_check(asset=dependency_graph, blocking=True, partitions_def=requests_partitions)
def dependency_graph_references_resolved(dependency_graph: DependencyGraph) -> dg.AssetCheckResult:
    """Gate: every name an atom imports from the project itself is defined by some atom."""
    missing = dependency_graph.unresolved
    return dg.AssetCheckResult(
        passed=not missing,
        metadata={
            "unresolved": dg.MetadataValue.md(
                markdown_table([(u.atom, u.name, u.module) for u in missing], ["atom", "name", "module"])
                if missing
                else "none"
            )
        },
    )
