"""The simulator's Message Batches API: create, retrieve, results (JSONL) and cancel, in the real API's
shapes, so the official SDK's `client.messages.batches` works against it unchanged.

Each request of a batch is answered by the same logic as `POST /v1/messages` (`Simulator.parse` and
`Simulator.compose`), without its rate limits, 529s and 500s: a batch has its own behaviours instead.
It ends `batch_latency_s` after it was created; a share of its requests (`batch_error_rate`) ends
`errored` with an `api_error` or `overloaded_error` inside, another share (`batch_expire_rate`) ends
`expired`. Which ones is drawn from the seed, the request and how often that request was sent in a
batch before (`outcome`), so a run is reproducible and a resubmitted request gets a fresh draw.
"""

from __future__ import annotations

import json
import random
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mge_assets.simulator.server import Simulator, SimulatorSettings, authorized, error_response, refused_field

CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MAX_REQUESTS = 100_000
EXPIRES_AFTER_S = 24 * 3600.0


def outcome(settings: SimulatorSettings, digest: str, attempt: int) -> str:
    """`succeeded`, `errored:<error type>` or `expired` for the `attempt`-th batch sending of a request."""
    roll = random.Random(f"{settings.seed}:batch:{digest}:{attempt}").random()
    if roll < settings.batch_error_rate:
        return "errored:overloaded_error" if roll < settings.batch_error_rate / 2 else "errored:api_error"
    if roll < settings.batch_error_rate + settings.batch_expire_rate:
        return "expired"
    return "succeeded"


@dataclass
class SimulatedBatch:
    """One batch: its result lines are decided when it is created and served once it has ended."""

    id: str
    created_at: float  # wall clock, like the API's timestamps
    ends_at: float
    lines: list[dict[str, Any]]
    cancel_initiated_at: float | None = None
    counts: Counter = field(default_factory=Counter)

    def ended(self, now: float) -> bool:
        return now >= self.ends_at

    def view(self, base_url: str, now: float, status: str | None = None) -> dict[str, Any]:
        """The MessageBatch object: counts are all `processing` until the batch has ended. A `status`
        given (`canceling`, in the answer to a cancel) shows the batch as not ended yet."""
        ended = status is None and self.ended(now)
        kinds = ("processing", "succeeded", "errored", "canceled", "expired")
        counts = {kind: self.counts[kind] if ended else 0 for kind in kinds}
        counts["processing"] = 0 if ended else len(self.lines)
        return {
            "id": self.id,
            "type": "message_batch",
            "processing_status": status or ("ended" if ended else "in_progress"),
            "request_counts": counts,
            "created_at": _timestamp(self.created_at),
            "ended_at": _timestamp(self.ends_at) if ended else None,
            "expires_at": _timestamp(self.created_at + EXPIRES_AFTER_S),
            "archived_at": None,
            "cancel_initiated_at": _timestamp(self.cancel_initiated_at) if self.cancel_initiated_at else None,
            "results_url": f"{base_url}/v1/messages/batches/{self.id}/results" if ended else None,
        }


class BatchEndpoints:
    """The batches of one simulator, and the four endpoints that serve them."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator
        self.batches: dict[str, SimulatedBatch] = {}
        self.sendings: Counter = Counter()  # request digest -> times it was sent in a batch

    def routes(self) -> list[Route]:
        return [
            Route("/v1/messages/batches", self.create, methods=["POST"]),
            Route("/v1/messages/batches/{batch_id}", self.retrieve, methods=["GET"]),
            Route("/v1/messages/batches/{batch_id}/results", self.results, methods=["GET"]),
            Route("/v1/messages/batches/{batch_id}/cancel", self.cancel, methods=["POST"]),
        ]

    async def create(self, request: Request) -> Response:
        if not authorized(request):
            return error_response(401, "authentication_error", "x-api-key header is required")
        try:
            requests = _requests(await request.json())
        except ValueError as error:
            return error_response(400, "invalid_request_error", str(error))
        now = time.time()
        batch = SimulatedBatch(
            id=f"msgbatch_sim_{uuid.uuid4().hex[:24]}",
            created_at=now,
            ends_at=now + self.simulator.settings.batch_latency_s,
            lines=[{"custom_id": custom_id, "result": self._result(params)} for custom_id, params in requests],
        )
        batch.counts.update(line["result"]["type"] for line in batch.lines)
        # Like the API, results do not come in the order of the requests: custom_id is what matches them.
        random.Random(f"{self.simulator.settings.seed}:{batch.id}").shuffle(batch.lines)
        self.batches[batch.id] = batch
        stats = self.simulator.stats
        stats.batches += 1
        stats.batch_requests += len(batch.lines)
        stats.batch_results.update(batch.counts)
        return JSONResponse(batch.view(_base(request), now), headers=_headers())

    async def retrieve(self, request: Request) -> Response:
        batch = self._find(request)
        if isinstance(batch, Response):
            return batch
        return JSONResponse(batch.view(_base(request), time.time()), headers=_headers())

    async def results(self, request: Request) -> Response:
        batch = self._find(request)
        if isinstance(batch, Response):
            return batch
        if not batch.ended(time.time()):
            return error_response(
                400, "invalid_request_error", f"Message Batch {batch.id} has not ended yet; its results are not ready"
            )
        body = "".join(_json_line(line) for line in batch.lines)
        return Response(body, media_type="application/x-jsonl", headers=_headers())

    async def cancel(self, request: Request) -> Response:
        """Cancel a batch that has not ended: every request of it ends `canceled`, at once."""
        batch = self._find(request)
        if isinstance(batch, Response):
            return batch
        now = time.time()
        if batch.ended(now):
            return JSONResponse(batch.view(_base(request), now), headers=_headers())
        self.simulator.stats.batch_results -= batch.counts  # `-=` drops the counts it brings to zero
        batch.lines = [{"custom_id": line["custom_id"], "result": {"type": "canceled"}} for line in batch.lines]
        batch.counts = Counter(canceled=len(batch.lines))
        self.simulator.stats.batch_results.update(batch.counts)
        batch.cancel_initiated_at, batch.ends_at = now, now
        return JSONResponse(batch.view(_base(request), now, status="canceling"), headers=_headers())

    # -- internals ------------------------------------------------------------------------------

    def _find(self, request: Request) -> SimulatedBatch | Response:
        if not authorized(request):
            return error_response(401, "authentication_error", "x-api-key header is required")
        batch_id = request.path_params["batch_id"]
        batch = self.batches.get(batch_id)
        if batch is None:
            return error_response(404, "not_found_error", f"Message Batch {batch_id} not found")
        return batch

    def _result(self, params: dict[str, Any]) -> dict[str, Any]:
        """One request's result, answered like `/v1/messages` unless it is invalid or drawn to fail."""
        simulator = self.simulator
        try:
            call = simulator.parse(params)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            return _errored("invalid_request_error", f"malformed request params: {error}")
        refused = refused_field(params)
        if refused:
            return _errored("invalid_request_error", f"{refused}: Extra inputs are not permitted")
        if call.max_tokens < 1:
            return _errored("invalid_request_error", f"max_tokens: must be at least 1, not {call.max_tokens}")
        drawn = outcome(simulator.settings, call.digest, self.sendings[call.digest])
        self.sendings[call.digest] += 1
        if drawn == "expired":
            return {"type": "expired"}
        if drawn.startswith("errored:"):
            kind = drawn.removeprefix("errored:")
            return _errored(kind, "Overloaded" if kind == "overloaded_error" else "Internal server error")
        return {"type": "succeeded", "message": simulator.compose(call, 0.0)}


def _requests(body: Any) -> list[tuple[str, dict[str, Any]]]:
    """The (custom_id, params) of a create body; ValueError naming what is wrong with it."""
    requests = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(requests, list) or not requests:
        raise ValueError("requests: a batch needs a non-empty list of requests")
    if len(requests) > MAX_REQUESTS:
        raise ValueError(f"requests: a batch holds at most {MAX_REQUESTS} requests, not {len(requests)}")
    seen: set[str] = set()
    found = []
    for index, item in enumerate(requests):
        custom_id = item.get("custom_id") if isinstance(item, dict) else None
        params = item.get("params") if isinstance(item, dict) else None
        if not isinstance(custom_id, str) or not CUSTOM_ID.match(custom_id):
            raise ValueError(f"requests.{index}.custom_id: 1 to 64 letters, digits, '_' or '-' are required")
        if not isinstance(params, dict):
            raise ValueError(f"requests.{index}.params: an object with the Messages API parameters is required")
        if custom_id in seen:
            raise ValueError(f"requests.{index}.custom_id: '{custom_id}' is used by more than one request")
        seen.add(custom_id)
        found.append((custom_id, params))
    return found


def _errored(kind: str, message: str) -> dict[str, Any]:
    return {
        "type": "errored",
        "error": {
            "type": "error",
            "error": {"type": kind, "message": message},
            "request_id": f"req_sim_{uuid.uuid4().hex[:24]}",
        },
    }


def _json_line(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False) + "\n"


def _timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _headers() -> dict[str, str]:
    return {"request-id": f"req_sim_{uuid.uuid4().hex[:24]}"}
