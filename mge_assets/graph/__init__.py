"""The dependency graph of atoms: what must exist before what, and the execution waves."""

from mge_assets.graph.build import build_graph, module_name
from mge_assets.graph.model import EDGE_TYPES, BrokenEdge, DependencyGraph, Edge, Unresolved

__all__ = ["EDGE_TYPES", "BrokenEdge", "DependencyGraph", "Edge", "Unresolved", "build_graph", "module_name"]
