"""The offline synthesizer's answers, by prompt kind; deterministic, from the envelope alone."""

from __future__ import annotations

from typing import Any

from mge_assets.errors import ModelOutputError
from mge_assets.llm.answers import render_code, render_files, render_units
from mge_assets.plan.discovery import DiscoveryDocument, discover
from mge_assets.plan.masterplan import PlanTask
from mge_assets.request import Requirement, parse_request
from mge_assets.synth.render import draft_task


def answer(payload: dict[str, Any]) -> str:
    """Answer one prompt's envelope like a model would: JSON, `<file>` blocks, or a code block."""
    kind = payload["kind"]
    if kind == "discover":
        return discover(parse_request(payload["request"])).model_dump_json(indent=1)
    if kind == "draft_task":
        discovery = DiscoveryDocument.model_validate(payload["discovery"])
        return render_files(draft_task(discovery, PlanTask.model_validate(payload["task"])))
    if kind == "write_atom":
        return render_code(payload["draft"])
    if kind == "write_atoms":
        return render_units({n: render_code(unit["draft"]) for n, unit in enumerate(payload["atoms"], 1)})
    if kind == "write_tests":
        from mge_assets.acceptance.generate import offline_tests_answer  # acceptance builds on synth

        discovery = DiscoveryDocument.model_validate(payload["discovery"])
        return offline_tests_answer(discovery, Requirement.model_validate(payload["requirement"]))
    if kind == "suggest_review":
        from mge_assets.review.suggest import offline_answer  # review builds on synth

        return offline_answer(payload)
    raise ModelOutputError(f"the offline synthesizer cannot answer a '{kind}' prompt")
