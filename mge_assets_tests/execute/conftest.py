"""Atoms and graph of a real request (task_api), built by the pure stages, for engine tests."""

from dataclasses import dataclass

import pandas as pd
import pytest

from mge_assets.atomize import Atom, atomize_file
from mge_assets.graph import DependencyGraph, build_graph
from mge_assets.plan import DiscoveryDocument, Masterplan
from mge_assets.synth.render import draft_task


@dataclass(frozen=True)
class Drafted:
    discovery: DiscoveryDocument
    atoms: pd.DataFrame
    graph: DependencyGraph

    def atom_list(self) -> list[Atom]:
        return [Atom.from_row(r) for r in self.atoms.to_dict("records")]


@pytest.fixture
def task_api_atoms(task_api_discovery: DiscoveryDocument, task_api_plan: Masterplan) -> Drafted:
    rows = []
    for task in task_api_plan.tasks:
        for path, code in draft_task(task_api_discovery, task).items():
            rows += [{**a.as_row(), "task_id": task.id} for a in atomize_file(path, code.encode())]
    frame = pd.DataFrame(rows)
    return Drafted(task_api_discovery, frame, build_graph([Atom.from_row(r) for r in rows]))
