"""Atomicity: named criteria an atom should meet, and a score per atom (the share it meets)."""

from __future__ import annotations

import pandas as pd

LINE_BUDGET = 10
MAX_COMPLEXITY = 3
_DEFINITION_KINDS = ("function", "method", "class", "class_header")

CRITERIA = {
    "within_line_budget": f"at most {LINE_BUDGET} non-blank lines (twice that for a module header)",
    "low_complexity": f"cyclomatic complexity at most {MAX_COMPLEXITY}",
    "one_definition": "a function, method or class atom defines exactly one name",
}


def atomicity(atoms: pd.DataFrame, line_budget: int = LINE_BUDGET) -> pd.DataFrame:
    """One boolean column per criterion and an `atomicity` score, indexed like `atoms`."""
    budget = atoms["kind"].map(lambda k: 2 * line_budget if k == "module_header" else line_budget)
    result = pd.DataFrame(
        {
            "within_line_budget": atoms["loc"] <= budget,
            "low_complexity": atoms["complexity"] <= MAX_COMPLEXITY,
            "one_definition": [
                len(d) == 1 if k in _DEFINITION_KINDS else True
                for k, d in zip(atoms["kind"], atoms["defines"], strict=True)
            ],
        },
        index=atoms.index,
    )
    result["atomicity"] = result[list(CRITERIA)].mean(axis=1).round(4)
    return result
