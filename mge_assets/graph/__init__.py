"""The dependency graph of atoms: what must exist before what, and the execution waves."""

from mge_assets.graph.build import build_graph, file_edges, module_name
from mge_assets.graph.model import EDGE_TYPES, BrokenEdge, DependencyGraph, Edge, FileEdge, Unresolved
from mge_assets.graph.resolve import Resolver, TsConfig, parse_tsconfig

__all__ = [
    "EDGE_TYPES",
    "BrokenEdge",
    "DependencyGraph",
    "Edge",
    "FileEdge",
    "Resolver",
    "TsConfig",
    "Unresolved",
    "build_graph",
    "file_edges",
    "module_name",
    "parse_tsconfig",
]
