"""The offline backend: the spec-driven synthesizer behind the model interface. No network, no key."""

from __future__ import annotations

import time

from mge_assets.llm.envelope import extract
from mge_assets.llm.pricing import estimate_tokens
from mge_assets.llm.types import ModelRequest, ModelResponse, Usage


class OfflineBackend:
    """Answers each prompt from its `<mge-task>` envelope with the deterministic synthesizer."""

    name = "offline"
    model = "offline"

    async def complete(self, request: ModelRequest) -> ModelResponse:
        from mge_assets.synth.offline import answer  # the synthesizer imports llm helpers; import late

        started = time.perf_counter()
        text = answer(extract(request.system, request.prompt))
        usage = Usage(
            input_tokens=estimate_tokens(request.system + request.prompt), output_tokens=estimate_tokens(text)
        )
        return ModelResponse(text=text, model=self.model, usage=usage, latency_s=time.perf_counter() - started)
