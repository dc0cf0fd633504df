"""Canaries: the gold-set requests re-run every night; their precision over time is the regression signal."""

import os
from pathlib import Path

import dagster as dg

from mge_assets.defs.jobs import request_pipeline
from mge_assets.defs.partitions import requests_partitions
from mge_assets.errors import RequestError
from mge_assets.request import parse_request


def canary_names(directory: Path) -> list[str]:
    """The request names of the gold set: every valid `*.md` in the canary folder."""
    names = []
    for path in sorted(directory.glob("*.md")):
        try:
            names.append(parse_request(path.read_bytes(), source=str(path)).name)
        except RequestError:
            continue
    return names


@dg.schedule(cron_schedule="0 3 * * *", job=request_pipeline, default_status=dg.DefaultScheduleStatus.STOPPED)
def canary_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest] | dg.SkipReason:
    """Every night at 03:00, a run of each gold-set request (MGE_CANARY_DIR, default
    examples/requests) that has been submitted, tagged `mge/canary`."""
    directory = Path(os.environ.get("MGE_CANARY_DIR", "examples/requests"))
    gold = canary_names(directory)
    present = set(context.instance.get_dynamic_partitions(requests_partitions.name))
    runnable = [name for name in gold if name in present]
    if not runnable:
        return dg.SkipReason(
            f"none of the {len(gold)} gold-set requests in {directory} is submitted; run "
            f"`mge submit {directory}/*.md` once"
        )
    stamp = context.scheduled_execution_time.strftime("%Y-%m-%d")
    return [
        dg.RunRequest(partition_key=n, run_key=f"canary:{n}:{stamp}", tags={"mge/canary": "true"}) for n in runnable
    ]
