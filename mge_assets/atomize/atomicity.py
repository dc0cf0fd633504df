"""Atomicity: named criteria an atom should meet, and a score per atom (the share it meets)."""

from __future__ import annotations

import re

import pandas as pd

LINE_BUDGET = 10
MAX_COMPLEXITY = 3
_DEFINITION_KINDS = ("function", "method", "class", "class_header")

CONTEXT_COMPLETE = 0.9
_HIDDEN_STATE = re.compile(r"^\s*(global|nonlocal)\s", re.MULTILINE)

CRITERIA = {
    "within_line_budget": f"at most {LINE_BUDGET} non-blank lines (twice that for a module header)",
    "low_complexity": f"cyclomatic complexity at most {MAX_COMPLEXITY}",
    "one_definition": "a function, method or class atom defines exactly one name",
    "no_hidden_state": "declares nothing `global` or `nonlocal` (no state shared with other atoms unseen)",
    "context_complete": f"at least {CONTEXT_COMPLETE:.0%} of the names it reads are found (project, import, builtin)",
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
            "no_hidden_state": [not _HIDDEN_STATE.search(code) for code in atoms["code"]],
            # judged where the context was computed (the `atoms` asset); elsewhere it cannot be lost
            "context_complete": atoms["context_completeness"] >= CONTEXT_COMPLETE
            if "context_completeness" in atoms
            else True,
        },
        index=atoms.index,
    )
    result["atomicity"] = result[list(CRITERIA)].mean(axis=1).round(4)
    return result
