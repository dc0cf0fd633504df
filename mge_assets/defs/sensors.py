"""The request inbox: a file dropped into the inbox folder becomes a partition and a run."""

import hashlib
import json
from pathlib import Path

import dagster as dg

from mge_assets.defs.jobs import request_pipeline
from mge_assets.defs.partitions import requests_partitions
from mge_assets.defs.resources import ModelBackendResource, WorkspaceResource
from mge_assets.errors import RequestError
from mge_assets.request.submit import submit_request


@dg.sensor(job=request_pipeline, minimum_interval_seconds=10, default_status=dg.DefaultSensorStatus.RUNNING)
def request_inbox(
    context: dg.SensorEvaluationContext, workspace: WorkspaceResource, model_backend: ModelBackendResource
) -> dg.SensorResult | dg.SkipReason:
    """Watches the inbox folder for `*.md` requests. A new or changed file is validated and stored,
    its partition added, and a run requested; a file that fails validation gets a `.error.txt` note
    beside it and adds nothing."""
    inbox = Path(workspace.inbox)
    if not inbox.is_dir():
        return dg.SkipReason(f"no inbox folder at {inbox.resolve()}; create it and drop request files there")
    seen: dict[str, str] = json.loads(context.cursor or "{}")
    known = set(context.instance.get_dynamic_partitions(requests_partitions.name))
    added: list[str] = []
    runs: list[dg.RunRequest] = []
    for path in sorted(inbox.glob("*.md")):
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if seen.get(path.name) == digest:
            continue
        seen[path.name] = digest
        note = path.with_name(path.name + ".error.txt")
        try:
            submission = submit_request(data, str(path), Path(workspace.requests_dir), model_backend.backend)
        except RequestError as error:
            note.write_text(f"{error}\n")
            context.log.warning(str(error))
            continue
        note.unlink(missing_ok=True)
        name = submission.request.name
        context.log.info(f"{path.name}: {submission.describe()}")
        if name not in known and name not in added:
            added.append(name)
        runs.append(dg.RunRequest(partition_key=name, run_key=f"{name}:{submission.request.sha256[:16]}"))
    if not runs:
        return dg.SensorResult(
            skip_reason=f"no new or changed request in {inbox}", cursor=json.dumps(seen, sort_keys=True)
        )
    return dg.SensorResult(
        run_requests=runs,
        dynamic_partitions_requests=[requests_partitions.build_add_request(added)] if added else [],
        cursor=json.dumps(seen, sort_keys=True),
    )
