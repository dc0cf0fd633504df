"""Canaries: the gold-set requests re-run every night; their precision over time is the regression signal."""

import datetime as dt
import os

import dagster as dg

from mge_assets.canary.gold import GoldSetError, canary_repeats, gold_manifest, load_gold_set
from mge_assets.defs.jobs import request_pipeline
from mge_assets.defs.partitions import requests_partitions
from mge_assets.defs.tags import CANARY_TAG, FRESH_TAG, REPEAT_TAG
from mge_assets.errors import MgeError

# When the canaries run (UTC): MGE_CANARY_CRON, read when the code location loads.
CANARY_CRON = os.environ.get("MGE_CANARY_CRON") or "0 3 * * *"


@dg.schedule(
    cron_schedule=CANARY_CRON,
    job=request_pipeline,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def canary_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest] | dg.SkipReason:
    """One canary evaluation (MGE_CANARY_CRON, default every night at 03:00 UTC): for each gold-set
    request that has been submitted (the manifest MGE_GOLD_SET, default examples/gold_set.yaml), its
    repeats (MGE_CANARY_REPEATS, default 3), each a fresh run (no response cache, no checkpoints) tagged
    `mge/canary=<date>` and `mge/repeat=<r>`. The canary_evaluation_sensor reports them once done."""
    manifest = gold_manifest()
    try:
        gold = [canary.name for canary in load_gold_set(manifest)]
        repeats = canary_repeats()
    except (GoldSetError, MgeError) as error:
        return dg.SkipReason(f"the canaries cannot run: {error}")
    present = set(context.instance.get_dynamic_partitions(requests_partitions.name))
    runnable = [name for name in gold if name in present]
    if not runnable:
        return dg.SkipReason(
            f"none of the {len(gold)} gold-set requests of {manifest} is submitted; submit their files "
            "(`mge submit FILE ...`, the paths listed in the manifest) once"
        )
    evaluation = (context.scheduled_execution_time or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date().isoformat()
    # A schedule's run keys are unique within a tick only: a second tick the same day must not start
    # the evaluation again (its report waits for every run of the date to finish).
    if context.instance.get_run_records(filters=dg.RunsFilter(tags={CANARY_TAG: evaluation}), limit=1):
        return dg.SkipReason(f"the evaluation of {evaluation} has started already; the next one is another day's")
    return [
        dg.RunRequest(
            partition_key=name,
            run_key=f"canary:{name}:{evaluation}:{repeat}",
            tags={CANARY_TAG: evaluation, REPEAT_TAG: str(repeat), FRESH_TAG: "true"},
        )
        for name in runnable
        for repeat in range(repeats)
    ]
