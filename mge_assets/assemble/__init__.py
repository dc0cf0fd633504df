"""Assembling and writing generated projects, safely inside the workspace."""

from mge_assets.assemble.paths import check_relative_path, resolve_inside
from mge_assets.assemble.write import add_files, project_directory, write_project

__all__ = ["add_files", "check_relative_path", "project_directory", "resolve_inside", "write_project"]
