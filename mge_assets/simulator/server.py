"""The simulator's HTTP server: `POST /v1/messages`, `POST /v1/messages/count_tokens`, the Message
Batches endpoints (`batches.py`), and its own `GET /_simulator/stats` for tests and benchmarks. Answers
come from a script when one is given (a recorded conversation, `script.py`), else from the offline
synthesizer.

Silent defects (`silent_defect_rate`): mistakes level-1 validation cannot see (`defects.SILENT_KINDS`:
a bound off by one, a wrong status code, a dropped filter), put in any answer to a `write_atom` prompt,
first or retry. Where a model slips is not uniform; it follows what the prompt shows of the unit:

- it can only slip where there is something to get wrong: each comparison bound, status literal and
  filter or guard of the draft is one site (`defects.silent_sites`); a unit with none never slips;
- at each site it slips with chance q = rate × length × struggle, where `length` is the draft's
  non-blank lines over 10 (MGE's atom size), held to [0.5, 2]: attention thins over a longer unit;
  and `struggle` is 2 when the prompt carries feedback on a rejected answer: a model that already got
  the unit visibly wrong once is likelier to get it subtly wrong too;
- the answer slips with chance 1 − (1 − q)^sites, at one site drawn among them;
- a retry answer keeps the slip its rejected answer carried with chance 1/2 (the feedback names
  another problem, and the model anchors on its earlier code), and is otherwise drawn anew as above.

The label a benchmark judges the review queue by is `SimulatorStats.silent_atoms`: the atoms whose
latest answer with code (the one the pipeline accepts) still carries a silent defect. It is neither
"was retried" (most slips are in first answers that validate) nor "has a site" (most sites are right).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mge_assets.errors import MgeError
from mge_assets.llm.answers import render_units
from mge_assets.llm.envelope import extract
from mge_assets.simulator.defects import DEFECT_KINDS, INJECTORS, SILENT_KINDS, inject, silent_sites
from mge_assets.simulator.prompt_cache import Block, CacheControlError, PromptCache, request_blocks
from mge_assets.simulator.script import Script

KEEP_ALIVE_S = 120  # like the API's front ends: idle pooled connections are not dropped after 5 s
REFUSED_FIELDS = {"temperature", "top_p", "top_k"}
# the silent-slip model of the module docstring
SILENT_LENGTH_LINES = 10.0
SILENT_LENGTH_RANGE = (0.5, 2.0)
SILENT_STRUGGLE = 2.0
SILENT_KEEP = 0.5


@dataclass(frozen=True)
class SimulatorSettings:
    """How the simulated API behaves. Rates are shares of requests; 0 turns a behaviour off."""

    latency_mean_s: float = 0.0
    latency_p95_s: float = 0.0  # 0: twice the mean
    # Generation time on top of the latency drawn per request: an answer of N tokens takes N / this
    # many seconds more (0: none). A call asking for several atoms waits for all of their code.
    output_tokens_per_s: float = 0.0
    requests_per_minute: float = 0.0
    input_tokens_per_minute: float = 0.0
    output_tokens_per_minute: float = 0.0
    burst_s: float = 60.0  # bucket capacity, in seconds of refill (the API's buckets hold a minute)
    overload_rate: float = 0.0  # 529
    error_rate: float = 0.0  # 500
    defect_rate: float = 0.0  # share of first write_atom answers that carry a defect
    # which defects: syntax and wrong_name are what level-1 validation sees; wrong_return and
    # missing_statement pass it and show only in the project's tests
    defect_kinds: tuple[str, ...] = DEFECT_KINDS
    # chance of a silent slip at one site of a 10-line unit's first answer (the model in the docstring)
    silent_defect_rate: float = 0.0
    silent_defect_kinds: tuple[str, ...] = SILENT_KINDS
    malformed_rate: float = 0.0  # share of write_atom answers with no usable code block
    empty_rate: float = 0.0  # share of write_atom answers with no text at all
    seed: int = 0
    chars_per_token: float = 4.0
    script: str = ""  # a recorded conversation to answer from first (see simulator/script.py)
    batch_latency_s: float = 0.2  # a Message Batch ends this long after it was created
    batch_error_rate: float = 0.0  # share of batch requests whose result is errored (api_error, overloaded_error)
    batch_expire_rate: float = 0.0  # share of batch requests whose result is expired


@dataclass(frozen=True)
class Call:
    """One Messages request as the simulator reads it: what decides its answer, and its size."""

    model: str
    system: str
    prompt: str
    max_tokens: int
    blocks: list[Block]  # the request as the prompt cache sees it (tools, system, messages)
    digest: str  # the same request sent again has the same digest
    input_tokens: int


class TokenBucket:
    """Capacity `rate × burst_s`, refilled continuously at `rate` per minute."""

    def __init__(self, per_minute: float, burst_s: float, clock: Any) -> None:
        self.per_minute = per_minute
        self.capacity = max(1.0, per_minute / 60.0 * burst_s)
        self.level = self.capacity
        self.clock = clock
        self.updated = clock()

    def refill(self) -> float:
        now = self.clock()
        self.level = min(self.capacity, self.level + (now - self.updated) * self.per_minute / 60.0)
        self.updated = now
        return self.level

    def seconds_until(self, amount: float) -> float:
        missing = min(amount, self.capacity) - self.refill()
        return max(0.0, missing / (self.per_minute / 60.0))

    def headers(self, name: str) -> dict[str, str]:
        level = self.refill()
        full_in = (self.capacity - level) / (self.per_minute / 60.0)
        reset = datetime.fromtimestamp(time.time() + full_in, UTC).isoformat().replace("+00:00", "Z")
        return {
            f"anthropic-ratelimit-{name}-limit": str(int(self.per_minute)),
            f"anthropic-ratelimit-{name}-remaining": str(max(0, int(level))),
            f"anthropic-ratelimit-{name}-reset": reset,
        }


@dataclass
class SimulatorStats:
    requests: int = 0
    answered: int = 0
    status: Counter = field(default_factory=Counter)
    by_kind: Counter = field(default_factory=Counter)
    defects_injected: Counter = field(default_factory=Counter)
    defects_repaired: int = 0
    malformed: int = 0
    empty: int = 0
    scripted: Counter = field(default_factory=Counter)  # prompt kind -> answers taken from the script
    early_requests: int = 0  # arrived while a retry-after given earlier had not passed
    early_retries: int = 0  # a refused request sent again before the retry-after it was given
    retry_gaps_s: dict[str, list[float]] = field(default_factory=dict)  # refusal status -> waits before its retry
    input_tokens: int = 0
    output_tokens: int = 0
    first_request_at: float = 0.0
    last_answer_at: float = 0.0
    atoms_called: Counter = field(default_factory=Counter)  # write_atom requests per atom id
    atom_latency_s: Counter = field(default_factory=Counter)  # latency served per atom id, all its answers
    defective_atoms: dict[str, str] = field(default_factory=dict)  # atom id -> defect put in its first answer
    silent_injected: Counter = field(default_factory=Counter)  # silent defect kind -> answers given with it
    silent_repaired: int = 0  # retry answers that no longer carry their rejected answer's silent defect
    silent_atoms: dict[str, str] = field(default_factory=dict)  # atom id -> silent defect of its latest answer
    silent_rejected: int = 0  # retries after an answer whose only defect was silent: validation saw it after all
    timeline: list[tuple[float, int]] = field(default_factory=list)  # (arrival since the first request, status)
    batches: int = 0  # Message Batches created
    batch_requests: int = 0  # requests in them, resubmitted ones counted again
    batch_results: Counter = field(default_factory=Counter)  # result type (succeeded, errored, ...) -> requests

    def as_dict(self) -> dict[str, Any]:
        data = {k: dict(v) if isinstance(v, Counter) else v for k, v in vars(self).items()}
        data["status"] = {str(k): v for k, v in self.status.items()}
        data["defects_injected_total"] = sum(self.defects_injected.values())
        data["silent_atoms_total"] = len(self.silent_atoms)
        return data


class Simulator:
    """The state of one simulated API: buckets, prompt cache, injected defects, counters."""

    def __init__(self, settings: SimulatorSettings | None = None) -> None:
        self.settings = settings or SimulatorSettings()
        self.stats = SimulatorStats()
        self.random = random.Random(self.settings.seed)
        clock = time.monotonic
        s = self.settings
        self.buckets = {
            name: TokenBucket(rate, s.burst_s, clock)
            for name, rate in (
                ("requests", s.requests_per_minute),
                ("input-tokens", s.input_tokens_per_minute),
                ("output-tokens", s.output_tokens_per_minute),
            )
            if rate > 0
        }
        self.prompt_cache = PromptCache(self.settings.chars_per_token)
        self.defective: dict[str, str] = {}  # atom id -> defect kind of its last first answer
        self.first_asks: Counter = Counter()  # atom id -> first answers given (each later one is drawn anew)
        self.silent: dict[str, tuple[str, str]] = {}  # atom id -> (kind, code) of its latest answer's slip
        self.visible: set[str] = set()  # atoms whose latest answer carried a visible defect or no code
        self.retry_window = (0.0, 0.0)  # (429 sent at, retry-after ends at)
        self.refused: dict[str, tuple[str, float, float]] = {}  # request digest -> (status, refused at, retry at)
        self.script = Script.load(self.settings.script) if self.settings.script else None

    # -- one request --------------------------------------------------------------------------

    async def messages(self, request: Request) -> JSONResponse:
        now = time.monotonic()
        stats = self.stats
        stats.requests += 1
        stats.first_request_at = stats.first_request_at or now
        sent_at, ends_at = self.retry_window
        if sent_at + 0.05 < now < ends_at:
            stats.early_requests += 1
        if not authorized(request):
            return self._error(401, "authentication_error", "x-api-key header is required")
        try:
            body = await request.json()
            call = self.parse(body)
        except CacheControlError as error:
            return self._error(400, "invalid_request_error", str(error))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            return self._error(400, "invalid_request_error", f"malformed request body: {error}")
        self._note_retry(call.digest, now)
        refused = refused_field(body)
        if refused:  # like API version 2026-10-21, which removed the sampling parameters
            return self._error(400, "invalid_request_error", f"{refused}: Extra inputs are not permitted")
        limited = self._rate_limited(call.input_tokens)
        if limited is not None:
            self.refused[call.digest] = ("429", now, now + float(limited.headers["retry-after"]))
            return limited
        roll = self.random.random()
        if roll < self.settings.overload_rate + self.settings.error_rate:
            status = 529 if roll < self.settings.overload_rate else 500
            self.refused[call.digest] = (str(status), now, now)
            if status == 529:
                return self._error(529, "overloaded_error", "Overloaded")
            return self._error(500, "api_error", "Internal server error")
        latency = self._latency(call.digest)
        await asyncio.sleep(latency)
        payload = self.compose(call, latency)
        output_tokens = payload["usage"]["output_tokens"]
        if self.settings.output_tokens_per_s > 0:
            await asyncio.sleep(output_tokens / self.settings.output_tokens_per_s)
        if "output-tokens" in self.buckets:
            self.buckets["output-tokens"].level -= output_tokens
        stats.answered += 1
        stats.status[200] += 1
        self._log(200, now)
        stats.input_tokens += call.input_tokens
        stats.output_tokens += output_tokens
        stats.last_answer_at = time.monotonic()
        return JSONResponse(payload, headers=self._headers())

    # -- a request body and its answer (shared by /v1/messages and the Message Batches) ---------

    def parse(self, body: Any) -> Call:
        """The parts of a Messages request body the answer depends on; KeyError, TypeError, ValueError
        or AttributeError when the body is malformed; CacheControlError when its cache_control blocks are."""
        system = _text(body.get("system", ""))
        prompt = "".join(_text(m.get("content", "")) for m in body["messages"])
        max_tokens = int(body["max_tokens"])
        model = str(body["model"])
        digest = hashlib.sha256(f"{model}\0{system}\0{prompt}".encode()).hexdigest()
        return Call(model, system, prompt, max_tokens, request_blocks(body), digest, self._tokens(system + prompt))

    def compose(self, call: Call, latency: float) -> dict[str, Any]:
        """The Message answering a call, with its usage (the prompt cache written or read)."""
        try:
            text = self._answer(call.system, call.prompt, latency)
        except MgeError as error:
            text = f"I cannot help with that: {error}"
        output_tokens = self._tokens(text)
        stop_reason = "end_turn"
        if output_tokens > call.max_tokens:
            text = text[: int(call.max_tokens * self.settings.chars_per_token)]
            output_tokens, stop_reason = call.max_tokens, "max_tokens"
        arrived = self.prompt_cache.clock() - latency
        usage = self.prompt_cache.usage(call.model, call.blocks, call.input_tokens, output_tokens, arrived)
        content = [{"type": "text", "text": text}] if text else []
        return {
            "id": f"msg_sim_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": call.model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage,
        }

    async def count_tokens(self, request: Request) -> JSONResponse:
        body = await request.json()
        text = _text(body.get("system", "")) + "".join(_text(m.get("content", "")) for m in body.get("messages", []))
        return JSONResponse({"input_tokens": self._tokens(text)})

    # -- behaviours ---------------------------------------------------------------------------

    def _note_retry(self, digest: str, now: float) -> None:
        """A request refused before and sent again: how long it waited, and whether it was too soon."""
        refused = self.refused.pop(digest, None)
        if refused is None:
            return
        status, refused_at, retry_at = refused
        self.stats.retry_gaps_s.setdefault(status, []).append(now - refused_at)
        if now < retry_at:
            self.stats.early_retries += 1

    def _rate_limited(self, input_tokens: int) -> JSONResponse | None:
        needs = {"requests": 1.0, "input-tokens": float(input_tokens), "output-tokens": 1.0}
        waits = {name: bucket.seconds_until(needs[name]) for name, bucket in self.buckets.items()}
        wait = max(waits.values(), default=0.0)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            now = time.monotonic()
            self.retry_window = (now, max(self.retry_window[1], now + retry_after))
            return self._error(
                429,
                "rate_limit_error",
                "Number of requests has exceeded your rate limit",
                {"retry-after": str(retry_after), **self._headers()},
            )
        self.buckets.get("requests") and self._spend("requests", 1.0)
        self.buckets.get("input-tokens") and self._spend("input-tokens", float(input_tokens))
        return None

    def _spend(self, name: str, amount: float) -> None:
        self.buckets[name].refill()
        self.buckets[name].level -= amount

    def _answer(self, system: str, prompt: str, latency: float) -> str:
        payload = extract(system, prompt)
        kind = payload.get("kind", "")
        self.stats.by_kind[kind] += 1
        if kind != "write_atoms":
            return self._answer_one(payload, latency)
        # several atoms in one call: each answered as if asked alone, slips and all
        shared = {k: v for k, v in payload.items() if k != "atoms"}
        return render_units(
            {
                number: self._answer_one({**shared, **unit, "kind": "write_atom"}, latency)
                for number, unit in enumerate(payload["atoms"], 1)
            }
        )

    def _answer_one(self, payload: dict[str, Any], latency: float) -> str:
        from mge_assets.synth.offline import answer  # the synthesizer imports llm helpers; import late

        kind = payload.get("kind", "")
        recorded = self.script.answer(payload) if self.script is not None else None
        if recorded is not None:
            self.stats.scripted[kind] += 1
            return recorded
        if kind != "write_atom":
            return answer(payload)
        atom_id = payload["atom"]["id"]
        self.stats.atoms_called[atom_id] += 1
        self.stats.atom_latency_s[atom_id] += latency
        if payload.get("feedback") and atom_id in self.silent and atom_id not in self.visible:
            self.stats.silent_rejected += 1
        roll = self.random.random()
        self.visible.add(atom_id)
        if roll < self.settings.empty_rate:
            self.stats.empty += 1
            return ""
        if roll < self.settings.empty_rate + self.settings.malformed_rate:
            self.stats.malformed += 1
            return "Here is the corrected unit, keeping its indentation as asked."
        self.visible.discard(atom_id)
        if payload.get("feedback"):
            if self.defective.pop(atom_id, None) is not None:
                self.stats.defects_repaired += 1
            return answer({**payload, "draft": self._silent_draft(payload, retry=True)})
        return self._first_answer(payload, answer)

    def _first_answer(self, payload: dict[str, Any], answer: Any) -> str:
        """The answer to an atom's first ask, a defect drawn from the seed and the atom. An atom asked
        anew (a later run with nothing cached, e.g. a canary's next repeat) is drawn again, as from a
        model that samples: repeats differ, while every first run against a fresh simulator is alike."""
        atom_id = payload["atom"]["id"]
        asked = self.first_asks[atom_id]
        self.first_asks[atom_id] += 1
        rng = random.Random(f"{self.settings.seed}:{atom_id}" + (f":{asked}" if asked else ""))
        payload = {**payload, "draft": self._silent_draft(payload, retry=False)}
        if rng.random() >= self.settings.defect_rate:
            return answer(payload)
        broken = inject(payload["draft"], rng, self.settings.defect_kinds)
        if broken is None:
            return answer(payload)
        code, kind = broken
        self.visible.add(atom_id)
        self.stats.defects_injected[kind] += 1
        self.stats.defective_atoms[atom_id] = kind
        self.defective[atom_id] = kind
        return answer({**payload, "draft": code})

    def _silent_draft(self, payload: dict[str, Any], retry: bool) -> str:
        """The code an answer starts from: the draft, or the draft with a silent slip (the model of the
        module docstring), recorded as the atom's latest state. Its own random stream per answer, so
        turning silent defects on leaves every other draw as it was."""
        draft, atom_id = payload["draft"], payload["atom"]["id"]
        rate = self.settings.silent_defect_rate
        if rate <= 0:
            return draft
        rng = random.Random(f"{self.settings.seed}:silent:{atom_id}:{self.stats.atoms_called[atom_id]}")
        kept = self.silent.get(atom_id)
        if retry and kept is not None and rng.random() < SILENT_KEEP:
            return self._slipped(atom_id, *kept)
        slip = self._slip(draft, rng, rate * (SILENT_STRUGGLE if retry else 1.0))
        if slip is None:
            if self.silent.pop(atom_id, None) is not None and retry:
                self.stats.silent_repaired += 1
            self.stats.silent_atoms.pop(atom_id, None)
            return draft
        if kept is not None and retry:
            self.stats.silent_repaired += 1  # the old slip is gone, a new one took its place
        return self._slipped(atom_id, *slip)

    def _slip(self, draft: str, rng: random.Random, rate: float) -> tuple[str, str] | None:
        """(kind, code) of a silent slip in `draft`, or None: per site, chance `rate` × length."""
        kinds = self.settings.silent_defect_kinds
        sites = silent_sites(draft, kinds)
        lines = sum(1 for line in draft.splitlines() if line.strip())
        low, high = SILENT_LENGTH_RANGE
        q = min(1.0, rate * min(high, max(low, lines / SILENT_LENGTH_LINES)))
        if sites == 0 or rng.random() >= 1 - (1 - q) ** sites:
            return None
        weights = [silent_sites(draft, (kind,)) for kind in kinds]
        kind = rng.choices(kinds, weights=weights)[0]  # one site drawn among all: kinds by their sites
        code = INJECTORS[kind](draft, rng)
        return None if code is None or code == draft else (kind, code)

    def _slipped(self, atom_id: str, kind: str, code: str) -> str:
        self.silent[atom_id] = (kind, code)
        self.stats.silent_injected[kind] += 1
        self.stats.silent_atoms[atom_id] = kind
        return code

    def _latency(self, digest: str) -> float:
        """Drawn from the request itself (and the seed): the same request takes the same time, so two
        schedules of one graph (dependency-driven and wave barrier) face the same latencies."""
        mean = self.settings.latency_mean_s
        if mean <= 0:
            return 0.0
        p95 = self.settings.latency_p95_s or 2 * mean
        sigma = lognormal_sigma(mean, p95)
        mu = math.log(mean) - sigma**2 / 2
        return random.Random(f"{self.settings.seed}:{digest}").lognormvariate(mu, sigma)

    def _headers(self) -> dict[str, str]:
        headers = {"request-id": f"req_sim_{uuid.uuid4().hex[:24]}"}
        for name, bucket in self.buckets.items():
            headers.update(bucket.headers(name))
        token_buckets = [self.buckets[n] for n in ("input-tokens", "output-tokens") if n in self.buckets]
        if token_buckets:
            tightest = min(token_buckets, key=lambda b: b.refill() / b.capacity)
            for key, value in tightest.headers("tokens").items():
                headers[key] = value
        return headers

    def _error(self, status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        self.stats.status[status] += 1
        self._log(status)
        return error_response(status, kind, message, headers)

    def _log(self, status: int, arrived: float | None = None) -> None:
        arrived = time.monotonic() if arrived is None else arrived
        self.stats.timeline.append((arrived - self.stats.first_request_at, status))

    def _tokens(self, text: str) -> int:
        return max(1, math.ceil(len(text) / self.settings.chars_per_token))

    async def stats_endpoint(self, request: Request) -> JSONResponse:
        return JSONResponse(self.stats.as_dict())


def lognormal_sigma(mean: float, p95: float) -> float:
    """The σ of a lognormal with this mean and 95th percentile (p95/mean at most e^(1.645²/2) ≈ 3.87)."""
    gap = math.log(max(p95, mean * 1.0001) / mean)
    z = 1.6448536269514722
    disc = z * z - 2 * gap
    if disc < 0:
        raise ValueError(f"a lognormal cannot have p95/mean = {p95 / mean:.2f}; it must be at most 3.87")
    return z - math.sqrt(disc)


def error_response(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error in the API's shape: `{"type": "error", "error": {"type": ..., "message": ...}}`."""
    return JSONResponse(
        {"type": "error", "error": {"type": kind, "message": message}},
        status_code=status,
        headers={"request-id": f"req_sim_{uuid.uuid4().hex[:24]}", **(headers or {})},
    )


def authorized(request: Request) -> bool:
    """Whether a request carries a key (any key: the simulator checks presence, like a 401 would)."""
    return bool(request.headers.get("x-api-key") or request.headers.get("authorization"))


def refused_field(body: dict[str, Any]) -> str | None:
    """The first sampling parameter in a body, which API version 2026-10-21 refuses; None when none."""
    refused = sorted(REFUSED_FIELDS & set(body))
    return refused[0] if refused else None


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(block.get("text", "") for block in content if isinstance(block, dict))
    return ""


def create_app(simulator: Simulator) -> Starlette:
    from mge_assets.simulator.batches import BatchEndpoints  # it builds on this module's Simulator

    return Starlette(
        routes=[
            Route("/v1/messages", simulator.messages, methods=["POST"]),
            Route("/v1/messages/count_tokens", simulator.count_tokens, methods=["POST"]),
            *BatchEndpoints(simulator).routes(),
            Route("/_simulator/stats", simulator.stats_endpoint, methods=["GET"]),
        ]
    )


def serve(settings: SimulatorSettings, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve until interrupted (the `mge simulate` command)."""
    import uvicorn

    uvicorn.run(
        create_app(Simulator(settings)),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_S,
        backlog=4096,
    )


@contextlib.contextmanager
def running_simulator(settings: SimulatorSettings | None = None) -> Iterator[tuple[str, Simulator]]:
    """A simulator on a free loopback port, in a thread of this process: yields (base_url, simulator)."""
    import uvicorn

    simulator = Simulator(settings)
    config = uvicorn.Config(
        create_app(simulator),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_S,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="mge-simulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the simulator did not start within 10 s")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", simulator
    finally:
        server.should_exit = True
        thread.join(timeout=10)
