"""The type check of level-1 validation: mypy's verdict on an answer, its runs counted, and mypy kept
below the event loop's CPU priority."""

import asyncio
import os

from mge_assets.execute import typecheck
from mge_assets.execute.typecheck import MYPY_NICENESS, TypeChecker

MODULE = "def half(value: int) -> int:\n    return value // 2\n"


def test_an_answer_with_a_type_error_is_judged_and_mypy_runs_niced(tmp_path, monkeypatch):
    niced: list[tuple[int, int]] = []
    real = os.setpriority

    def record(which: int, pid: int, value: int) -> None:
        niced.append((pid, value))
        real(which, pid, value)

    monkeypatch.setattr(typecheck.os, "setpriority", record)
    checker = TypeChecker({"pkg/mod.py": MODULE, "pkg/__init__.py": ""}, tmp_path / "project", tmp_path / "cache")
    wrong = MODULE.replace("value // 2", "str(value)")
    errors = asyncio.run(checker.check("pkg/mod.py", wrong))
    assert errors and "Incompatible return value" in errors[0][1]
    assert asyncio.run(checker.check("pkg/mod.py", MODULE)) == []  # the draft: the baseline, no new run
    assert checker.runs == 2 and checker.run_s > 0  # the baseline and the answer
    assert len(niced) == 2 and {value for _, value in niced} == {MYPY_NICENESS}
