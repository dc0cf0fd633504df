"""Ask until the answer is usable: each retry's prompt carries what was wrong with the last answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from mge_assets.errors import ModelOutputError
from mge_assets.llm.client import ModelClient
from mge_assets.llm.types import ModelRequest

T = TypeVar("T")

# build(attempt, errors so far, last rejected answer) -> the request for this attempt
BuildRequest = Callable[[int, list[str], str], ModelRequest]


@dataclass(frozen=True)
class Answer(Generic[T]):
    value: T
    attempts: int
    errors: tuple[str, ...]


class AttemptsExhaustedError(ModelOutputError):
    """No usable answer within the allowed attempts; `errors` holds each attempt's problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"no usable answer after {len(errors)} attempts; last problem: {errors[-1]}")
        self.errors = tuple(errors)


async def ask(client: ModelClient, build: BuildRequest, read: Callable[[str], T], attempts: int = 3) -> Answer[T]:
    """Call the model and `read` its answer; `read` raises ModelOutputError for an unusable one.

    Budget and availability errors are not retried here: they propagate to the caller.
    """
    errors: list[str] = []
    last = ""
    for attempt in range(1, attempts + 1):
        response = await client.complete(build(attempt, errors, last))
        try:
            return Answer(read(response.text), attempt, tuple(errors))
        except ModelOutputError as error:
            errors.append(f"attempt {attempt}: {error}")
            last = response.text
    raise AttemptsExhaustedError(errors)
