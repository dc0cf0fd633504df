"""The precision of one generated project, from what the pipeline stored for it."""

from __future__ import annotations

import pandas as pd

from mge_assets.acceptance.results import AcceptanceResults
from mge_assets.assemble.project import GeneratedProject
from mge_assets.graph import DependencyGraph
from mge_assets.scoring.integration import integration_by_atom
from mge_assets.scoring.precision import (
    PrecisionReport,
    integration_pass,
    precision_report,
    spec_conformance,
    validation_pass,
)


def score_project(
    acceptance_results: AcceptanceResults,
    atom_results: pd.DataFrame,
    atoms: pd.DataFrame,
    dependency_graph: DependencyGraph,
    generated_project: GeneratedProject,
    totals: dict[str, float],
) -> PrecisionReport:
    """The three components and their weighted sum; untestable requirements count as failed."""
    passed = sum(r.passed for r in acceptance_results.requirements)
    integration = integration_by_atom(atoms, dependency_graph, generated_project)
    with_deps = integration[integration["has_dependencies"]]
    valid_atoms = int((atom_results["status"] == "valid").sum())
    levels = {"atom": valid_atoms / len(atom_results) if len(atom_results) else 0.0}
    levels |= generated_project.checks.level_scores()
    level_inputs = {"atom": f"{valid_atoms}/{len(atom_results)} atoms valid", **generated_project.checks.level_inputs()}
    return precision_report(
        [
            spec_conformance(passed, len(acceptance_results.requirements)),
            integration_pass(int(with_deps["integration_ok"].sum()), len(with_deps)),
            validation_pass(levels, level_inputs),
        ],
        totals,
    )


def retries(atom_results: pd.DataFrame) -> int:
    """Attempts beyond the first, over every unit generated (an atom in v2; in mvp, a task unit, whose
    atoms share its row's outcome)."""
    return int((_units(atom_results)["attempts"] - 1).clip(lower=0).sum())


def units(atom_results: pd.DataFrame) -> int:
    """How many units the model was asked to write: atoms in v2, ~25-line task units in mvp."""
    return len(_units(atom_results))


def _units(atom_results: pd.DataFrame) -> pd.DataFrame:
    return atom_results.drop_duplicates("unit_id") if "unit_id" in atom_results else atom_results
