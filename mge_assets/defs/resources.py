"""Resources: the model backend (with cache and budget), the workspace, and the asset storage."""

import os
from collections.abc import Callable, Mapping
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from mge_assets.defs.tags import CANARY_TAG, FRESH_TAG
from mge_assets.errors import SettingsError
from mge_assets.execute.engine import MAX_ATOMS_PER_CALL
from mge_assets.ledger import Ledger
from mge_assets.llm import Budget, CallRecord, ModelBackend, ModelClient
from mge_assets.llm.anthropic_backend import AnthropicBackend
from mge_assets.llm.batches import BatchingBackend
from mge_assets.llm.cache import open_cache
from mge_assets.llm.governor import RateGovernor
from mge_assets.llm.offline import OfflineBackend
from mge_assets.llm.pricing import price_of
from mge_assets.request import ProjectRequest
from mge_assets.request.modes import split_partition
from mge_assets.request.store import load_request
from mge_assets.settings import inbox_dir, mge_home, requests_dir, workspace_root

BACKENDS = ("offline", "anthropic")


def is_fresh(run_tags: Mapping[str, str] | None) -> bool:
    """Whether a run must ask the model anew (no response cache, no atom checkpoints)."""
    return (run_tags or {}).get(FRESH_TAG) == "true"


class ModelBackendResource(dg.ConfigurableResource):
    """Which model writes the code, and how its answers are cached.

    `offline` (the default) is the deterministic synthesizer: no key, no network. `anthropic` calls
    Claude through the official SDK; its key comes from `api_key` or `ANTHROPIC_API_KEY`.
    """

    backend: str = "offline"
    model: str = "claude-sonnet-4-6"
    max_tokens: int = 8192
    base_url: str | None = None
    api_key: str | None = None
    redis_url: str | None = None
    cache_dir: str = ".mge/cache"
    concurrency: int = 8  # calls in flight for the stages that write tasks and tests
    max_concurrency: int = 32  # atom_results: most atoms in progress; the adaptive limit stays below it
    initial_concurrency: int = 4  # atom_results starts here and ramps up (no thundering herd)
    max_pause_s: float = 60.0  # the longest a 429's retry-after pauses every call
    slot_wait_timeout_s: float = 900.0  # a call waiting longer than this for a slot gives up
    timeout_s: float = 120.0
    type_check: bool = True  # mypy in level-1 validation
    budget_override_usd: float | None = None  # explicit, recorded: replaces the request's hard cap for the run
    database_url: str | None = None  # cost_events and checkpoints; default MGE_DATABASE_URL, else SQLite
    prompt_caching: bool = True  # the shared context marked for Anthropic's prompt cache (off: to measure it)
    atoms_per_call: int = 1  # atom_results: small atoms ready together asked in one call, up to this many
    batch_canaries: bool = True  # canary runs (tag mge/canary) through the Message Batches API, at half price
    batch_window_s: float = 2.0  # calls gathered this long into one batch
    batch_poll_s: float = 5.0  # first wait between polls of a batch (it grows to a minute)

    _backend: ModelBackend | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Fail before any stage runs when the backend cannot work (unknown name, no key, unknown model)."""
        self._backend = self.build_backend()

    def build_backend(self) -> ModelBackend:
        if self.backend not in BACKENDS:
            raise SettingsError(f"unknown backend '{self.backend}'; choose one of {', '.join(BACKENDS)}")
        if self.concurrency < 1:
            raise SettingsError(f"concurrency must be at least 1, not {self.concurrency}")
        if not 1 <= self.atoms_per_call <= MAX_ATOMS_PER_CALL:
            raise SettingsError(
                f"atoms_per_call (MGE_ATOMS_PER_CALL) must be 1 to {MAX_ATOMS_PER_CALL}, not {self.atoms_per_call}"
            )
        if self.backend == "offline":
            return OfflineBackend()
        if self.max_concurrency < 1 or self.initial_concurrency < 1:
            raise SettingsError("max_concurrency and initial_concurrency must be at least 1")
        if self.budget_override_usd is not None and self.budget_override_usd <= 0:
            raise SettingsError(f"budget_override_usd must be positive, not {self.budget_override_usd}")
        price_of(self.model)
        return AnthropicBackend(
            api_key=self.api_key or os.environ.get("ANTHROPIC_API_KEY"),
            model=self.model,
            max_tokens=self.max_tokens,
            base_url=self.base_url,
            timeout_s=self.timeout_s,
            max_wait_s=self.max_pause_s,
            prompt_caching=self.prompt_caching,
            governor=RateGovernor(
                initial=self.initial_concurrency,
                maximum=self.max_concurrency,
                max_pause_s=self.max_pause_s,
                wait_timeout_s=self.slot_wait_timeout_s,
            ),
        )

    def client(
        self,
        budget: Budget,
        on_record: Callable[[CallRecord], None] | None = None,
        run_tags: Mapping[str, str] | None = None,
        stage: str = "",
    ) -> ModelClient:
        """A client for one stage of one run, sharing the response cache and the backend's governor.
        A fresh run (tag `mge/fresh`) has no response cache: every answer is asked anew. A canary run
        can wait: with Claude its calls go through the Message Batches API (one batcher per stage, on
        the stage's event loop)."""
        backend: ModelBackend = self._backend or self.build_backend()
        self._backend = backend
        if isinstance(backend, AnthropicBackend) and self.batch_canaries and CANARY_TAG in (run_tags or {}):
            backend = BatchingBackend(
                backend,
                window_s=self.batch_window_s,
                poll_s=self.batch_poll_s,
                max_poll_s=max(60.0, self.batch_poll_s),
            )
        cache = None if is_fresh(run_tags) else open_cache(self.redis_url, Path(self.cache_dir))
        return ModelClient(backend, cache=cache, budget=budget, on_record=on_record, stage=stage)

    def stage_client(self, context: dg.AssetExecutionContext, cap_usd: float) -> tuple[ModelClient, Ledger]:
        """The client of one model stage of a run: every call it makes goes to `cost_events` with the
        stage's name, and its budget counts what the project has spent so far, earlier runs included."""
        fresh = is_fresh(context.run.tags)
        ledger = Ledger(context.partition_key, context.run.run_id, self.database_url, fresh=fresh)
        run_spent, earlier = ledger.project_spend()
        budget = Budget(cap_usd, spent_usd=run_spent + earlier, earlier_usd=earlier)
        stage = context.asset_key.path[-1]
        return self.client(budget, on_record=ledger.record_call, run_tags=context.run.tags, stage=stage), ledger


class WorkspaceResource(dg.ConfigurableResource):
    """Where submitted requests are kept and generated projects are written."""

    root: str = "mge_workspace"
    requests_dir: str = ".mge/requests"
    inbox: str = "mge_inbox"

    def project_dir(self, partition: str) -> Path:
        """Each partition (a request in one mode) writes its own project."""
        return Path(self.root) / partition

    def load_request(self, partition: str) -> ProjectRequest:
        """The request of a partition, whichever mode the partition runs it in."""
        name, _mode = split_partition(partition)
        return load_request(Path(self.requests_dir), name)


def default_resources() -> dict[str, object]:
    """The embedded default, shaped by the environment (MGE_BACKEND, MGE_MODEL, MGE_REDIS_URL, ...)."""
    from mge_assets.defs.io_manager import MgeIOManager

    home = mge_home()
    return {
        "model_backend": ModelBackendResource(
            backend=os.environ.get("MGE_BACKEND", "offline"),
            model=os.environ.get("MGE_MODEL", "claude-sonnet-4-6"),
            base_url=os.environ.get("ANTHROPIC_BASE_URL") or None,
            redis_url=os.environ.get("MGE_REDIS_URL") or None,
            cache_dir=str(home / "cache"),
            database_url=os.environ.get("MGE_DATABASE_URL") or None,
            budget_override_usd=_optional_float("MGE_BUDGET_OVERRIDE_USD"),
            prompt_caching=_flag("MGE_PROMPT_CACHING", default=True),
            atoms_per_call=_count("MGE_ATOMS_PER_CALL", default=1),
        ),
        "workspace": WorkspaceResource(
            root=str(workspace_root()), requests_dir=str(requests_dir()), inbox=str(inbox_dir())
        ),
        "io_manager": MgeIOManager(base_dir=str(home / "assets")),
    }


def _optional_float(name: str) -> float | None:
    value = os.environ.get(name)
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise SettingsError(f"{name} must be a number of USD, not {value!r}") from None


def _count(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {value!r}") from None


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        return value in ("1", "true", "yes", "on")
    raise SettingsError(f"{name} must be 1 or 0 (true or false), not {value!r}")
