"""Canaries: the gold-set requests re-run every night; their precision over time is the regression signal."""

import os
from pathlib import Path

import dagster as dg

from mge_assets.canary.gold import GoldSetError, load_gold_set
from mge_assets.defs.jobs import request_pipeline
from mge_assets.defs.partitions import requests_partitions


@dg.schedule(cron_schedule="0 3 * * *", job=request_pipeline, default_status=dg.DefaultScheduleStatus.STOPPED)
def canary_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest] | dg.SkipReason:
    """Every night at 03:00, a run of each gold-set request (the manifest MGE_GOLD_SET, default
    examples/gold_set.yaml) that has been submitted, tagged `mge/canary`."""
    manifest = Path(os.environ.get("MGE_GOLD_SET", "examples/gold_set.yaml"))
    try:
        gold = [canary.name for canary in load_gold_set(manifest)]
    except GoldSetError as error:
        return dg.SkipReason(f"the gold set cannot be read: {error}")
    present = set(context.instance.get_dynamic_partitions(requests_partitions.name))
    runnable = [name for name in gold if name in present]
    if not runnable:
        return dg.SkipReason(
            f"none of the {len(gold)} gold-set requests of {manifest} is submitted; submit their files "
            "(`mge submit FILE ...`, the paths listed in the manifest) once"
        )
    stamp = context.scheduled_execution_time.strftime("%Y-%m-%d")
    return [
        dg.RunRequest(partition_key=n, run_key=f"canary:{n}:{stamp}", tags={"mge/canary": "true"}) for n in runnable
    ]
