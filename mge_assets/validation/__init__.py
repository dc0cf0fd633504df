"""Hierarchical validation of generated code: atom (level 1, in execute), module, component, system."""

from mge_assets.validation.project import PYTEST, ProjectChecks, check_project

__all__ = ["PYTEST", "ProjectChecks", "check_project"]
