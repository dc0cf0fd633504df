"""The instance every `mge` command uses, and submitting a request file to it."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mge_assets.errors import MgeError
from mge_assets.settings import default_dagster_home, requests_dir

if TYPE_CHECKING:
    from dagster import DagsterInstance

# Request runs (tag mge/model-calls) share the model's rate limit and budget: two at once, the rest
# wait in the run queue. Canary runs (mge/canary) share their requests' partitions and project
# folders: one at a time. The model stages (pool "anthropic", the only pool) hold two slots across
# all runs, so a third request run could only wait for a slot.
MODEL_CALL_RUNS = 2
CANARY_RUNS = 1
MODEL_POOL_SLOTS = 2


def submit_file(path: Path, instance: DagsterInstance) -> str:
    """Validate and store the request at `path`, add its partition if new; what happened, in one line."""
    from mge_assets.defs.resources import default_resources
    from mge_assets.request.submit import submit_request

    backend = default_resources()["model_backend"].backend
    try:
        data = path.read_bytes()
    except OSError as error:
        raise MgeError(f"cannot read {path}: {error.strerror}") from None
    submission = submit_request(data, str(path), requests_dir(), backend)
    name = submission.request.name
    if backend == "offline":
        _note_rules_not_understood(submission.request)
    if not instance.has_dynamic_partition("requests", name):
        instance.add_dynamic_partitions("requests", [name])
        return f"{submission.describe()}; partition '{name}' added"
    return f"{submission.describe()}; partition '{name}' already exists"


def _note_rules_not_understood(request: object) -> None:
    """Warn at submit about rule sentences the offline backend will report untestable (they count as failed)."""
    from mge_assets.plan import discover

    for problem in discover(request).rule_problems:  # type: ignore[arg-type]
        print(
            f"mge: note: line {problem.line}: {problem.requirement_id} reads like a business rule but is not "
            f"understood ({problem.reason}); it will be untestable and count as failed",
            file=sys.stderr,
        )


def request_name(path: Path) -> str:
    from mge_assets.request import parse_request

    return parse_request(path.read_bytes(), source=str(path)).name


def ensure_dagster_home() -> Path:
    """Use $DAGSTER_HOME, or the project's own `.mge/dagster_home` (SQLite storage, no server)."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(default_dagster_home().resolve())))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(
            "# The embedded default: runs, events and schedules in SQLite files under this folder.\n"
            f"storage:\n  sqlite:\n    base_dir: {home.resolve()}\n"
            "# The run queue's limits, the same as deploy/postgres/dagster.yaml's.\n"
            f"{concurrency_yaml()}"
        )
    return home


def concurrency_yaml() -> str:
    """The `concurrency:` block of an instance's dagster.yaml: the run queue's tag limits and the model's pool."""
    from mge_assets.defs.tags import CANARY_TAG, MODEL_CALLS_TAG

    runs = {MODEL_CALLS_TAG: MODEL_CALL_RUNS, CANARY_TAG: CANARY_RUNS}
    limits = "".join(f'      - key: "{key}"\n        limit: {limit}\n' for key, limit in runs.items())
    pools = f"  pools:\n    default_limit: {MODEL_POOL_SLOTS}\n"
    return f"concurrency:\n  runs:\n    tag_concurrency_limits:\n{limits}{pools}"


def open_instance() -> DagsterInstance:
    """The Dagster instance of $DAGSTER_HOME (created with the embedded default when there is none)."""
    import dagster as dg

    ensure_dagster_home()
    return dg.DagsterInstance.get()
