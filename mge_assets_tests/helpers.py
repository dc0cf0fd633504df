"""Building blocks for tests that materialize assets: resources in a temporary folder, the stage modules."""

from pathlib import Path
from typing import Any

import dagster as dg

from mge_assets.defs import acceptance, drafting, execution, intake, scoring
from mge_assets.defs.io_manager import MgeIOManager
from mge_assets.defs.resources import ModelBackendResource, WorkspaceResource
from mge_assets.llm.envelope import extract
from mge_assets.llm.offline import OfflineBackend
from mge_assets.llm.types import ModelRequest, ModelResponse
from mge_assets.request.submit import submit_request

STAGES = (intake, drafting, execution, acceptance, scoring)
ASSETS = dg.load_assets_from_modules(STAGES)
CHECKS = dg.load_asset_checks_from_modules(STAGES)


def test_resources(root: Path, model_backend: ModelBackendResource | None = None) -> dict[str, object]:
    """Resources whose files all live under `root`."""
    return {
        "model_backend": model_backend
        or ModelBackendResource(cache_dir=str(root / "cache"), database_url=ledger_url(root)),
        "workspace": WorkspaceResource(
            root=str(root / "workspace"), requests_dir=str(root / "requests"), inbox=str(root / "inbox")
        ),
        "io_manager": MgeIOManager(base_dir=str(root / "assets")),
    }


def submit(instance: dg.DagsterInstance, root: Path, request_file: Path) -> str:
    """Store a request under `root` and add its partition, as `mge submit` does."""
    submission = submit_request(request_file.read_bytes(), str(request_file), root / "requests", "offline")
    instance.add_dynamic_partitions("requests", [submission.request.name])
    return submission.request.name


def materialize_everything(
    instance: dg.DagsterInstance, root: Path, name: str, model_backend: ModelBackendResource
) -> dg.ExecuteInProcessResult:
    """Every asset and check of one partition, as the request_pipeline job runs them."""
    return dg.materialize(
        [*ASSETS, *CHECKS],
        instance=instance,
        partition_key=name,
        resources=test_resources(root, model_backend),
        raise_on_error=False,
    )


class RewritingModel(OfflineBackend):
    """The offline model with a hook on its answers: a model that errs, or one that attacks."""

    def rewrite(self, payload: dict[str, Any], answer: str) -> str:
        return answer

    async def complete(self, request: ModelRequest) -> ModelResponse:
        response = await super().complete(request)
        answer = self.rewrite(extract(request.system, request.prompt), response.text)
        return ModelResponse(answer, response.model, response.usage)


def backend_serving(model: type[OfflineBackend], root: Path) -> ModelBackendResource:
    """A model backend resource whose backend is `model`."""

    class Serving(ModelBackendResource):
        def build_backend(self) -> OfflineBackend:
            return model()

    return Serving(cache_dir=str(root / "cache"), database_url=ledger_url(root))


def ledger_url(root: Path) -> str:
    """Cost events and checkpoints under `root`: a model that errs on purpose must not leave its atoms
    behind for a later run to resume from."""
    return f"sqlite:///{root / 'mge.db'}"


test_resources.__test__ = False  # a helper, not a test
