"""The task_drafts stage: the first-pass code of every task, asked of the model and checked."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pandas as pd

from mge_assets import pysource
from mge_assets.assemble.paths import check_relative_path
from mge_assets.atomize import atomize_with_errors, language_of
from mge_assets.errors import ModelOutputError, UnsafePathError
from mge_assets.llm.answers import files
from mge_assets.llm.ask import AttemptsExhaustedError, ask
from mge_assets.llm.client import ModelClient
from mge_assets.llm.prompts import draft_request
from mge_assets.plan.discovery import DiscoveryDocument
from mge_assets.plan.masterplan import Masterplan, PlanTask

DRAFT_COLUMNS = ["task_id", "kind", "file", "code", "loc", "parses", "error", "attempts"]


def draft_reader(task: PlanTask) -> Callable[[str], dict[str, str]]:
    """Accept an answer only if it writes exactly the task's files, at safe paths, in code that parses."""

    def read(answer: str) -> dict[str, str]:
        written = files(answer)
        for path in written:
            try:
                check_relative_path(path)
            except UnsafePathError as error:
                raise ModelOutputError(str(error)) from None
        if set(written) != set(task.target_files):
            raise ModelOutputError(
                f"task {task.id} must write exactly {sorted(task.target_files)}; the answer wrote {sorted(written)}"
            )
        for path, code in written.items():
            if path.endswith(".py"):
                try:
                    pysource.parse(code)
                except SyntaxError as error:
                    raise ModelOutputError(f"{path} line {error.lineno}: {error.msg}") from None
            elif language_of(path):
                errors = atomize_with_errors(path, code.encode())[1]
                if errors:
                    raise ModelOutputError(f"{path} line {errors[0].line}: {errors[0].kind} {errors[0].text!r}")
        return written

    return read


async def write_drafts(
    discovery: DiscoveryDocument, plan: Masterplan, client: ModelClient, concurrency: int = 8
) -> pd.DataFrame:
    """One row per file of every task. A task without a usable answer keeps an empty, failing row."""
    slots = asyncio.Semaphore(concurrency)

    async def draft(task: PlanTask) -> list[dict]:
        async with slots:
            try:
                answer = await ask(
                    client,
                    lambda attempt, errors, _: draft_request(discovery, task, attempt, errors),
                    draft_reader(task),
                )
            except AttemptsExhaustedError as error:
                return [_row(task, path, "", False, str(error), len(error.errors)) for path in task.target_files]
        return [_row(task, path, code, True, "", answer.attempts) for path, code in answer.value.items()]

    rows = [row for rows in await asyncio.gather(*(draft(t) for t in plan.tasks)) for row in rows]
    return pd.DataFrame(rows, columns=DRAFT_COLUMNS)


def _row(task: PlanTask, path: str, code: str, parses: bool, error: str, attempts: int) -> dict:
    loc = sum(1 for line in code.splitlines() if line.strip())
    return {
        "task_id": task.id,
        "kind": task.kind,
        "file": path,
        "code": code,
        "loc": loc,
        "parses": parses,
        "error": error,
        "attempts": attempts,
    }
