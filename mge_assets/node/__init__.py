"""Node and TypeScript for generated TypeScript projects: the compiler and node's test runner, both
run through the sandbox, and what their reports say."""

from mge_assets.node.build import TypeScriptBuild, compile_project, compiled_path, typescript_paths
from mge_assets.node.testing import NODE, node_test_command, parse_node_junit

__all__ = [
    "NODE",
    "TypeScriptBuild",
    "compile_project",
    "compiled_path",
    "node_test_command",
    "parse_node_junit",
    "typescript_paths",
]
