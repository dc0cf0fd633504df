"""The one composition root: every asset, check, job, sensor, schedule and resource of MGE."""

import dagster as dg

from mge_assets.defs import acceptance, canaries, drafting, dual_run, execution, intake, scoring
from mge_assets.defs.jobs import (
    canary_evaluation,
    dual_run_job,
    request_pipeline,
    review_apply,
    review_queue_refresh,
)
from mge_assets.defs.resources import default_resources
from mge_assets.defs.schedules import canary_schedule
from mge_assets.defs.sensors import (
    canary_evaluation_sensor,
    request_inbox,
    review_decisions,
    review_queue_after_a_gate,
)
from mge_assets.defs.sensors import dual_run as dual_run_sensor

STAGES = (intake, drafting, execution, acceptance, scoring)
REPORTS = (dual_run, canaries)

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([*STAGES, *REPORTS]),
    asset_checks=dg.load_asset_checks_from_modules([*STAGES, *REPORTS]),
    jobs=[request_pipeline, dual_run_job, canary_evaluation, review_apply, review_queue_refresh],
    sensors=[request_inbox, dual_run_sensor, canary_evaluation_sensor, review_decisions, review_queue_after_a_gate],
    schedules=[canary_schedule],
    resources=default_resources(),
    executor=dg.in_process_executor,
)
