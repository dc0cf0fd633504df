"""Claude through the official SDK's async client.

The SDK's own retries are off (`max_retries=0`): they would sleep for a `retry-after` while holding a
slot. This backend owns them: every HTTP attempt takes a slot from the shared RateGovernor (AIMD limit,
global pause after a 429, pacing by the `anthropic-ratelimit-*` headers); 429s are waited out, 529, 5xx
and connection errors retried with jittered exponential backoff.

The API version the SDK sends (2026-10-21) refuses `temperature`, so it is not sent: a retry differs
from the failed attempt by the validator's feedback and the rejected answer in its prompt.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping
from typing import Any

import anthropic

from mge_assets.errors import ModelOutputError, ModelUnavailableError, SettingsError
from mge_assets.llm.governor import RateGovernor
from mge_assets.llm.pricing import estimate_tokens, price_of
from mge_assets.llm.types import ModelRequest, ModelResponse, Usage

log = logging.getLogger(__name__)
RETRYABLE_STATUS = {408, 409, 500, 502, 503, 504, 529}
MAX_THROTTLES = 30  # 429s per call; each is waited out, so they get a separate, larger allowance


class AnthropicBackend:
    name = "anthropic"

    def __init__(
        self,
        api_key: str | None,
        model: str,
        max_tokens: int = 8192,
        base_url: str | None = None,
        timeout_s: float = 120.0,
        max_attempts: int = 5,
        max_wait_s: float = 60.0,
        governor: RateGovernor | None = None,
        prompt_caching: bool = True,
    ) -> None:
        if not api_key:
            raise SettingsError(
                "the 'anthropic' backend needs an API key: set ANTHROPIC_API_KEY, or choose the 'offline' "
                "backend (MGE_BACKEND=offline) for requests with an '## Entities' section"
            )
        price_of(model)  # an unknown model is refused before any call
        self.model = model
        self.prompt_caching = prompt_caching  # the shared context is sent with cache_control (see `params`)
        self.max_tokens = max_tokens
        self.base_url = base_url
        self.max_attempts = max_attempts
        self.max_wait_s = max_wait_s
        self.governor = governor or RateGovernor(max_pause_s=max_wait_s)
        self.client = anthropic.AsyncAnthropic(api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout_s)

    async def complete(self, request: ModelRequest) -> ModelResponse:
        failures = throttles = 0
        tokens = estimate_tokens(request.system + request.prompt)
        while True:
            await self.governor.acquire(request.priority, tokens)
            started = time.perf_counter()
            try:
                raw = await self.client.messages.with_raw_response.create(**self.params(request))
                message = await raw.parse()
            except anthropic.RateLimitError as error:
                self.governor.release()
                throttles += 1
                if throttles > MAX_THROTTLES:
                    raise self._unavailable(error, failures + throttles) from error
                pause = self.governor.on_throttle(_retry_after(error.response.headers), error.response.headers)
                log.warning("rate limited (429); every call waits %.1fs", pause)
                continue
            except (anthropic.APIConnectionError, anthropic.APIStatusError) as error:
                self.governor.release()
                status = getattr(error, "status_code", None)
                if status is not None and status not in RETRYABLE_STATUS:
                    raise ModelUnavailableError(f"Claude refused the call ({status}): {error}") from error
                self.governor.on_overload()
                failures += 1
                if failures >= self.max_attempts:
                    raise self._unavailable(error, failures + throttles) from error
                await asyncio.sleep(self._backoff(error, failures))
                continue
            except BaseException:
                self.governor.release()
                raise
            latency = time.perf_counter() - started
            self.governor.release()
            self.governor.on_success(raw.headers, latency)
            return self._response(message, latency)

    def params(self, request: ModelRequest) -> dict[str, Any]:
        """The Messages API parameters of one call; the Message Batches path sends the same ones."""
        return {
            "model": self.model,
            "max_tokens": min(request.max_tokens, self.max_tokens),
            # No temperature: API version 2026-10-21 (the SDK's default) refuses sampling parameters.
            # The retry schedule still varies it in the request, so retries are distinct cache keys.
            # The shared context is the same for every call of a run: let the API cache it (5 minutes:
            # a run's calls of one stage come within it, and its write costs 1.25x, not 2x).
            "system": [
                {"type": "text", "text": request.system}
                | ({"cache_control": {"type": "ephemeral"}} if self.prompt_caching else {})
            ],
            "messages": [{"role": "user", "content": request.prompt}],
        }

    def _response(self, message: anthropic.types.Message, latency_s: float, batch: bool = False) -> ModelResponse:
        """The SDK's message as a ModelResponse (also for a batch's succeeded results, with `batch`)."""
        text = "".join(block.text for block in message.content if block.type == "text")
        if not text.strip():
            raise ModelOutputError(f"Claude returned an empty answer (stop reason {message.stop_reason})")
        usage = message.usage
        return ModelResponse(
            text=text,
            model=self.model,
            usage=Usage(
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cache_write_tokens=usage.cache_creation_input_tokens or 0,
                cache_read_tokens=usage.cache_read_input_tokens or 0,
                cache_write_1h_tokens=usage.cache_creation.ephemeral_1h_input_tokens if usage.cache_creation else 0,
            ),
            latency_s=latency_s,
            batch=batch,
        )

    def _unavailable(self, error: Exception, attempts: int) -> ModelUnavailableError:
        where = self.base_url or "the Anthropic API"
        return ModelUnavailableError(
            f"Claude did not answer after {attempts} attempts at {where} (last: {error}); check the network "
            "and https://status.anthropic.com, then re-materialize: finished atoms are kept and not redone"
        )

    def _backoff(self, error: Exception, failures: int) -> float:
        """`retry-after` when the server gives one, else exponential backoff; with full jitter, capped."""
        response = getattr(error, "response", None)
        given = _retry_after(response.headers) if response is not None else None
        base = given if given is not None else 0.5 * 2 ** (failures - 1)
        wait = min(self.max_wait_s, base + random.uniform(0, 0.5 * base))
        log.warning("model call failed (%s); retrying in %.1fs", error, wait)
        return wait


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from `retry-after-ms` or `retry-after` (seconds), or None."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                continue
    return None
