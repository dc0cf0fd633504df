"""The acceptance_tests stage: one test file per requirement, asked of the model (offline: patterns)."""

from __future__ import annotations

import asyncio

from mge_assets.acceptance.generate import acceptance_fixtures
from mge_assets.acceptance.suite import AcceptanceSuite, TestCase, UntestableRequirement, read_tests_answer
from mge_assets.llm.ask import AttemptsExhaustedError, ask
from mge_assets.llm.client import ModelClient
from mge_assets.llm.prompts import item_trace, tests_request
from mge_assets.plan.discovery import DiscoveryDocument
from mge_assets.request import Requirement


async def write_suite(discovery: DiscoveryDocument, client: ModelClient, concurrency: int = 8) -> AcceptanceSuite:
    """Tests for every requirement; a requirement without a usable test is recorded as untestable, with why."""
    slots = asyncio.Semaphore(concurrency)

    async def tests_for(requirement: Requirement) -> tuple[dict[str, str], list[TestCase]] | str:
        async with slots:
            try:
                answer = await ask(
                    client,
                    lambda attempt, errors, _: tests_request(discovery, requirement, attempt, errors),
                    lambda text: read_tests_answer(requirement, text, discovery.language),
                )
            except AttemptsExhaustedError as error:
                return f"no usable tests were written: {error}"
        return answer.value

    written = await asyncio.gather(*(tests_for(r) for r in discovery.requirements))
    files = acceptance_fixtures(discovery)
    cases: list[TestCase] = []
    untestable = []
    for requirement, outcome in zip(discovery.requirements, written, strict=True):
        if isinstance(outcome, str):
            untestable.append(
                UntestableRequirement(requirement_id=requirement.id, level=requirement.level, reason=outcome)
            )
        else:
            files.update(outcome[0])
            trace = item_trace(discovery.name, requirement.id)
            cases.extend(case.model_copy(update={"trace_id": trace}) for case in outcome[1])
    return AcceptanceSuite(
        requirements=discovery.requirements,
        files=files,
        cases=tuple(cases),
        untestable=tuple(untestable),
        language=discovery.language,
    )
