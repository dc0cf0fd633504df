"""Every answer the shipped requests need fits in the max_tokens its call asks for: an answer cut at
the limit loses its closing tag, and every retry of it is cut the same way."""

from pathlib import Path

import pytest

from mge_assets.canary.gold import load_gold_set
from mge_assets.defs.resources import ModelBackendResource
from mge_assets.llm import prompts
from mge_assets.llm.envelope import extract
from mge_assets.llm.pricing import estimate_tokens
from mge_assets.plan import discover
from mge_assets.request import parse_request
from mge_assets.synth.offline import answer
from mge_assets_tests.conftest import ROOT

GOLD = load_gold_set(ROOT / "examples" / "gold_set.yaml")


@pytest.mark.parametrize("canary", GOLD, ids=[c.name for c in GOLD])
def test_each_requirements_tests_fit_in_the_answer_the_call_allows(canary) -> None:
    discovery = discover(parse_request(Path(canary.path).read_bytes(), source=str(canary.path)))
    allowed = ModelBackendResource().max_tokens
    for requirement in discovery.requirements:
        request = prompts.tests_request(discovery, requirement)
        text = answer(extract(request.system, request.prompt))
        needed = estimate_tokens(text)
        assert needed <= min(request.max_tokens, allowed), (
            f"{requirement.id}: its tests take ~{needed} tokens, the call allows {request.max_tokens}"
        )
