"""Integration per atom: an atom with dependencies passes when its file's module-level check and the
system-level check pass (the components of the precision score and of review confidence)."""

from __future__ import annotations

import pandas as pd

from mge_assets.assemble.project import GeneratedProject
from mge_assets.graph.model import DependencyGraph


def integration_by_atom(atoms: pd.DataFrame, graph: DependencyGraph, project: GeneratedProject) -> pd.DataFrame:
    """Columns atom_id, has_dependencies, integration_ok."""
    depends = graph.dependencies()
    system_ok = project.checks.system_ok
    file_ok = {path: project.file_ok(path) for path in atoms["file"].unique()}
    return pd.DataFrame(
        {
            "atom_id": atoms["id"],
            "has_dependencies": [bool(depends.get(a)) for a in atoms["id"]],
            "integration_ok": [file_ok[f] and system_ok for f in atoms["file"]],
        }
    )
