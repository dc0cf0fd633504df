"""What is sent to a model and what comes back, independent of the backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class ModelRequest:
    """One call. `system` is the shared, cacheable context; `prompt` is what differs per call."""

    kind: str
    system: str
    prompt: str
    temperature: float = 0.7
    max_tokens: int = 4096
    trace_id: str = ""
    priority: float = 0.0  # higher is sent first when calls wait for a slot (not part of the cache key)
    # What decides the answer, when that is less than the whole text: the call's own prompt and the part
    # of the shared context it uses. With it, the response cache and the atom checkpoints key on it, so a
    # change elsewhere in the request (another entity, a reworded requirement, the title) reuses the answer.
    reuse_key: str = ""


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0  # both TTLs
    cache_read_tokens: int = 0
    cache_write_1h_tokens: int = 0  # of cache_write_tokens: written with the 1-hour TTL (twice the input price)


@dataclass(frozen=True)
class ModelResponse:
    """A model's answer with its usage; `cached` means no model call was made, `batch` that it came
    through the Message Batches API and is billed at the batch price (half the standard one)."""

    text: str
    model: str
    usage: Usage = field(default_factory=Usage)
    latency_s: float = 0.0
    cached: bool = False
    batch: bool = False


class ModelBackend(Protocol):
    """A source of answers: the offline synthesizer, or Claude."""

    name: str
    model: str

    async def complete(self, request: ModelRequest) -> ModelResponse: ...
