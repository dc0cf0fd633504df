"""The AI suggestion beside a review item: the issues found in the atom and a proposed fix.

It is asked of the model backend like any call (its cost recorded with the atom's trace id): a prompt
carrying the atom, its draft, its context and its validation history, answered with a JSON object
`{"issues": [...], "fix": "<the unit's code>"}`. Offline, the synthesizer answers it deterministically
from the validator's findings, proposing the spec-driven draft. An answer that cannot be read is a
suggestion marked unavailable, with the reason, never an error for the reviewer.
"""

from __future__ import annotations

import json

from mge_assets.errors import BudgetExceededError, ModelOutputError, ModelUnavailableError
from mge_assets.llm.answers import json_object
from mge_assets.llm.client import ModelClient
from mge_assets.llm.envelope import embed
from mge_assets.llm.prompts import system_context
from mge_assets.llm.types import ModelRequest
from mge_assets.plan.discovery import DiscoveryDocument
from mge_assets.review.items import ReviewItem
from mge_assets.review.store import Suggestion

KIND = "suggest_review"
MAX_ISSUES = 20


def findings(item: ReviewItem) -> list[str]:
    """The validator's distinct findings over the atom's attempts, oldest first."""
    seen: list[str] = []
    for attempt in item.history:
        for problem in attempt.get("problems", []):
            if problem not in seen:
                seen.append(problem)
    return seen


def suggestion_request(item: ReviewItem, discovery: DiscoveryDocument) -> ModelRequest:
    found = findings(item)
    history = "\n".join(f"- {p}" for p in found) or "- (the validator found nothing)"
    requirements = "\n".join(f"- {r.id} ({r.level}): {r.text}" for r in item.requirements) or "- (none traced)"
    fence = "typescript" if item.file.endswith(".ts") else "python"
    return ModelRequest(
        kind=KIND,
        system=system_context(discovery),
        prompt=(
            f"Review the {item.kind} `{item.symbol}` in `{item.file}` (lines {item.lines}). It was queued for a "
            f"person because: {item.reason}.\nIts draft:\n```{fence}\n{item.draft}```\nIts final code:\n"
            f"```{fence}\n{item.code}```\nThe validator's findings over its {item.attempts} attempt(s):\n{history}\n"
            f"The requirements it serves:\n{requirements}\n\nAnswer with one JSON object and nothing else: "
            '{"issues": [one short sentence per problem you find, empty if none], "fix": "the complete corrected '
            'code of this unit, with its indentation"}.\n\n'
            + embed(
                KIND,
                {
                    "atom": {"id": item.atom, "file": item.file, "kind": item.kind, "symbol": item.symbol},
                    "draft": item.draft,
                    "code": item.code,
                    "findings": found,
                },
            )
        ),
        temperature=0.0,
        max_tokens=max(1024, len(item.code) // 2 + 512),
        trace_id=item.id,
    )


def parse_suggestion(text: str) -> tuple[tuple[str, ...], str]:
    """(issues, fix) from an answer; ModelOutputError when it is not the object asked for."""
    value = json_object(text)
    issues, fix = value.get("issues"), value.get("fix")
    if not isinstance(issues, list) or not all(isinstance(i, str) for i in issues):
        raise ModelOutputError("the suggestion's 'issues' is not a list of strings")
    if not isinstance(fix, str) or not fix.strip():
        raise ModelOutputError("the suggestion has no 'fix' code")
    return tuple(i.strip()[:500] for i in issues[:MAX_ISSUES]), fix


def offline_answer(payload: dict) -> str:
    """What the synthesizer answers: the findings as the issues, and the draft (the code the spec
    gives) as the fix."""
    issues = list(payload.get("findings", []))
    if not issues and payload["code"] != payload["draft"]:
        issues = ["the final code differs from the spec-driven draft; the draft is proposed"]
    return json.dumps({"issues": issues, "fix": payload["draft"]}, sort_keys=True)


async def suggest(item: ReviewItem, discovery: DiscoveryDocument, client: ModelClient) -> Suggestion:
    """Ask the backend; an answer it garbles (or a call that fails) is an unavailable suggestion."""
    request = suggestion_request(item, discovery)
    common = {"id": 0, "partition": item.request, "atom_id": item.atom, "code_sha": item.current_sha}
    try:
        response = await client.complete(request)
        issues, fix = parse_suggestion(response.text)
    except (ModelOutputError, ModelUnavailableError, BudgetExceededError) as error:
        return Suggestion(**common, model=client.model, available=False, error=str(error)[:500])
    cost = sum(r.cost_usd for r in client.records_for(item.id))
    return Suggestion(
        **common, model=response.model or client.model, available=True, issues=issues, fix=fix, cost_usd=cost
    )
