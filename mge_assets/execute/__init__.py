"""Wave execution: atoms generated in dependency order, validated and retried."""

from mge_assets.execute.engine import (
    AtomOutcome,
    ExecutionReport,
    ExecutionSettings,
    Verdict,
    execute_atoms,
    trace_id,
)
from mge_assets.execute.validate import AtomValidator, splice, validate_atom

__all__ = [
    "AtomOutcome",
    "AtomValidator",
    "ExecutionReport",
    "ExecutionSettings",
    "Verdict",
    "execute_atoms",
    "splice",
    "trace_id",
    "validate_atom",
]
